#!/usr/bin/env node
// protoc/buf plugin: the same http generator as `tsk proto client`.
import { runNodeJs } from '@bufbuild/protoplugin';
import { protocPlugin } from '../dist/plugins/protoc.js';
import { generateHttp } from '../dist/plugins/http/generate.js';

runNodeJs(protocPlugin('protoc-gen-tsk-http', generateHttp));
