#!/usr/bin/env node
// Entry point of the tsk CLI (the compiled code lives in dist/).
import module from 'node:module';

// Where Node has it (22.1+), reuse compiled code across runs: most of a cached
// `tsk proto client` is loading modules.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
