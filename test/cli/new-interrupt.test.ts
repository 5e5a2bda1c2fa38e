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
