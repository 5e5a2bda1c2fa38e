// Ctrl-C during `tsk new`: nothing half-built is left next to the target.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, tskBin } from '../helpers/cli.js';

it('tsk new stopped by SIGINT while building removes its staging directory and exits 130', async () => {
  const work = path.join(repoRoot, '.tmp', 'new-interrupt');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const child = spawn(process.execPath, [tskBin, 'new', 'intr', '--yes', '--no-install', '--no-git'], {
    cwd: work,
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const staging = () => fs.readdirSync(work).filter((f) => f.startsWith('.intr.tsk-staging-'));
  for (let i = 0; i < 1000 && staging().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(staging()).toHaveLength(1);
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(fs.readdirSync(work)).toEqual([]);
}, 60_000);

// The group's signal reaches tsk and the install in either order: tsk may first see its install end by SIGINT.
it.each([
  ['the whole group', 'group'],
  ['the install alone', 'install'],
] as const)(
  'tsk new stopped by SIGINT (to %s) during its install keeps the project and says what is left to run',
  async (_, target) => {
    const work = path.join(repoRoot, '.tmp', `new-interrupt-${target}`);
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(path.join(work, 'bin'), { recursive: true });
    // An npm whose install waits to be interrupted; its other commands (tsk packs itself with npm) are npm's.
    const npm = path.join(work, 'bin', 'npm');
    // The npm on PATH before ours (not necessarily next to this node: .ci/run's Node 24 has none).
    const realNpm = (process.env['PATH'] ?? '')
      .split(path.delimiter)
      .map((dir) => path.join(dir, 'npm'))
      .find((candidate) => fs.existsSync(candidate));
    expect(realNpm, 'npm on PATH').toBeDefined();
    fs.writeFileSync(
      npm,
      `#!/bin/sh\nif [ "$1" = install ]; then echo $$ > ${path.join(work, 'install.pid')}; echo installing; exec sleep 60; fi\nexec ${realNpm} "$@"\n`,
    );
    fs.chmodSync(npm, 0o755);
    const env = {
      ...process.env,
      FORCE_COLOR: '0',
      PATH: `${path.join(work, 'bin')}${path.delimiter}${process.env['PATH']}`,
    };
    const child = spawn(process.execPath, [tskBin, 'new', 'intr', '--yes'], { cwd: work, env, detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 6000 && !out.includes('installing'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(out).toContain('installing');
      // Ctrl-C in a terminal signals the whole foreground group: tsk and the install.
      if (target === 'group') process.kill(-child.pid!, 'SIGINT');
      else process.kill(Number(fs.readFileSync(path.join(work, 'install.pid'), 'utf8')), 'SIGINT');
      expect(await exited).toBe(130);
    } finally {
      // Whatever went wrong, nothing of the group outlives the test.
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    expect(out).toContain(
      'interrupted: intr is created; finish it with: cd intr && npm install && git init && git add -A && git commit -m "Initial commit"',
    );
    expect(fs.existsSync(path.join(work, 'intr', 'package.json'))).toBe(true);
  },
  120_000,
);
