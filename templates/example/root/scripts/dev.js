// Starts user, order and gateway together, each line of output prefixed with its service.
// `npm run dev`: each under `tsk dev` (regenerate, typecheck and restart on change).
// `npm start`: the built services (npm run build first).
// Ctrl-C stops all three.
import { spawn } from 'node:child_process';
import net from 'node:net';

const SERVICES = ['user', 'order', 'gateway'];
const start = process.argv.includes('--start');
// The etcd the services share: ETCD_ENDPOINT (host:port or a URL), given to each service as
// its <SERVICE>_REGISTRY_ENDPOINTS unless that is set.
const etcd = process.env.ETCD_ENDPOINT ?? '127.0.0.1:2379';
const registryEnv = (name) => {
  const variable = `${name.toUpperCase()}_REGISTRY_ENDPOINTS`;
  return process.env[variable] ? {} : { [variable]: etcd.includes('://') ? etcd : `http://${etcd}` };
};

const [host, port] = etcd.replace(/^https?:\/\//, '').split(':');
const reachable = await new Promise((resolve) => {
  const socket = net.connect(Number(port), host, () => { socket.end(); resolve(true); });
  socket.once('error', () => resolve(false));
  socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
});
if (!reachable) {
  console.error(`etcd is not reachable at ${etcd}; the services register there and find each other through it. Start it first:
  etcd                                      # installed locally (Debian/Ubuntu: apt install etcd-server)
  docker compose up -d etcd                 # or from compose.yaml (also: jaeger otel-collector)`);
  process.exit(1);
}

// Each service's own script (`npm run dev` or `npm start`) in a process group of its own,
// so a stop reaches npm and what it runs, exactly once: Ctrl-C signals only this script's
// group, and each service is sent one SIGTERM (a second signal makes a service exit at once).
const children = SERVICES.map((name) => {
  const child = spawn('npm', [start ? 'start' : 'run', ...(start ? [] : ['dev'])], {
    cwd: new URL(`../${name}/`, import.meta.url),
    env: { ...process.env, ...registryEnv(name) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        console.log(`${name.padEnd(7)} | ${line}`);
        noteStart(name, line);
      }
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${name.padEnd(7)} | exited (${signal ?? code})`);
    // Under `npm start`, one service that could not start (a port taken, a bad config) leaves
    // a system that cannot answer: the others are stopped too. `tsk dev` waits for a fix instead.
    if (start && !stopping && httpPorts.size < SERVICES.length) {
      const prefix = name.toUpperCase();
      console.error(
        `${name} did not start, so the others are stopped; its ports are server.http.addr and server.grpc.addr in ${name}/configs/config.yaml, or ${prefix}_SERVER_HTTP_ADDR and ${prefix}_SERVER_GRPC_ADDR`,
      );
      process.exitCode = 1;
      stopping = true;
      stopAll();
    }
  });
  return child;
});
console.log('starting user, order and gateway; Ctrl-C stops all three');

// Where each service's HTTP server listens, from its "<name> <version> started" line (its
// config or environment decides the port); said once all three have started.
const httpPorts = new Map();
function noteStart(name, line) {
  if (!line.startsWith('{') || httpPorts.size === SERVICES.length) return;
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    return;
  }
  const http = record.msg?.endsWith(' started') && record.endpoints?.find((e) => e.startsWith('http://'));
  if (!http) return;
  httpPorts.set(name, new URL(http).port);
  if (httpPorts.size < SERVICES.length) return;
  const others = SERVICES.filter((s) => s !== 'gateway').map((s) => `${s} :${httpPorts.get(s)}`);
  console.log(`gateway on http://localhost:${httpPorts.get('gateway')} (${others.join(', ')}); Ctrl-C stops all three`);
}

const stopAll = () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // the group has already gone
    }
  }
};
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stopAll();
  });
}
// Should this script die of an error, the services must not outlive it.
process.on('exit', stopAll);
