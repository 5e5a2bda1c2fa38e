#!/usr/bin/env node
// protoc/buf plugin: the same errors generator as `tsk proto client`.
import { runNodeJs } from '@bufbuild/protoplugin';
import { protocPlugin } from '../dist/plugins/protoc.js';
import { generateErrors } from '../dist/plugins/errors/generate.js';

runNodeJs(protocPlugin('protoc-gen-tsk-errors', generateErrors));
