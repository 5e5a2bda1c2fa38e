// A project whose package.json does not parse: commands name the file, not only JSON.parse's words.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

it('tsk bundle and tsk registry name a package.json that is not JSON', () => {
  const project = path.join(repoRoot, '.tmp', 'project-package', 'svc');
  fs.rmSync(path.dirname(project), { recursive: true, force: true });
  fs.mkdirSync(path.join(project, '.tsk'), { recursive: true });
  fs.writeFileSync(path.join(project, '.tsk', 'manifest.json'), '{"tsk":"","files":{}}\n');
  fs.writeFileSync(path.join(project, 'package.json'), '{\n');
  for (const args of [['bundle'], ['registry', 'etcd']]) {
    const r = tsk(args, project);
    expect(r.status, args.join(' ')).toBe(1);
    expect(r.stderr).toContain(`${path.join(project, 'package.json')}: not valid JSON: `);
  }
});
