// `tsk dev` in a generated project: an edited proto is regenerated, typechecked and
// served after a restart; a broken proto or a type error is printed as
// file:line:col, a config that fails its checks as the key and file:line, while the last
// good service keeps answering; a deleted proto's generated files go with it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk, tskBin } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import { nodeBinaryFor } from '../helpers/image-node.js';
import { run, waitFor, type Service } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'e2e-dev');
const project = path.join(work, 'devsvc');
const node = nodeBinaryFor('24') ?? process.execPath;
let dev: Service;
let base = '';
let inspector = '';

beforeAll(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const created = tsk(['new', 'devsvc', '--yes', '--no-git', '--no-install'], work);
  expect(created.status, created.stderr).toBe(0);
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project, {
    PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH']}`,
  });
  expect(install.status, install.output).toBe(0);
  inspector = `127.0.0.1:${await freePort()}`;
  // Its own process group, so the last test can press Ctrl-C as a terminal does: SIGINT to the group.
  const started = await startDev(node, [tskBin, 'dev', '--inspect', inspector], { detached: true });
  base = started.base;
  dev = started;
}, 600_000);

afterAll(async () => {
  if (dev?.child.exitCode === null) dev.child.kill('SIGTERM');
  await dev?.exited;
});

const hi = async (route: string) => {
  const r = await fetch(`${base}${route}`);
  return r.ok ? ((await r.json()) as { message: string }).message : `HTTP ${r.status}`;
};

/** How many times the service has started so far. */
const starts = () => dev.output().match(/"msg":"devsvc [\d.]+ started"/g)?.length ?? 0;

/**
 * tsk dev in the project, started by `command` on free ports, its output gathered: once its
 * service answers (else it is killed and the wait's error thrown).
 */
