// What tsk dev reacts to: every directory its typecheck covers (the project's tsconfig.json),
// so fixing the error it reported reruns it, plus the config and the lockfile an install
// writes; nothing it writes itself, nor what goes into node_modules.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { notInstalled, watchedChange } from '../../src/cli/commands/dev.js';
import { repoRoot } from '../helpers/cli.js';

describe('tsk dev watches', () => {
  it("every directory the project's typecheck includes", () => {
    const tsconfig = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'templates', 'service', 'tsconfig.json'), 'utf8'),
    ) as {
      include: string[];
    };
    for (const dir of tsconfig.include) expect(watchedChange(`${dir}/some.test.ts`), dir).toBe(true);
  });

  it('protos and the config, not what tsk or npm write', () => {
    expect(watchedChange('api/greeter/v1/greeter.proto')).toBe(true);
    expect(watchedChange('configs/config.yaml')).toBe(true);
    expect(watchedChange('test/repository.test.ts')).toBe(true);
    // An install after tsk registry: the typecheck that found the client missing runs again.
    expect(watchedChange('package-lock.json')).toBe(true);
    for (const file of [
      'dist/cmd/x/main.js',
      'node_modules/a/index.ts',
      '.tsk/manifest.json',
      'README.md',
      'test/notes.txt',
    ])
      expect(watchedChange(file), file).toBe(false);
  });
});

describe('tsk dev after a failed typecheck', () => {
  it('names the packages package.json lists that node_modules lacks (a registry client after tsk registry)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-dev-'));
    fs.writeFileSync(
      path.join(root, 'package.json'),
      JSON.stringify({ name: 'svc', dependencies: { consul: '^2', yaml: '^2' }, devDependencies: { '@types/x': '1' } }),
    );
    fs.mkdirSync(path.join(root, 'node_modules', 'yaml'), { recursive: true });
    const out = [
      "internal/pkg/registry/consul.ts(7,20): error TS2307: Cannot find module 'consul' or its corresponding type declarations.",
      "internal/a.ts(1,1): error TS2307: Cannot find module 'yaml/dist/x'.",
      "internal/b.ts(1,1): error TS2307: Cannot find module '@types/x/sub'.",
      "internal/c.ts(1,1): error TS2307: Cannot find module './missing.js'.",
    ].join('\n');
    expect(notInstalled(root, out)).toEqual(['consul', '@types/x']);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
