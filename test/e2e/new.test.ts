// End to end: `tsk new` -> npm install -> build -> the project's own tests -> run it
// and call it over HTTP and gRPC (proto-loader client, not our generated code),
// with spans received by an OTLP receiver and SIGTERM handled; then the same with
// etcd registration against a real etcd.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Etcd3 } from 'etcd3';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';
import { EtcdProcess, etcdAvailable, freePort } from '../helpers/etcd.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { SERVICE_NODE_COMMAND } from '../../src/scaffold/package-json.js';
import { dockerfileNodeVersion, nodeBinaryFor, serviceNodeEnv } from '../helpers/image-node.js';
import { exitWithin, npmStartArgs, npmStartEntry, run, startService, waitFor, waitReady } from '../helpers/process.js';
import { dashboardTargets, exportedSeries, groupingLabels, selectedMetrics } from '../helpers/promql.js';
import { parseAllDocuments } from 'yaml';

const work = path.join(repoRoot, '.tmp', 'e2e');
const demo = path.join(work, 'demo');

beforeAll(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const created = tsk(['new', 'demo', '--yes', '--no-git', '--no-install'], work);
  expect(created.stderr).toBe('');
  expect(created.status).toBe(0);
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], demo);
  expect(install.status, install.output).toBe(0);
}, 600_000);

