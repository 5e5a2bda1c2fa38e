// tsk runs on older Node.js lines than the services it makes: `tsk new` on one says
// which line the service needs before the next steps, and nothing on a line that has it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'new-node-line');
const major = Number(process.versions.node.split('.')[0]);

describe('tsk new', () => {
  it(`names the Node.js line the service needs only when this one (${process.version}) is older`, () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const r = tsk(['new', 'lined', '--yes', '--no-git', '--no-install'], work);
    expect(r.status, r.stderr).toBe(0);
    const engines = JSON.parse(fs.readFileSync(path.join(work, 'lined/package.json'), 'utf8')).engines.node as string;
    const needed = Number(engines.replace('>=', ''));
    const note = `note: the service runs on Node.js ${needed} or later`;
    if (major < needed) {
      expect(r.stdout).toContain(note);
      expect(r.stdout).toContain(`this shell has ${process.version}`);
      expect(r.stdout.indexOf(note)).toBeLessThan(r.stdout.indexOf('Next steps:'));
    } else {
      expect(r.stdout).not.toContain('note: the service runs on');
    }
  });
});
