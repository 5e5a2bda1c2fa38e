#!/usr/bin/env node
// The main job: generate a service with `tsk new`, install and build it, start it,
// and call it over HTTP and gRPC (a proto-loader client, not the generated code).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(repo, '.tmp', 'demo');
const name = 'helloworld';
const project = path.join(work, name);

function step(title, cmd, args, cwd) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}    # ${title}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: "${title}" failed (exit ${r.status})`);
    process.exit(1);
  }
  console.log(`  (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
step(
  'scaffold the service',
  process.execPath,
  [path.join(repo, 'bin', 'tsk.js'), 'new', name, '--yes', '--no-git', '--no-install'],
  work,
);
step(
  'install its dependencies',
  'npm',
  ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
  project,
);
step('build it', 'npm', ['run', 'build', '--silent'], project);

// Free ports, so a service already on :8000/:9000 cannot answer in this one's place.
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const httpPort = await freePort();
const grpcPort = await freePort();
// What `npm start` runs (the bundle), started directly so the demo holds the process.
const start = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
console.log(`\n$ ${start.join(' ')}    # npm start (HTTP :${httpPort}, gRPC :${grpcPort} for this demo)`);
const child = spawn(process.execPath, start.slice(1), {
  cwd: project,
  env: {
    ...process.env,
    HELLOWORLD_TELEMETRY_OTLP_ENDPOINT: '',
    HELLOWORLD_SERVER_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    HELLOWORLD_SERVER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let logs = '';
child.stdout.on('data', (d) => (logs += d));
let running = true;
const exited = new Promise((resolve) =>
  child.once('exit', (code) => {
    running = false;
    resolve(code);
  }),
);

let ok = false;
try {
  for (let i = 0; i < 100 && running; i++) {
    if (
      await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!running) throw new Error('the service exited before it was ready');
  const show = async (url) => {
    const res = await fetch(url);
    console.log(`GET ${new URL(url).pathname} -> ${res.status} ${await res.text()}`);
    return res;
  };
  const hello = await show(`http://127.0.0.1:${httpPort}/helloworld/world`);
  await show(`http://127.0.0.1:${httpPort}/users/world`);
  await show(`http://127.0.0.1:${httpPort}/users/nobody`);
  await show(`http://127.0.0.1:${httpPort}/helloworld/bad%20name!`);

  const definition = protoLoader.loadSync(`${name}/v1/greeter.proto`, {
    includeDirs: [path.join(project, 'api'), path.join(project, 'third_party')],
  });
  const client = new (grpc.loadPackageDefinition(definition).helloworld.v1.Greeter)(
    `127.0.0.1:${grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const reply = await new Promise((resolve, reject) =>
    client.SayHello({ name: 'grpc' }, (err, res) => (err ? reject(err) : resolve(res))),
  );
  console.log(`gRPC helloworld.v1.Greeter/SayHello {"name":"grpc"} -> ${JSON.stringify(reply)}`);
  const err = await new Promise((resolve) => client.GetUser({ name: 'nobody' }, (e) => resolve(e)));
  console.log(`gRPC helloworld.v1.Greeter/GetUser {"name":"nobody"} -> ${grpc.status[err.code]}: ${err.details}`);
  client.close();
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  console.log(
    `/metrics: ${metrics.split('\n').filter((l) => l.startsWith('server_requests_code_total{')).length} request counter series`,
  );
  ok = hello.status === 200 && reply.message === 'Hello grpc';
} catch (err) {
  console.error(`demo: ${err.message}`);
} finally {
  if (running) child.kill('SIGTERM');
  const code = await exited;
  console.log(`\nSIGTERM -> exit ${code}`);
  const lines = logs.trim().split('\n');
  console.log(`service log (last 3 of ${lines.length} lines):\n${lines.slice(-3).join('\n')}`);
}
ok &&= (await exited) === 0;
console.log(ok ? `\ndemo: OK, the project is in ${path.relative(process.cwd(), project)}` : '\ndemo: FAILED');
process.exit(ok ? 0 : 1);
