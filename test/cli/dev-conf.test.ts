// `tsk dev --conf` (repeatable): a path given is read from where tsk runs, and a missing file stops tsk dev before anything starts.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

it('tsk dev --conf names a missing config file relative to where it runs, and starts nothing', () => {
  const project = path.join(repoRoot, '.tmp', 'dev-conf', 'svc');
  fs.rmSync(path.dirname(project), { recursive: true, force: true });
  fs.mkdirSync(path.join(project, '.tsk'), { recursive: true });
  fs.mkdirSync(path.join(project, 'cmd', 'svc'), { recursive: true });
  fs.mkdirSync(path.join(project, 'internal'), { recursive: true });
  fs.writeFileSync(path.join(project, '.tsk', 'manifest.json'), '{"tsk":"","files":{}}\n');
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"svc"}\n');
  fs.writeFileSync(path.join(project, 'cmd', 'svc', 'main.ts'), '');
  const r = tsk(['dev', '--conf', '../configs/other.yaml'], path.join(project, 'internal'));
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('../configs/other.yaml: no such config file');
  // A root-relative path given from a subdirectory is not the project's file.
  fs.mkdirSync(path.join(project, 'configs'));
  fs.writeFileSync(path.join(project, 'configs', 'other.yaml'), '');
  const fromSub = tsk(['dev', '--conf', 'configs/other.yaml'], path.join(project, 'internal'));
  expect(fromSub.status).toBe(1);
  expect(fromSub.stderr).toContain('configs/other.yaml: no such config file');
  // Each of several is checked, as the service merges them in order.
  const second = tsk(
    ['dev', '--conf', '../configs/other.yaml', '--conf', '../configs/site.yaml'],
    path.join(project, 'internal'),
  );
  expect(second.status).toBe(1);
  expect(second.stderr).toContain('../configs/site.yaml: no such config file');
});
