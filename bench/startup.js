// Startup benchmark of a generated service: time from exec to /readyz answering 200,
// and resident memory once idle; then what each heavy dependency costs to import on
// its own. Runs on Node 24 (TSK_IMAGE_NODE, else the node running this script).
// Usage: npm run build && node bench/startup.js [--project <built project dir>] [--entry <file>] [--rounds 5] [--no-imports] [--no-compile-cache]
// Without --project a project is created (tsk new, npm install, npm run build) in a temp dir.
// Starts the entry the project's `start` script names (its bundle, dist/bundle/main.js);
// --entry <file> (relative to the project) starts another, e.g. dist/cmd/<name>/main.js unbundled.
// As in the image (Dockerfile), starts read Node's module compile cache (NODE_COMPILE_CACHE),
// filled by one untimed start first; --no-compile-cache measures compiling every module.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argValue = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(argValue('rounds') ?? 5);
// Idle: the start-up work has settled and the app has given back its start-up memory,
// which it does after 2 s of an idle event loop.
const IDLE_MS = 5000;
const node = process.env.TSK_IMAGE_NODE || process.execPath;
const nodePath = { PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` };

function must(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

function makeProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-startup-'));
  must(
    process.execPath,
    [path.join(repo, 'bin', 'tsk.js'), 'new', 'startup', '--yes', '--no-git', '--no-install'],
    dir,
  );
  const project = path.join(dir, 'startup');
  must('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project, nodePath);
  must('npm', ['run', 'build'], project, nodePath);
  return { project, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** User + system CPU time the process has used, in ms (from /proc; clock ticks are 100 Hz on Linux). */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** What `npm start` runs: `node [flags] <entry> ...`, as its flags and its entry. */
function startCommand(pkg) {
  const m = /^node((?:\s+-\S+)*)\s+([^-\s]\S*)/.exec(pkg.scripts?.start ?? '');
  if (!m) throw new Error(`package.json's start script does not run "node <file>": ${pkg.scripts?.start}`);
  return { flags: m[1].trim().split(/\s+/).filter(Boolean), entry: m[2] };
}

async function startOnce(project, name, { flags, entry }, cacheDir) {
  const prefix = name.replace(/[^a-z0-9]+/g, '_').toUpperCase();
  const httpPort = await freePort();
  const env = {
    ...process.env,
    ...(cacheDir ? { NODE_COMPILE_CACHE: cacheDir } : {}),
    [`${prefix}_SERVER_HTTP_ADDR`]: `127.0.0.1:${httpPort}`,
    [`${prefix}_SERVER_GRPC_ADDR`]: `127.0.0.1:${await freePort()}`,
  };
  const started = process.hrtime.bigint();
  const child = spawn(node, [...flags, entry, '--conf', 'configs/config.yaml'], {
    cwd: project,
    env,
    stdio: process.env.BENCH_VERBOSE ? 'inherit' : 'ignore',
  });
  let readyMs;
  for (let i = 0; i < 6000 && readyMs === undefined; i++) {
    const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    else await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = rssMb(child.pid);
  const cpu = cpuMs(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (readyMs === undefined) throw new Error('the service never became ready');
  return { readyMs, rss, cpu };
}

/** Import cost of one package on its own, from the project's node_modules: ms and RSS growth. */
function importCost(project, pkg) {
  const script = `const t=performance.now();const r0=process.memoryUsage().rss;await import(${JSON.stringify(pkg)});console.log(JSON.stringify({ms:performance.now()-t,mb:(process.memoryUsage().rss-r0)/1048576}))`;
  const r = spawnSync(node, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const given = argValue('project');
const { project, cleanup } = given ? { project: path.resolve(given), cleanup: () => {} } : makeProject();
try {
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
  const name = pkg.name;
  const start = startCommand(pkg);
  const command = { flags: start.flags, entry: argValue('entry') ?? start.entry };
  const { entry } = command;
  if (!fs.existsSync(path.join(project, entry))) throw new Error(`${entry} not found in ${project}: build it first`);
  const cacheDir = process.argv.includes('--no-compile-cache')
    ? undefined
    : fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-compile-cache-'));
  const runs = [];
  try {
    if (cacheDir) await startOnce(project, name, command, cacheDir);
    for (let i = 0; i < ROUNDS; i++) runs.push(await startOnce(project, name, command, cacheDir));
  } finally {
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const [load1] = os.loadavg();
  console.log(
    `startup: ${name} (node ${[...command.flags, entry].join(' ')}) on node ${nodeVersion}, ${ROUNDS} rounds, ${cacheDir ? 'with' : 'without'} a compile cache, load ${load1.toFixed(1)} on ${os.cpus().length} cores; medians (targets: ready <= 400 ms, idle RSS <= 80 MB)`,
  );
  const verdict = (ok) => (ok ? 'meets the target' : 'MISSES the target');
  const ready = median(runs.map((r) => r.readyMs));
  const rss = median(runs.map((r) => r.rss));
  console.log(
    `exec -> /readyz 200   ${ready.toFixed(0).padStart(6)} ms   (min ${Math.min(...runs.map((r) => r.readyMs)).toFixed(0)}; ${verdict(ready <= 400)})`,
  );
  console.log(`idle RSS after ${IDLE_MS / 1000}s     ${rss.toFixed(1).padStart(6)} MB   (${verdict(rss <= 80)})`);
  console.log(
    `CPU time to idle      ${median(runs.map((r) => r.cpu))
      .toFixed(0)
      .padStart(6)} ms   (user + system; less load-sensitive than wall time)`,
  );
  console.log('\nimport cost on its own (ms, RSS MB):');
  if (!process.argv.includes('--no-imports'))
    for (const pkg of [
      '@opentelemetry/sdk-node',
      '@opentelemetry/sdk-trace',
      '@opentelemetry/sdk-metrics',
      '@opentelemetry/exporter-prometheus',
      '@grpc/grpc-js',
      '@grpc/proto-loader',
      '@grpc/reflection',
      'fastify',
      'pino',
      'yaml',
      '@bufbuild/protobuf',
    ]) {
      const costs = [0, 1, 2].map(() => importCost(project, pkg)).filter(Boolean);
      if (costs.length === 0) console.log(`  ${pkg.padEnd(38)} not installed`);
      else
        console.log(
          `  ${pkg.padEnd(38)} ${median(costs.map((c) => c.ms))
            .toFixed(0)
            .padStart(5)} ms ${median(costs.map((c) => c.mb))
            .toFixed(1)
            .padStart(6)} MB`,
        );
    }
} finally {
  cleanup();
}