describe('tsk new demo', () => {
  it('builds and passes its own tests', async () => {
    const build = await run('npm', ['run', 'build'], demo);
    expect(build.status, build.output).toBe(0);
    // npm start runs the bundle (tsk bundle, part of the build); the tests below start it.
    expect(npmStartArgs(demo)).toEqual([
      ...SERVICE_NODE_COMMAND.slice(1),
      'dist/bundle/main.js',
      '--conf',
      'configs/config.yaml',
    ]);
    expect(build.output).toMatch(/wrote dist\/bundle\/main\.js \(\d+ KB\) and \d+ chunks/);
    const lint = await run('npm', ['run', 'lint'], demo);
    expect(lint.status, lint.output).toBe(0);
    // Teams on the strictest compiler settings compile the vendored runtime and generated code too.
    const strict = await run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit', '--exactOptionalPropertyTypes'], demo);
    expect(strict.status, strict.output).toBe(0);
    const test = await run('npm', ['test'], demo, serviceNodeEnv());
    expect(test.status, test.output).toBe(0);
  }, 300_000);

  it('--check loads the bundle and checks the config without starting (exit 0), a bad config exits 1', async () => {
    const node = process.env['TSK_IMAGE_NODE'] || process.execPath;
    const entry = npmStartEntry(demo);
    const ok = await run(node, [...entry, '--conf', 'configs/config.yaml', '--check'], demo);
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output.trim()).toBe('configs/config.yaml: config ok');
    // A directory, as Kratos services are run (-conf ../../configs): its YAML files, merged.
    const dir = await run(node, [...entry, '--conf', 'configs', '--check'], demo);
    expect(dir.status, dir.output).toBe(0);
    expect(dir.output.trim()).toBe('configs: config ok');
    const bad = await run(node, [...entry, '--conf', 'configs/missing.yaml', '--check'], demo);
    expect(bad.status, bad.output).toBe(1);
    expect(bad.output).toMatch(/configs\/missing\.yaml/);
    // --conf=<file> is --conf <file>; a flag the service does not know, or --conf without a
    // file, stops it (exit 2) instead of starting on the default config.
    const equals = await run(node, [...entry, '--conf=configs/missing.yaml', '--check'], demo);
    expect(equals.status, equals.output).toBe(1);
    expect(equals.output).toMatch(/configs\/missing\.yaml/);
    for (const args of [
      ['--check', '--conf'],
      ['--config', 'configs/config.yaml', '--check'],
      ['--check', 'extra'],
    ]) {
      const r = await run(node, [...entry, ...args], demo);
      expect(r.status, `${args.join(' ')}: ${r.output}`).toBe(2);
      expect(r.output).toMatch(/usage: .*--conf <file\|dir\|store>\]\.\.\. \[--check\]/);
    }
    // The OTEL_* settings are checked as the start would check them.
    const telemetry = await run(node, [...entry, '--conf', 'configs/config.yaml', '--check'], demo, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    expect(telemetry.status, telemetry.output).toBe(1);
    expect(telemetry.output.trim()).toBe(
      'telemetry: OTLP endpoint "otel-collector:4318" has no scheme; with http/protobuf write http://otel-collector:4318 (or https://)',
    );
    // Every OTLP protocol the telemetry takes is one the config check takes.
    for (const protocol of ['grpc', 'http/protobuf', 'http/json']) {
      const r = await run(node, [...entry, '--conf', 'configs/config.yaml', '--check'], demo, {
        DEMO_TELEMETRY_OTLP_PROTOCOL: protocol,
      });
      expect(r.status, `${protocol}: ${r.output}`).toBe(0);
    }
    // What the start would only warn of is said, and the config still passes.
    const warned = await run(node, [...entry, '--conf', 'configs/config.yaml', '--check'], demo, {
      OTEL_TRACES_SAMPLER: 'nope',
    });
    expect(warned.status, warned.output).toBe(0);
    expect(warned.output.trim().split('\n')).toEqual([
      'telemetry: warning: unknown OTEL_TRACES_SAMPLER value "nope", using the configured sampling ratio',
      'configs/config.yaml: config ok',
    ]);
  }, 60_000);

  it("its own tests fail when the ConfigMap's config falls behind configs/config.yaml or would be refused", async () => {
    const configMapFile = path.join(demo, 'deploy/kubernetes/configmap.yaml');
    const deploymentFile = path.join(demo, 'deploy/kubernetes/deployment.yaml');
    const [configMap, deployment] = [configMapFile, deploymentFile].map((f) => fs.readFileSync(f, 'utf8'));
    const deployTest = () => run('node', ['--import', 'tsx', '--test', 'test/deploy.test.ts'], demo, serviceNodeEnv());
    try {
      expect((await deployTest()).status).toBe(0);
      fs.writeFileSync(configMapFile, configMap!.replace(/^ +max_users: .*\n/m, ''));
      const behind = await deployTest();
      expect(behind.status).toBe(1);
      expect(behind.output).toContain(
        'deploy/kubernetes/configmap.yaml lacks data.max_users, which configs/config.yaml sets: add it to its config.yaml, or set DEMO_DATA_MAX_USERS in deployment.yaml',
      );
      // The Deployment setting the variable is as good as the key.
      fs.writeFileSync(
        deploymentFile,
        deployment!.replace(/^( +)- name: OTEL_SERVICE_NAME$/m, '$1- name: DEMO_DATA_MAX_USERS\n$1  value: "500"\n$&'),
      );
      expect((await deployTest()).status).toBe(0);
      fs.writeFileSync(configMapFile, configMap!.replace('sampling_ratio: 0.1', 'sampling_ratio: 2'));
      const refused = await deployTest();
      expect(refused.status).toBe(1);
      const line = configMap!.split('\n').findIndex((l) => l.includes('sampling_ratio')) + 1;
      expect(refused.output).toContain(
        `config: deploy/kubernetes/configmap.yaml:${line}: telemetry.sampling_ratio: must be between 0 and 1, got 2`,
      );
    } finally {
      fs.writeFileSync(configMapFile, configMap!);
      fs.writeFileSync(deploymentFile, deployment!);
    }
  }, 60_000);

  it('a wiring error (a route registered twice) stops the start with one log line naming it, exit 1', async () => {
    const broken = path.join(work, 'demo-wiring');
    fs.rmSync(broken, { recursive: true, force: true });
    fs.cpSync(demo, broken, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
    fs.symlinkSync(path.join(demo, 'node_modules'), path.join(broken, 'node_modules'));
    const http = path.join(broken, 'internal/server/http.ts');
    const line = '  registerHTTPServices(server, deps.services);\n';
    const source = fs.readFileSync(http, 'utf8');
    expect(source).toContain(line);
    fs.writeFileSync(http, source.replace(line, line + line));
    const build = await run('npm', ['run', 'build'], broken);
    expect(build.status, build.output).toBe(0);
    const service = startService(
      broken,
      npmStartEntry(broken),
      {
        DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
        DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      },
      process.env['TSK_IMAGE_NODE'] || process.execPath,
    );
    expect(await exitWithin(service, 30_000)).toBe(1);
    const failure = service
      .output()
      .split('\n')
      .find((l) => l.includes('failed to start'));
    expect(failure, service.output()).toBeDefined();
    expect(JSON.parse(failure!).err.message).toMatch(
      /^http route: GET \/helloworld\/\{name\} \(\/demo\.v1\.Greeter\/SayHello\) matches the same paths as/,
    );
    // Any line of the bundle Node prints stays short enough for a log collector.
    for (const l of service.output().split('\n')) expect(l.length).toBeLessThan(2000);
  }, 180_000);

  it('serves a second service once it is built as tsk proto server says, and checks its buf.validate rules', async () => {
    const project = path.join(work, 'demo-orders');
    fs.rmSync(project, { recursive: true, force: true });
    fs.cpSync(demo, project, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
    fs.symlinkSync(path.join(demo, 'node_modules'), path.join(project, 'node_modules'));
    expect(tsk(['proto', 'add', 'api/shop/v1/order.proto'], project).status).toBe(0);
    const proto = path.join(project, 'api/shop/v1/order.proto');
    const edit = (file: string, from: string | RegExp, to: string) => {
      const before = fs.readFileSync(file, 'utf8');
      const after = before.replace(from, to);
      expect(after, `${file}: ${from}`).not.toBe(before);
      fs.writeFileSync(file, after);
    };
    edit(proto, 'import "google/api/annotations.proto";', 'import "buf/validate/validate.proto";\n$&');
    edit(
      proto,
      /message CreateOrderRequest \{\n {2}string name = 1;/,
      'message CreateOrderRequest {\n  string name = 1 [(buf.validate.field).string.min_len = 1];',
    );
    const generate = tsk(['generate'], project);
    expect(generate.status, generate.stderr).toBe(0);
    const stub = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(stub.status, stub.stderr).toBe(0);
    // The one edit the hint printed above asks for: the service built with the others. Before
    // it, the build names what is missing; the servers serve every entry of api/services.ts.
    expect(stub.stdout).toContain(
      'next: build it in cmd/demo/services.ts, in what newServices returns: order: new OrderService()',
    );
    const missing = await run('npm', ['run', 'build'], project);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toContain("Property 'order' is missing");
    const services = path.join(project, 'cmd/demo/services.ts');
    edit(
      services,
      "import { GreeterService } from '../../internal/service/greeter.js';",
      "$&\nimport { OrderService } from '../../internal/service/order.js';",
    );
    edit(services, /return \{ greeter: (.+) \};/, 'return { greeter: $1, order: new OrderService() };');
    const build = await run('npm', ['run', 'build'], project);
    expect(build.status, build.output).toBe(0);

    const httpPort = await freePort();
    const grpcPort = await freePort();
    const service = startService(
      project,
      npmStartEntry(project),
      { DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`, DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}` },
      process.env['TSK_IMAGE_NODE'] || process.execPath,
    );
    const base = `http://127.0.0.1:${httpPort}`;
    try {
      await waitReady(service, `${base}/readyz`, 'the service');
      const create = (name: string) =>
        fetch(`${base}/v1/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
      const refused = await create('');
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ reason: 'VALIDATOR', metadata: { field: 'name' } });
      // A valid request reaches the stub, which is not implemented yet.
      expect((await create('book')).status).toBe(501);

      const definition = protoLoader.loadSync('shop/v1/order.proto', {
        includeDirs: [path.join(project, 'api'), path.join(project, 'third_party')],
      });
      const pkg = grpc.loadPackageDefinition(definition) as any;
      const client = new pkg.shop.v1.OrderService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
      const code = (name: string) =>
        new Promise<number>((resolve) => client.CreateOrder({ name }, (err: any) => resolve(err?.code ?? 0)));
      expect(await code('')).toBe(grpc.status.INVALID_ARGUMENT);
      expect(await code('book')).toBe(grpc.status.UNIMPLEMENTED);
      client.close();
    } finally {
      service.child.kill('SIGTERM');
      await exitWithin(service, 10_000);
    }
  }, 240_000);

  it('serves HTTP and gRPC, exports spans, answers probes and metrics, exits 0 on SIGTERM', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const httpPort = await freePort();
    const grpcPort = await freePort();
    const service = startService(demo, npmStartArgs(demo), {
      DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      DEMO_SERVER_STOP_TIMEOUT_MS: '3000',
      DEMO_TELEMETRY_SAMPLING_RATIO: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    });
    const base = `http://127.0.0.1:${httpPort}`;
    try {
      await waitReady(service, `${base}/readyz`, 'the service');

      const hello = await fetch(`${base}/helloworld/world`);
      expect(hello.status).toBe(200);
      expect(await hello.json()).toEqual({ message: 'Hello world' });

      // The OpenAPI document of the project's protos; the docs page is off until configured.
      const openapi = await fetch(`${base}/openapi.json`);
      expect(openapi.status).toBe(200);
      expect(Object.keys((await openapi.json()).paths)).toContain('/helloworld/{name}');
      expect((await fetch(`${base}/docs/`)).status).toBe(404);

      const definition = protoLoader.loadSync('demo/v1/greeter.proto', {
        includeDirs: [path.join(demo, 'api'), path.join(demo, 'third_party')],
        longs: String,
        defaults: true,
      });
      const pkg = grpc.loadPackageDefinition(definition) as any;
      const client = new pkg.demo.v1.Greeter(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
      const call = (method: string, req: object) =>
        new Promise<any>((resolve, reject) =>
          client[method](req, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
        );
      expect(await call('SayHello', { name: 'world' })).toEqual({ message: 'Hello world' });

      // Server reflection from the bundle: a client built from reflection.proto (not the
      // service's code) lists the services and gets the greeter's file descriptor.
      const reflectionPkg = grpc.loadPackageDefinition(
        protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
          includeDirs: [path.join(repoRoot, 'node_modules', '@grpc', 'reflection', 'build', 'proto')],
          defaults: true,
        }),
      ) as any;
      const reflection = new reflectionPkg.grpc.reflection.v1.ServerReflection(
        `127.0.0.1:${grpcPort}`,
        grpc.credentials.createInsecure(),
      );
      const reflect = (request: object) =>
        new Promise<any>((resolve, reject) => {
          const stream = reflection.ServerReflectionInfo();
          stream.once('data', (reply: unknown) => {
            stream.end();
            resolve(reply);
          });
          stream.once('error', reject);
          stream.write(request);
        });
      const listed = await reflect({ listServices: '' });
      expect(listed.listServicesResponse.service.map((s: { name: string }) => s.name)).toEqual(
        expect.arrayContaining(['demo.v1.Greeter', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']),
      );
      const described = await reflect({ fileContainingSymbol: 'demo.v1.Greeter' });
      // The greeter's own file, as buf compiled it: its name, its imports, its field names.
      const greeterFile = fromBinary(
        FileDescriptorProtoSchema,
        described.fileDescriptorResponse.fileDescriptorProto[0],
      );
      expect(greeterFile.name).toBe('demo/v1/greeter.proto');
      expect(greeterFile.dependency).toEqual(['buf/validate/validate.proto', 'google/api/annotations.proto']);
      expect(greeterFile.messageType.find((m) => m.name === 'User')?.field.map((f) => f.name)).toEqual([
        'name',
        'greet_count',
      ]);
      reflection.close();

      const missing = await fetch(`${base}/users/nobody`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 404, reason: 'USER_NOT_FOUND' });
      const grpcErr = await call('GetUser', { name: 'nobody' }).catch((e) => e);
      expect(grpcErr.code).toBe(grpc.status.NOT_FOUND);
      const invalid = await fetch(`${base}/helloworld/${encodeURIComponent('bad name!')}`);
      expect(invalid.status).toBe(400);
      expect((await invalid.json()).reason).toBe('INVALID_NAME');
      client.close();

      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /server_requests_code_total\{[^}]*kind="http"[^}]*operation="\/demo\.v1\.Greeter\/SayHello"[^}]*code="200"/,
      );
      expect(metrics).toMatch(/server_requests_code_total\{[^}]*code="404"[^}]*reason="USER_NOT_FOUND"/);
      expect(metrics).toMatch(/server_requests_seconds_bucket\{/);

      // Spans come in batches: wait for the last HTTP call's (the 400) as well as a gRPC one.
      await waitFor(
        async () =>
          receiver.spans.some((s) => s.attributes['rpc.system'] === 'grpc') &&
          receiver.spans.some((s) => s.attributes['http.response.status_code'] === 400),
        () =>
          `spans to be exported; got ${receiver.spans.map((s) => `${s.name} ${s.attributes['http.response.status_code'] ?? ''}`).join(', ')}`,
        100,
        100,
      );
      const httpSpan = receiver.spans.find(
        (s) => s.name === '/demo.v1.Greeter/SayHello' && s.attributes['http.route'] === '/helloworld/{name}',
      );
      expect(httpSpan).toMatchObject({
        kind: 2,
        serviceName: 'demo',
        attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
      });
      const errorSpan = receiver.spans.find(
        (s) => s.name === '/demo.v1.Greeter/GetUser' && s.attributes['http.response.status_code'] === 404,
      );
      // A 4xx is the caller's mistake: the server span stays Unset (HTTP semantic conventions), with the reason as error.type.
      expect(errorSpan).toMatchObject({ statusCode: 0, attributes: { 'error.type': 'USER_NOT_FOUND' } });
    } finally {
      service.child.kill('SIGTERM');
      const code = await exitWithin(service, 15_000);
      receiver.stop();
      expect(code, service.output()).toBe(0);
    }
    expect(
      await fetch(`${base}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  }, 120_000);

  it('exports every metric and label that the Grafana dashboard and the alert rules query', async () => {
    const httpPort = await freePort();
    const grpcPort = await freePort();
    const service = startService(demo, npmStartArgs(demo), {
      DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      DEMO_TELEMETRY_OTLP_ENDPOINT: '',
    });
    const base = `http://127.0.0.1:${httpPort}`;
    try {
      await waitReady(service, `${base}/readyz`, 'the service');
      expect((await fetch(`${base}/helloworld/world`)).status).toBe(200);
      expect((await fetch(`${base}/users/nobody`)).status).toBe(404);
      const definition = protoLoader.loadSync('demo/v1/greeter.proto', {
        includeDirs: [path.join(demo, 'api'), path.join(demo, 'third_party')],
      });
      const client = new (grpc.loadPackageDefinition(definition) as any).demo.v1.Greeter(
        `127.0.0.1:${grpcPort}`,
        grpc.credentials.createInsecure(),
      );
      await new Promise((resolve, reject) =>
        client.SayHello({ name: 'world' }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      );
      client.close();
      const series = exportedSeries(await (await fetch(`${base}/metrics`)).text());

      const dashboard = JSON.parse(fs.readFileSync(path.join(demo, 'deploy', 'grafana', 'dashboard.json'), 'utf8'));
      const rule = parseAllDocuments(
        fs.readFileSync(path.join(demo, 'deploy', 'kubernetes', 'prometheusrule.yaml'), 'utf8'),
      )[0]!.toJSON();
      const queries = [
        ...dashboardTargets(dashboard).map((t) => ({ where: `dashboard "${t.panel}"`, expr: t.expr })),
        ...rule.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) =>
          g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
        ),
      ];
      expect(queries.length).toBeGreaterThan(8);
      // Added by Prometheus, not by the service: the scrape's `up` and its job/instance labels.
      const scrape = { metrics: ['up'], labels: ['job', 'instance'] };
      for (const { where, expr } of queries) {
        for (const queried of selectedMetrics(expr).filter((m) => !scrape.metrics.includes(m))) {
          // The client_* series appear once the service calls another (this one calls none); one
          // observer writes them with the server_* series' names and labels.
          const metric = queried.replace(/^client_/, 'server_');
          expect(series.has(metric), `${where}: ${metric} is not exported`).toBe(true);
          const matchers = [...expr.matchAll(new RegExp(`${queried}\\{([^}]*)\\}`, 'g'))].flatMap((m) =>
            [...m[1]!.matchAll(/(\w+)\s*(?:=|!=|=~|!~)/g)].map((l) => l[1]!),
          );
          for (const label of [...matchers, ...groupingLabels(expr)].filter((l) => !scrape.labels.includes(l))) {
            expect([...series.get(metric)!], `${where}: ${metric} has no label ${label}`).toContain(label);
          }
        }
      }
    } finally {
      service.child.kill('SIGTERM');
      expect(await exitWithin(service, 15_000), service.output()).toBe(0);
    }
  }, 60_000);

  it('runs the Dockerfile build steps outside Docker, and the pruned image tree starts', async () => {
    const dockerfile = fs.readFileSync(path.join(demo, 'Dockerfile'), 'utf8');
    const nodeVersion = dockerfileNodeVersion(dockerfile);
    expect(nodeVersion).toBeDefined();
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) =>
      m[1]!.replace('${NODE_VERSION}', nodeVersion!),
    );
    expect(froms.length).toBe(2);
    for (const image of froms) expect(image).toMatch(/^node:[0-9][\w.-]*(-[\w.]+)?$/); // pinned by a version tag
    // The steps run on the image's Node line: in CI always (.ci/run fetches it when the
    // host's differs); elsewhere on the host's node when that one is not at hand.
    const imageNode = nodeBinaryFor(nodeVersion!);
    if (!imageNode && process.env['CI'])
      throw new Error(`no node ${nodeVersion} for the image's steps: set TSK_IMAGE_NODE (.ci/run does)`);
    if (!imageNode)
      console.warn(
        `Dockerfile steps run on the host's node ${process.version}, not the image's ${nodeVersion}: set TSK_IMAGE_NODE`,
      );
    const node = imageNode ?? process.execPath;
    // `npm` and `node` in the RUN lines resolve to the image's node first, as in the image.
    const imagePath = { PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH'] ?? ''}` };
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/healthz/m);
    expect(dockerfile).toMatch(/^EXPOSE 8000 9000$/m);
    expect(fs.readFileSync(path.join(demo, '.dockerignore'), 'utf8')).toContain('node_modules');

    // The build context is the project without node_modules/dist (.dockerignore).
    const ctx = path.join(work, 'docker-context');
    fs.rmSync(ctx, { recursive: true, force: true });
    await fs.promises.cp(demo, ctx, {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|dist)([/\\]|$)/.test(src.slice(demo.length)),
    });
    // Each RUN line of the build stage, in order.
    const runs = [...dockerfile.split(/^FROM /m)[1]!.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]!);
    expect(runs).toEqual(['npm ci', 'npm run build && npm prune --omit=dev']);
    for (const step of runs) {
      const r = await run('sh', ['-c', step], ctx, imagePath);
      expect(r.status, `${step}\n${r.output}`).toBe(0);
    }
    expect(fs.existsSync(path.join(ctx, 'node_modules', 'typescript'))).toBe(false); // dev dependencies pruned
    // The run stage's own RUN steps that use node (filling the compile cache) work on the pruned tree.
    const runStage = dockerfile.split(/^FROM /m)[2]!;
    const cacheDir = /^ENV NODE_COMPILE_CACHE=(\S+)$/m.exec(runStage)?.[1];
    expect(cacheDir).toBeDefined();
    const compileCache = path.join(work, 'compile-cache');
    fs.rmSync(compileCache, { recursive: true, force: true });
    const nodeSteps = [...runStage.matchAll(/^RUN (node .+)$/gm)].map((m) => m[1]!);
    expect(nodeSteps.length).toBeGreaterThan(0);
    for (const step of nodeSteps) {
      const r = await run('sh', ['-c', step], ctx, { ...imagePath, NODE_COMPILE_CACHE: compileCache });
      expect(r.status, `${step}\n${r.output}`).toBe(0);
    }
    expect(nodeSteps).toEqual(['node dist/bundle/main.js --conf configs/config.yaml --check']);
    // Node 22.1+ writes it (the image's line); an older host node ignores NODE_COMPILE_CACHE.
    if (imageNode) expect(fs.readdirSync(compileCache, { recursive: true }).length).toBeGreaterThan(10);
    // The image's CMD: the bundle, on the pruned tree (its external packages in node_modules).
    const cmd = JSON.parse(/^CMD (\[.+\])$/m.exec(runStage)![1]!) as string[];
    expect(cmd.slice(0, SERVICE_NODE_COMMAND.length + 1)).toEqual([...SERVICE_NODE_COMMAND, 'dist/bundle/main.js']);
    const httpPort = await freePort();
    const service = startService(
      ctx,
      cmd.slice(1),
      {
        DEMO_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        DEMO_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
        DEMO_TELEMETRY_OTLP_ENDPOINT: '',
      },
      node,
    );
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok, 'the pruned build to serve');
    } finally {
      service.child.kill('SIGTERM');
      expect(await exitWithin(service, 15_000)).toBe(0);
    }
  }, 600_000);
});

