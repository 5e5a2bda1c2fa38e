#!/usr/bin/env node
// protoc/buf plugin: the same fetch client generator as `tsk proto fetch`.
import { runNodeJs } from '@bufbuild/protoplugin';
import { protocPlugin } from '../dist/plugins/protoc.js';
import { generateFetch } from '../dist/plugins/fetch/generate.js';

runNodeJs(protocPlugin('protoc-gen-tsk-fetch', generateFetch));
