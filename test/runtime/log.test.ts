// Log lines are batched (one write for many requests); none may be lost when the
// process exits right after writing them, and a file destination is usable at once.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const loggerModule = pathToFileURL(path.resolve('dist/runtime/log/logger.js')).href;

describe('createLogger', () => {
  it('writes every batched line when the process exits immediately after logging', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const script = `
      const { createLogger, rawLineWriter } = await import(${JSON.stringify(loggerModule)});
      const logger = createLogger({ name: 'exit', destination: ${JSON.stringify(file)} });
      logger.info({ n: 1 }, 'first');
      rawLineWriter(logger)('{"raw":2}\\n');
      logger.warn({ n: 3 }, 'third');
      process.exit(0);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'info', 'service.name': 'exit', n: 1, msg: 'first' });
    expect(lines[1]).toEqual({ raw: 2 });
    expect(lines[2]).toMatchObject({ level: 'warn', n: 3, msg: 'third' });
  });

  it('keeps lines in order and hands them over within the flush interval', async () => {
    const { createLogger, rawLineWriter } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'order', destination: file });
    for (let i = 0; i < 50; i++) {
      if (i % 2) logger.info({ i }, 'pino');
      else rawLineWriter(logger)!(`{"i":${i}}\n`);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(''); // still batched
    await new Promise((r) => setTimeout(r, 100));
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([...Array(50).keys()]);
  });

  it('spills full batches in order, keeps lines larger than a batch and multi-byte text intact', async () => {
    const { createLogger, rawLineWriter } = await import('../../src/runtime/log/logger.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'spill', destination: file });
    const write = rawLineWriter(logger)!;
    const expected: string[] = [];
    for (let i = 0; i < 400; i++) {
      // Some lines past 16 KiB on their own, the rest of mixed width: ASCII, accents, CJK, emoji.
      const text = i % 97 === 5 ? 'x'.repeat(40_000) : `héllo 世界 🚀 ${i}`.repeat(1 + (i % 9));
      expected.push(text);
      write(`${JSON.stringify({ i, text })}\n`);
    }
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([...Array(400).keys()]);
    expect(lines.map((l) => l.text)).toEqual(expected);
  });
});