describe.skipIf(!etcdAvailable() && !process.env['CI'])('tsk new --registry etcd (real etcd)', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await EtcdProcess.create();
    await etcd.start();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('registers while running and is gone after SIGTERM', async () => {
    const created = tsk(['new', 'demo-etcd', '--yes', '--no-git', '--no-install', '--registry', 'etcd'], work);
    expect(created.status, created.stderr).toBe(0);
    const project = path.join(work, 'demo-etcd');
    // Reuse the first project's packages; npm then only adds etcd3.
    // Async: a long synchronous copy starves vitest's worker messages on a busy machine.
    await fs.promises.cp(path.join(demo, 'node_modules'), path.join(project, 'node_modules'), { recursive: true });
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
    expect(install.status, install.output).toBe(0);
    const build = await run('npm', ['run', 'build'], project);
    expect(build.status, build.output).toBe(0);
    // The release it registers as is package.json's (npm version bumps it), unless SERVICE_VERSION says.
    const pkgPath = path.join(project, 'package.json');
    fs.writeFileSync(pkgPath, fs.readFileSync(pkgPath, 'utf8').replace(/"version": "[^"]*"/, '"version": "1.4.2"'));

    const httpPort = await freePort();
    const service = startService(project, npmStartArgs(project), {
      DEMO_ETCD_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      DEMO_ETCD_SERVER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      DEMO_ETCD_REGISTRY_ENDPOINTS: etcd.endpoint,
      DEMO_ETCD_TELEMETRY_OTLP_ENDPOINT: '',
      HOSTNAME: 'e2e-host',
    });
    const admin = new Etcd3({ hosts: etcd.endpoint });
    const registered = async () => Object.values(await admin.getAll().prefix('/microservices/demo-etcd/').strings());
    try {
      await waitFor(async () => (await registered()).length === 1, 'the instance to register');
      // The host name and a random part: containers sharing a host name all run as pid 1.
      const keys = Object.keys(await admin.getAll().prefix('/microservices/demo-etcd/').strings());
      expect(keys).toEqual([expect.stringMatching(/^\/microservices\/demo-etcd\/e2e-host-[0-9a-f]{8}$/)]);
      // Every log line names the instance by the id it registered under.
      const lines = service
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line['service.instance.id']).toBe(keys[0]!.split('/').pop());
      const instance = JSON.parse((await registered())[0]!);
      expect(instance).toMatchObject({
        name: 'demo-etcd',
        version: '1.4.2',
        endpoints: [`http://127.0.0.1:${httpPort}`, expect.stringMatching(/^grpc:\/\/127\.0\.0\.1:\d+$/)],
      });
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      expect(await exitWithin(service, 15_000), service.output()).toBe(0);
    }
    expect(await registered()).toEqual([]);
    admin.close();
  }, 600_000);
});