async function startDev(command: string, args: string[], { detached = false } = {}) {
  const httpPort = await freePort();
  const child = spawn(command, args, {
    cwd: project,
    env: {
      ...process.env,
      FORCE_COLOR: '0',
      DEVSVC_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      DEVSVC_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, `tsk dev to start the service:\n${out}`, 1200, 100);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, base, output: () => out, exited };
}

/** A second tsk dev in the project; `stopped` waits until its service has logged its stop and no longer answers. */
async function anotherDev(command: string, args: string[]) {
  const second = await startDev(command, args);
  return {
    child: second.child,
    stopped: async () => {
      await waitFor(
        async () => /"msg":"stopped"/.test(second.output()),
        `its service to stop:\n${second.output()}`,
        200,
        100,
      );
      await expect(fetch(`${second.base}/readyz`)).rejects.toThrow();
    },
  };
}

/** Writes `good` back to `file` and waits for the restart that follows. */
async function restoreAndAwaitRestart(file: string, good: string): Promise<void> {
  const before = starts();
  fs.writeFileSync(file, good);
  await waitFor(async () => starts() > before, `the restart:\n${dev.output()}`, 1200, 100);
}

describe('tsk dev', () => {
  it('serves a route changed in the proto after regenerating and restarting', async () => {
    expect(await hi('/helloworld/world')).toBe('Hello world');
    // The type check keeps its state between runs, so the next one rereads only what changed.
    expect(fs.existsSync(path.join(project, '.tsk', 'cache', 'typecheck.tsbuildinfo'))).toBe(true);
    const proto = path.join(project, 'api', 'devsvc', 'v1', 'greeter.proto');
    fs.writeFileSync(proto, fs.readFileSync(proto, 'utf8').replace('get: "/helloworld/{name}"', 'get: "/hi/{name}"'));
    await waitFor(async () => (await hi('/hi/there')) === 'Hello there', `the new route:\n${dev.output()}`, 1200, 100);
    expect(await hi('/helloworld/world')).toBe('HTTP 404');
    // The served OpenAPI document (api/openapi.ts) is regenerated too.
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toContain('/hi/{name}');
    expect(Object.keys(document.paths)).not.toContain('/helloworld/{name}');
  }, 180_000);

  it('keeps the last good service when a proto does not compile, and says where', async () => {
    const proto = path.join(project, 'api', 'devsvc', 'v1', 'greeter.proto');
    const good = fs.readFileSync(proto, 'utf8');
    fs.writeFileSync(proto, good.replace('message HelloReply {', 'message HelloReply {\n  strin broken = 9;'));
    // The header goes to stdout and the detail to stderr: two pipes, so either may arrive first.
    const compileError = /api\/devsvc\/v1\/greeter\.proto:\d+:\d+: /;
    await waitFor(
      async () => /generate failed/.test(dev.output()) && compileError.test(dev.output()),
      `the compile error:\n${dev.output()}`,
      1200,
      100,
    );
    expect(await hi('/hi/there')).toBe('Hello there');
    fs.writeFileSync(proto, good);
  }, 180_000);

  it('keeps the last good service on a type error, printed as file:line:col', async () => {
    const service = path.join(project, 'internal', 'service', 'greeter.ts');
    const good = fs.readFileSync(service, 'utf8');
    fs.writeFileSync(service, good.replace("request.name ?? ''", 'request.name ?? 42'));
    const typeError = /^internal\/service\/greeter\.ts:\d+:\d+: error TS\d+: /m;
    await waitFor(
      async () => /typecheck failed/.test(dev.output()) && typeError.test(dev.output()),
      `the type error:\n${dev.output()}`,
      1200,
      100,
    );
    expect(await hi('/hi/there')).toBe('Hello there');
    // Fixed again: wait for the restarted service, so the next test finds it running.
    await restoreAndAwaitRestart(service, good);
  }, 180_000);

  it('keeps the last good service when the config fails its checks, naming the key', async () => {
    const config = path.join(project, 'configs', 'config.yaml');
    const good = fs.readFileSync(config, 'utf8');
    fs.writeFileSync(config, good.replace('level: info', 'level: loud'));
    const configError = /^config: configs\/config\.yaml:\d+: log\.level: expected one of .*got "loud"$/m;
    await waitFor(
      async () => /start check failed/.test(dev.output()) && configError.test(dev.output()),
      `the config error:\n${dev.output()}`,
      1200,
      100,
    );
    expect(dev.output()).not.toMatch(/the service exited/);
    expect(await hi('/hi/there')).toBe('Hello there');
    // Fixed again, the config passes its check and the service restarts: wait for that, so
    // the next test counts starts from a settled service.
    await restoreAndAwaitRestart(config, good);
  }, 180_000);

  it("removes a deleted proto's generated files, and the service goes on without them", async () => {
    const dir = path.join(project, 'api', 'extra', 'v1');
    const generated = ['extra.ts', 'extra_http.ts', 'extra_grpc.ts'].map((f) => path.join(dir, f));
    const initial = starts();
    expect(tsk(['proto', 'add', 'api/extra/v1/extra.proto'], project).status).toBe(0);
    // Its service is in api/services.ts now, and not built yet: the type check names it and
    // there is no restart.
    await waitFor(
      async () => generated.every((f) => fs.existsSync(f)) && dev.output().includes("Property 'extra' is missing"),
      `the new proto's code and the type check naming its service:\n${dev.output()}`,
      1200,
      100,
    );
    expect(starts()).toBe(initial);
    const before = starts();
    fs.rmSync(path.join(dir, 'extra.proto'));
    await waitFor(
      async () => generated.every((f) => !fs.existsSync(f)) && starts() > before,
      `the removal and a restart:\n${dev.output()}`,
      1200,
      100,
    );
    expect(dev.output()).toContain('removed api/extra/v1/extra_grpc.ts');
    expect(await hi('/hi/there')).toBe('Hello there');
  }, 180_000);

  it("opens Node's inspector with --inspect in the service, where a debugger attaches to its sources", async () => {
    const targets = (await (await fetch(`http://${inspector}/json/list`)).json()) as { url: string }[];
    expect(targets.map((t) => t.url)).toEqual([expect.stringMatching(/\/cmd\/devsvc\/main\.ts$/)]);
    // The config checks tsk dev runs beside it open no inspector of their own (one would fail on the port).
    expect(dev.output()).not.toContain('Starting inspector');
  });

  it('stops with its launcher: a SIGTERM to the shell `npm run dev` runs it through, which does not pass it on', async () => {
    const shell = await anotherDev('sh', ['-c', `"${node}" "${tskBin}" dev; echo done`]);
    shell.child.kill('SIGTERM');
    await shell.stopped();
  }, 180_000);

  it('typechecks an edit to tests alone without restarting the service', async () => {
    const file = path.join(project, 'test', 'repository.test.ts');
    const good = fs.readFileSync(file, 'utf8');
    const before = starts();
    const mark = dev.output().length;
    fs.appendFileSync(file, '// a note\n');
    try {
      await waitFor(async () => dev.output().slice(mark).includes('only tests changed'), dev.output(), 600, 50);
      expect(starts()).toBe(before);
      expect((await fetch(`${base}/readyz`)).ok).toBe(true);
    } finally {
      fs.writeFileSync(file, good);
      await waitFor(async () => dev.output().slice(mark).split('only tests changed').length > 2, dev.output(), 600, 50);
    }
  }, 120_000);

  for (const signal of ['SIGHUP', 'SIGKILL'] as const)
    it(`leaves no service behind when ${signal} ends it (${signal === 'SIGHUP' ? 'the terminal closes' : 'killed outright'})`, async () => {
      const second = await anotherDev(node, [tskBin, 'dev']);
      // Only tsk dev itself is signalled: the service, in its own process group, is not.
      second.child.kill(signal);
      await second.stopped();
    }, 180_000);

  it('stops the service gracefully on Ctrl-C, which signals every process in the group, also in the middle of a restart', async () => {
    // The signal comes while a config edit is being checked: the restart that was under way starts nothing.
    const config = path.join(project, 'configs', 'config.yaml');
    const mark = dev.output().length;
    fs.appendFileSync(config, '# edited\n');
    await waitFor(async () => dev.output().slice(mark).includes('changed: configs/config.yaml'), dev.output(), 600, 50);
    process.kill(-dev.child.pid!, 'SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toMatch(/"msg":"shutting down"/);
    expect(dev.output()).not.toMatch(/second signal/);
    expect(dev.output().slice(mark)).not.toContain('restarting the service');
    await expect(fetch(`${base}/readyz`)).rejects.toThrow();
  }, 60_000);
});
