// The generated project's container image, built and run with podman on a local
// stand-in for the official node base image (scripts/podman-base-image.sh): it serves
// HTTP and gRPC (proto-loader client, not our generated code) as uid 1000 on a read-only
// root filesystem, passes its HEALTHCHECK and exits 0 on SIGTERM; then the container runs
// as the generated Deployment runs it (command/args, ConfigMap, env, security settings).
// Skips without podman, except under CI=true; TSK_IMAGE_TEST=0 opts out.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import {
  buildImage,
  entrypointArgs,
  envOptions,
  imageConfig,
  imageHealthcheck,
  podman,
  podmanAvailable,
  prepareBaseImage,
  type ContainerSpec,
} from '../helpers/podman.js';
import { run, waitFor } from '../helpers/process.js';

const work = path.join(repoRoot, '.tmp', 'image');
const project = path.join(work, 'demo');
const image = 'localhost/tsk-image-test/demo:test';
const enabled = process.env['TSK_IMAGE_TEST'] !== '0' && (podmanAvailable() || Boolean(process.env['CI']));
const containers: string[] = [];

/** Starts a detached container; `options` go before the image and its arguments. */
function start(options: string[], imageAndArgs: string[]): string {
  const r = podman(['run', '--detach', '--no-healthcheck', ...options, ...imageAndArgs]);
  expect(r.status, r.stderr).toBe(0);
  const id = r.stdout.split('\n').pop()!;
  containers.push(id);
  return id;
}

const logs = (id: string) => {
  const r = podman(['logs', id]);
  return `${r.stdout}\n${r.stderr}`;
};

async function serving(id: string, base: string): Promise<void> {
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, `the container to be ready:\n${logs(id)}`, 600, 100);
  const hello = await fetch(`${base}/helloworld/world`);
  expect(hello.status).toBe(200);
  expect(await hello.json()).toEqual({ message: 'Hello world' });
}

