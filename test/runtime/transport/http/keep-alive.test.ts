// How long the HTTP server keeps an idle kept-alive connection: fastify's 72 s unless
// `keepAliveTimeoutMs` says otherwise, announced in `Keep-Alive` and kept to. Sent over a
// raw socket, so the only close is the server's.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../../src/runtime/transport/http/server.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.stop({ timeoutMs: 1000 });
  server = undefined;
});

/** One request on a kept-alive connection: its Keep-Alive header, and how long after the answer the server closed it. */
async function idle(
  options: ConstructorParameters<typeof HttpServer>[0],
): Promise<{ keepAlive: string; closedAfterMs: number }> {
  server = new HttpServer({ address: '127.0.0.1:0', ...options });
  await server.start();
  const port = server.listenPort!;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write('GET /healthz-not-here HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'),
    );
    let data = '';
    let answeredAt = 0;
    socket.on('data', (d) => {
      data += d;
      if (!answeredAt && data.includes('\r\n\r\n')) answeredAt = performance.now();
    });
    socket.on('error', reject);
    socket.on('close', () =>
      resolve({
        keepAlive: /^keep-alive: (.*)$/im.exec(data)?.[1]?.trim() ?? '',
        closedAfterMs: performance.now() - answeredAt,
      }),
    );
  });
}

describe('HTTP keep-alive', () => {
  it('closes an idle connection after keepAliveTimeoutMs, and says so in Keep-Alive', async () => {
    const { keepAlive, closedAfterMs } = await idle({ keepAliveTimeoutMs: 1500 });
    expect(keepAlive).toBe('timeout=1');
    expect(closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(closedAfterMs).toBeLessThan(10_000);
  });

  it("announces fastify's 72 s when not told otherwise", async () => {
    server = new HttpServer({ address: '127.0.0.1:0' });
    await server.start();
    const answer = await fetch(`http://127.0.0.1:${server.listenPort}/nothing-here`);
    await answer.text();
    expect(answer.headers.get('keep-alive')).toBe('timeout=72');
  });
});
