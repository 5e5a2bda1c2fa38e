// What tsk dev reacts to: every directory its typecheck covers (the project's tsconfig.json),
// so fixing the error it reported reruns it, plus the config; nothing it writes or installs.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchedChange } from '../../src/cli/commands/dev.js';
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
