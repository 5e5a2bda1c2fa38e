// `tsk new --package-manager`: the version of the package manager on PATH goes into the
// project (package.json's packageManager, the Dockerfile, the README); one it cannot make a
// working project with, or none on PATH, is refused with one line and nothing written.
// Stand-in `pnpm` and `yarn` scripts print a version; the real ones install and build in
// test/e2e/image-package-managers.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

/** A directory with an executable `name` that prints `version`, and PATH with it first. */
function fakePackageManager(name: string, version: string): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-pm-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
  return { dir, env: { PATH: `${bin}${path.delimiter}${process.env['PATH']}` } };
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, 'svc', file), 'utf8');

describe('tsk new --package-manager', () => {
  it('pnpm: records the version and builds the image with it from pnpm-lock.yaml', () => {
    const { dir, env } = fakePackageManager('pnpm', '10.34.9');
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--package-manager', 'pnpm'], dir, env);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(read(dir, 'package.json')).packageManager).toBe('pnpm@10.34.9');
    const dockerfile = read(dir, 'Dockerfile');
    expect(dockerfile).toContain('RUN npm install --global pnpm@10.34.9\n');
    expect(dockerfile).toContain('COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./\n');
    expect(dockerfile).toContain('RUN pnpm install --frozen-lockfile\n');
    expect(dockerfile).toContain('RUN pnpm run build && pnpm prune --prod\n');
    expect(dockerfile).not.toMatch(/npm ci|package-lock/);
    // pnpm's own settings deny the toolchain's install scripts, as allowScripts does for npm.
    expect(read(dir, 'pnpm-workspace.yaml')).toContain('allowBuilds:\n  "@bufbuild/buf": false\n  esbuild: false\n');
    const readme = read(dir, 'README.md');
    expect(readme).toContain(
      'pnpm install                       # the image build copies pnpm-lock.yaml (tsk new wrote it, unless run with --no-install)',
    );
    expect(readme).toContain('pnpm exec tsk proto add');
    expect(readme).not.toMatch(/\bnpm (install|run|test|start)\b|npx /);
    expect(r.stdout).toContain('pnpm install\n  pnpm run dev');
    // Later commands name pnpm too: npm would write a second lock file.
    const switched = tsk(['registry', 'etcd'], path.join(dir, 'svc'), env);
    expect(switched.status, switched.stderr).toBe(0);
    expect(switched.stdout).toContain('registry: none -> etcd; run pnpm install (adds etcd3)');
  });

  it('yarn 1: builds the image with the yarn of the node image, from yarn.lock', () => {
    const { dir, env } = fakePackageManager('yarn', '1.22.22');
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--package-manager', 'yarn'], dir, env);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(read(dir, 'package.json')).packageManager).toBe('yarn@1.22.22');
    const dockerfile = read(dir, 'Dockerfile');
    expect(dockerfile).toContain('COPY package.json yarn.lock ./\n');
    expect(dockerfile).toContain('RUN yarn install --frozen-lockfile\n');
    expect(dockerfile).not.toMatch(/npm ci|package-lock|npm install/);
    expect(read(dir, 'README.md')).not.toMatch(/\bnpm (install|run|test|start)\b|npx /);
  });

  it('npm, the default: no packageManager field, npm ci from package-lock.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-pm-'));
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(read(dir, 'package.json')).packageManager).toBeUndefined();
    expect(read(dir, 'Dockerfile')).toContain('COPY package.json package-lock.json ./\n');
    expect(read(dir, 'Dockerfile')).toContain('RUN npm ci\n');
  });

  it('refuses yarn 2 and later (Plug’n’Play, no node_modules), writing nothing', () => {
    const { dir, env } = fakePackageManager('yarn', '4.9.1');
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--package-manager', 'yarn'], dir, env);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      "error: --package-manager yarn: yarn 4.9.1 installs with Plug'n'Play, without the node_modules a tsk project loads its packages from; use yarn 1, pnpm or npm",
    ]);
    expect(fs.readdirSync(dir)).toEqual(['bin']);
  });

  it('refuses a package manager that is not on PATH, writing nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-pm-'));
    // PATH with node alone on it.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-pm-bin-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = tsk(['new', 'svc', '--yes', '--no-git', '--no-install', '--package-manager', 'pnpm'], dir, { PATH: bin });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'error: --package-manager pnpm: pnpm is not on PATH; install it, or leave the option out for npm',
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
