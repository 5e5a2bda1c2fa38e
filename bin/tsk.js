#!/usr/bin/env node
// Entry point of the tsk CLI (the compiled code lives in dist/).
import fs from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!fs.existsSync(entry)) {
  // A checkout linked or installed as a directory: npm builds tsk only when packing it.
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`tsk is not built: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
// Where Node has it (22.1+), reuse compiled code across runs: most of a cached
// `tsk proto client` is loading modules.
module.enableCompileCache?.();
const { main } = await import(entry.href);
await main(process.argv);
