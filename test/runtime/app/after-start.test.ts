// Work deferred with afterStart (the validator's load) runs a short while after the app
// answers /readyz, never on its way there, one task per macrotask; registered later, it
// runs at once.
import { describe, expect, it, vi } from 'vitest';
import { AFTER_START_DELAY_MS, afterStart } from '../../../src/runtime/app/after-start.js';
import { createApp } from '../../../src/runtime/app/app.js';
import { Readiness, registerHealthRoutes } from '../../../src/runtime/health/health.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('afterStart', () => {
  it('runs tasks after the app is ready, behind a probe that comes right away, and later ones at once', async () => {
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const readiness = new Readiness();
    registerHealthRoutes(http, readiness);
    const ran: string[] = [];
    let readyAt = 0;
    afterStart(() => {
      ran.push(`early ready=${readiness.isReady()} after=${performance.now() - readyAt >= AFTER_START_DELAY_MS - 5}`);
      // A slow synchronous task: a probe must not wait for it.
      const until = performance.now() + 150;
      while (performance.now() < until);
    });
    const app = createApp({ name: 'svc', version: '1', servers: [http], readiness, signals: [] });
    for (let i = 0; i < 5; i++) await tick();
    expect(ran).toEqual([]); // nothing runs before run()
    const running = app.run();
    for (let i = 0; i < 1000 && !readiness.isReady(); i++) await new Promise((r) => setImmediate(r));
    readyAt = performance.now();
    const probe = await fetch(`http://127.0.0.1:${http.listenPort}/readyz`);
    expect(probe.status).toBe(200);
    expect(ran).toEqual([]); // the probe was answered before the warm-up began
    for (let i = 0; i < 100 && ran.length === 0; i++) await tick();
    expect(ran).toEqual(['early ready=true after=true']);
    afterStart(() => ran.push('late'));
    for (let i = 0; i < 100 && ran.length === 1; i++) await tick();
    expect(ran).toEqual(['early ready=true after=true', 'late']);
    await app.stop();
    await running;
  });

  it('runs each task in its own macrotask and tells the app when they have settled', async () => {
    vi.resetModules(); // a fresh queue, not yet started
    const { afterStart: queue, appStarted } = await import('../../../src/runtime/app/after-start.js');
    const order: string[] = [];
    queue(() => {
      order.push('first');
      setImmediate(() => order.push('I/O between tasks'));
    });
    queue(async () => {
      order.push('second');
      await new Promise((r) => setTimeout(r, 30));
      order.push('slow task done');
    });
    queue(() => {
      throw new Error('a failed task still settles');
    });
    queue(() => Promise.reject(new Error('so does a rejected one')));
    await appStarted(0).then(() => order.push('settled'));
    expect(order).toEqual(['first', 'I/O between tasks', 'second', 'slow task done', 'settled']);
  });
});
