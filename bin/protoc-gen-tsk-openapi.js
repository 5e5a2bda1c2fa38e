#!/usr/bin/env node
// protoc/buf plugin: the same OpenAPI generator as `tsk proto openapi`.
import { runNodeJs } from '@bufbuild/protoplugin';
import { protocPlugin } from '../dist/plugins/protoc.js';
import { generateOpenApi } from '../dist/plugins/openapi/generate.js';

runNodeJs(protocPlugin('protoc-gen-tsk-openapi', generateOpenApi));
