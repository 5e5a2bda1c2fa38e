// `tsk new --otlp-endpoint` accepts what the generated service can use (a URL, or
// host:port meaning plaintext gRPC) and refuses the rest with one line, writing nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

describe('tsk new --otlp-endpoint', () => {
  it('takes host:port as the plaintext gRPC collector', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-otlp-'));
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--otlp-endpoint', 'otel-collector:4317'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'svc/configs/config.yaml'), 'utf8')).toContain(
      'otlp_endpoint: "otel-collector:4317"',
    );
  });

  it('refuses an endpoint the service could not use, with one line and nothing written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-otlp-'));
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--otlp-endpoint', 'ftp://collector:4317'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'error: --otlp-endpoint: OTLP endpoint "ftp://collector:4317" must start with http:// or https://',
    ]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses host:port with a port no socket can have', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-otlp-'));
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--otlp-endpoint', 'otel-collector:99999'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'error: --otlp-endpoint: OTLP endpoint "otel-collector:99999": port 99999 is not between 1 and 65535',
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
