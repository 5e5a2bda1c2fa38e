// `tsk example microservices`: the generated gateway -> order -> user system, installed
// against tsk's node_modules, built, and run on Node 24 with a real etcd for discovery and
// an OTLP receiver. The caller is fetch; nothing here shares the example's generated code.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tskBin } from '../helpers/cli.js';
import { buildProject, tskAsync } from '../helpers/async-cli.js';
import { EtcdProcess, etcdAvailable, freePort } from '../helpers/etcd.js';
import { dockerfileNodeVersion, nodeBinaryFor } from '../helpers/image-node.js';
import { checkOpenApi } from '../helpers/openapi.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { exitWithin, npmStartArgs, startService, waitFor, waitReady, type Service } from '../helpers/process.js';
import { TOOLCHAIN_INSTALL_SCRIPTS } from '../../src/scaffold/package-json.js';

const work = path.join(repoRoot, '.tmp', 'example');
const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
const root = path.join(work, 'shop');
const SERVER = 2;
const CLIENT = 3;

let etcd: EtcdProcess;
const receiver = new OtlpReceiver();
const running: Service[] = [];
let node: string;
let gateway: string;

/** Starts one instance of a service of the example on free loopback ports. */
async function start(name: string, extra: Record<string, string> = {}): Promise<Service & { http: string }> {
  const prefix = name.toUpperCase();
  const httpPort = await freePort();
  const service = startService(
    path.join(root, name),
    npmStartArgs(path.join(root, name)),
    {
      [`${prefix}_SERVER_HTTP_ADDR`]: `127.0.0.1:${httpPort}`,
      [`${prefix}_SERVER_GRPC_ADDR`]: `127.0.0.1:${await freePort()}`,
      [`${prefix}_SERVER_DRAIN_DELAY_MS`]: '0',
      [`${prefix}_REGISTRY_ENDPOINTS`]: etcd.endpoint,
      [`${prefix}_REGISTRY_TTL_SECONDS`]: '2',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ...extra,
    },
    node,
  );
  running.push(service);
  const http = `http://127.0.0.1:${httpPort}`;
  await waitReady(service, `${http}/readyz`, name);
  return { ...service, http };
}

