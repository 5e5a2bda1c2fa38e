// The "Next steps" `tsk new` prints are meant to be pasted: a directory with a space is
// quoted, and a project made in the current directory needs no `cd`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-next-steps-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tsk new next steps', () => {
  it('quote a directory with a space', () => {
    const r = tsk(['new', 'svc', '--dir', "with space/it's", '--yes', '--no-install', '--no-git'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`\n  cd 'with space/it'\\''s'\n`);
  });

  it('leave out the cd when the project is the current directory', () => {
    const here = path.join(dir, 'here');
    fs.mkdirSync(here);
    const r = tsk(['new', 'svc', '--dir', '.', '--yes', '--no-install', '--no-git'], here);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Next steps:\n {2}npm install\n/);
    expect(r.stdout).not.toContain('cd .');
  });
});