/** SIGTERM (podman stop), then the exit code; the stop timeout is a hang guard. */
function stop(id: string, graceSeconds: number): { exitCode: number; seconds: number } {
  const started = Date.now();
  const r = podman(['stop', '--time', String(graceSeconds), id], (graceSeconds + 30) * 1000);
  expect(r.status, r.stderr).toBe(0);
  const exitCode = Number(podman(['inspect', '--format', '{{.State.ExitCode}}', id]).stdout);
  return { exitCode, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!enabled)('the generated image (podman)', () => {
  beforeAll(async () => {
    const base = await prepareBaseImage();
    console.log(`image test: base image ${base.image} ready in ${base.seconds.toFixed(1)} s`);
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const created = tsk(['new', 'demo', '--yes', '--no-git', '--no-install'], work);
    expect(created.status, created.stderr).toBe(0);
    // `npm ci` in the build stage needs the lock file a developer commits.
    const lock = await run(
      'npm',
      ['install', '--package-lock-only', '--no-audit', '--no-fund', '--prefer-offline'],
      project,
    );
    expect(lock.status, lock.output).toBe(0);
    const started = Date.now();
    const build = await buildImage(project, image);
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    console.log(`image test: podman build took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 2_400_000);

  afterAll(() => {
    for (const id of containers) podman(['rm', '--force', '--time', '0', id]);
    if (enabled) podman(['rmi', '--force', image]);
  });

  it('serves HTTP and gRPC as uid 1000 on a read-only root, passes its HEALTHCHECK, exits 0 on SIGTERM', async () => {
    const config = imageConfig(image);
    expect(config.User).toBe('node');
    const httpPort = await freePort();
    const grpcPort = await freePort();
    // Default (bridge) network: the service listens on its own 8000/9000, published on loopback only.
    const id = start(
      ['--read-only', '--publish', `127.0.0.1:${httpPort}:8000`, '--publish', `127.0.0.1:${grpcPort}:9000`],
      [image],
    );
    const base = `http://127.0.0.1:${httpPort}`;
    await serving(id, base);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const definition = protoLoader.loadSync('demo/v1/greeter.proto', {
      includeDirs: [path.join(project, 'api'), path.join(project, 'third_party')],
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as any;
    const client = new pkg.demo.v1.Greeter(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      const reply = await new Promise<any>((resolve, reject) =>
        client.SayHello({ name: 'podman' }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      );
      expect(reply).toEqual({ message: 'Hello podman' });
    } finally {
      client.close();
    }

    expect(podman(['exec', id, 'id', '-u']).stdout).toBe('1000');
    const write = podman(['exec', id, 'sh', '-c', 'echo x > /app/written']);
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);

    // The image's HEALTHCHECK command, run inside the container as the engine runs it.
    const test = imageHealthcheck(image) ?? [];
    expect(test[0]).toBe('CMD');
    const healthy = podman(['exec', id, ...test.slice(1)]);
    expect(healthy.status, healthy.stderr).toBe(0);
    // ...and it fails where nothing answers (the same command in a container without the service).
    const unhealthy = podman([
      'run',
      '--rm',
      '--no-healthcheck',
      '--network',
      'none',
      '--entrypoint',
      JSON.stringify(test.slice(1)),
      image,
    ]);
    expect(unhealthy.status).toBe(1);
    // A container whose HTTP port is moved by the environment is checked where it listens.
    const movedPort = await freePort();
    const moved = start(
      ['--env', 'DEMO_SERVER_HTTP_ADDR=0.0.0.0:8081', '--publish', `127.0.0.1:${movedPort}:8081`],
      [image],
    );
    await serving(moved, `http://127.0.0.1:${movedPort}`);
    const movedHealth = podman(['exec', moved, ...test.slice(1)]);
    expect(movedHealth.status, movedHealth.stderr).toBe(0);
    /** A container started with the project's config moved to `port`, as `file` in a directory mounted at `mount`; healthy? */
    const healthyOn = async (port: number, file: string, mount: string, command: string[] = []) => {
      const dir = fs.mkdtempSync(path.join(work, 'config-'));
      fs.chmodSync(dir, 0o755); // read by the container's user
      const config = fs.readFileSync(path.join(project, 'configs', 'config.yaml'), 'utf8');
      fs.writeFileSync(path.join(dir, file), config.replace('0.0.0.0:8000', `0.0.0.0:${port}`));
      const published = await freePort();
      const container = start(
        ['--volume', `${dir}:${mount}:ro`, '--publish', `127.0.0.1:${published}:${port}`],
        [image, ...command],
      );
      await serving(container, `http://127.0.0.1:${published}`);
      return podman(['exec', container, ...test.slice(1)]);
    };
    // ...and one whose port is moved by a config mounted over /app/configs, too.
    const configured = await healthyOn(8082, 'config.yaml', '/app/configs');
    expect(configured.status, configured.stderr).toBe(0);
    // ...and one started on a config directory of its own, named by `--conf` in its command.
    const site = await healthyOn(8084, 'app.yaml', '/app/site', ['node', 'dist/bundle/main.js', '--conf', 'site']);
    expect(site.status, site.stderr).toBe(0);
    // ...and one given two, the later moving the port: merged in order, as the service merges them.
    const layered = await healthyOn(8086, 'app.yaml', '/app/site', [
      'node',
      'dist/bundle/main.js',
      '--conf',
      'configs/config.yaml',
      '--conf=site',
    ]);
    expect(layered.status, layered.stderr).toBe(0);

    // The service's own config check, run inside the container with `env` added.
    const check = (env: string) =>
      podman(['exec', '--env', env, id, 'node', 'dist/bundle/main.js', '--conf', 'configs/config.yaml', '--check']);
    // The compile cache filled at build time is read (not rejected) by the service's user.
    const cached = check('NODE_DEBUG_NATIVE=COMPILE_CACHE');
    expect(cached.status, cached.stderr).toBe(0);
    expect(`${cached.stdout}\n${cached.stderr}`).toMatch(
      /reading cache from \S+ for ESM file:\/\/\/app\/dist\/bundle\/main\.js\.\.\.\[[^\]]*\]\.\.\. success/,
    );
    // ...and, like the code, root's and writable by no one else: compiled code is code. (This
    // container's root is read-only anyway; an image run without --read-only relies on this.)
    const writable = podman([
      'exec',
      id,
      'find',
      '/app/.node-compile-cache',
      '(',
      '!',
      '-user',
      'root',
      '-o',
      '-perm',
      '/022',
      ')',
    ]);
    expect(writable.status, writable.stderr).toBe(0);
    expect(writable.stdout.trim()).toBe('');
    // --check refuses a config the start would refuse: the docs page, whose package the image lacks.
    const docs = check('DEMO_SERVER_HTTP_DOCS=true');
    expect(docs.status).toBe(1);
    expect(docs.stderr.trim()).toBe(
      'config: DEMO_SERVER_HTTP_DOCS: server.http.docs: the docs page needs the swagger-ui-dist package: npm install swagger-ui-dist',
    );

    const stopped = stop(id, 20);
    expect(stopped.exitCode, logs(id)).toBe(0);
    expect(logs(id)).toMatch(/"msg":"stopped"/);
  }, 180_000);

  it('runs as the Deployment does: command and args from the manifest, the ConfigMap, env and pod security', async () => {
    const manifest = (name: string) =>
      parseAllDocuments(fs.readFileSync(path.join(project, 'deploy', 'kubernetes', name), 'utf8'))[0]!.toJSON();
    const deployment = manifest('deployment.yaml');
    const podSpec = deployment.spec.template.spec;
    const container = podSpec.containers[0] as ContainerSpec & Record<string, any>;
    const configDir = path.join(work, 'configmap');
    fs.mkdirSync(configDir, { recursive: true });
    for (const [file, content] of Object.entries(manifest('configmap.yaml').data as Record<string, string>))
      fs.writeFileSync(path.join(configDir, file), content);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'config');

    // Without `command`, the manifest's args reach the node image's entrypoint: the old failure.
    const argsOnly = podman([
      'run',
      '--rm',
      '--no-healthcheck',
      '--network',
      'none',
      '--volume',
      `${configDir}:${mount.mountPath}:ro`,
      ...entrypointArgs({ args: container.args }, image),
    ]);
    expect(argsOnly.status).not.toBe(0);
    expect(argsOnly.stderr).toMatch(/bad option: --conf/);

    const httpPort = await freePort();
    const grpcPort = await freePort();
    const options = [
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--user',
      `${podSpec.securityContext.runAsUser}:${podSpec.securityContext.runAsGroup}`,
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--volume',
      `${configDir}:${mount.mountPath}:ro`,
      '--publish',
      `127.0.0.1:${httpPort}:${container.ports.find((p: { name: string }) => p.name === 'http').containerPort}`,
      '--publish',
      `127.0.0.1:${grpcPort}:${container.ports.find((p: { name: string }) => p.name === 'grpc').containerPort}`,
      // No collector here: the manifest's in-cluster OTLP address is switched off.
      ...envOptions(
        container,
        { 'metadata.name': 'demo-7d9f-abcde', 'metadata.namespace': 'default' },
        { OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      ),
    ];
    const id = start(options, entrypointArgs(container, image));
    await serving(id, `http://127.0.0.1:${httpPort}`);
    expect(logs(id)).toContain('"msg":"demo 0.1.0 started"');

    // The preStop hook runs inside the container (the kubelet execs it) and must succeed there.
    const preStop = podman(['exec', id, ...container.lifecycle.preStop.exec.command], 60_000);
    expect(preStop.status, preStop.stderr).toBe(0);
    // Still serving after the delay, then SIGTERM ends it cleanly within the grace period.
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const stopped = stop(id, podSpec.terminationGracePeriodSeconds);
    expect(stopped.exitCode, logs(id)).toBe(0);
    expect(stopped.seconds).toBeLessThan(podSpec.terminationGracePeriodSeconds);
  }, 180_000);
});
