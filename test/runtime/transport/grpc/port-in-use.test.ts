// A gRPC server whose port is taken fails to start as the HTTP server does: with Node's
// one-line EADDRINUSE error naming the address, and nothing of grpc-js's own on stderr.
// Run in a child process, since grpc-js writes its lines to the process's stderr.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../helpers/cli.js';

const dir = path.join(repoRoot, '.tmp', 'grpc-port-in-use');
let holder: net.Server;
let port: number;

beforeAll(async () => {
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as net.AddressInfo).port;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'start.ts'),
    `import { GrpcServer } from '${path.join(repoRoot, 'src/runtime/transport/grpc/server.ts')}';
import { HttpServer } from '${path.join(repoRoot, 'src/runtime/transport/http/server.ts')}';
const server = process.argv[2] === 'http' ? new HttpServer({ address: process.argv[3] }) : new GrpcServer({ address: process.argv[3] });
try {
  await server.start();
  console.log('started');
} catch (err) {
  console.log(JSON.stringify({ message: err.message, code: err.code }));
  process.exitCode = 1;
}
`,
  );
});

afterAll(() => holder?.close());

const start = (transport: 'grpc' | 'http') =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, 'start.ts'), transport, `127.0.0.1:${port}`], {
    cwd: repoRoot,
    encoding: 'utf8',
  });

describe('a gRPC server on a port in use', () => {
  it('fails with the address and "address already in use", worded as the HTTP server words it', () => {
    const grpc = start('grpc');
    expect(grpc.status).toBe(1);
    expect(grpc.stderr).toBe('');
    const failure = JSON.parse(grpc.stdout);
    expect(failure).toEqual({
      message: `listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      code: 'EADDRINUSE',
    });
    const http = start('http');
    expect(http.status).toBe(1);
    expect(JSON.parse(http.stdout)).toEqual(failure);
  });
});
