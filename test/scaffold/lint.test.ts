// A new project passes its own `biome check` (the first half of its `npm run lint`) as `tsk new`
// writes it: every registry, and a 25-character name (the longest whose import lines in
// internal/{biz,service}/greeter.ts still fit in 120 columns; a longer name needs one npm run format).
// test/e2e/new.test.ts runs the whole `npm run lint` after npm install. Its protos, and one
// `tsk proto add` writes, pass `buf lint` under the project's buf.yaml.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PackageManagerName } from '../../src/scaffold/package-manager.js';
import { renderProject, type RegistryKind } from '../../src/scaffold/project.js';
import { bufBinary } from '../../src/proto/paths.js';
import { repoRoot, tsk } from '../helpers/cli.js';

const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');

describe('generated project lint', () => {
  const cases: [string, RegistryKind, PackageManagerName][] = [
    ['demo', 'none', 'npm'],
    ['demo', 'etcd', 'npm'],
    ['demo', 'consul', 'npm'],
    ['inventory-reservations-eu', 'etcd', 'npm'],
    // Its own files: pnpm-workspace.yaml.
    ['demo', 'none', 'pnpm'],
  ];
  for (const [name, registry, packageManager] of cases) {
    it(`passes biome check: ${name}, --registry ${registry}, --package-manager ${packageManager}`, () => {
      const dir = path.join(repoRoot, '.tmp', 'scaffold-lint', `${registry}-${name.length}-${packageManager}`);
      fs.rmSync(dir, { recursive: true, force: true });
      for (const f of renderProject({
        name,
        registry,
        packageManager: { name: packageManager, version: '10.0.0' },
        httpPort: 8000,
        grpcPort: 9000,
        otlpEndpoint: 'http://127.0.0.1:4317',
      })) {
        fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
        fs.writeFileSync(path.join(dir, f.path), f.content);
      }
      const r = spawnSync(biome, ['check', '--max-diagnostics=50'], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      // It looked at the project's own code, not at nothing.
      expect(r.stdout + r.stderr).toMatch(/Checked (\d{2,}) files/);
    });
  }

  it('passes buf lint: its protos and one tsk proto add writes', () => {
    const dir = path.join(repoRoot, '.tmp', 'scaffold-lint', 'buf');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    expect(tsk(['new', 'demo', '--yes', '--no-git', '--no-install'], dir).status).toBe(0);
    const project = path.join(dir, 'demo');
    expect(tsk(['proto', 'add', 'api/shop/v1/order.proto'], project).status).toBe(0);
    const r = spawnSync(bufBinary(), ['lint'], { cwd: project, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The rules run: a field buf's standard rules refuse is reported.
    fs.appendFileSync(path.join(project, 'api/shop/v1/order.proto'), 'message Bad { string BadName = 1; }\n');
    const bad = spawnSync(bufBinary(), ['lint'], { cwd: project, encoding: 'utf8' });
    expect(bad.stdout).toContain('Field name "BadName" should be lower_snake_case');
  });
});
