// `tsk new` makes the project a git repository with a first commit, except inside an
// existing work tree (a monorepo) that does not ignore it, where a nested repository
// would only get in the way.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('tsk new and git', () => {
  it('commits the new project in a repository of its own', () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-git-')));
    const r = tsk(['new', 'svc', '--yes', '--no-install'], dir);
    expect(r.status, r.stderr).toBe(0);
    const project = path.join(dir, 'svc');
    expect(git(['rev-parse', '--show-toplevel'], project)).toBe(project);
    expect(git(['log', '--format=%s'], project)).toBe('Initial commit from tsk new');
    expect(git(['status', '--porcelain'], project)).toBe('');
  });

  it("commits on main as the user, the tarball too, whatever the user's global ignores say of *.tgz", () => {
    const home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-git-home-')));
    fs.writeFileSync(path.join(home, 'ignore'), '*.tgz\n');
    fs.writeFileSync(
      path.join(home, '.gitconfig'),
      `[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n[core]\n\texcludesFile = ${path.join(home, 'ignore')}\n`,
    );
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1' };
    const r = tsk(['new', 'svc', '--yes', '--no-install'], home, env);
    expect(r.status, r.stderr).toBe(0);
    const project = path.join(home, 'svc');
    const inHome = (args: string[]) =>
      execFileSync('git', args, { cwd: project, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    expect(inHome(['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    expect(inHome(['log', '--format=%an <%ae>'])).toBe('Ada Lovelace <ada@example.com>');
    expect(inHome(['ls-files', '.tsk'])).toMatch(/\.tsk\/tsk-[^/]+\.tgz/);
  });

  it('inside an existing repository, adds the project to it instead of nesting another', () => {
    const mono = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-git-mono-')));
    git(['init', '-q'], mono);
    fs.mkdirSync(path.join(mono, 'services'));
    const r = tsk(['new', 'svc', '--yes', '--no-install'], path.join(mono, 'services'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`inside the git repository at ${mono}: no repository of its own; commit it there`);
    expect(fs.existsSync(path.join(mono, 'services/svc/.git'))).toBe(false);
    expect(git(['status', '--porcelain', '--untracked-files=normal'], mono)).toBe('?? services/');

    // A directory the enclosing repository ignores (scratch space, say) gets a repository of its own.
    fs.writeFileSync(path.join(mono, '.gitignore'), 'scratch/\n');
    fs.mkdirSync(path.join(mono, 'scratch'));
    const ignored = tsk(['new', 'svc', '--yes', '--no-install'], path.join(mono, 'scratch'));
    expect(ignored.status, ignored.stderr).toBe(0);
    expect(git(['rev-parse', '--show-toplevel'], path.join(mono, 'scratch/svc'))).toBe(path.join(mono, 'scratch/svc'));
  });
});
