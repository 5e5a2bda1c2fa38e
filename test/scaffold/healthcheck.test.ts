// The image's HEALTHCHECK script, run with node as the engine runs it, against a small HTTP
// server standing in for the service: it must find the address the service was given (config
// file, config directory, CONF_PATH, the environment), and fail where nothing answers. The
// `--conf` of PID 1 is read in a container only (test/e2e/image.test.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthcheckScript } from '../../src/scaffold/healthcheck.js';
import { repoRoot } from '../helpers/cli.js';

let server: http.Server;
let port = 0;
let dir = '';

beforeAll(async () => {
  // 127.0.0.2: an address that is not the wildcard's loopback stand-in.
  server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  port = (server.address() as { port: number }).port;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-healthcheck-'));
  // The script requires yaml as the image's node_modules provides it.
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
});

afterAll(() => server.close());

/** The script's exit code, run in a directory holding `files`, with `env` (the server must go on answering meanwhile). */
async function check(files: Record<string, string>, env: Record<string, string> = {}): Promise<number | null> {
  const cwd = fs.mkdtempSync(path.join(dir, 'case-'));
  fs.symlinkSync(path.join(dir, 'node_modules'), path.join(cwd, 'node_modules'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(cwd, name)), { recursive: true });
    fs.writeFileSync(path.join(cwd, name), content);
  }
  const { PATH, HOME } = process.env;
  const child = spawn(process.execPath, ['-e', healthcheckScript('SHOP_', 8000)], {
    cwd,
    env: { PATH, HOME, ...env },
    stdio: 'ignore',
    timeout: 10_000,
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const addr = (a: string) => `server:\n  http:\n    addr: ${a}\n`;

describe('the image HEALTHCHECK script', async () => {
  it('asks the address of configs/config.yaml, a specific host where it is', async () => {
    expect(await check({ 'configs/config.yaml': addr(`127.0.0.2:${port}`) })).toBe(0);
    expect(await check({ 'configs/config.yaml': addr(`127.0.0.2:${port + 1}`) })).toBe(1);
  });

  it('reads the file or directory CONF_PATH names, a directory in name order as the service merges it', async () => {
    expect(await check({ 'etc/app.yaml': addr(`127.0.0.2:${port}`) }, { CONF_PATH: 'etc/app.yaml' })).toBe(0);
    const files = {
      'etc/10-base.yaml': addr('0.0.0.0:1'),
      'etc/20-site.yaml': addr(`127.0.0.2:${port}`),
      'etc/..data/30-old.yaml': addr('0.0.0.0:2'),
    };
    expect(await check(files, { CONF_PATH: 'etc' })).toBe(0);
  });

  it('takes the environment over the file, as the service does', async () => {
    const files = { 'configs/config.yaml': addr('0.0.0.0:1') };
    expect(await check(files, { SHOP_SERVER_HTTP_ADDR: `127.0.0.2:${port}` })).toBe(0);
    expect(await check(files)).toBe(1);
  });
});
