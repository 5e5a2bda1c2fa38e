// Log lines are batched (one write for many requests); none may be lost when the
// process exits right after writing them, and a file destination is usable at once.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const loggerModule = pathToFileURL(path.resolve('dist/runtime/log/logger.js')).href;
const loggingModule = pathToFileURL(path.resolve('dist/runtime/middleware/logging.js')).href;
const observerModule = pathToFileURL(path.resolve('dist/runtime/transport/observer.js')).href;

describe('createLogger', () => {
  it('names each cause of a logged error once, adding only what the message before it does not say', async () => {
    const { createLogger, lineBatcher } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'causes', destination: file });
    // As fetch, a registry client and a registration wrap a refused connection.
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:8500');
    const fetchFailed = new TypeError('fetch failed', { cause: refused });
    const client = new Error('fetch failed (ECONNREFUSED)', { cause: fetchFailed });
    const registration = new Error('consul did not register x: fetch failed (ECONNREFUSED)', { cause: client });
    logger.error({ err: registration }, 'failed to start');
    logger.error({ err: new Error('outer', { cause: new Error('inner') }) }, 'plain causes');
    lineBatcher(logger)!.flushSync();
    const [first, second] = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(first.err.message).toBe(
      'consul did not register x: fetch failed (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:8500',
    );
    expect(first.err.stack).toContain('caused by: TypeError: fetch failed');
    expect(second.err.message).toBe('outer: inner');
  });

  it('writes an error already described as a plain object (an export failure) as it is', async () => {
    const { createLogger, lineBatcher } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'described', destination: file });
    logger.warn({ err: { type: 'OTLPExporterError', message: '14 UNAVAILABLE', code: 14 } }, 'trace export failing');
    lineBatcher(logger)!.flushSync();
    const line = JSON.parse(fs.readFileSync(file, 'utf8').trim());
    expect(line.err).toEqual({ type: 'OTLPExporterError', message: '14 UNAVAILABLE', code: 14 });
  });

  it('masks the redacted fields as *** on every line, failed-call lines and error causes included', async () => {
    const { createLogger, lineBatcher, redactPathProblem } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({
      name: 'redact',
      destination: file,
      redact: ['password', '*.token', 'req.headers.authorization', 'req.headers["x-api-key"]'],
    });
    logger.info({ user: 'ann', password: 'hunter2', session: { token: 't0k', id: 7 } }, 'signed in');
    logger.warn({ req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k', accept: '*/*' } } }, 'refused');
    logger.child({ password: 'p' }).info('child line');
    lineBatcher(logger)!.flushSync();
    const [first, second, third] = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(first).toMatchObject({ user: 'ann', password: '***', session: { token: '***', id: 7 } });
    expect(second.req.headers).toEqual({ authorization: '***', 'x-api-key': '***', accept: '*/*' });
    expect(third.password).toBe('***');
    // A path pino cannot take is a config problem, said before the logger is made.
    for (const path of ['*.password', 'a["x-y"]', 'buyer[password]', 'items[0].secret', 'x-api-key'])
      expect(redactPathProblem(path), path).toBeUndefined();
    // pino takes these too, and they mask nothing.
    for (const path of ['**.password', 'pass word'])
      expect(redactPathProblem(path), path).toBe(
        `not a field path (a name, a.b.c, *.name for one level down, a["x-y"] for other characters), got ${JSON.stringify(path)}`,
      );
    expect(redactPathProblem('a..b')).toBe(
      'not a field path (a name, a.b.c, *.name for one level down, a["x-y"] for other characters), got "a..b"',
    );
  });

  it('writes every batched line when the process exits immediately after logging', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const script = `
      const { createLogger, lineBatcher } = await import(${JSON.stringify(loggerModule)});
      const logger = createLogger({ name: 'exit', destination: ${JSON.stringify(file)} });
      logger.info({ n: 1 }, 'first');
      lineBatcher(logger).write('{"raw":2}\\n');
      logger.warn({ n: 3 }, 'third');
      process.exit(0);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'info', 'service.name': 'exit', n: 1, msg: 'first' });
    expect(lines[1]).toEqual({ raw: 2 });
    expect(lines[2]).toMatchObject({ level: 'warn', n: 3, msg: 'third' });
  });

  it('keeps lines in order and hands them over within the flush interval', async () => {
    const { createLogger, lineBatcher } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'order', destination: file });
    for (let i = 0; i < 50; i++) {
      if (i % 2) logger.info({ i }, 'pino');
      else lineBatcher(logger)!.write(`{"i":${i}}\n`);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(''); // still batched
    await new Promise((r) => setTimeout(r, 100));
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([...Array(50).keys()]);
  });

  it("names the service once, as service.name, so a line's own name field is its only name key", async () => {
    const { createLogger } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'greeter', destination: file });
    logger.info({ name: 'ada' }, 'greeted');
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const text = fs.readFileSync(file, 'utf8').trim();
    expect(text.match(/"name":/g)).toHaveLength(1);
    expect(JSON.parse(text)).toMatchObject({ 'service.name': 'greeter', name: 'ada', msg: 'greeted' });
  });

  it('names the service as its spans do: OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES', async () => {
    const { createLogger } = await import('../../src/runtime/log/logger.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-'));
    const names = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;
    let n = 0;
    const lineOf = async (env: Partial<Record<(typeof names)[number], string>>) => {
      const saved = names.map((k) => process.env[k]);
      for (const k of names) {
        if (env[k] === undefined) delete process.env[k];
        else process.env[k] = env[k];
      }
      try {
        const file = path.join(dir, `${n++}.log`);
        const logger = createLogger({ name: 'greeter', destination: file });
        logger.info('hello');
        logger.flush();
        await new Promise((r) => setTimeout(r, 50));
        return JSON.parse(fs.readFileSync(file, 'utf8').trim())['service.name'];
      } finally {
        names.forEach((k, i) => {
          if (saved[i] === undefined) delete process.env[k];
          else process.env[k] = saved[i];
        });
      }
    };
    expect(await lineOf({ OTEL_SERVICE_NAME: 'renamed' })).toBe('renamed');
    expect(await lineOf({ OTEL_SERVICE_NAME: ' ' })).toBe('greeter');
    expect(await lineOf({})).toBe('greeter');
    expect(await lineOf({ OTEL_RESOURCE_ATTRIBUTES: 'team=core,service.name=from%20attrs' })).toBe('from attrs');
    expect(await lineOf({ OTEL_SERVICE_NAME: 'renamed', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })).toBe(
      'renamed',
    );
  });

  it('spills full batches in order, keeps lines larger than a batch and multi-byte text intact', async () => {
    const { createLogger, lineBatcher } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'spill', destination: file });
    const batcher = lineBatcher(logger)!;
    const expected: string[] = [];
    for (let i = 0; i < 400; i++) {
      // Some lines past a batch's 64 KiB on their own, the rest of mixed width: ASCII, accents, CJK, emoji.
      const text = i % 97 === 5 ? 'x'.repeat(70_000) : `héllo 世界 🚀 ${i}`.repeat(1 + (i % 9));
      expected.push(text);
      batcher.write(`${JSON.stringify({ i, text })}\n`);
    }
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([...Array(400).keys()]);
    expect(lines.map((l) => l.text)).toEqual(expected);
  });

  it('never cuts a line whose UTF-8 bytes outgrow the room left in a batch', async () => {
    const { BATCH_BYTES, createLogger, lineBatcher } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const batcher = lineBatcher(createLogger({ name: 'edge', destination: file }))!;
    // 100 bytes left in the batch, then a line of 70 UTF-16 units but 130 UTF-8 bytes.
    const filler = `${JSON.stringify({ pad: 'x'.repeat(BATCH_BYTES - 100 - 11) })}\n`;
    expect(Buffer.byteLength(filler)).toBe(BATCH_BYTES - 100);
    const wide = `${JSON.stringify({ t: 'é'.repeat(60) })}\n`;
    expect(wide.length).toBeLessThan(100);
    expect(Buffer.byteLength(wide)).toBeGreaterThan(100);
    batcher.write(filler);
    batcher.write(wide);
    batcher.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readFileSync(file, 'utf8')).toBe(filler + wide);
  });

  it('writes access lines, formatted later, in call order among other lines, past a full queue and at an immediate exit', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    // 1,300 calls: more than two queues' worth, with a warning every 100 and exit right after the last.
    const script = `
      const { createLogger } = await import(${JSON.stringify(loggerModule)});
      const { loggingServer } = await import(${JSON.stringify(loggingModule)});
      const { runObserved } = await import(${JSON.stringify(observerModule)});
      const logger = createLogger({ name: 'deferred', destination: ${JSON.stringify(file)} });
      const observers = [loggingServer(logger)];
      for (let i = 0; i < 1300; i++) {
        const ctx = { transport: { kind: 'http', operation: '/pkg.S/M' + i }, values: new Map() };
        await runObserved(observers, ctx, async () => ({}), {});
        if (i % 100 === 99) logger.warn({ after: i }, 'checkpoint');
      }
      process.exit(0);`;
    const started = Date.now();
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    const ended = Date.now();
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const expected = [...Array(1300).keys()].flatMap((i) => [
      `/pkg.S/M${i}`,
      ...(i % 100 === 99 ? [`checkpoint ${i}`] : []),
    ]);
    expect(lines.map((l) => (l.msg === 'checkpoint' ? `checkpoint ${l.after}` : l.operation))).toEqual(expected);
    const access = lines.find((l) => l.msg === 'request');
    expect(access).toMatchObject({
      level: 'info',
      'service.name': 'deferred',
      kind: 'server',
      component: 'http',
      code: 200,
      reason: '',
    });
    expect(Date.parse(access.time)).toBeGreaterThanOrEqual(started); // the call's time, as ISO text
    expect(Date.parse(access.time)).toBeLessThanOrEqual(ended);
    expect(access.latency).toBeGreaterThanOrEqual(0);
  });

  it('loses nothing through a pipe whose reader falls behind, even when the process exits at once', async () => {
    // 2,000 lines of ~700 bytes: many times a pipe's buffer, written while the reader is paused.
    const script = `
      const { createLogger, lineBatcher } = await import(${JSON.stringify(loggerModule)});
      const batcher = lineBatcher(createLogger({ name: 'pipe' }));
      for (let i = 0; i < 2000; i++) batcher.write(JSON.stringify({ i, pad: 'é'.repeat(340) }) + '\\n');
      process.exit(0);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stdout.resume();
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(0);
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([...Array(2000).keys()]);
    expect(lines.every((l) => l.pad === 'é'.repeat(340))).toBe(true);
  });

  /**
   * Runs `script` (an ES module), closes its stdout after the first line, and returns how it
   * ended: its exit code and stderr, or 'hung' when it was still running 10 s later.
   */
  async function closeStdoutUnder(script: string): Promise<{ outcome: number | null | 'hung'; stderr: string }> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
    const outcome = await Promise.race([ended, hung]);
    if (outcome === 'hung') child.kill('SIGKILL');
    return { outcome, stderr };
  }

  it('ends the process when stdout is closed under it, instead of hanging at exit', async () => {
    // Logs every 10 ms; the reader goes away after the first line. The failed write is an
    // uncaught error (as with pino's own destination), and the exit's flush must not retry it forever.
    const { outcome } = await closeStdoutUnder(`
      const { createLogger } = await import(${JSON.stringify(loggerModule)});
      const logger = createLogger({ name: 'epipe' });
      setInterval(() => logger.info('tick'), 10);`);
    expect(outcome).not.toBe('hung');
    expect(outcome).not.toBe(0);
  }, 20_000);

  it('ends the process when stdout is closed, even where the code that logs catches its errors', async () => {
    // As in a service: lines logged inside promise chains that catch (each flushed at once,
    // as a stop flushes them), and a watcher (the config file's) that keeps the process
    // alive. The failed write must still end it.
    const { outcome, stderr } = await closeStdoutUnder(`
      const { createLogger } = await import(${JSON.stringify(loggerModule)});
      const logger = createLogger({ name: 'epipe' });
      setInterval(() => {}, 1000);
      setInterval(() => Promise.resolve().then(() => { logger.info('tick'); logger.flush(); }).catch(() => {}), 10);`);
    expect(outcome).not.toBe('hung');
    expect(outcome).not.toBe(0);
    expect(stderr).toMatch(/EPIPE/);
  }, 20_000);
});
