// Where tsk's own files live once installed: its protos, templates, runtime and tools.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';

/** The tsk package root (this file is dist/proto/paths.js or src/proto/paths.ts). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tskProtoDir = path.join(packageRoot, 'proto');
export const runtimeSourceDir = path.join(packageRoot, 'src', 'runtime');
export const templatesDir = path.join(packageRoot, 'templates');

const require = createRequire(import.meta.url);

/** The buf binary that ships inside @bufbuild/buf (never one found on PATH). */
export function bufBinary(): string {
  const pkg = path.dirname(require.resolve('@bufbuild/buf/package.json'));
  const bin = path.join(pkg, 'bin', process.platform === 'win32' ? 'buf.exe' : 'buf');
  return bin;
}

/** ts-proto's protoc plugin, resolved from tsk's own dependencies. */
export function tsProtoPlugin(): string {
  const pkg = path.dirname(require.resolve('ts-proto/package.json'));
  return path.join(pkg, 'protoc-gen-ts_proto');
}

export function tskVersion(): string {
  return (require(path.join(packageRoot, 'package.json')) as { version: string }).version;
}
