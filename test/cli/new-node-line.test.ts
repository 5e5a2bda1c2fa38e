// tsk runs on older Node.js lines than the services it makes: `tsk new` on one says
// which line the service needs before the next steps, and nothing on a line that has it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'new-node-line');
const major = Number(process.versions.node.split('.')[0]);

describe('tsk new', () => {
  it(`names the Node.js line the service needs only when this one (${process.version}) is older`, () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const r = tsk(['new', 'lined', '--yes', '--no-git', '--no-install'], work);
    expect(r.status, r.stderr).toBe(0);
    const engines = JSON.parse(fs.readFileSync(path.join(work, 'lined/package.json'), 'utf8')).engines.node as string;
    const needed = Number(engines.replace('>=', ''));
    const note = `note: the service runs on Node.js ${needed} or later`;
    if (major < needed) {
      expect(r.stdout).toContain(note);
      expect(r.stdout).toContain(`this shell has ${process.version}`);
      expect(r.stdout.indexOf(note)).toBeLessThan(r.stdout.indexOf('Next steps:'));
    } else {
      expect(r.stdout).not.toContain('note: the service runs on');
    }
  });
});

describe('tsk new installing with npm', () => {
  it(`counts npm's EBADENGINE warnings into one line when this Node.js (${process.version}) is older than the service's, and passes the rest on`, () => {
    const dir = path.join(repoRoot, '.tmp', 'new-node-line-npm');
    fs.rmSync(dir, { recursive: true, force: true });
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    // An npm whose install prints what npm prints for two packages that want a newer Node,
    // and one other warning; every other command (tsk packs itself) is the real npm's.
    const realNpm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
    const engine = (name: string) =>
      [
        'npm warn EBADENGINE Unsupported engine {',
        `npm warn EBADENGINE   package: '${name}@3.0.0',`,
        "npm warn EBADENGINE   required: { node: '^22.15.0 || >=24' },",
        `npm warn EBADENGINE   current: { node: '${process.version}', npm: '11.0.0' }`,
        'npm warn EBADENGINE }',
      ].join('\n');
    fs.writeFileSync(
      path.join(bin, 'npm'),
      `#!/bin/sh
if [ "$1" = install ]; then
  cat >&2 <<'WARN'
${engine('@opentelemetry/sdk-trace')}
${engine('@opentelemetry/core')}
npm warn deprecated old-thing@1.0.0: use new-thing
WARN
  echo "added 2 packages in 1s"
  exit 0
fi
exec ${JSON.stringify(realNpm)} "$@"
`,
      { mode: 0o755 },
    );
    const r = tsk(['new', 'quiet', '--yes', '--no-git'], dir, {
      PATH: `${bin}${path.delimiter}${process.env['PATH']}`,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('added 2 packages');
    expect(r.stderr).toContain('npm warn deprecated old-thing@1.0.0: use new-thing');
    const needed = Number(
      (JSON.parse(fs.readFileSync(path.join(dir, 'quiet/package.json'), 'utf8')).engines.node as string).replace(
        '>=',
        '',
      ),
    );
    if (major < needed) {
      expect(r.stderr).not.toContain('EBADENGINE Unsupported engine');
      expect(r.stdout).toContain(
        `npm: 2 packages need a newer Node.js than ${process.version} (EBADENGINE); see the note below`,
      );
    } else {
      // On the service's own line npm has no reason to warn, and what it prints is left as it is.
      expect(r.stderr).toContain("package: '@opentelemetry/core@3.0.0'");
    }
  });
});
