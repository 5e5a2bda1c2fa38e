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

/** @bufbuild/buf's package holding the native binary, by `${process.platform} ${process.arch}`. */
const BUF_NATIVE: Record<string, string> = {
  'linux x64': '@bufbuild/buf-linux-x64',
  'linux arm64': '@bufbuild/buf-linux-aarch64',
  'linux arm': '@bufbuild/buf-linux-armv7',
  'darwin x64': '@bufbuild/buf-darwin-x64',
  'darwin arm64': '@bufbuild/buf-darwin-arm64',
  'win32 x64': '@bufbuild/buf-win32-x64',
  'win32 arm64': '@bufbuild/buf-win32-arm64',
};

/**
 * The buf binary that ships inside @bufbuild/buf (never one found on PATH): the native
 * binary of its platform package, so a compile does not start a Node process first;
 * else the package's bin script, which finds (or downloads) that binary itself.
 */
export function bufBinary(): string {
  const pkgJson = require.resolve('@bufbuild/buf/package.json');
  const exe = process.platform === 'win32' ? 'buf.exe' : 'buf';
  const native = BUF_NATIVE[`${process.platform} ${process.arch}`];
  if (native) {
    try {
      return createRequire(pkgJson).resolve(`${native}/bin/${exe}`);
    } catch {
      // Not installed (optional dependency skipped): the bin script copes.
    }
  }
  return path.join(path.dirname(pkgJson), 'bin', exe);
}

/** ts-proto's protoc plugin, resolved from tsk's own dependencies. */
export function tsProtoPlugin(): string {
  const pkg = path.dirname(require.resolve('ts-proto/package.json'));
  return path.join(pkg, 'protoc-gen-ts_proto');
}

export function tskVersion(): string {
  return (require(path.join(packageRoot, 'package.json')) as { version: string }).version;
}
