// `tsk bundle`: what goes inside a service's bundle and what stays in node_modules, and
// the command on a small project: the bundle runs, lazily imported code gets its own
// chunk, external packages stay imports, and bad input is one line with a non-zero exit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_EXTERNAL,
  bundlePlan,
  bundleSummary,
  dynamicCommonJsPackages,
  packageOf,
  tskRuntimePackages,
} from '../../src/cli/bundle-plan.js';
import { servicePackageJson } from '../../src/scaffold/package-json.js';
import { REGISTRY_INSTALLERS } from '../../src/scaffold/registry.js';
import { repoRoot, tsk } from '../helpers/cli.js';

describe('bundlePlan', () => {
  const tskDeps = Object.keys(
    servicePackageJson({ name: 'svc', tskVersion: '1', vendoredTsk: '.tsk/t.tgz' }).dependencies ?? {},
  );

  it("bundles tsk's runtime packages except the ones that must stay shared or lazy", () => {
    const plan = bundlePlan(tskDeps);
    expect(tskRuntimePackages()).toEqual(tskDeps);
    expect(plan.bundled).toEqual(expect.arrayContaining(['@grpc/grpc-js', 'fastify', 'pino', 'yaml']));
    expect(plan.bundled).not.toContain('@opentelemetry/api');
    expect(plan.bundled).not.toContain('@opentelemetry/instrumentation');
    expect(plan.external).toEqual(Object.keys(ALWAYS_EXTERNAL).sort());
    expect([...plan.bundled, ...plan.external].sort()).toEqual(
      [...new Set([...tskDeps, ...Object.keys(ALWAYS_EXTERNAL)])].sort(),
    );
  });

  it("keeps the project's own dependencies and --external packages out", () => {
    const plan = bundlePlan([...tskDeps, 'etcd3', 'pg', '@opentelemetry/instrumentation-pg'], ['fastify']);
    expect(plan.external).toEqual(
      expect.arrayContaining(['etcd3', 'pg', '@opentelemetry/instrumentation-pg', 'fastify']),
    );
    expect(plan.bundled).not.toContain('fastify');
    expect(plan.bundled).toContain('@grpc/grpc-js');
  });

  it('lists a registry client outside only when the project depends on it', () => {
    // Consul's client speaks HTTP with fetch: it has no npm package.
    const clients = Object.values(REGISTRY_INSTALLERS).flatMap((r) => Object.keys(r.dependencies));
    expect(clients.sort()).toEqual(['etcd3']);
    expect(bundlePlan(tskDeps).external).not.toEqual(expect.arrayContaining(['etcd3']));
    for (const client of clients) {
      const plan = bundlePlan([...tskDeps, client]);
      expect(plan.external).toContain(client);
      expect(plan.bundled).not.toContain(client);
    }
  });

  it('rejects an --external that is not a package name', () => {
    expect(() => bundlePlan(tskDeps, ['./lib/x.js'])).toThrow(/--external \.\/lib\/x\.js: not a package name/);
  });

  it('finds the CommonJS packages loaded with import(), which stay outside', () => {
    expect(packageOf('node_modules/@grpc/proto-loader/build/src/index.js')).toBe('@grpc/proto-loader');
    expect(packageOf('node_modules/a/node_modules/yaml/dist/index.js')).toBe('yaml');
    expect(packageOf('dist/cmd/svc/main.js')).toBeUndefined();
    const input = (format: 'cjs' | 'esm', imports: { path: string; kind: string }[] = []) => ({
      bytes: 1,
      format,
      imports: imports.map((i) => ({ ...i, original: i.path })),
    });
    const metafile = {
      inputs: {
        'dist/x.js': input('esm', [
          { path: 'node_modules/@grpc/proto-loader/build/src/index.js', kind: 'dynamic-import' },
          { path: 'node_modules/esm-lazy/index.js', kind: 'dynamic-import' },
          { path: 'node_modules/cjs-static/index.js', kind: 'import-statement' },
        ]),
        'node_modules/@grpc/proto-loader/build/src/index.js': input('cjs'),
        'node_modules/esm-lazy/index.js': input('esm'),
        'node_modules/cjs-static/index.js': input('cjs'),
      },
      outputs: {},
    };
    expect(dynamicCommonJsPackages(metafile as never)).toEqual(['@grpc/proto-loader']);
  });

  it('summarises the main chunk and the chunks beside it', () => {
    expect(
      bundleSummary({ 'dist/bundle/main.js': { bytes: 2048 }, 'dist/bundle/chunk-A.js': { bytes: 1 } }, 'dist/bundle'),
    ).toBe('wrote dist/bundle/main.js (2 KB) and 1 chunk');
  });
});

