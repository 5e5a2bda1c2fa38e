// The generated fetch clients compile on their own under the strictest settings,
// with the DOM's fetch types (browsers) and with Node's (edge runtimes and Node),
// and import nothing.
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot, scratchFixture, tsk } from '../helpers/cli.js';

const execFileAsync = promisify(execFile);

/** tsc in a child process, awaited (a synchronous spawn would stall the test worker for its whole run). */
async function typecheck(dir: string, files: string[], env: { lib: string[]; types: string[] }) {
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        noUncheckedIndexedAccess: true,
        noImplicitOverride: true,
        exactOptionalPropertyTypes: true,
        verbatimModuleSyntax: true,
        erasableSyntaxOnly: true,
        ...env,
      },
      files,
    }),
  );
  try {
    await execFileAsync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]);
    return { status: 0, output: '' };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('tsk proto client --fetch', () => {
  it('writes *_fetch.ts for every fixture that compiles for browsers and for Node, with no imports', async () => {
    const files: string[] = [];
    const root = path.join(repoRoot, '.tmp', 'fetch');
    for (const name of ['helloworld', 'user', 'edge', 'stream', 'names']) {
      const dir = scratchFixture('fetch', name);
      const r = tsk(['proto', 'client', '.', '-I', '.', '--fetch', '--runtime', 'internal/pkg'], dir);
      expect(r.status, r.stderr).toBe(0);
      const found = spawnSync('find', ['.', '-name', '*_fetch.ts'], { cwd: dir, encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      expect(found.length, name).toBeGreaterThan(0);
      files.push(...found.map((f) => path.join(name, f)));
    }
    for (const f of files) expect(fs.readFileSync(path.join(root, f), 'utf8')).not.toMatch(/^\s*import\s/m);
    const browser = await typecheck(root, files, { lib: ['ES2022', 'DOM'], types: [] });
    expect(browser.status, browser.output).toBe(0);
    const node = await typecheck(root, files, { lib: ['ES2022'], types: ['node'] });
    expect(node.status, node.output).toBe(0);
  }, 240_000);
});
