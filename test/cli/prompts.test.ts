// `tsk new` in a terminal asks for what the flags left out. Driven through a real
// pseudo-terminal (util-linux `script`), answering each prompt as it appears.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tskBin } from '../helpers/cli.js';

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
});