describe('tsk new rejects bad input and leaves nothing behind', () => {
  const cases: [string, string[], RegExp][] = [
    // Nothing to ask on: a pipe, not a terminal.
    ['no name', ['new', '--no-git', '--no-install'], /missing the service name: tsk new <name>/],
    ['a path', ['new', '../x', '--yes', '--no-git', '--no-install'], /invalid service name "\.\.\/x"/],
    [
      'spaces and capitals',
      ['new', 'Bad Name', '--yes', '--no-git', '--no-install'],
      /invalid service name "Bad Name"/,
    ],
    [
      'one port for both servers',
      ['new', 'ports', '--yes', '--no-git', '--no-install', '--grpc-port', '8000'],
      /--http-port and --grpc-port are both 8000/,
    ],
    ['a name npm reserves', ['new', 'node_modules', '--yes', '--no-git', '--no-install'], /"node_modules": use/],
    // The name is the Kubernetes Deployment's and Service's (an RFC 1035 label).
    ['an underscore', ['new', 'order_svc', '--yes', '--no-git', '--no-install'], /"order_svc": use lower-case/],
    ['a dot', ['new', 'order.svc', '--yes', '--no-git', '--no-install'], /"order\.svc": use lower-case/],
    [
      'the directory for the name',
      ['new', '.', '--yes', '--no-git', '--no-install'],
      /"\.": .*; to create it in \., give a name and --dir: tsk new <name> --dir \.$/m,
    ],
    [
      'a name JavaScript objects reserve',
      ['new', 'constructor', '--yes', '--no-git', '--no-install'],
      /"constructor": JavaScript objects reserve it/,
    ],
    ['a trailing dash', ['new', 'order-', '--yes', '--no-git', '--no-install'], /"order-": it must end with/],
    [
      'an existing directory',
      ['new', 'existing-dir', '--yes', '--no-git', '--no-install'],
      /existing-dir is not empty; use --force/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const dir = path.join(work, 'bad', what.replace(/\W+/g, '-'));
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(path.join(dir, 'existing-dir'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'existing-dir', 'keep.txt'), 'mine');
      const before = fs.readdirSync(dir);
      const r = tsk(args, dir);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(fs.readdirSync(dir)).toEqual(before);
      expect(fs.readdirSync(path.join(dir, 'existing-dir'))).toEqual(['keep.txt']);
      expect(fs.existsSync(path.join(work, 'x'))).toBe(false);
    });
  }
});
