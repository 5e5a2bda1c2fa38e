// bin/tsk.js in a checkout that was linked but never built: npm builds tsk only when
// packing it, so the entry point must say what to do rather than fail on a missing module.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { run } from '../helpers/process.js';

describe('bin/tsk.js', () => {
  it('names the directory to build in when dist/ is missing', async () => {
    const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-unbuilt-'));
    try {
      fs.mkdirSync(path.join(checkout, 'bin'));
      fs.copyFileSync(path.join(repoRoot, 'bin', 'tsk.js'), path.join(checkout, 'bin', 'tsk.js'));
      fs.writeFileSync(path.join(checkout, 'package.json'), '{"type":"module"}\n');
      const result = await run(process.execPath, [path.join(checkout, 'bin', 'tsk.js'), '--version'], checkout);
      expect(result.status).toBe(1);
      expect(result.output.trim()).toBe(`tsk is not built: run \`npm run build\` in ${checkout}${path.sep}`);
    } finally {
      fs.rmSync(checkout, { recursive: true, force: true });
    }
  });

  it('runs the built CLI', async () => {
    const result = await run(process.execPath, [path.join(repoRoot, 'bin', 'tsk.js'), '--version'], repoRoot);
    expect(result.status, result.output).toBe(0);
  });
});
