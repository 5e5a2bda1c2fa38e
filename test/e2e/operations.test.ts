// The operator's edges of a generated service, run as real processes: an etcd outage
// under load, SIGTERM with a collector that never answers, and a rolling restart
// behind the discovery client. Clients are proto-loader / fetch, not generated code.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdRegistry } from '../../src/runtime/registry/etcd.js';
import { GrpcClientConn } from '../../src/runtime/transport/grpc/client.js';
import { repoRoot, tskBin } from '../helpers/cli.js';
import { EtcdProcess, etcdAvailable, etcdForTests, freePort } from '../helpers/etcd.js';
import { nodeBinaryFor } from '../helpers/image-node.js';
import { exitWithin, npmStartEntry, type Service, startService, waitFor } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'e2e-operations');
const project = path.join(work, 'ops');
const node = nodeBinaryFor('24') ?? process.execPath;

const useEtcd = etcdAvailable() || Boolean(process.env['CI']);

/** Like run(), without blocking this worker's event loop (vitest's RPC times out on long blocking calls). */
function runAsync(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

beforeAll(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const created = await runAsync(
    process.execPath,
    [tskBin, 'new', 'ops', '--yes', '--no-git', '--no-install', '--registry', 'etcd'],
    work,
  );
  expect(created.status, created.output).toBe(0);
  const install = await runAsync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
  expect(install.status, install.output).toBe(0);
  const build = await runAsync('npm', ['run', 'build'], project);
  expect(build.status, build.output).toBe(0);
}, 600_000);

interface Instance {
  service: Service;
  http: string;
  grpc: string;
}

async function startInstance(env: Record<string, string>, conf = 'configs/config.yaml'): Promise<Instance> {
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const service = startService(
    project,
    [...npmStartEntry(project), '--conf', conf],
    {
      OPS_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      OPS_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      OPS_TELEMETRY_OTLP_ENDPOINT: '',
      ...env,
    },
    node,
  );
  const http = `http://127.0.0.1:${httpPort}`;
  await waitFor(
    async () => (await fetch(`${http}/readyz`)).ok || service.child.exitCode !== null,
    'the service to be ready',
  );
  if (service.child.exitCode !== null) throw new Error(`service exited early:\n${service.output()}`);
  return { service, http, grpc: `127.0.0.1:${grpcPort}` };
}

/** grpc.health.v1.Health/Check for the server as a whole, decoded by hand (SERVING is field 1 = 1). */
function grpcHealth(client: grpc.Client): Promise<string> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 1000 },
      (err, res) => {
        if (err) return resolve(`error ${err.code}`);
        resolve(res && res[0] === 0x08 && res[1] === 1 ? 'SERVING' : `status ${res?.toString('hex')}`);
      },
    );
  });
}

/** Runs `call` from `workers` loops until `stop()` is called (or `limitMs` passes); counts outcomes. */
function load(call: (i: number) => Promise<void>, workers: number, limitMs: number) {
  let stopped = false;
  const stats = { ok: 0, failed: 0, errors: [] as string[] };
  const until = Date.now() + limitMs;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stopped && Date.now() < until && i < 200_000; i++) {
      try {
        await call(w * 1_000_000 + i);
        stats.ok++;
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(String(err));
      }
    }
  });
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** Resolves once the process wrote a log line matching `pattern`. */
const logged = (service: Service, pattern: RegExp) => async () => pattern.test(service.output());

