// What `tsk bundle` decides, kept apart from running esbuild: which packages go into a
// service's bundle and which stay in node_modules, and the esbuild options that follow.
import { builtinModules } from 'node:module';
import path from 'node:path';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';
import { servicePackageJson } from '../scaffold/package-json.js';

/** Packages never bundled, even though tsk's services depend on them, and why. */
export const ALWAYS_EXTERNAL: Readonly<Record<string, string>> = {
  '@opentelemetry/api': 'one API instance, shared with the instrumentation packages loaded from node_modules',
  '@opentelemetry/instrumentation': 'its require/import hooks patch packages loaded from node_modules',
  '@fastify/ajv-compiler': 'fastify loads it only for a route with a JSON schema',
  '@fastify/fast-json-stringify-compiler': 'fastify loads it only for a route with a response schema',
};

/** The runtime packages every generated service depends on: the `dependencies` of `tsk new`. */
export function tskRuntimePackages(): string[] {
  const pkg = servicePackageJson({ name: 'service', tskVersion: '0.0.0', vendoredTsk: '' });
  return Object.keys(pkg.dependencies ?? {});
}

export interface BundlePlan {
  /** tsk's runtime packages compiled into the bundle. */
  bundled: string[];
  /** Bare specifiers (and their subpaths) left for Node to load from node_modules. */
  external: string[];
}

const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/**
 * Inside: tsk's runtime packages and the project's own code. Outside: ALWAYS_EXTERNAL,
 * every package the project depends on that is not tsk's (so instrumentations a user
 * enables still see their drivers load), and `extra` (`--external`).
 * A registry client (etcd3) is such a dependency, there only in a project with
 * that registry, and must stay outside: etcd3 reads its .proto files next to its own code.
 */
export function bundlePlan(projectDependencies: Iterable<string>, extra: Iterable<string> = []): BundlePlan {
  for (const name of extra)
    if (!PACKAGE_NAME.test(name))
      throw new Error(`--external ${name}: not a package name (write it as in package.json, e.g. pg or @scope/pkg)`);
  const tsk = new Set(tskRuntimePackages());
  const external = new Set([
    ...Object.keys(ALWAYS_EXTERNAL),
    ...[...projectDependencies].filter((name) => !tsk.has(name)),
    ...extra,
  ]);
  return {
    bundled: [...tsk].filter((name) => !external.has(name)).sort(),
    external: [...external].sort(),
  };
}

/**
 * Packages the code loads with `import()` that are CommonJS. Node gives such an import
 * the module's named exports (`(await import('@grpc/proto-loader')).loadSync`); bundled,
 * esbuild gives only `default`. They are loaded lazily anyway, so they stay outside,
 * where Node loads them as it would unbundled.
 */
export function dynamicCommonJsPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.values(metafile.inputs))
    for (const imported of input.imports)
      if (imported.kind === 'dynamic-import' && metafile.inputs[imported.path]?.format === 'cjs') {
        const name = packageOf(imported.path);
        if (name) names.add(name);
      }
  return [...names].sort();
}

/** The package a file in node_modules belongs to: node_modules/@scope/pkg/lib/x.js -> @scope/pkg. */
export function packageOf(file: string): string | undefined {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  return parts[at + 1]!.startsWith('@') ? parts.slice(at + 1, at + 3).join('/') : parts[at + 1];
}

/** The project's runtime dependencies as named in its package.json. */
export function projectDependencies(pkg: {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}): string[] {
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
}

/** Where the compiled entry of service `name` is, and where its bundle goes (relative to the project). */
export function bundlePaths(name: string): { entry: string; outdir: string } {
  return { entry: path.join('dist', 'cmd', name, 'main.js'), outdir: path.join('dist', 'bundle') };
}

// Bundled CommonJS code calls require() for Node built-ins; an ES module has none of its own.
const REQUIRE_SHIM =
  "import { createRequire as __tskCreateRequire } from 'node:module'; const require = __tskCreateRequire(import.meta.url);";

/**
 * One ES module entry plus chunks: code only some services reach (reflection, the
 * validator, OTLP over HTTP) is `import()`ed, so it lands in its own chunk, read only if
 * used. `module` before `main` picks packages' ES builds, which tree-shake.
 */
export function esbuildOptions(options: {
  root: string;
  name: string;
  external: string[];
  outdir: string;
}): BuildOptions {
  return {
    absWorkingDir: options.root,
    entryPoints: [bundlePaths(options.name).entry],
    outdir: options.outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    // Whitespace and syntax only: identifiers keep their names, so stack traces in the
    // service's logs name the functions they pass through and errors keep their class
    // names (pino logs `err.type`). It costs bytes (a new service's main.js 1.2 MB
    // against 0.7 MB), not start-up time; idle memory is about 3 MB more.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    // Short lines: Node prints the source line of an uncaught error before its stack,
    // and a whole minified module on one line would bury the message in the logs.
    lineLimit: 160,
    // A map beside each chunk, chained through tsc's maps to the .ts sources (names and
    // lines only, no source text): with NODE_OPTIONS=--enable-source-maps a stack names
    // internal/service/greeter.ts:27, where a chunk's name changes with every build. Off by
    // default, since Node then reads every map as it loads the chunks.
    sourcemap: 'linked',
    sourcesContent: false,
    external: options.external,
    banner: { js: REQUIRE_SHIM },
    plugins: [builtinsThroughRequire],
    metafile: true,
    logLevel: 'silent',
    write: true,
  };
}

const BUILTIN = new RegExp(
  `^(node:)?(${builtinModules
    .filter((name) => !name.startsWith('_'))
    .map((name) => name.replace(/[/]/g, '\\/'))
    .join('|')})$`,
);

/**
 * `import ... from 'node:http'` makes Node build an ES module facade that reads every
 * export, lazy ones included (http's WebSocket loads Node's internal undici, tls's
 * rootCertificates the certificate store); require() returns the module as it is. So
 * static imports of Node built-ins in the bundle become require() calls (through
 * esbuild's CommonJS interop, which keeps named and default imports working).
 */
export const builtinsThroughRequire: Plugin = {
  name: 'tsk-builtins-through-require',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) =>
      args.kind === 'import-statement'
        ? { path: args.path.replace(/^node:/, ''), namespace: 'node-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

/** An esbuild message as one line: file:line:col: text. */
export function formatBuildMessage(message: {
  text: string;
  location?: { file: string; line: number; column: number } | null;
}): string {
  const where = message.location
    ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
    : '';
  return `${where}${message.text}`;
}

/** What was written: the main chunk's size and the number of chunks beside it. */
export function bundleSummary(outputs: Record<string, { bytes: number }>, outdir: string): string {
  const files = Object.keys(outputs).filter((f) => f.endsWith('.js'));
  const main = files.find((f) => path.basename(f) === 'main.js');
  const mainKb = main ? Math.round(outputs[main]!.bytes / 1024) : 0;
  const chunks = files.length - (main ? 1 : 0);
  return `wrote ${path.join(outdir, 'main.js')} (${mainKb} KB) and ${chunks} chunk${chunks === 1 ? '' : 's'}`;
}