/** How many instances of `service` are registered in etcd (its JSON gateway, not our client). */
async function registered(service: string): Promise<number> {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const res = await fetch(`${etcd.endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({
      key: b64(`/microservices/${service}/`),
      range_end: b64(`/microservices/${service}0`),
      count_only: true,
    }),
  });
  return Number(((await res.json()) as { count?: string }).count ?? 0);
}

interface Pkg {
  workspaces: string[];
  scripts: Record<string, string>;
  allowScripts: Record<string, boolean>;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

// The services run on the Node line their Dockerfile names; outside CI, a missing one (or a
// missing etcd) skips this, as with any missing tool.
describe.skipIf((!etcdAvailable() || !nodeBinaryFor('24')) && !process.env['CI'])('tsk example microservices', () => {
  beforeAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const made = await tskAsync(['example', 'microservices', 'shop'], work);
    expect(made.status, made.stderr).toBe(0);
    const builds = await Promise.all(['user', 'order', 'gateway'].map((s) => buildProject(path.join(root, s))));
    for (const b of builds) expect(b.status, `${b.stdout}${b.stderr}`).toBe(0);
    const wanted = dockerfileNodeVersion(fs.readFileSync(path.join(root, 'user', 'Dockerfile'), 'utf8'))!;
    node = nodeBinaryFor(wanted) ?? '';
    expect(node, `a node ${wanted} binary (set TSK_IMAGE_NODE)`).not.toBe('');
    etcd = await EtcdProcess.create();
    await etcd.start();
    await receiver.start();
  }, 600_000);

  afterAll(async () => {
    for (const s of running) s.child.kill('SIGKILL');
    receiver.stop();
    await etcd?.destroy();
  });

  it('is an npm-workspaces repo of three tsk projects, with no context passed by hand in its code', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Pkg;
    expect(pkg.workspaces).toEqual(['user', 'order', 'gateway']);
    // npm reads allowScripts from the root: the same decisions a single project makes.
    expect(pkg.allowScripts).toEqual(TOOLCHAIN_INSTALL_SCRIPTS);
    expect(pkg.scripts['dev']).toBeDefined();
    for (const f of ['compose.yaml', 'deploy/otel-collector.yaml', 'README.md'])
      expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    for (const s of ['user', 'order', 'gateway']) {
      for (const f of ['Dockerfile', 'deploy/kubernetes/deployment.yaml', '.tsk/manifest.json'])
        expect(fs.existsSync(path.join(root, s, f)), `${s}/${f}`).toBe(true);
      for (const dir of ['internal/biz', 'internal/data', 'internal/service']) {
        for (const f of fs.readdirSync(path.join(root, s, dir))) {
          expect(fs.readFileSync(path.join(root, s, dir, f), 'utf8'), `${s}/${dir}/${f}`).not.toMatch(/parent:\s*ctx/);
        }
      }
      // Nothing of the greeter sample's in-memory store is left: no users map, none of its settings.
      for (const f of [
        'internal/data/data.ts',
        'internal/conf/conf.proto',
        'configs/config.yaml',
        'deploy/kubernetes/configmap.yaml',
      ])
        expect(fs.readFileSync(path.join(root, s, f), 'utf8'), `${s}/${f}`).not.toMatch(/seed_users|max_users|users:/);
    }
    expect(fs.readFileSync(path.join(root, 'order', 'configs', 'config.yaml'), 'utf8')).toContain(
      'endpoint: discovery:///user',
    );
    // Each service passes its own `biome check` (the first half of its `npm run lint`) as generated.
    for (const s of ['user', 'order', 'gateway']) {
      const r = spawnSync(biome, ['check', '--max-diagnostics=50'], { cwd: path.join(root, s), encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it("passes its own npm test: the three from their sources, no etcd, the README's story over HTTP", async () => {
    const script = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Pkg).scripts['test'];
    expect(script).toBe('node --test --test-concurrency=1 test/*.test.js');
    const child = spawn('sh', ['-c', script!], {
      cwd: root,
      // The services run on the node that runs the test: the one their Dockerfile names.
      env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH']}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/# pass 3\b|ℹ pass 3\b/);
  }, 120_000);

  it('creates a user and an order through the gateway: one trace across the three, reasons across two hops', async () => {
    const user = await start('user');
    const order = await start('order');
    gateway = (await start('gateway')).http;

    // Each service publishes the API it serves, not the copies of the APIs it calls.
    for (const [name, base] of [
      ['user', user.http],
      ['order', order.http],
      ['gateway', gateway],
    ] as const) {
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { tags: { name: string }[] };
      await checkOpenApi(doc);
      expect(
        doc.tags.map((t) => t.name),
        name,
      ).toEqual([`${name}.v1.${name[0]!.toUpperCase()}${name.slice(1)}`]);
    }

    // The gateway finds user through etcd once user's registration is seen.
    let created: Response | undefined;
    await waitFor(
      async () =>
        (created = await post(`${gateway}/v1/users`, { name: 'Ada', email: 'ada@example.com' })).status === 200,
      'a user created through the gateway',
      100,
      100,
    );
    const ada = (await created!.json()) as { id: string; name: string };
    expect(ada).toMatchObject({ name: 'Ada', email: 'ada@example.com' });

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const placed = await post(
      `${gateway}/v1/orders`,
      { userId: ada.id, productId: 'book', quantity: 2 },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    const orderBody = await placed.text();
    expect(placed.status, orderBody).toBe(200);
    expect(JSON.parse(orderBody)).toMatchObject({ userId: ada.id, productId: 'book', quantity: 2, userName: 'Ada' });

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const find = (service: string, kind: number, name: string) =>
      inTrace().find((s) => s.serviceName === service && s.kind === kind && s.name === name);
    const chainSpans = () => [
      find('gateway', SERVER, '/gateway.v1.Gateway/CreateOrder'),
      find('gateway', CLIENT, '/order.v1.Order/CreateOrder'),
      find('order', SERVER, '/order.v1.Order/CreateOrder'),
      find('order', CLIENT, '/user.v1.User/GetUser'),
      find('user', SERVER, '/user.v1.User/GetUser'),
    ];
    // Each service exports on its own schedule: wait for all five.
    await waitFor(async () => chainSpans().every(Boolean), "the five spans of the order's trace", 100, 100).catch(
      () => {},
    );
    const seen = inTrace()
      .map((s) => `${s.serviceName} kind=${s.kind} ${s.name} span=${s.spanId} parent=${s.parentSpanId}`)
      .join('\n');
    const chain = chainSpans();
    for (const span of chain) expect(span, seen).toBeDefined();
    expect(chain[0]!.parentSpanId, seen).toBe('00f067aa0ba902b7');
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.parentSpanId, seen).toBe(chain[i - 1]!.spanId);

    const unknown = await post(`${gateway}/v1/orders`, { userId: 'nobody', productId: 'book', quantity: 1 });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 404, reason: 'USER_NOT_FOUND' });

    const tooMany = await post(`${gateway}/v1/orders`, { userId: ada.id, productId: 'lamp', quantity: 3 });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ code: 400, reason: 'INSUFFICIENT_STOCK' });

    const unsold = await post(`${gateway}/v1/orders`, { userId: ada.id, productId: 'car', quantity: 1 });
    expect(unsold.status).toBe(404);
    expect(await unsold.json()).toMatchObject({ reason: 'PRODUCT_NOT_FOUND', metadata: { product_id: 'car' } });
    // order.proto's rules, checked by the gateway, which takes the same request message.
    const none = await post(`${gateway}/v1/orders`, { userId: ada.id, productId: 'book', quantity: 0 });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({
      reason: 'VALIDATOR',
      message: 'invalid request: quantity: must be greater than 0',
      metadata: { field: 'quantity' },
    });
    const noBuyer = await post(`${order.http}/v1/orders`, { productId: 'book', quantity: 1 });
    expect(noBuyer.status).toBe(400);
    expect(await noBuyer.json()).toMatchObject({ reason: 'VALIDATOR', metadata: { field: 'user_id' } });

    const again = await post(`${gateway}/v1/users`, { name: 'Ada', email: 'ada@example.com' });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ reason: 'USER_ALREADY_EXISTS' });
    const bad = await post(`${gateway}/v1/users`, { name: 'Bob', email: 'not-an-email' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ reason: 'INVALID_USER_INPUT' });
    const noOrder = await fetch(`${gateway}/v1/orders/o999`);
    expect(noOrder.status).toBe(404);
    expect(await noOrder.json()).toMatchObject({ reason: 'ORDER_NOT_FOUND' });
  }, 120_000);

  it('keeps answering when a user instance is SIGKILLed (its lease expires); 503 SERVICE_UNAVAILABLE with user stopped', async () => {
    const first = running[0]!; // the user instance started first
    const second = await start('user');
    const create = async (i: number) =>
      (await post(`${gateway}/v1/users`, { name: `u${i}`, email: `u${i}-${Date.now()}@example.com` })).status;

    await waitFor(async () => (await registered('user')) === 2, 'two user instances in etcd', 100, 100);
    first.child.kill('SIGKILL');
    // TTL 2 s: the dead instance's key leaves etcd when its lease expires, and with it the gateway's picker.
    await waitFor(async () => (await registered('user')) === 1, "the killed instance's lease to expire", 150, 100);
    await new Promise((r) => setTimeout(r, 500)); // the watch event reaching the gateway
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await create(i));
    expect(statuses, second.output()).toEqual(Array(20).fill(200));
    // All of them served by the instance still alive (its log lines are written asynchronously).
    const served = () => second.output().match(/user created/g)?.length ?? 0;
    await waitFor(async () => served() >= 20, 'the live instance to log 20 creations', 50, 100).catch(() => {});
    expect(served()).toBeGreaterThanOrEqual(20);

    second.child.kill('SIGTERM');
    expect(await exitWithin(second, 15_000), second.output()).toBe(0);
    const direct = await fetch(`${gateway}/v1/users/u1`);
    const directBody = (await direct.json()) as { code: number; reason: string; message: string };
    expect(direct.status, JSON.stringify(directBody)).toBe(503);
    expect(directBody).toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'user', target: 'discovery:///user' },
    });
    expect(directBody.message).toContain('user service is unavailable');
    // Through order: order's client names the user service; the gateway passes that on.
    const viaOrder = await post(`${gateway}/v1/orders`, { userId: 'u1', productId: 'pen', quantity: 1 });
    const viaOrderBody = (await viaOrder.json()) as {
      reason: string;
      message: string;
      metadata: Record<string, string>;
    };
    expect(viaOrder.status, JSON.stringify(viaOrderBody)).toBe(503);
    expect(viaOrderBody).toMatchObject({ reason: 'SERVICE_UNAVAILABLE', metadata: { service: 'user' } });
    expect(viaOrderBody.message).toContain('user service is unavailable');
  }, 120_000);

  it("runs all three under tsk dev with the root's npm run dev; one SIGTERM to it stops each gracefully", async () => {
    for (const s of running.splice(0)) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      s.child.kill('SIGTERM');
      await exitWithin(s, 15_000);
    }
    for (const name of ['user', 'order', 'gateway'])
      await waitFor(async () => (await registered(name)) === 0, `no ${name} left in etcd`, 150, 100);

    // npm run dev in each service runs `tsk dev`, as the tsk in the root's node_modules/.bin would.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'tsk'), `#!/bin/sh\nexec "${node}" "${tskBin}" "$@"\n`, { mode: 0o755 });
    const env: Record<string, string> = {
      PATH: `${bin}${path.delimiter}${process.env['PATH']}`,
      ETCD_ENDPOINT: etcd.endpoint,
      FORCE_COLOR: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    };
    const ports: Record<string, number> = {};
    for (const name of ['user', 'order', 'gateway']) {
      const prefix = name.toUpperCase();
      ports[name] = await freePort();
      env[`${prefix}_SERVER_HTTP_ADDR`] = `127.0.0.1:${ports[name]}`;
      env[`${prefix}_SERVER_GRPC_ADDR`] = `127.0.0.1:${await freePort()}`;
      env[`${prefix}_SERVER_DRAIN_DELAY_MS`] = '0';
      // No ${prefix}_REGISTRY_ENDPOINTS: the script hands each service ETCD_ENDPOINT.
      // A lease that outlives the test: only a graceful stop takes an instance out of etcd in time.
      env[`${prefix}_REGISTRY_TTL_SECONDS`] = '60';
    }
    const child = spawn(node, ['scripts/dev.js'], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const dev: Service = { child, output: () => out, exited };
    running.push(dev);

    const front = `http://127.0.0.1:${ports['gateway']}`;
    await waitFor(
      async () => (await fetch(`${front}/readyz`)).ok,
      () => `the gateway under tsk dev:\n${out}`,
      1200,
      100,
    );
    for (const name of ['user', 'order', 'gateway'])
      await waitFor(
        async () => (await registered(name)) === 1,
        () => `${name} in etcd:\n${out}`,
        300,
        100,
      );
    // Where the services listen, as their config and environment set it.
    await waitFor(
      async () =>
        out.includes(
          `gateway on http://localhost:${ports['gateway']} (user :${ports['user']}, order :${ports['order']})`,
        ),
      () => `the ports under tsk dev:\n${out}`,
      100,
      100,
    );
    const created = await post(`${front}/v1/users`, { name: 'Dev', email: `dev-${Date.now()}@example.com` });
    expect(created.status, out).toBe(200);

    // As a process manager stops it: the script alone is signalled (Ctrl-C in a terminal is tsk dev's test).
    child.kill('SIGTERM');
    expect(await exitWithin(dev, 30_000), out).toBe(0);
    expect(out.match(/"msg":"shutting down"/g)?.length, out).toBe(3);
    expect(out).not.toMatch(/second signal/);
    for (const name of ['user', 'order', 'gateway']) expect(await registered(name), name).toBe(0);
  }, 300_000);
});
