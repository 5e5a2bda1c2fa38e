// `tsk example` input checks: a clear one-line error, a non-zero exit and nothing written.
// (The generated system itself is built and run in test/e2e/example.test.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { tskAsync } from '../helpers/async-cli.js';

const work = path.join(repoRoot, '.tmp', 'example-cli');

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'taken'), { recursive: true });
  fs.writeFileSync(path.join(work, 'taken', 'mine.txt'), 'keep me\n');
});

describe('tsk example', () => {
  it('names the examples there are when given an unknown one', async () => {
    const r = await tskAsync(['example', 'monolith', 'x'], work);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('error: unknown example "monolith"; there is: microservices');
    expect(fs.existsSync(path.join(work, 'x'))).toBe(false);
  });

  it('refuses a directory that is not empty and leaves it as it was', async () => {
    const r = await tskAsync(['example', 'microservices', 'taken'], work);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('error: taken exists and is not an empty directory');
    expect(fs.readdirSync(path.join(work, 'taken'))).toEqual(['mine.txt']);
    expect(fs.readdirSync(work).sort()).toEqual(['taken']);
  });
});
