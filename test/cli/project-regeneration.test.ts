// Inside a generated project: regeneration and `tsk upgrade` rewrite only what
// tsk wrote and still owns, and report (never overwrite) files the user changed.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'regen');
const project = path.join(work, 'shop');

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const r = tsk(['new', 'shop', '--yes', '--no-git', '--no-install'], work);
  expect(r.status, r.stderr).toBe(0);
});

describe('in a generated project', () => {
  it('tsk upgrade restores a deleted runtime file and keeps an edited one', () => {
    const edited = path.join(project, 'internal/pkg/errors/codes.ts');
    const deleted = path.join(project, 'internal/pkg/middleware/selector.ts');
    const original = fs.readFileSync(deleted, 'utf8');
    fs.appendFileSync(edited, '// local patch\n');
    fs.rmSync(deleted);
    const r = tsk(['upgrade'], project);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped internal\/pkg\/errors\/codes\.ts: changed locally/);
    expect(r.stdout).toMatch(/wrote {3}internal\/pkg\/middleware\/selector\.ts/);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// local patch');
    expect(fs.readFileSync(deleted, 'utf8')).toBe(original);
  });

  it('tsk proto client regenerates untouched files, reports edited ones', () => {
    const edited = path.join(project, 'api/shop/v1/greeter_http.ts');
    fs.appendFileSync(edited, '// hand edit\n');
    const r = tsk(['proto', 'client', 'api'], project);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped api\/shop\/v1\/greeter_http\.ts: changed locally/);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// hand edit');
    const forced = tsk(['proto', 'client', 'api', '--force'], project);
    expect(forced.status).toBe(0);
    expect(fs.readFileSync(edited, 'utf8')).not.toContain('// hand edit');
  });

  it('tsk proto add + client + server extend the project with a new service', () => {
    expect(tsk(['proto', 'add', 'api/shop/v1/order.proto'], project).status).toBe(0);
    const gen = tsk(['proto', 'client', 'api'], project);
    expect(gen.status, gen.stderr).toBe(0);
    expect(fs.readFileSync(path.join(project, 'api/shop/v1/order_http.ts'), 'utf8')).toContain("from '../../../internal/pkg/transport/http/index.js'");
    const stub = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(stub.status, stub.stderr).toBe(0);
    const content = fs.readFileSync(path.join(project, 'internal/service/order.ts'), 'utf8');
    expect(content).toContain("from '../pkg/errors/errors.js'");
    expect(content).toContain("from '../../api/shop/v1/order_grpc.js'");
    const manifest = JSON.parse(fs.readFileSync(path.join(project, '.tsk/manifest.json'), 'utf8'));
    expect(manifest.files['internal/service/order.ts'].kind).toBe('owned');
    expect(manifest.files['api/shop/v1/order_http.ts'].kind).toBe('generated');
  });
});
