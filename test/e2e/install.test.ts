// The path a new user takes: tsk installed from a packed tarball into a clean
// prefix, `tsk new` (install, then the first commit), a field added to a proto,
// `npm run generate` inside the project with no global tsk, a build, and the new
// field answered over HTTP by the service running on the Node line it declares.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import { nodeBinaryFor } from '../helpers/image-node.js';
import { exitWithin, npmStartArgs, run, startService, waitFor } from '../helpers/process.js';

// Outside the checkout, as a user's machine is: under it, Node would resolve a package tsk
// forgot to depend on from the checkout's node_modules, and the test would pass.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-e2e-install-'));
const prefix = path.join(work, 'prefix');
const demo = path.join(work, 'demo');
// Generated services declare Node 24; run their npm and node on it.
const node24 = nodeBinaryFor('24');
const serviceNode = node24 ?? (process.env['CI'] ? undefined : process.execPath);
const basePath = process.env['PATH'] ?? '';
// A `tsk` that fails, ahead of any global one (`npm link`, `npm install -g`): inside the
// project, npm scripts find the project's own tsk first, and nothing else may run.
const decoyBin = path.join(work, 'decoy-bin');
fs.mkdirSync(decoyBin);
fs.writeFileSync(path.join(decoyBin, 'tsk'), '#!/bin/sh\necho "a tsk outside the project ran" >&2\nexit 97\n', {
  mode: 0o755,
});
/** PATH with the service's node first and a failing tsk before any global one. */
const projectPath = [path.dirname(serviceNode ?? process.execPath), decoyBin, basePath].join(path.delimiter);

beforeAll(async () => {
  if (!serviceNode) throw new Error('no Node 24 at hand: set TSK_IMAGE_NODE (.ci/run does)');
  fs.mkdirSync(prefix, { recursive: true });
  // `npm test` has built dist/; pack it as it is.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], repoRoot);
  expect(pack.status, pack.output).toBe(0);
  const tarball = path.join(work, pack.output.trim().split('\n').pop()!);
  const install = await run(
    'npm',
    // As README.md installs it: no dependency's install script runs.
    ['install', '-g', '--ignore-scripts', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball],
    work,
  );
  expect(install.status, install.output).toBe(0);
}, 600_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('tsk from a packed tarball', () => {
  it('is a command that says its version', async () => {
    const version = await run(path.join(prefix, 'bin', 'tsk'), ['--version'], work, { PATH: projectPath });
    expect(version.status, version.output).toBe(0);
    expect(version.output.trim()).toBe(
      JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version,
    );
  });

  it('ships every guide its README links to', () => {
    const installed = path.join(prefix, 'lib', 'node_modules', 'tsk');
    const readme = fs.readFileSync(path.join(installed, 'README.md'), 'utf8');
    const linked = [...new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1]!))];
    expect(linked.length).toBeGreaterThan(5);
    for (const doc of linked) expect(fs.existsSync(path.join(installed, doc)), doc).toBe(true);
  });

  it('makes a project that installs on Node 24 without engine warnings and commits its lockfile', async () => {
    const created = await run(path.join(prefix, 'bin', 'tsk'), ['new', 'demo', '--yes'], work, { PATH: projectPath });
    expect(created.status, created.output).toBe(0);
    // Outside CI without a Node 24 the project installs on the host's node, which its engines
    // field rightly warns about; in CI serviceNode is always a Node 24.
    if (node24) expect(created.output).not.toMatch(/EBADENGINE/);
    // npm 11 lists dependency install scripts the project's allowScripts does not cover:
    // every script tsk's toolchain brings is decided, and the build below runs without them.
    expect(created.output).toMatch(/added \d+ packages/);
    expect(created.output).not.toMatch(/install-scripts/);
    const pkg = JSON.parse(fs.readFileSync(path.join(demo, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('>=24');
    expect(pkg.devDependencies.tsk).toMatch(/^file:\.tsk\/tsk-.*\.tgz$/);
    const tracked = await run('git', ['ls-files', 'package-lock.json', '.tsk'], demo);
    expect(tracked.output).toMatch(/^package-lock\.json$/m);
    expect(tracked.output).toMatch(/^\.tsk\/tsk-.*\.tgz$/m);
    expect((await run('git', ['status', '--porcelain'], demo)).output).toBe('');
    // The guide the project's README points to is installed with the project's tsk.
    expect(fs.readFileSync(path.join(demo, 'README.md'), 'utf8')).toContain('node_modules/tsk/docs/telemetry.md');
    expect(fs.existsSync(path.join(demo, 'node_modules/tsk/docs/telemetry.md'))).toBe(true);
  }, 600_000);

  it("regenerates with the project's own tsk after a field is added; old code still builds; the new field is served", async () => {
    const proto = path.join(demo, 'api', 'demo', 'v1', 'greeter.proto');
    fs.writeFileSync(
      proto,
      fs
        .readFileSync(proto, 'utf8')
        .replace(
          /message HelloReply \{\n {2}string message = 1;/,
          'message HelloReply {\n  string message = 1;\n  string greeted_by = 2;',
        ),
    );
    expect((await run('sh', ['-c', 'command -v tsk'], demo, { PATH: projectPath })).output.trim()).toBe(
      path.join(decoyBin, 'tsk'),
    );
    const generate = await run('npm', ['run', 'generate'], demo, { PATH: projectPath });
    expect(generate.status, generate.output).toBe(0);
    expect(generate.output).toMatch(/wrote {3}api\/demo\/v1\/greeter\.ts/);
    // Code that builds a HelloReply without the new field still compiles.
    const unchanged = await run('npm', ['run', 'build'], demo, { PATH: projectPath });
    expect(unchanged.status, unchanged.output).toBe(0);

    const service = path.join(demo, 'internal', 'service', 'greeter.ts');
    fs.writeFileSync(
      service,
      fs
        .readFileSync(service, 'utf8')
        .replace(
          "return { message: await this.greeter.sayHello(request.name ?? '') };",
          "return { message: await this.greeter.sayHello(request.name ?? ''), greetedBy: 'demo' };",
        ),
    );
    const build = await run('npm', ['run', 'build'], demo, { PATH: projectPath });
    expect(build.status, build.output).toBe(0);

    const httpPort = await freePort();
    const grpcPort = await freePort();
    const svc = startService(
      demo,
      npmStartArgs(demo),
      {
        DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      },
      serviceNode,
    );
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok,
        'the service to be ready',
        400,
      );
      const hello = await fetch(`http://127.0.0.1:${httpPort}/helloworld/world`);
      expect(await hello.json()).toEqual({ message: 'Hello world', greetedBy: 'demo' });
    } finally {
      svc.child.kill('SIGTERM');
      await exitWithin(svc, 15_000);
    }
  }, 600_000);
});
