// End to end, the way a user writes OpenTelemetry code: two generated services on
// Node 24 with their default config. The front's handler starts a child span with
// startActiveSpan and, inside it, calls the back service with fetch, traced by the
// real undici auto-instrumentation. The OTLP receiver must get one trace:
// front server -> child -> undici client -> back server, each the parent of the next.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tskBin } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { nodeBinaryFor } from '../helpers/image-node.js';
import { npmStartArgs, type Service, startService, waitFor } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'e2e-otel');
const front = path.join(work, 'front');
const back = path.join(work, 'back');
const node24 = nodeBinaryFor('24');
const services: Service[] = [];
const repoPackage = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** Steps run without blocking the test worker (a blocked worker misses vitest's own heartbeats). */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, output })));
}

beforeAll(async () => {
  if (!node24 && process.env['CI'])
    throw new Error('no Node 24 to run the services on: set TSK_IMAGE_NODE (.ci/run does)');
  await fs.promises.rm(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const name of ['front', 'back']) {
    const created = await run(process.execPath, [tskBin, 'new', name, '--yes', '--no-git', '--no-install'], work);
    expect(created.status, created.output).toBe(0);
  }
  // The front calls the back from its handler, the way the OpenTelemetry docs teach.
  const service = path.join(front, 'internal/service/greeter.ts');
  const code = fs.readFileSync(service, 'utf8');
  fs.writeFileSync(
    service,
    code
      .replace('import type { Context }', "import { trace } from '@opentelemetry/api';\nimport type { Context }")
      .replace(
        "    return { message: await this.greeter.sayHello(request.name ?? '') };",
        [
          "    return trace.getTracer('front').startActiveSpan('greet-downstream', async (span) => {",
          "      const res = await fetch(`${process.env['BACK_URL']}/helloworld/${encodeURIComponent(request.name ?? '')}`);",
          '      const { message } = (await res.json()) as { message: string };',
          '      span.end();',
          '      return { message: `front: ${message}` };',
          '    });',
        ].join('\n'),
      ),
  );
  const extensions = path.join(front, 'cmd/front/telemetry.ts');
  fs.writeFileSync(
    extensions,
    fs
      .readFileSync(extensions, 'utf8')
      .replace(
        'import type { TelemetryOptions }',
        "import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';\nimport type { TelemetryOptions }",
      )
      .replace('    instrumentations: [],', '    instrumentations: [new UndiciInstrumentation()],'),
  );

  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], front);
  expect(install.status, install.output).toBe(0);
  // The release tsk is tested with, current when this was written: it asks for the
  // @opentelemetry/api the generated project pins, so npm must accept it without --force.
  const undiciRange = repoPackage.devDependencies['@opentelemetry/instrumentation-undici'];
  const undici = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', `@opentelemetry/instrumentation-undici@${undiciRange}`],
    front,
  );
  expect(undici.status, undici.output).toBe(0);
  // The back has the same dependencies (and one more it does not use).
  await fs.promises.cp(path.join(front, 'node_modules'), path.join(back, 'node_modules'), { recursive: true });
  for (const dir of [front, back]) {
    const build = await run('npm', ['run', 'build'], dir);
    expect(build.status, build.output).toBe(0);
  }
}, 600_000);

afterAll(async () => {
  for (const s of services) s.child.kill('SIGKILL');
});

describe('one trace through user code and an auto-instrumented call', () => {
  it('front server -> startActiveSpan child -> undici client -> back server, default config, Node 24', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const ports = {
      frontHttp: await freePort(),
      frontGrpc: await freePort(),
      backHttp: await freePort(),
      backGrpc: await freePort(),
    };
    const node = node24 ?? process.execPath;
    const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
    const backService = startService(
      back,
      npmStartArgs(back),
      {
        ...common,
        BACK_SERVER_HTTP_ADDR: `127.0.0.1:${ports.backHttp}`,
        BACK_SERVER_GRPC_ADDR: `127.0.0.1:${ports.backGrpc}`,
      },
      node,
    );
    const frontService = startService(
      front,
      npmStartArgs(front),
      {
        ...common,
        FRONT_SERVER_HTTP_ADDR: `127.0.0.1:${ports.frontHttp}`,
        FRONT_SERVER_GRPC_ADDR: `127.0.0.1:${ports.frontGrpc}`,
        BACK_URL: `http://127.0.0.1:${ports.backHttp}`,
      },
      node,
    );
    services.push(backService, frontService);
    try {
      for (const port of [ports.backHttp, ports.frontHttp]) {
        await waitFor(
          async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
          `the service on ${port} to be ready`,
        );
      }
      // The caller samples the trace (the default config samples 10% of new traces and follows a caller's decision).
      const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
      const callerSpan = '1122334455667788';
      const res = await fetch(`http://127.0.0.1:${ports.frontHttp}/helloworld/ada`, {
        headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      });
      expect(await res.json()).toEqual({ message: 'front: Hello ada' });
      await waitFor(
        async () => receiver.spans.filter((s) => s.traceId === traceId).length >= 4,
        'four spans of the trace',
        200,
        50,
      );
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      const frontServer = spans.find((s) => s.serviceName === 'front' && s.kind === 2)!;
      const child = spans.find((s) => s.name === 'greet-downstream')!;
      const client = spans.find(
        (s) => s.serviceName === 'front' && s.kind === 3 && s.scope === '@opentelemetry/instrumentation-undici',
      )!;
      const backServer = spans.find((s) => s.serviceName === 'back' && s.kind === 2)!;
      expect([frontServer, child, client, backServer].every(Boolean), JSON.stringify(spans)).toBe(true);
      expect(frontServer.parentSpanId).toBe(callerSpan);
      expect(child.parentSpanId).toBe(frontServer.spanId);
      expect(client.parentSpanId).toBe(child.spanId);
      expect(backServer.parentSpanId).toBe(client.spanId);
      expect(spans).toHaveLength(4);
    } finally {
      frontService.child.kill('SIGTERM');
      backService.child.kill('SIGTERM');
      receiver.stop();
    }
  }, 120_000);
});
