#!/usr/bin/env node
// protoc/buf plugin: the same grpc generator as `tsk proto client`.
import { runNodeJs } from '@bufbuild/protoplugin';
import { protocPlugin } from '../dist/plugins/protoc.js';
import { generateGrpc } from '../dist/plugins/grpc/generate.js';

runNodeJs(protocPlugin('protoc-gen-tsk-grpc', generateGrpc));
