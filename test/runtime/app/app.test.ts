import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/runtime/app/app.js';
import { Readiness, registerHealthRoutes } from '../../../src/runtime/health/health.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';
import type { Registrar, ServiceInstance } from '../../../src/runtime/registry/registry.js';

describe('createApp', () => {
  it('registers after listening, is ready while running, deregisters before servers stop', async () => {
    const events: string[] = [];
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const readiness = new Readiness();
    registerHealthRoutes(http, readiness);
    const registrar: Registrar = {
      register: async (i: ServiceInstance) => {
        events.push(`register ${i.endpoints[0]?.startsWith('http://127.0.0.1:')}`);
      },
      deregister: async () => {
        events.push(`deregister listening=${(await fetch(`http://127.0.0.1:${http.listenPort}/healthz`)).ok}`);
      },
    };
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [http],
      registrar,
      readiness,
      signals: [],
      afterStop: async () => {
        events.push('afterStop');
      },
    });
    const running = app.run();
    for (let i = 0; i < 100 && !readiness.isReady(); i++) await new Promise((r) => setTimeout(r, 10));
    const base = `http://127.0.0.1:${http.listenPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await app.stop();
    await running;
    expect(events).toEqual(['register true', 'deregister listening=true', 'afterStop']);
    expect(readiness.isReady()).toBe(false);
  });

  it('runs a server without an endpoint (a worker) beside the others, leaving it out of the registry entry', async () => {
    const events: string[] = [];
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const worker = {
      start: async () => void events.push('worker start'),
      drain: () => void events.push('worker drain'),
      stop: async () => void events.push('worker stop'),
    };
    const registered: string[][] = [];
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [http, worker],
      registrar: { register: async (i) => void registered.push(i.endpoints), deregister: async () => {} },
      signals: [],
    });
    const running = app.run();
    for (let i = 0; i < 100 && registered.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(registered).toEqual([[`http://127.0.0.1:${http.listenPort}`]]);
    expect(app.instance().endpoints).toEqual(registered[0]);
    await app.stop();
    await running;
    expect(events).toEqual(['worker start', 'worker drain', 'worker stop']);
  });
});

