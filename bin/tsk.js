#!/usr/bin/env node
// Entry point of the tsk CLI (the compiled code lives in dist/).
import { main } from '../dist/cli/main.js';

await main(process.argv);
