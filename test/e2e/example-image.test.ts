// The example's images: `user`'s image built with podman from the example repository's
// root (its one lockfile, as compose.yaml builds it) on the local stand-in for the node
// base image (scripts/podman-base-image.sh), then run on the host network against a real
// etcd and called with fetch. compose.yaml cannot run here (no registry for the etcd,
// collector and Jaeger images): every service's build context and Dockerfile must exist,
// and Debian's podman-compose reads it (a dry-run build).
// Skips without podman and etcd, except under CI=true; TSK_IMAGE_TEST=0 opts out.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { tskAsync } from '../helpers/async-cli.js';
import { EtcdProcess, etcdAvailable, freePort } from '../helpers/etcd.js';
import { podman, podmanAvailable, prepareBaseImage, runAsync } from '../helpers/podman.js';
import { run, waitFor } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'example-image');
const root = path.join(work, 'shop');
const image = 'localhost/tsk-example-image/user:test';
const enabled =
  process.env['TSK_IMAGE_TEST'] !== '0' && ((podmanAvailable() && etcdAvailable()) || Boolean(process.env['CI']));
const containers: string[] = [];
let etcd: EtcdProcess | undefined;

describe.skipIf(!enabled)('tsk example microservices: images and compose.yaml', () => {
  beforeAll(async () => {
    await prepareBaseImage();
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const made = await tskAsync(['example', 'microservices', 'shop'], work);
    expect(made.status, made.stderr).toBe(0);
    // The root lockfile the README's `npm install` writes; the images install from it.
    const lock = await run(
      'npm',
      ['install', '--package-lock-only', '--no-audit', '--no-fund', '--prefer-offline'],
      root,
    );
    expect(lock.status, lock.output).toBe(0);
    // npm 11 warns of allowScripts in a workspace member (it reads the root's only) and of
    // install scripts no allowScripts entry decides: the example leaves neither.
    expect(lock.output).not.toMatch(/install-scripts/);
  }, 600_000);

  afterAll(async () => {
    for (const id of containers) podman(['rm', '--force', '--time', '0', id]);
    if (enabled) podman(['rmi', '--force', image]);
    await etcd?.destroy();
  });

  it('compose.yaml builds each service from the root with its own Dockerfile', () => {
    const compose = parse(fs.readFileSync(path.join(root, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { build?: { context: string; dockerfile: string } }>;
    };
    const built = Object.entries(compose.services).filter(([, s]) => s.build);
    expect(built.map(([name]) => name)).toEqual(['user', 'order', 'gateway']);
    for (const [name, s] of built) {
      const context = path.resolve(root, s.build!.context);
      expect(context, name).toBe(root);
      expect(fs.existsSync(path.join(context, s.build!.dockerfile)), `${name}: ${s.build!.dockerfile}`).toBe(true);
      expect(fs.readFileSync(path.join(context, s.build!.dockerfile), 'utf8')).toContain(`npm ci --workspace ${name} `);
    }
    // Debian's podman-compose (1.0) has no `config`; a dry-run build reads the file, checks
    // each build's Dockerfile exists and prints the podman commands it would run.
    const hasPodmanCompose = spawnSync('podman-compose', ['version']).status === 0;
    if (!hasPodmanCompose && !process.env['CI']) return;
    const dry = spawnSync('podman-compose', ['-f', 'compose.yaml', '--dry-run', 'build'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(dry.status, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    for (const [name] of built)
      expect(dry.stdout).toMatch(new RegExp(`^podman build -t \\w+_${name} -f \\./${name}/Dockerfile \\.$`, 'm'));
  });

  it("builds user's image from the root lockfile; the container serves, registers in etcd and stops cleanly", async () => {
    const build = await runAsync(
      'podman',
      [
        'build',
        '--format',
        'docker',
        '--network',
        'host',
        '--pull=never',
        '--tag',
        image,
        '-f',
        'user/Dockerfile',
        '.',
      ],
      root,
      1_500_000,
    );
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);

    etcd = await EtcdProcess.create();
    await etcd.start();
    const httpPort = await freePort();
    const grpcPort = await freePort();
    const r = podman([
      'run',
      '--detach',
      '--no-healthcheck',
      '--network',
      'host',
      '--read-only',
      '--env',
      `USER_SERVER_HTTP_ADDR=127.0.0.1:${httpPort}`,
      '--env',
      `USER_SERVER_GRPC_ADDR=127.0.0.1:${grpcPort}`,
      '--env',
      `USER_REGISTRY_ENDPOINTS=${etcd.endpoint}`,
      '--env',
      'OTEL_EXPORTER_OTLP_ENDPOINT=',
      image,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const id = r.stdout.split('\n').pop()!;
    containers.push(id);
    const logs = () => {
      const l = podman(['logs', id]);
      return `${l.stdout}\n${l.stderr}`;
    };
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, `the container to be ready:\n${logs()}`, 300, 100);

    const created = await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada', email: 'ada@example.com' }),
    });
    expect(created.status).toBe(200);
    const ada = (await created.json()) as { id: string };
    const fetched = await fetch(`${base}/v1/users/${ada.id}`);
    expect(await fetched.json()).toMatchObject({ id: ada.id, name: 'Ada' });
    expect((await fetch(`${base}/v1/users/nobody`)).status).toBe(404);

    // Registered under its name with both endpoints (etcd's JSON gateway, not our client).
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const range = await fetch(`${etcd.endpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('/microservices/user/'), range_end: b64('/microservices/user0') }),
    });
    const kvs = ((await range.json()) as { kvs?: { value: string }[] }).kvs ?? [];
    expect(kvs.length).toBe(1);
    expect(JSON.parse(Buffer.from(kvs[0]!.value, 'base64').toString()).endpoints).toEqual([
      `http://127.0.0.1:${httpPort}`,
      `grpc://127.0.0.1:${grpcPort}`,
    ]);

    const stop = podman(['stop', '--time', '20', id], 60_000);
    expect(stop.status, stop.stderr).toBe(0);
    expect(Number(podman(['inspect', '--format', '{{.State.ExitCode}}', id]).stdout), logs()).toBe(0);
  }, 1_800_000);
});
