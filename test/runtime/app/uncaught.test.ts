// An error no code caught (a rejected promise nobody awaited, a throw in a timer) in a
// service: logged as a JSON line with its stack, the calls in flight still answered, then
// exit 1. A child process each, since the point is what happens to the process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const module = (rel: string) => JSON.stringify(pathToFileURL(path.resolve('dist/runtime', rel)).href);

function service(signals: string): string {
  return `
    const { createApp } = await import(${module('app/app.js')});
    const { HttpServer } = await import(${module('transport/http/index.js')});
    const { createLogger } = await import(${module('log/logger.js')});
    const logger = createLogger({ name: 'crash' });
    const http = new HttpServer({ address: '127.0.0.1:0' });
    http.handleRaw('GET', '/slow', async (_req, reply) => {
      await new Promise((r) => setTimeout(r, 400));
      reply.code(200).send({ slow: true });
    });
    http.handleRaw('GET', '/rejection', (_req, reply) => {
      Promise.reject(new Error('nobody awaited me'));
      reply.code(200).send({});
    });
    http.handleRaw('GET', '/timer', (_req, reply) => {
      setTimeout(() => { throw new TypeError('thrown in a timer'); }, 5);
      reply.code(200).send({});
    });
    const app = createApp({ name: 'crash', version: '1', servers: [http], logger, stopTimeoutMs: 3000, signals: ${signals} });
    await app.run();
    console.log(JSON.stringify({ msg: 'run resolved' }));`;
}

interface Run {
  lines: Record<string, unknown>[];
  stderr: string;
  code: number | null;
  slow: { status: number; body: unknown };
}

async function crashWith(route: string, signals = 'undefined'): Promise<Run> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', service(signals)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      const endpoint = (parsed['endpoints'] as string[] | undefined)?.[0];
      if (endpoint) resolve(Number(new URL(endpoint).port));
    });
    child.on('exit', () => reject(new Error(`exited before starting: ${stderr}`)));
  });
  const slowCall = fetch(`http://127.0.0.1:${port}/slow`).then(
    async (r) => ({ status: r.status, body: await r.json() }),
    () => ({ status: 0, body: 'connection closed unanswered' }),
  );
  await new Promise((r) => setTimeout(r, 50));
  await fetch(`http://127.0.0.1:${port}${route}`);
  const slow = await slowCall;
  return { lines, stderr, code: await exited, slow };
}

describe('an uncaught error in a service', () => {
  it('a rejection nobody awaited: a fatal line with the stack, calls in flight answered, exit 1', async () => {
    const run = await crashWith('/rejection');
    expect(run.slow).toEqual({ status: 200, body: { slow: true } });
    expect(run.code).toBe(1);
    const fatal = run.lines.find((l) => l['level'] === 'fatal');
    expect(fatal).toMatchObject({
      msg: 'uncaught error; stopping',
      origin: 'unhandledRejection',
      'service.name': 'crash',
    });
    expect((fatal?.['err'] as { stack?: string } | undefined)?.stack).toMatch(/^Error: nobody awaited me\n\s+at /);
    const msgs = run.lines.map((l) => l['msg']);
    expect(msgs.indexOf('stopped')).toBeGreaterThan(msgs.indexOf('uncaught error; stopping'));
    expect(msgs).not.toContain('run resolved');
    expect(run.stderr).toBe('');
  });

  it('a throw in a timer: the same, as an uncaught exception', async () => {
    const run = await crashWith('/timer');
    expect(run.slow.status).toBe(200);
    expect(run.code).toBe(1);
    const fatal = run.lines.find((l) => l['level'] === 'fatal');
    expect(fatal).toMatchObject({
      origin: 'uncaughtException',
      err: { type: 'TypeError', message: 'thrown in a timer' },
    });
    expect(run.lines.map((l) => l['msg'])).toContain('stopped');
  });

  it('an app that listens for no signal leaves uncaught errors to Node (a test runner owns the process)', async () => {
    const run = await crashWith('/rejection', '[]');
    expect(run.code).toBe(1);
    expect(run.slow.status).toBe(0);
    expect(run.lines.some((l) => l['level'] === 'fatal')).toBe(false);
    expect(run.stderr).toContain('nobody awaited me');
  });
});