describe('tsk bundle', () => {
  /** A project with a compiled entry, inside the repo so node_modules resolves. */
  function project(name: string, entry: string, deps: Record<string, string> = {}): string {
    const dir = path.join(repoRoot, '.tmp', 'bundle', name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, '.tsk'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.tsk', 'manifest.json'), JSON.stringify({ tsk: '0', files: {} }));
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name, type: 'module', dependencies: { yaml: '2', ...deps } }),
    );
    fs.mkdirSync(path.join(dir, 'dist', 'cmd', name), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'cmd', name, 'main.js'), entry);
    return dir;
  }

  /** Runs a project's bundle with `args`. */
  function runBundle(dir: string, ...args: string[]) {
    return spawnSync(process.execPath, [path.join(dir, 'dist', 'bundle', 'main.js'), ...args], { encoding: 'utf8' });
  }

  it('writes a main chunk that runs, with lazy imports in chunks and externals left as imports', () => {
    const dir = project(
      'svc',
      [
        "import { parse } from 'yaml';",
        "import * as api from '@opentelemetry/api';",
        'const lazy = process.argv[2] === "lazy" ? await import("../../lazy.js") : undefined;',
        "console.log(JSON.stringify({ v: parse('a: 1').a, api: typeof api.trace.getTracer, lazy: lazy?.value }));",
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'dist', 'lazy.js'), "export const value = 'late';");
    const r = tsk(['bundle'], path.join(dir, 'dist', 'cmd')); // from a subdirectory
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^wrote dist\/bundle\/main\.js \(\d+ KB\) and [1-9]\d* chunks?; outside the bundle: .*@opentelemetry\/api/,
    );
    expect(r.stdout).not.toMatch(/consul|etcd3/); // a project with no registry has neither
    const main = fs.readFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), 'utf8');
    expect(main).toMatch(/from"@opentelemetry\/api"/);
    expect(main).not.toMatch(/from"yaml"/);
    const run = (...args: string[]) => runBundle(dir, ...args);
    expect(JSON.parse(run().stdout)).toEqual({ v: 1, api: 'function' });
    expect(JSON.parse(run('lazy').stdout)).toEqual({ v: 1, api: 'function', lazy: 'late' });
  });

  it('keeps names: errors logged from the bundle name their class and the functions their stack passes through', () => {
    const dir = project(
      'names',
      [
        'class PaymentDeclined extends Error {}',
        'function chargeCard(amount) { if (amount > 10) throw new PaymentDeclined(`over limit: ${amount}`); }',
        // A class expression bound to another name keeps its own.
        'const Err = class LedgerError extends Error {};',
        'try { chargeCard(99); } catch (err) {',
        '  console.log(JSON.stringify({ type: err.constructor.name, top: err.stack.split("\\n")[1].trim(), other: Err.name }));',
        '}',
      ].join('\n'),
    );
    const r = tsk(['bundle'], dir);
    expect(r.status, r.stderr).toBe(0);
    const run = runBundle(dir);
    const seen = JSON.parse(run.stdout);
    expect(seen.type).toBe('PaymentDeclined');
    expect(seen.top).toMatch(/^at chargeCard \(/);
    expect(seen.other).toBe('LedgerError');
  });

  it('keeps a CommonJS package loaded with import() outside, so its named exports work as unbundled', () => {
    const dir = project(
      'lazycjs',
      "const { loadSync } = await import('@grpc/proto-loader'); console.log(typeof loadSync);",
    );
    const r = tsk(['bundle'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/outside the bundle: .*@grpc\/proto-loader/);
    const run = runBundle(dir);
    expect(run.stdout.trim()).toBe('function');
  });

  it("bundles the Zipkin exporter in a chunk of its own, loaded only when asked for, with Node's transport", () => {
    const dir = project(
      'zipkin',
      [
        "import http from 'node:http';",
        "if (process.argv[2] !== 'zipkin') { console.log('{}'); process.exit(0); }",
        "const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');",
        'const server = http.createServer((req, res) => {',
        "  let body = '';",
        '  req.on("data", (d) => (body += d));',
        '  req.on("end", () => { res.writeHead(202).end(); seen = { path: req.url, names: JSON.parse(body).map((s) => s.name) }; });',
        '});',
        'let seen;',
        "server.listen(0, '127.0.0.1', () => {",
        '  const exporter = new ZipkinExporter({ url: `http://127.0.0.1:${server.address().port}/api/v2/spans` });',
        '  const span = {',
        "    name: 'op', kind: 1, startTime: [1, 0], duration: [0, 1000], attributes: { a: 1 }, events: [],",
        "    spanContext: () => ({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }),",
        "    resource: { attributes: { 'service.name': 'b' } }, status: { code: 0 },",
        '  };',
        '  exporter.export([span], (result) => {',
        '    console.log(JSON.stringify({ code: result.code, ...seen }));',
        '    server.close();',
        '  });',
        '});',
      ].join('\n'),
    );
    const r = tsk(['bundle'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/outside the bundle: .*exporter-zipkin/);
    const main = fs.readFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), 'utf8');
    expect(main).not.toContain('Zipkin exporter export');
    expect(JSON.parse(runBundle(dir).stdout)).toEqual({});
    const run = runBundle(dir, 'zipkin');
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ code: 0, path: '/api/v2/spans', names: ['op'] });
  });

  it('turns static imports of Node built-ins into require(), keeping named and default imports', () => {
    const dir = project(
      'builtins',
      [
        "import http, { STATUS_CODES } from 'node:http';",
        "import * as path from 'path';",
        "import { createRequire } from 'node:module';",
        'console.log(JSON.stringify({ ok: STATUS_CODES[200], same: http.STATUS_CODES === STATUS_CODES,',
        "  sep: path.sep, plain: createRequire(import.meta.url)('node:http').STATUS_CODES === STATUS_CODES }));",
      ].join('\n'),
    );
    const r = tsk(['bundle'], dir);
    expect(r.status, r.stderr).toBe(0);
    const main = fs.readFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), 'utf8');
    expect(main).not.toMatch(/from\s*"(node:)?(http|path)"/);
    expect(main).toContain('"node:http"');
    const run = runBundle(dir);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ ok: 'OK', same: true, sep: path.sep, plain: true });
  });

  it("leaves the project's own dependencies and --external packages as imports", () => {
    const dir = project(
      'own',
      "import { parse } from 'yaml'; import { sep } from 'node:path'; console.log(parse('a: 1'), sep);",
      {
        'some-driver': '1',
      },
    );
    const r = tsk(['bundle', '--external', 'yaml'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/outside the bundle: .*some-driver.*yaml/);
    expect(fs.readFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), 'utf8')).toMatch(/from"yaml"/);
  });

  it('refuses an --external package the project does not have, naming it and writing nothing', () => {
    const dir = project('noext', "console.log('ok');");
    const r = tsk(['bundle', '--external', 'yaml', 'no-such-pkg', '@no/such'], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      'error: --external no-such-pkg, @no/such: not installed in this project (no node_modules/<package> here or above); add it to dependencies and install it',
    );
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['cmd']);
  });

  it('fails in one line when dist is missing or the code does not parse, keeping the last bundle', () => {
    const dir = project('bad', "console.log('ok');");
    expect(tsk(['bundle'], dir).status).toBe(0);
    fs.writeFileSync(path.join(dir, 'dist', 'cmd', 'bad', 'main.js'), 'const x = ;\n');
    const broken = tsk(['bundle'], dir);
    expect(broken.status).toBe(1);
    expect(broken.stderr.trim()).toMatch(/^error: bundling failed: dist\/cmd\/bad\/main\.js:1:11: /);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), 'utf8')).toContain('ok');
    expect(fs.readdirSync(path.join(dir, 'dist')).sort()).toEqual(['bundle', 'cmd']);

    fs.rmSync(path.join(dir, 'dist'), { recursive: true });
    const missing = tsk(['bundle'], dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(
      'error: dist/cmd/bad/main.js not found: compile first (npx tsc -p tsconfig.build.json; npm run build does both)',
    );

    const outside = tsk(['bundle'], path.dirname(repoRoot));
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/not inside a tsk project/);
  });
});
