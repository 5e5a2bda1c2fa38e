// `tsk new --package-manager pnpm|yarn`: the project installs with that package manager
// (its lock file, its `packageManager` field), and the generated Dockerfile builds from
// that lock file with that package manager and serves (podman, on the stand-in base image
// of scripts/podman-base-image.sh, which carries yarn 1 as the official image does).
// pnpm and yarn come from the npm registry into a scratch prefix. Skips as image.test.ts does.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import { nodeBinaryFor } from '../helpers/image-node.js';
import { buildImage, podman, podmanAvailable, prepareBaseImage } from '../helpers/podman.js';
import { run, waitFor } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'image-pm');
const enabled = process.env['TSK_IMAGE_TEST'] !== '0' && (podmanAvailable() || Boolean(process.env['CI']));
const containers: string[] = [];
const images: string[] = [];
let PATH = '';

describe.skipIf(!enabled)('images of projects made with pnpm and yarn (podman)', () => {
  beforeAll(async () => {
    await prepareBaseImage();
    fs.rmSync(work, { recursive: true, force: true });
    const tools = path.join(work, 'tools');
    fs.mkdirSync(tools, { recursive: true });
    const installed = await run(
      'npm',
      ['install', '--global', '--prefix', tools, '--no-audit', '--no-fund', 'pnpm@10', 'yarn@1'],
      work,
    );
    expect(installed.status, installed.output).toBe(0);
    // The project's engines say Node 24, which yarn 1 enforces.
    const node = nodeBinaryFor('24') ?? process.execPath;
    PATH = [path.join(tools, 'bin'), path.dirname(node), process.env['PATH']].join(path.delimiter);
  }, 1_800_000);

  afterAll(() => {
    for (const id of containers) podman(['rm', '--force', '--time', '0', id]);
    for (const image of images) podman(['rmi', '--force', image]);
  });

  for (const pm of ['pnpm', 'yarn'] as const) {
    it(`${pm}: installs with ${pm}, and the image builds from its lock file and serves`, async () => {
      const name = `with${pm}`;
      const project = path.join(work, name);
      // A cache of its own: yarn 1 keys a local tarball (the vendored tsk) by name and version only.
      const env = { PATH, YARN_CACHE_FOLDER: path.join(work, 'yarn-cache') };
      const made = tsk(['new', name, '--yes', '--no-git', '--package-manager', pm], work, env);
      expect(made.status, made.stderr).toBe(0);
      const version = (await run(pm, ['--version'], work, env)).output.trim();
      const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as { packageManager: string };
      expect(pkg.packageManager).toBe(`${pm}@${version}`);
      const lockfile = pm === 'pnpm' ? 'pnpm-lock.yaml' : 'yarn.lock';
      expect(fs.existsSync(path.join(project, lockfile))).toBe(true);
      expect(fs.existsSync(path.join(project, 'package-lock.json'))).toBe(false);

      const image = `localhost/tsk-image-test/${name}:test`;
      images.push(image);
      const build = await buildImage(project, image);
      expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
      // Dev dependencies were dropped: the toolchain is not in the image.
      const listed = podman(['run', '--rm', '--entrypoint', 'sh', image, '-c', 'ls node_modules']);
      expect(listed.stdout.split('\n')).toContain('fastify');
      expect(listed.stdout.split('\n')).not.toContain('typescript');

      const httpPort = await freePort();
      const started = podman(['run', '--detach', '--no-healthcheck', '--publish', `127.0.0.1:${httpPort}:8000`, image]);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.split('\n').pop()!;
      containers.push(id);
      const base = `http://127.0.0.1:${httpPort}`;
      await waitFor(
        async () => (await fetch(`${base}/readyz`)).ok,
        () => podman(['logs', id]).stderr,
        600,
        100,
      );
      const hello = await fetch(`${base}/helloworld/${pm}`);
      expect(await hello.json()).toEqual({ message: `Hello ${pm}` });
      expect(podman(['stop', '--time', '15', id], 60_000).status).toBe(0);
      expect(podman(['inspect', '--format', '{{.State.ExitCode}}', id]).stdout).toBe('0');
    }, 1_800_000);
  }
});
