// Shell completion: the candidates read off the commander program, and each shell's
// script run by that shell, asking the built CLI through a `tsk` on PATH. zsh and fish
// are Debian packages .ci/run installs; elsewhere their tests skip when they are missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { completionCandidates } from '../../src/cli/completion.js';
import { repoRoot, tskBin } from '../helpers/cli.js';

const complete = (...words: string[]) => completionCandidates(buildProgram(), words);

describe('completion candidates', () => {
  it('lists the commands, then a command group’s subcommands, by the prefix typed', () => {
    expect(complete('')).toEqual(expect.arrayContaining(['new', 'proto', 'generate', 'dev', 'completion']));
    expect(complete('pro')).toEqual(['proto']);
    expect(complete('proto', '')).toEqual(['add', 'client', 'openapi', 'server']);
    expect(complete('add', 'c')).toEqual(['client']);
  });

  it("offers an argument's values where the command names them", () => {
    expect(complete('registry', '')).toEqual(['none', 'etcd', 'consul']);
    expect(complete('example', 'm')).toEqual(['microservices']);
    expect(complete('example', 'microservices', '')).toEqual([]); // <dir>: file names
    expect(complete('completion', 'z')).toEqual(['zsh']);
  });

  it("lists the current command's flags for a word starting with -", () => {
    expect(complete('new', '--re')).toEqual(['--registry']);
    expect(complete('proto', 'client', '--')).toEqual(expect.arrayContaining(['--openapi', '--force', '--help']));
    expect(complete('proto', 'client', '--')).not.toContain('--registry');
  });

  it("offers a flag's choices for its value, and nothing (file names) where a value is free", () => {
    expect(complete('new', 'svc', '--registry', '')).toEqual(['etcd', 'consul', 'none']);
    expect(complete('new', '--package-manager', 'p')).toEqual(['pnpm']);
    expect(complete('add', 'client', 'user', '--transport', '')).toEqual(['grpc', 'http']);
    expect(complete('add', 'client', '--transport', 'h')).toEqual(['http']);
    expect(complete('new', '--dir', '')).toEqual([]);
    // A flag's value is not taken for a command: `-d proto` leaves `new`'s flags in play.
    expect(complete('new', '-d', 'proto', '--gr')).toEqual(['--grpc-port']);
    expect(complete('new', '--registry=etcd', '--ht')).toEqual(['--http-port']);
  });

  it('completes a value written with =, split into words as bash does or whole as zsh and fish do', () => {
    expect(complete('new', 'svc', '--registry', '=')).toEqual(['etcd', 'consul', 'none']);
    expect(complete('new', 'svc', '--registry', '=', 'c')).toEqual(['consul']);
    expect(complete('new', 'svc', '--registry', '=', 'etcd', '--ht')).toEqual(['--http-port']);
    expect(complete('new', 'svc', '--registry=c')).toEqual(['--registry=consul']);
  });

  it('leaves out a flag given already, unless it may be given again', () => {
    expect(complete('new', 'svc', '--force', '--f')).toEqual([]);
    expect(complete('new', 'svc', '--registry', 'etcd', '--re')).toEqual([]);
    expect(complete('proto', 'client', '-I', 'a', '--proto')).toEqual(['--proto_path']);
  });

  it('prints them one a line from `tsk __complete`', () => {
    const r = spawnSync(process.execPath, [tskBin, '__complete', 'new', '--registry', ''], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('etcd\nconsul\nnone\n');
  });
});

/** A PATH whose `tsk` runs the built CLI. */
function pathWithTsk(): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-completion-'));
  fs.writeFileSync(path.join(bin, 'tsk'), `#!/bin/sh\nexec "${process.execPath}" "${tskBin}" "$@"\n`, { mode: 0o755 });
  return `${bin}${path.delimiter}${process.env['PATH']}`;
}

const has = (shell: string) => spawnSync(shell, ['-c', 'true']).status === 0;
const shell = (name: string, script: string) => {
  const r = spawnSync(name, ['-c', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, PATH: pathWithTsk() },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
};

describe('completion scripts', () => {
  it('bash: the function fills COMPREPLY, and leaves it empty where bash should complete file names', () => {
    const run = (words: string[], cword: number) =>
      shell(
        'bash',
        `source <(tsk completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _tsk_complete
printf '%s\\n' "\${COMPREPLY[@]}"
complete -p tsk`,
      );
    expect(run(['tsk', 'new', '--registry', ''], 3)).toEqual([
      'etcd',
      'consul',
      'none',
      'complete -o default -F _tsk_complete tsk',
    ]);
    expect(run(['tsk', 'proto', 'cl'], 2)).toEqual(['client', 'complete -o default -F _tsk_complete tsk']);
    expect(run(['tsk', 'add', 'client', 'user', '--transport', ''], 5)).toEqual([
      'grpc',
      'http',
      'complete -o default -F _tsk_complete tsk',
    ]);
    expect(run(['tsk', 'new', 'svc', '--package-manager', ''], 4)).toEqual([
      'npm',
      'pnpm',
      'yarn',
      'complete -o default -F _tsk_complete tsk',
    ]);
    expect(run(['tsk', 'proto', 'client', 'fix'], 3)).toEqual(['complete -o default -F _tsk_complete tsk']);
  });

  it.skipIf(!has('zsh') && !process.env['CI'])('zsh: the function adds the candidates, or completes files', () => {
    // compadd and _files stand in for zsh's completion system, which needs a terminal.
    const run = (words: string[]) =>
      shell(
        'zsh',
        `compdef() { print "compdef $*"; }; compadd() { shift; print -l -- "$@"; }; _files() { print FILES; }
source <(tsk completion zsh)
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _tsk_complete`,
      );
    expect(run(['tsk', 'new', '--registry', ''])).toEqual(['compdef _tsk_complete tsk', 'etcd', 'consul', 'none']);
    expect(run(['tsk', 'proto', 'client', 'fix'])).toEqual(['compdef _tsk_complete tsk', 'FILES']);
    expect(run(['tsk', 'add', 'client', 'user', '--transport', ''])).toEqual([
      'compdef _tsk_complete tsk',
      'grpc',
      'http',
    ]);
    expect(run(['tsk', 'new', 'svc', '--package-manager', ''])).toEqual([
      'compdef _tsk_complete tsk',
      'npm',
      'pnpm',
      'yarn',
    ]);
  });

  it.skipIf(!has('fish') && !process.env['CI'])('fish: complete -C gives the candidates, or file names', () => {
    const run = (line: string) => shell('fish', `source (tsk completion fish | psub); complete -C"${line}"`);
    expect(run('tsk new --registry ')).toEqual(['consul', 'etcd', 'none']);
    expect(run('tsk proto client --op')).toEqual(['--openapi']);
    expect(run('tsk add client user --transport ')).toEqual(['grpc', 'http']);
    expect(run('tsk new svc --package-manager ')).toEqual(['npm', 'pnpm', 'yarn']);
    expect(run('tsk proto client fixt')).toEqual(['fixtures/']);
  });
});
