// OpenTelemetry's diagnostics in the service's log: what the SDK's global error handler
// hears is an error line with the error as `err` and its message as the line's, and diag
// lines carry their arguments as `details`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diag } from '@opentelemetry/api';
import { globalErrorHandler } from '@opentelemetry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/log/logger.js';
import { routeDiagnostics } from '../../src/runtime/telemetry/diag-logger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-diag-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function linesOf(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('routeDiagnostics', () => {
  it("writes the global error handler's errors and diag's lines to the service's log", () => {
    const file = path.join(dir, 'service.log');
    const logger = createLogger({ name: 'svc', destination: file });
    routeDiagnostics(logger, {});
    globalErrorHandler(new Error('collection failed'));
    globalErrorHandler('a plain message' as unknown as Error);
    diag.warn('exporter trouble', new TypeError('bad url'));
    diag.info('not at the default level');
    logger.flush();
    const lines = linesOf(file);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        component: 'opentelemetry',
        msg: 'collection failed',
        err: expect.objectContaining({ type: 'Error', message: 'collection failed' }),
      }),
      expect.objectContaining({ level: 'error', component: 'opentelemetry', msg: 'a plain message' }),
      expect.objectContaining({
        level: 'warn',
        component: 'opentelemetry',
        msg: 'exporter trouble',
        details: [{ type: 'TypeError', message: 'bad url' }],
      }),
    ]);
  });
});
