// Starts user, order and gateway together, each line of output prefixed with its service.
// `npm run dev`: each under `tsk dev` (regenerate, typecheck and restart on change).
// `npm start`: the built services (npm run build first).
// Ctrl-C stops all three.
import { spawn } from 'node:child_process';
import net from 'node:net';

const SERVICES = ['user', 'order', 'gateway'];
const start = process.argv.includes('--start');
const etcd = process.env.ETCD_ENDPOINT ?? '127.0.0.1:2379';

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

const children = SERVICES.map((name) => {
  const args = start ? ['dist/cmd/' + name + '/main.js', '--conf', 'configs/config.yaml'] : ['run', 'dev'];
  const child = spawn(start ? process.execPath : 'npm', args, { cwd: new URL(`../${name}/`, import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) console.log(`${name.padEnd(7)} | ${line}`);
    });
  }
  child.on('exit', (code) => console.log(`${name.padEnd(7)} | exited (${code})`));
  return child;
});
console.log('gateway on http://localhost:8000 (order :8001, user :8002); Ctrl-C stops all three');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
  });
}
