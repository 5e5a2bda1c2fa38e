import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadTree, watchConfig } from '../../../src/runtime/config/config.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-conf-'));
const schema = { fromJSON: (o: any) => o };

describe('config', () => {
  it('merges files in order and applies typed environment overrides', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'server:\n  http:\n    addr: 0.0.0.0:8000\n    timeout_ms: 1000\n  debug: false\nregistry:\n  endpoints: [a]\n');
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'server:\n  http:\n    timeout_ms: 2000\n');
    const conf = loadConfig({
      files: [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')], schema, envPrefix: 'APP_',
      env: { APP_SERVER_HTTP_ADDR: '127.0.0.1:9', APP_SERVER_DEBUG: 'true', APP_REGISTRY_ENDPOINTS: 'x, y' },
    }) as any;
    expect(conf).toEqual({ server: { http: { addr: '127.0.0.1:9', timeout_ms: 2000 }, debug: true }, registry: { endpoints: ['x', 'y'] } });
  });

  it('reports unreadable files, bad YAML and badly typed overrides clearly', () => {
    const dir = tmp();
    expect(() => loadTree({ files: [path.join(dir, 'nope.yaml')] })).toThrow(/cannot read/);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'a: [1,\n');
    expect(() => loadTree({ files: [path.join(dir, 'bad.yaml')] })).toThrow(/not valid YAML/);
    fs.writeFileSync(path.join(dir, 'ok.yaml'), 'port: 1\n');
    expect(() => loadTree({ files: [path.join(dir, 'ok.yaml')], env: { PORT: 'abc' } })).toThrow(/PORT=abc is not a number/);
  });

  it('calls back with the new config when a file changes', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'level: info\n');
    const changed = new Promise<any>((resolve) => {
      const stop = watchConfig({ files: [file], schema }, (c) => {
        stop();
        resolve(c);
      });
    });
    fs.writeFileSync(file, 'level: debug\n');
    expect(await changed).toEqual({ level: 'debug' });
  });
});

describe('config watch across file replacement', () => {
  it('keeps following a file that is replaced by rename (how ConfigMap volumes update)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'level: info\n');
    const seen: string[] = [];
    const stop = watchConfig({ files: [file], schema }, (c: any) => seen.push(c.level));
    const replace = (content: string) => {
      fs.writeFileSync(path.join(dir, 'next.yaml'), content);
      fs.renameSync(path.join(dir, 'next.yaml'), file);
    };
    replace('level: debug\n');
    for (let i = 0; i < 50 && !seen.includes('debug'); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    replace('level: warn\n');
    for (let i = 0; i < 50 && !seen.includes('warn'); i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen).toContain('debug');
    expect(seen).toContain('warn');
  });
});