describe.skipIf(!useEtcd)('an etcd outage longer than the lease, under load (real etcd)', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await EtcdProcess.create();
    await etcd.start();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('keeps serving and ready, logs loss and recovery once each, and re-registers', async () => {
    const ttl = 2;
    const instance = await startInstance({
      OPS_REGISTRY_ENDPOINTS: etcd.endpoint,
      OPS_REGISTRY_TTL_SECONDS: String(ttl),
      HOSTNAME: 'outage',
    });
    const admin = new Etcd3({ hosts: etcd.endpoint });
    const registered = async () => Object.keys(await admin.getAll().prefix('/microservices/ops/').strings());
    const health = new grpc.Client(instance.grpc, grpc.credentials.createInsecure());
    try {
      await waitFor(async () => (await registered()).length === 1, 'the instance to register');
      const key = (await registered())[0]!;

      const traffic = load(
        async (i) => {
          const res = await fetch(`${instance.http}/helloworld/u${i % 500}`);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        },
        4,
        60_000,
      );
      const probes: string[] = [];
      const probing = load(
        async () => {
          const ready = await fetch(`${instance.http}/readyz`);
          probes.push(`readyz ${ready.status}`, `grpc ${await grpcHealth(health)}`);
          await new Promise((r) => setTimeout(r, 100));
        },
        1,
        60_000,
      );

      await new Promise((r) => setTimeout(r, 500));
      await etcd.stop();
      // Longer than the lease (and than the 2 x TTL after which the client gives it up).
      await new Promise((r) => setTimeout(r, (2 * ttl + 3) * 1000));
      await etcd.start();
      await waitFor(async () => (await registered()).includes(key), 'the key to come back', 300, 100);
      await waitFor(logged(instance.service, /registry reachable again/), 'the recovery log line', 100, 100);
      await new Promise((r) => setTimeout(r, 500));

      const stats = await traffic.stop();
      await probing.stop();
      expect(stats.failed, stats.errors.join('\n')).toBe(0);
      expect(stats.ok).toBeGreaterThan(100);
      expect(probes.length).toBeGreaterThan(40);
      expect(new Set(probes)).toEqual(new Set(['readyz 200', 'grpc SERVING']));
      const lines = instance.service.output().split('\n');
      expect(lines.filter((l) => l.includes('etcd registry unreachable'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('etcd registry reachable again'))).toHaveLength(1);
    } finally {
      health.close();
      admin.close();
      instance.service.child.kill('SIGTERM');
      expect(await exitWithin(instance.service, 15_000), instance.service.output()).toBe(0);
    }
  }, 120_000);

  it('with registry.startup=retry starts while etcd is down and registers once it is up', async () => {
    const later = await EtcdProcess.create();
    const instance = await startInstance({
      OPS_REGISTRY_ENDPOINTS: later.endpoint,
      OPS_REGISTRY_TTL_SECONDS: '2',
      OPS_REGISTRY_STARTUP: 'retry',
      HOSTNAME: 'patient',
    });
    try {
      expect((await fetch(`${instance.http}/helloworld/x`)).status).toBe(200);
      await waitFor(logged(instance.service, /etcd registry unreachable/), 'the outage log line');
      await later.start();
      const admin = new Etcd3({ hosts: later.endpoint });
      await waitFor(
        async () => Object.keys(await admin.getAll().prefix('/microservices/ops/').strings()).length === 1,
        'registration',
        300,
        100,
      );
      admin.close();
    } finally {
      instance.service.child.kill('SIGTERM');
      expect(await exitWithin(instance.service, 15_000), instance.service.output()).toBe(0);
      await later.destroy();
    }
  }, 120_000);

  it('fails fast by default when etcd is unreachable at start: one line, exit 1', async () => {
    const service = startService(
      project,
      npmStartEntry(project),
      {
        OPS_SERVER_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
        OPS_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
        OPS_REGISTRY_ENDPOINTS: `http://127.0.0.1:${await freePort()}`,
        OPS_TELEMETRY_OTLP_ENDPOINT: '',
      },
      node,
    );
    expect(await exitWithin(service, 30_000)).toBe(1);
    const line = service
      .output()
      .split('\n')
      .find((l) => l.includes('failed to start'));
    expect(line).toBeDefined();
    const failed = JSON.parse(line!);
    expect(failed.err.message).toMatch(/^etcd at .* did not register ops/);
    expect(failed.hint).toMatch(/^registry\.startup: retry serves now/);
  }, 60_000);

  it('rolling restart: one of two instances stopped under load behind the discovery client loses no request', async () => {
    const env = { OPS_REGISTRY_ENDPOINTS: etcd.endpoint, OPS_REGISTRY_TTL_SECONDS: '5' };
    const a = await startInstance({ ...env, HOSTNAME: 'roll-a' });
    const b = await startInstance({ ...env, HOSTNAME: 'roll-b' });
    const registry = new EtcdRegistry({ endpoints: [etcd.endpoint] });
    const definition = protoLoader.loadSync('ops/v1/greeter.proto', {
      includeDirs: [path.join(project, 'api'), path.join(project, 'third_party')],
      longs: String,
      defaults: true,
    });
    const sayHello = (definition['ops.v1.Greeter'] as grpc.ServiceDefinition)['SayHello']!;
    const conn = new GrpcClientConn({ target: 'discovery:///ops', discovery: registry, timeoutMs: 2000 });
    try {
      await waitFor(async () => (await registry.getService('ops')).length === 2, 'both instances to register');
      const traffic = load(
        async (i) => {
          const res = (await conn.invoke(sayHello, { name: `n${i % 100}` })) as { message: string };
          if (!res.message.startsWith('Hello')) throw new Error(`unexpected answer ${JSON.stringify(res)}`);
        },
        4,
        60_000,
      );
      // Calls are flowing to both before the stop, and keep flowing (to a) after it.
      await waitFor(async () => traffic.stats.ok >= 50, 'traffic to flow', 200, 50);
      const before = traffic.stats.ok;
      b.service.child.kill('SIGTERM');
      expect(await exitWithin(b.service, 15_000), b.service.output()).toBe(0);
      await waitFor(async () => traffic.stats.ok >= before + 50, 'traffic to keep flowing after the stop', 200, 50);
      const stats = await traffic.stop();
      expect(stats.failed, stats.errors.join('\n')).toBe(0);
      expect(b.service.output()).toMatch(/"operation":"\/ops\.v1\.Greeter\/SayHello"/); // b did serve some of them
      expect(await registry.getService('ops')).toHaveLength(1);
    } finally {
      conn.close();
      await registry.close();
      for (const s of [a, b]) {
        s.service.child.kill('SIGTERM');
        expect(await exitWithin(s.service, 15_000)).toBe(0);
      }
    }
  }, 120_000);
});

