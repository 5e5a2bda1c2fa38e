// Work deferred with afterStart (the validator's load) runs once the app answers /readyz,
// never on its way there; registered later, it runs at once.
import { describe, expect, it, vi } from 'vitest';
import { afterStart } from '../../../src/runtime/app/after-start.js';
import { createApp } from '../../../src/runtime/app/app.js';
import { Readiness, registerHealthRoutes } from '../../../src/runtime/health/health.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('afterStart', () => {
  it('runs tasks once the app is ready, and later ones at once', async () => {
    const http = new HttpServer({ address: '127.0.0.1:0' });
    const readiness = new Readiness();
    registerHealthRoutes(http, readiness);
    const ran: string[] = [];
    afterStart(() => ran.push(`early ready=${readiness.isReady()}`));
    const app = createApp({ name: 'svc', version: '1', servers: [http], readiness, signals: [] });
    for (let i = 0; i < 5; i++) await tick();
    expect(ran).toEqual([]); // nothing runs before run()
    const running = app.run();
    for (let i = 0; i < 100 && ran.length === 0; i++) await tick();
    expect(ran).toEqual(['early ready=true']);
    afterStart(() => ran.push('late'));
    for (let i = 0; i < 100 && ran.length === 1; i++) await tick();
    expect(ran).toEqual(['early ready=true', 'late']);
    await app.stop();
    await running;
  });

  it('tells the app when the tasks queued before the start have settled', async () => {
    vi.resetModules(); // a fresh queue, not yet started
    const { afterStart: queue, appStarted } = await import('../../../src/runtime/app/after-start.js');
    const order: string[] = [];
    queue(async () => {
      await new Promise((r) => setTimeout(r, 30));
      order.push('slow task');
    });
    queue(() => Promise.reject(new Error('a failed task still settles')));
    await appStarted().then(() => order.push('settled'));
    expect(order).toEqual(['slow task', 'settled']);
  });
});