describe('createApp stop', () => {
  it('runs deregister -> drain delay -> server stop -> afterStop, serving until the listener closes', async () => {
    const events: string[] = [];
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const readiness = new Readiness();
    registerHealthRoutes(http, readiness);
    let deregisteredAt = 0;
    const registrar: Registrar = {
      register: async () => {},
      deregister: async () => {
        deregisteredAt = Date.now();
        events.push('deregister');
      },
    };
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [http],
      registrar,
      readiness,
      signals: [],
      drainDelayMs: 300,
      afterStop: async () => {
        events.push('afterStop');
      },
    });
    const running = app.run();
    for (let i = 0; i < 100 && !readiness.isReady(); i++) await new Promise((r) => setTimeout(r, 10));
    const base = `http://127.0.0.1:${http.listenPort}`;
    // A kept-alive connection, idle when the stop begins.
    const idle = net.connect(http.listenPort!, '127.0.0.1');
    idle.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    await once(idle, 'data');
    const idleClosed = once(idle, 'close').then(() => Date.now());
    const stopped = app.stop();
    await new Promise((r) => setTimeout(r, 150));
    // Inside the drain delay: deregistered, not ready, but still answering, each answer
    // closing its connection; the idle one is closed already, so no caller reuses one as
    // the listener closes.
    expect(events).toEqual(['deregister']);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const during = await fetch(`${base}/healthz`);
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    expect(await idleClosed).toBeLessThan(deregisteredAt + 150);
    await stopped;
    await running;
    expect(events).toEqual(['deregister', 'afterStop']);
    expect(Date.now() - deregisteredAt).toBeGreaterThanOrEqual(290);
    expect(
      await fetch(`${base}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  });

  it('finishes within the stop timeout when deregister and afterStop never settle', async () => {
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const registrar: Registrar = { register: async () => {}, deregister: () => new Promise(() => {}) };
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [http],
      registrar,
      signals: [],
      stopTimeoutMs: 1000,
      drainDelayMs: 5000,
      afterStop: () => new Promise(() => {}),
    });
    const running = app.run();
    for (let i = 0; i < 100 && http.listenPort === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await app.stop();
    await running;
    const took = Date.now() - started;
    expect(took).toBeLessThanOrEqual(1100);
    expect(took).toBeGreaterThanOrEqual(950); // it did wait for the never-settling steps, up to the budget
  });

  it('gives a hanging deregister only its share, leaving in-flight calls their drain time', async () => {
    const http = new HttpServer({ address: '127.0.0.1:0', timeoutMs: 0 });
    http.route(
      {
        method: 'GET',
        path: '/slow',
        operation: '/t.S/Slow',
        request: { fromJSON: () => ({}), toJSON: () => ({}) },
        requestSchema: { typeName: 't.E', fields: [] },
        response: { fromJSON: (o: any) => o, toJSON: (o: any) => o },
        responseSchema: { typeName: 't.E', fields: [] },
      },
      () => new Promise((resolve) => setTimeout(() => resolve({}), 1200)),
    );
    const registrar: Registrar = { register: async () => {}, deregister: () => new Promise(() => {}) };
    const app = createApp({ name: 'svc', version: '1', servers: [http], registrar, signals: [], stopTimeoutMs: 3000 });
    const running = app.run();
    for (let i = 0; i < 100 && http.listenPort === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    const call = fetch(`http://127.0.0.1:${http.listenPort}/slow`);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await app.stop();
    await running;
    expect((await call).status).toBe(200); // deregister gave up after 600 ms; the call still finished
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('createApp stopped while registering', () => {
  // A pod terminated while it starts: SIGTERM arrives while the registry has not answered yet.
  for (const outcome of ['fails', 'succeeds'] as const) {
    it(`ends the run as a stop, not a failed start, when the registration then ${outcome}`, async () => {
      const http = new HttpServer({ address: '127.0.0.1:0' });
      let settle: () => void = () => {};
      const registrar: Registrar = {
        register: () =>
          new Promise<void>((resolve, reject) => {
            settle = outcome === 'fails' ? () => reject(new Error('the registry client was closed')) : resolve;
          }),
        deregister: async () => {},
      };
      const lines: string[] = [];
      const record = (_fields: unknown, msg?: string) => lines.push(msg ?? String(_fields));
      const logger = { info: record, warn: record, error: record, debug: record, flush: () => {} };
      const readiness = new Readiness();
      const app = createApp({
        name: 'svc',
        version: '1',
        servers: [http],
        registrar,
        readiness,
        signals: [],
        logger: logger as never,
        // Closing the registry client is what makes a pending registration settle.
        afterStop: async () => settle(),
      });
      const running = app.run();
      for (let i = 0; i < 100 && http.listenPort === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      await app.stop();
      await expect(running).resolves.toBeUndefined();
      expect(lines).not.toContain('svc 1 started');
      expect(lines).toContain('stopped');
      expect(readiness.isReady()).toBe(false);
    });
  }
});

describe('createApp failing to start', () => {
  it('stops what did start without the drain delay or a "stopped" line, and rejects with the failure', async () => {
    const started = new HttpServer({ address: '127.0.0.1:0' });
    const taken = new HttpServer({ address: '127.0.0.1:0' });
    await taken.start();
    const clash = new HttpServer({ address: `127.0.0.1:${taken.listenPort}` });
    const lines: string[] = [];
    const record = (_fields: unknown, msg?: string) => lines.push(msg ?? String(_fields));
    const logger = { info: record, warn: record, error: record, debug: record, flush: () => {} };
    let afterStop = 0;
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [started, clash],
      signals: [],
      logger: logger as never,
      // No traffic reached a service that never started: waiting for it to drain helps no one.
      drainDelayMs: 60_000,
      afterStop: async () => void afterStop++,
    });
    try {
      await expect(app.run()).rejects.toThrow(/EADDRINUSE/);
      expect(afterStop).toBe(1);
      // The caller reports the failure; nothing is logged after it that reads like a clean stop.
      expect(lines).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${started.listenPort}/`)).rejects.toThrow();
    } finally {
      await taken.stop({ timeoutMs: 1000 });
    }
  });

  it('removes no registry entry after a start whose registration failed (fail_fast), and logs no deregister failure', async () => {
    const server = new HttpServer({ address: '127.0.0.1:0' });
    const lines: string[] = [];
    const record = (_fields: unknown, msg?: string) => lines.push(msg ?? String(_fields));
    const logger = { info: record, warn: record, error: record, debug: record, flush: () => {} };
    let deregistered = 0;
    const registrar: Registrar = {
      register: async () => {
        throw new Error('etcd registry at 127.0.0.1:1 unreachable');
      },
      deregister: async () => {
        deregistered++;
        throw new Error('circuit breaker is open');
      },
    };
    const app = createApp({
      name: 'svc',
      version: '1',
      servers: [server],
      registrar,
      signals: [],
      logger: logger as never,
    });
    await expect(app.run()).rejects.toThrow(/unreachable/);
    expect(deregistered).toBe(0);
    expect(lines).toEqual([]);
  });

  it('runs beforeStart before any server listens; when it fails, no server starts and afterStop runs', async () => {
    const events: string[] = [];
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const registrar: Registrar = { register: async () => void events.push('register'), deregister: async () => {} };
    const base = {
      name: 'svc',
      version: '1',
      servers: [http],
      registrar,
      signals: [] as NodeJS.Signals[],
      drainDelayMs: 60_000,
      afterStop: async () => void events.push('afterStop'),
    };
    const failing = createApp({
      ...base,
      beforeStart: async () => {
        events.push(`beforeStart listening=${http.listenPort !== undefined}`);
        throw new Error('database refused the connection');
      },
    });
    await expect(failing.run()).rejects.toThrow('database refused the connection');
    expect(events).toEqual(['beforeStart listening=false', 'afterStop']);
    expect(http.listenPort).toBeUndefined();

    events.length = 0;
    const second = new HttpServer({ address: '127.0.0.1:0' });
    const app = createApp({
      ...base,
      servers: [second],
      drainDelayMs: 0,
      beforeStart: async () => {
        await new Promise((r) => setTimeout(r, 50));
        events.push(`beforeStart listening=${second.listenPort !== undefined}`);
      },
    });
    const running = app.run();
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['beforeStart listening=false', 'register']);
    await app.stop();
    await running;

    // A beforeStart that never settles (a database that accepts and never answers): a stop ends the run.
    events.length = 0;
    const third = new HttpServer({ address: '127.0.0.1:0' });
    const stuck = createApp({
      ...base,
      servers: [third],
      stopTimeoutMs: 500,
      beforeStart: () => new Promise(() => {}),
    });
    const stuckRun = stuck.run();
    await new Promise((r) => setTimeout(r, 50));
    await stuck.stop();
    await expect(
      Promise.race([stuckRun.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running'), 2000))]),
    ).resolves.toBe('ended');
    expect(third.listenPort).toBeUndefined();
    expect(events).toEqual(['afterStop']);
  });
});