describe('a stop signal while the service starts', () => {
  it('is never lost: SIGTERM at any moment of the start ends the process, with exit 0 once the service handles it', async () => {
    const outcomes: string[] = [];
    for (let delayMs = 0; delayMs <= 600; delayMs += 30) {
      const service = startService(
        project,
        [...npmStartEntry(project), '--conf', 'configs/config.yaml'],
        {
          OPS_SERVER_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
          OPS_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
          OPS_SERVER_DRAIN_DELAY_MS: '0',
          OPS_REGISTRY_KIND: 'none',
          OPS_TELEMETRY_OTLP_ENDPOINT: '',
        },
        node,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      service.child.kill('SIGTERM');
      // A signal swallowed between two handlers would leave the service serving until this kills it.
      const code = await exitWithin(service, 10_000);
      const outcome = code === 0 ? 'exit 0' : `${code ?? service.child.signalCode}`;
      outcomes.push(outcome);
      // Before its code runs (Node loading it), Node's own handling ends the process.
      expect(['exit 0', 'SIGTERM'], `${delayMs} ms:\n${service.output()}`).toContain(outcome);
    }
    expect(outcomes).toContain('exit 0');
  }, 180_000);
});

describe('stop is bounded by stop_timeout_ms', () => {
  for (const protocol of ['grpc', 'http/protobuf']) {
    it(`exits 0 within stop_timeout_ms + 1 s on SIGTERM when the ${protocol} collector accepts and never answers`, async () => {
      const sockets: net.Socket[] = [];
      const collector = net.createServer((s) => {
        sockets.push(s);
        s.on('error', () => {});
      });
      await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
      const endpoint = `http://127.0.0.1:${(collector.address() as net.AddressInfo).port}`;
      const stopTimeoutMs = 3000;
      const instance = await startInstance({
        OPS_REGISTRY_KIND: 'none',
        OPS_SERVER_STOP_TIMEOUT_MS: String(stopTimeoutMs),
        OPS_TELEMETRY_SAMPLING_RATIO: '1',
        OPS_TELEMETRY_OTLP_METRICS: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      });
      try {
        for (let i = 0; i < 50; i++) expect((await fetch(`${instance.http}/helloworld/s${i}`)).status).toBe(200);
        // Let the batcher start an export that will hang.
        await new Promise((r) => setTimeout(r, 1500));
        expect(sockets.length).toBeGreaterThan(0);
        const started = Date.now();
        instance.service.child.kill('SIGTERM');
        const code = await exitWithin(instance.service, stopTimeoutMs + 5000);
        const took = Date.now() - started;
        expect(code, instance.service.output()).toBe(0);
        expect(took, instance.service.output()).toBeLessThanOrEqual(stopTimeoutMs + 1000);
      } finally {
        instance.service.child.kill('SIGKILL');
        for (const s of sockets) s.destroy();
        collector.close();
      }
    }, 60_000);
  }
});

describe.skipIf(!useEtcd)('config from a key in etcd over the file (real etcd)', () => {
  const live = etcdForTests();

  it('serves on the address the key sets, follows its log level, and refuses a wrong value with its line', async () => {
    const port = await freePort();
    const key = '/configs/ops.yaml';
    await live.admin.put(key).value(`server:\n  http:\n    addr: 127.0.0.1:${port}\nlog:\n  level: info\n`);
    const url = `etcd://127.0.0.1:${live.etcd.clientPort}${key}`;
    const grpcPort = await freePort();
    const service = startService(
      project,
      [...npmStartEntry(project), '--conf', 'configs/config.yaml', '--conf', url],
      { OPS_REGISTRY_KIND: 'none', OPS_TELEMETRY_OTLP_ENDPOINT: '', OPS_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}` },
      node,
    );
    try {
      const http = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => (await fetch(`${http}/readyz`)).ok || service.child.exitCode !== null,
        'the service on the address from etcd',
      );
      expect(service.child.exitCode, service.output()).toBeNull();
      await live.admin.put(key).value(`server:\n  http:\n    addr: 127.0.0.1:${port}\nlog:\n  level: debug\n`);
      await waitFor(logged(service, /"from":"info","to":"debug","msg":"log level changed"/), 'the new level', 100, 50);
      await live.admin.put(key).value(`server:\n  http:\n    addr: 127.0.0.1:${port}\nlog:\n  level: loud\n`);
      await waitFor(logged(service, /config reload failed/), 'the wrong value reported', 100, 50);
      expect(service.output()).toContain(`${url}:5: log.level: expected one of`);
      expect((await fetch(`${http}/readyz`)).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      expect(await exitWithin(service, 15_000)).toBe(0);
    }

    const refused = startService(
      project,
      [...npmStartEntry(project), '--conf', 'configs/config.yaml', '--conf', url],
      {},
      node,
    );
    expect(await exitWithin(refused, 20_000)).toBe(1);
    expect(refused.output().trim()).toMatch(
      new RegExp(`^config: ${url}:5: log\\.level: expected one of .*got "loud"$`),
    );

    await live.admin.delete().key(key);
    const missing = startService(project, [...npmStartEntry(project), '--conf', url], {}, node);
    expect(await exitWithin(missing, 20_000)).toBe(1);
    expect(missing.output().trim()).toBe(`config: ${url}: no such key (${key}; a prefix of several keys ends in /)`);
  });
});

describe('config errors: one line each, exit 1, no stack', () => {
  const config = () => fs.readFileSync(path.join(project, 'configs', 'config.yaml'), 'utf8');
  const cases: [string, Record<string, string>, (() => string) | undefined, RegExp][] = [
    [
      'a bad address from env',
      { OPS_SERVER_HTTP_ADDR: 'abc' },
      undefined,
      /^config: OPS_SERVER_HTTP_ADDR: server\.http\.addr: expected host:port/,
    ],
    [
      'a bad ratio from env',
      { OPS_TELEMETRY_SAMPLING_RATIO: 'abc' },
      undefined,
      /^config: OPS_TELEMETRY_SAMPLING_RATIO: telemetry\.sampling_ratio: expected a number, got "abc"$/,
    ],
    [
      'a word for a number in the file',
      {},
      () => config().replace('timeout_ms: 1000', 'timeout_ms: abc'),
      /^config: \S+\.yaml:6: server\.http\.timeout_ms: expected an integer, got "abc"$/,
    ],
    [
      'a string for a ratio in the file',
      {},
      () => config().replace('sampling_ratio: 0.1', 'sampling_ratio: "lots"'),
      /^config: \S+\.yaml:\d+: telemetry\.sampling_ratio: expected a number, got "lots"$/,
    ],
    [
      'a ratio out of range',
      {},
      () => config().replace('sampling_ratio: 0.1', 'sampling_ratio: 5'),
      /^config: \S+\.yaml:\d+: telemetry\.sampling_ratio: must be between 0 and 1, got 5$/,
    ],
    ['malformed YAML', {}, () => 'server:\n  http: [\n', /^config: \S+\.yaml:\d+:\d+: not valid YAML: /],
    [
      'a word for a switch from env',
      { OPS_SERVER_HTTP_DOCS: 'on' },
      undefined,
      /^config: OPS_SERVER_HTTP_DOCS: server\.http\.docs: expected true or false \(or 1\/0, yes\/no\), got "on"$/,
    ],

    [
      'a registry the project was made without',
      { OPS_REGISTRY_KIND: 'consul' },
      undefined,
      /^config: OPS_REGISTRY_KIND: registry\.kind: expected one of none, etcd, got "consul"/,
    ],
  ];
  for (const [what, env, file, expected] of cases) {
    it(what, async () => {
      const args = npmStartEntry(project);
      if (file) {
        const custom = path.join(work, `config-${what.replace(/\W+/g, '-')}.yaml`);
        fs.writeFileSync(custom, file());
        args.push('--conf', custom);
      }
      const service = startService(project, args, env, node);
      expect(await exitWithin(service, 20_000)).toBe(1);
      const lines = service.output().trim().split('\n');
      expect(lines, service.output()).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    });
  }

  it('a missing config file', async () => {
    const service = startService(project, [...npmStartEntry(project), '--conf', 'configs/nope.yaml'], {}, node);
    expect(await exitWithin(service, 20_000)).toBe(1);
    expect(service.output().trim()).toBe('config: configs/nope.yaml: cannot read the file (it does not exist)');
  });

  it('masks the fields log.redact names on every line', async () => {
    // service.version is on every line the service writes: masked, it shows the config reached the logger.
    const instance = await startInstance({ OPS_REGISTRY_KIND: 'none', OPS_LOG_REDACT: '["service.version"],password' });
    try {
      await waitFor(logged(instance.service, /started"/), 'the started line', 100, 50);
      const lines = instance.service
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line['service.version'], JSON.stringify(line)).toBe('***');
    } finally {
      instance.service.child.kill('SIGTERM');
      expect(await exitWithin(instance.service, 15_000)).toBe(0);
    }
  });

  it('the running service follows its config file across delete and recreate', async () => {
    const dir = path.join(work, 'watched');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, config());
    const instance = await startInstance({ OPS_REGISTRY_KIND: 'none' }, file);
    try {
      fs.rmSync(file);
      await waitFor(logged(instance.service, /config reload failed/), 'the missing file to be reported', 100, 50);
      fs.writeFileSync(file, config().replace('level: info', 'level: debug'));
      await waitFor(logged(instance.service, /"log level changed"/), 'the recreated file to be read', 100, 50);
      expect((await fetch(`${instance.http}/readyz`)).status).toBe(200);
      // A change back to a more verbose level is said too: under the new level, not the old.
      fs.writeFileSync(file, config().replace('level: info', 'level: warn'));
      await waitFor(logged(instance.service, /"to":"warn"/), 'the change to warn', 100, 50);
      fs.writeFileSync(file, config());
      await waitFor(logged(instance.service, /"from":"warn","to":"info"/), 'the change back to info', 100, 50);
      // An edit the running service does not apply is named.
      fs.writeFileSync(file, config().replace(/drain_delay_ms: \d+/, 'drain_delay_ms: 7'));
      await waitFor(
        logged(
          instance.service,
          /"keys":\["server\.drain_delay_ms"\],"msg":"config changed; these keys take effect at the next start"/,
        ),
        'the edit that waits for a restart to be named',
        100,
        50,
      );
      // Undone, it is said to be undone rather than named as waiting again.
      fs.writeFileSync(file, config());
      await waitFor(logged(instance.service, /"config is back to what the service runs with"/), 'the undo', 100, 50);
      // A reload that fails is said even where warn lines are off.
      fs.writeFileSync(file, config().replace('level: info', 'level: error'));
      await waitFor(logged(instance.service, /"from":"info","to":"error"/), 'the change to error', 100, 50);
      const failures = () => instance.service.output().match(/config reload failed/g)?.length ?? 0;
      const before = failures();
      fs.writeFileSync(file, config().replace('level: info', 'level: loud'));
      await waitFor(async () => failures() > before, 'the failed reload at level error', 100, 50);
    } finally {
      instance.service.child.kill('SIGTERM');
      expect(await exitWithin(instance.service, 15_000)).toBe(0);
    }
  });
});

describe('requests refused before routing are counted and logged', () => {
  it('shows 404 (a path no route takes, with or without a body) and 400 without Host in /metrics and the access log', async () => {
    const instance = await startInstance({ OPS_REGISTRY_KIND: 'none' });
    try {
      expect((await fetch(`${instance.http}/no/such/path`)).status).toBe(404);
      const unsupported = await fetch(`${instance.http}/users`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: 'x',
      });
      // Routed before its body is read: no route takes POST /users, whatever the body.
      expect(unsupported.status).toBe(404);
      const port = Number(new URL(instance.http).port);
      const noHost = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.end('GET /helloworld/x HTTP/1.1\r\nConnection: close\r\n\r\n'),
        );
        let data = '';
        socket.on('data', (d) => (data += d));
        socket.on('error', reject);
        socket.on('close', () => resolve(data));
      });
      expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(noHost.slice(noHost.indexOf('\r\n\r\n') + 4))).toMatchObject({
        code: 400,
        reason: 'BAD_REQUEST',
      });
      const metrics = await (await fetch(`${instance.http}/metrics`)).text();
      expect(metrics).toMatch(
        /server_requests_code_total\{[^}]*operation="<unmatched>"[^}]*code="404"[^}]*reason="NOT_FOUND"[^}]*\} 2/,
      );
      expect(metrics).toMatch(
        /server_requests_code_total\{[^}]*operation="<unmatched>"[^}]*code="400"[^}]*reason="BAD_REQUEST"[^}]*\} 1/,
      );
      await waitFor(logged(instance.service, /"operation":"<unmatched>","code":404/), 'the 404 access line', 100, 50);
    } finally {
      instance.service.child.kill('SIGTERM');
      expect(await exitWithin(instance.service, 15_000)).toBe(0);
    }
  });
});

// Both servers word a taken port alike: Node's own EADDRINUSE error, in the start-up failure line.
describe('a port already in use', () => {
  const failureLines = (service: Service) =>
    service
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'failed to start');

  for (const transport of ['GRPC', 'HTTP']) {
    it(`${transport === 'GRPC' ? 'gRPC' : 'HTTP'}: failed to start, naming the address, exit 1; nothing of grpc-js's`, async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const address = `127.0.0.1:${(taken.address() as net.AddressInfo).port}`;
      try {
        const other = transport === 'GRPC' ? 'HTTP' : 'GRPC';
        const service = startService(
          project,
          npmStartEntry(project),
          {
            OPS_REGISTRY_KIND: 'none',
            OPS_TELEMETRY_OTLP_ENDPOINT: '',
            [`OPS_SERVER_${transport}_ADDR`]: address,
            [`OPS_SERVER_${other}_ADDR`]: `127.0.0.1:${await freePort()}`,
          },
          node,
        );
        expect(await exitWithin(service, 20_000)).toBe(1);
        expect(service.output()).not.toMatch(/No address added/);
        const failed = failureLines(service);
        expect(failed, service.output()).toHaveLength(1);
        expect(failed[0].err.message).toBe(`listen EADDRINUSE: address already in use ${address}`);
      } finally {
        taken.close();
      }
    });
  }

  it('both: one failure line naming each address', async () => {
    const taken = [net.createServer(), net.createServer()];
    for (const t of taken) await new Promise<void>((resolve) => t.listen(0, '127.0.0.1', resolve));
    const [http, grpc] = taken.map((t) => `127.0.0.1:${(t.address() as net.AddressInfo).port}`);
    try {
      const service = startService(
        project,
        npmStartEntry(project),
        {
          OPS_REGISTRY_KIND: 'none',
          OPS_TELEMETRY_OTLP_ENDPOINT: '',
          OPS_SERVER_HTTP_ADDR: http!,
          OPS_SERVER_GRPC_ADDR: grpc!,
        },
        node,
      );
      expect(await exitWithin(service, 20_000)).toBe(1);
      const failed = failureLines(service);
      expect(failed, service.output()).toHaveLength(1);
      expect(failed[0].err.message).toBe(
        `listen EADDRINUSE: address already in use ${http}; listen EADDRINUSE: address already in use ${grpc}`,
      );
    } finally {
      for (const t of taken) t.close();
    }
  });
});
