// `tsk new` in a terminal asks for what the flags left out. Driven through a real
// pseudo-terminal (util-linux `script`), answering each prompt as it appears.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk, tskBin } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('tsk new prompts on a terminal', () => {
  it('asks for the registry and the OTLP endpoint, and uses the answers', async () => {
    const dir = path.join(repoRoot, '.tmp', 'prompts');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const child = spawn(
      'script',
      ['-qec', `${process.execPath} ${tskBin} new asked --no-install --no-git`, '/dev/null'],
      { cwd: dir, env: { ...process.env, FORCE_COLOR: '0' } },
    );
    let out = '';
    const answered = new Set<string>();
    child.stdout.on('data', (d) => {
      out += d;
      if (!answered.has('registry') && out.includes('Service registry')) {
        answered.add('registry');
        child.stdin.write('\u001b[B\r'); // arrow down to "etcd", enter
      }
      if (!answered.has('otlp') && out.includes('OTLP collector endpoint')) {
        answered.add('otlp');
        child.stdin.write('\r'); // keep the default
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect([...answered]).toEqual(['registry', 'otlp']);
    const config = fs.readFileSync(path.join(dir, 'asked', 'configs', 'config.yaml'), 'utf8');
    expect(config).toMatch(/kind: etcd/);
    expect(config).toMatch(/otlp_endpoint: "http:\/\/127\.0\.0\.1:4317"/);
  });

  it('asks again for an OTLP endpoint the service would refuse, saying why', async () => {
    const dir = path.join(repoRoot, '.tmp', 'prompts-endpoint');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const child = spawn(
      'script',
      ['-qec', `${process.execPath} ${tskBin} new asked --registry none --no-install --no-git`, '/dev/null'],
      { cwd: dir, env: { ...process.env, FORCE_COLOR: '0' } },
    );
    let out = '';
    const steps: string[] = [];
    child.stdout.on('data', (d) => {
      out += d;
      if (steps.length === 0 && out.includes('OTLP collector endpoint')) {
        steps.push('bad');
        child.stdin.write('4317\r'); // a port alone: neither host:port nor a URL
      } else if (steps.length === 1 && out.includes('is neither host:port nor a URL')) {
        steps.push('good');
        child.stdin.write(`${'\u007f'.repeat(4)}otel:4317\r`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(steps).toEqual(['bad', 'good']);
    const config = fs.readFileSync(path.join(dir, 'asked', 'configs', 'config.yaml'), 'utf8');
    expect(config).toMatch(/otlp_endpoint: "?otel:4317"?/);
  });

  it('asks for the service name when none is given, again for one it cannot use', async () => {
    const dir = path.join(repoRoot, '.tmp', 'prompts-name');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const child = spawn(
      'script',
      [
        '-qec',
        `${process.execPath} ${tskBin} new --registry none --otlp-endpoint '' --no-install --no-git`,
        '/dev/null',
      ],
      { cwd: dir, env: { ...process.env, FORCE_COLOR: '0' } },
    );
    let out = '';
    const steps: string[] = [];
    child.stdout.on('data', (d) => {
      out += d;
      if (steps.length === 0 && out.includes('Service name')) {
        steps.push('bad');
        child.stdin.write('Orders\r');
      } else if (steps.length === 1 && out.includes('use lower-case letters')) {
        steps.push('good');
        child.stdin.write(`${'\u007f'.repeat(6)}orders\r`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(steps).toEqual(['bad', 'good']);
    expect(fs.readFileSync(path.join(dir, 'orders', 'package.json'), 'utf8')).toContain('"name": "orders"');
  });
});

describe('tsk new without a terminal', () => {
  it('takes the defaults for what the flags left out and says which, unless told -y', () => {
    const dir = path.join(repoRoot, '.tmp', 'prompts-pipe');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const piped = tsk(['new', 'piped', '--no-install', '--no-git'], dir);
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout.split('\n')[0]).toBe(
      'no terminal to ask on; taking registry none and OTLP endpoint http://127.0.0.1:4317 (--registry and --otlp-endpoint choose; -y takes the defaults without this line)',
    );
    expect(fs.readFileSync(path.join(dir, 'piped', 'configs', 'config.yaml'), 'utf8')).toMatch(/kind: none/);
    const told = tsk(['new', 'told', '-y', '--no-install', '--no-git'], dir);
    expect(told.status, told.stderr).toBe(0);
    expect(told.stdout).not.toContain('no terminal');
  });
});
