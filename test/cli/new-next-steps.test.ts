// What `tsk new` prints after the project: "Next steps" meant to be pasted (a directory with
// a space is quoted, a project made in the current directory needs no `cd`), and a note
// when the project lands in npm workspaces, whose root holds its lockfile.
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

  it("note that a project inside npm workspaces has the root's lockfile, not its own", () => {
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(path.join(repo, 'services'), { recursive: true });
    fs.writeFileSync(
      path.join(repo, 'package.json'),
      '{"name": "repo", "private": true, "workspaces": ["services/*"]}\n',
    );
    const r = tsk(['new', 'svc', '--yes', '--no-install', '--no-git'], path.join(repo, 'services'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "note: svc is inside the npm workspaces at ..: the lockfile is that root's, and npm reads allowScripts only from its package.json",
    );
    const alone = tsk(['new', 'other', '--yes', '--no-install', '--no-git'], dir);
    expect(alone.stdout).not.toContain('npm workspaces');
  });
});
