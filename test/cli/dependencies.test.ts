// Everything the installed CLI and the protoc plugins import must be one of tsk's own
// dependencies: a tarball installed outside this checkout has nothing else to resolve
// from (inside it, Node walks up to the checkout's node_modules and finds the
// devDependencies, so an install under the repository cannot show the mistake).
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** The package an import names: `@scope/name` or `name`, without a subpath. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const entryPoints = [
  path.join(repoRoot, 'src', 'cli', 'main.ts'),
  ...fs
    .readdirSync(path.join(repoRoot, 'bin'))
    .filter((file) => file.startsWith('protoc-gen-'))
    .map((file) => path.join(repoRoot, 'bin', file)),
];

describe('the packages the CLI and plugins import', () => {
  it('are all dependencies of tsk', async () => {
    const result = await esbuild.build({
      entryPoints,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outdir: path.join(repoRoot, '.tmp', 'deps-check'),
      // bin/ imports the compiled code; map it back to the sources.
      plugins: [
        {
          name: 'dist-to-src',
          setup(build) {
            build.onResolve({ filter: /\/dist\// }, (args) => ({
              path: path
                .resolve(args.resolveDir, args.path)
                .replace(`${path.sep}dist${path.sep}`, `${path.sep}src${path.sep}`)
                .replace(/\.js$/, '.ts'),
            }));
          },
        },
      ],
      logLevel: 'silent',
    });
    const builtins = new Set(builtinModules);
    const missing = new Map<string, Set<string>>();
    for (const [file, input] of Object.entries(result.metafile.inputs)) {
      for (const imported of input.imports) {
        if (!imported.external || imported.path.startsWith('node:') || builtins.has(imported.path)) continue;
        const name = packageOf(imported.path);
        if (name in pkg.dependencies) continue;
        if (!missing.has(name)) missing.set(name, new Set());
        missing.get(name)!.add(file);
      }
    }
    expect(Object.fromEntries([...missing].map(([name, files]) => [name, [...files].sort()]))).toEqual({});
  });
});
