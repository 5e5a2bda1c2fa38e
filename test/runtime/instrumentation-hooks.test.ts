// An auto-instrumentation given to setupTelemetry patches a package that ES module code
// imports after telemetry is set up, as a generated service imports its app (and its
// database driver) after setupTelemetry. OpenTelemetry's `require` hooks alone never see
// an `import`, so without the ES module loader hook such an instrumentation patched
// nothing. The package and the instrumentation are small stand-ins: a CommonJS "driver"
// and an InstrumentationBase that wraps its `query`, as instrumentation-pg wraps pg's.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const dir = path.join(repoRoot, '.tmp', 'instrumentation-hooks');

beforeAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'node_modules', 'fake-driver'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'node_modules', 'fake-driver', 'package.json'),
    JSON.stringify({ name: 'fake-driver', version: '1.0.0', main: 'index.js' }),
  );
  fs.writeFileSync(path.join(dir, 'node_modules', 'fake-driver', 'index.js'), "exports.query = () => 'plain';\n");
  // An ES module package too.
  fs.mkdirSync(path.join(dir, 'node_modules', 'fake-esm'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'node_modules', 'fake-esm', 'package.json'),
    JSON.stringify({ name: 'fake-esm', version: '1.0.0', type: 'module', exports: './index.js' }),
  );
  fs.writeFileSync(
    path.join(dir, 'node_modules', 'fake-esm', 'index.js'),
    "export function query() { return 'plain'; }\n",
  );
  // The app: imports the drivers with `import`, as a service's data layer does.
  fs.writeFileSync(
    path.join(dir, 'app.mjs'),
    "import driver from 'fake-driver';\nimport { query } from 'fake-esm';\nexport const answer = [driver.query(), query()];\n",
  );
  fs.writeFileSync(
    path.join(dir, 'main.ts'),
    `import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { setupTelemetry } from '${path.join(repoRoot, 'src/runtime/telemetry/sdk.ts')}';

class FakeDriverInstrumentation extends InstrumentationBase {
  constructor() {
    super('fake-driver-instrumentation', '1.0.0', {});
  }
  init() {
    return [
      new InstrumentationNodeModuleDefinition('fake-driver', ['*'], (loaded: any) => {
        const exports = loaded[Symbol.toStringTag] === 'Module' ? loaded.default : loaded;
        exports.query = () => 'patched';
        return loaded;
      }),
      new InstrumentationNodeModuleDefinition('fake-esm', ['*'], (loaded: any) => {
        loaded.query = () => 'patched too';
        return loaded;
      }),
    ];
  }
}

const telemetry = await setupTelemetry({
  serviceName: 'hooks',
  serviceVersion: '1',
  instanceId: 'hooks-1',
  instrumentations: [new FakeDriverInstrumentation()],
});
const { answer } = await import('./app.mjs');
console.log(JSON.stringify({ answer }));
await telemetry.shutdown();
`,
  );
});

describe('auto-instrumentations and ES modules', () => {
  it('patch a CommonJS and an ES module package that an ES module imports after setupTelemetry', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, 'main.ts')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ answer: ['patched', 'patched too'] });
    // Only the named modules are wrapped: no warnings about the app's own modules.
    expect(run.stderr).not.toMatch(/import-in-the-middle/);
  });
});
