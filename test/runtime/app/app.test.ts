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
      register: async (i: ServiceInstance) => { events.push(`register ${i.endpoints[0]?.startsWith('http://127.0.0.1:')}`); },
      deregister: async () => { events.push(`deregister listening=${(await fetch(`http://127.0.0.1:${http.listenPort}/healthz`)).ok}`); },
    };
    const app = createApp({ name: 'svc', version: '1', servers: [http], registrar, readiness, signals: [], afterStop: async () => { events.push('afterStop'); } });
    const running = app.run();
    for (let i = 0; i < 100 && !readiness.isReady(); i++) await new Promise((r) => setTimeout(r, 10));
    const base = `http://127.0.0.1:${http.listenPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await app.stop();
    await running;
    expect(events).toEqual(['register true', 'deregister listening=true', 'afterStop']);
    expect(readiness.isReady()).toBe(false);
  });
});
