// `tsk new` (and `tsk example`) inside an existing tsk project refuses, before writing
// anything: a project in a project breaks the outer one's lint (Biome finds a second root
// biome.jsonc) and its type check and image take the inner one's files in. It names the way out.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

let dir: string;
let project: string;

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-nested-')));
  project = path.join(dir, 'svc');
  const r = tsk(['new', 'svc', '--yes', '--no-install', '--no-git'], dir);
  expect(r.status, r.stderr).toBe(0);
});

describe('tsk new inside a tsk project', () => {
  it('refuses from the project root, naming the project and a directory outside it', () => {
    const r = tsk(['new', 'other', '--yes', '--no-install', '--no-git'], project);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `error: other would be inside the tsk project at ${project}, whose lint (a second Biome root configuration), type check and image would take it in; create it outside, e.g. tsk new other --dir ../other`,
    );
    expect(fs.existsSync(path.join(project, 'other'))).toBe(false);
  });

  it('refuses from a subdirectory, and for a --dir that points inside', () => {
    const sub = tsk(['new', 'other', '--yes', '--no-install', '--no-git'], path.join(project, 'internal'));
    expect(sub.status).toBe(1);
    expect(sub.stderr).toContain(`inside the tsk project at ${project},`);
    expect(sub.stderr).toContain('tsk new other --dir ../../other');
    const viaDir = tsk(['new', 'other', '--yes', '--no-install', '--no-git', '--dir', 'svc/services/other'], dir);
    expect(viaDir.status).toBe(1);
    expect(viaDir.stderr).toContain('error: svc/services/other would be inside the tsk project at');
    expect(viaDir.stderr).toContain('tsk new other --dir other');
    expect(fs.readdirSync(project)).not.toContain('services');
    expect(fs.readdirSync(path.join(project, 'internal'))).not.toContain('other');
  });

  it('refuses tsk example there too, before building anything', () => {
    const r = tsk(['example', 'microservices', 'ex'], project);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: ex would be inside the tsk project at ${project}, whose lint (a second Biome root configuration), type check and image would take it in; create it outside, e.g. tsk example microservices ../ex`,
    );
    expect(fs.readdirSync(project).filter((f) => f.includes('ex'))).toEqual([]);
  });

  it('still makes a project next to it', () => {
    const r = tsk(['new', 'other', '--yes', '--no-install', '--no-git', '--dir', '../other'], project);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'other', '.tsk', 'manifest.json'))).toBe(true);
  });
});
