// Compiles .proto files with the real compiler (buf, shipped in @bufbuild/buf) into a
// FileDescriptorSet with imports and source info, read with @bufbuild/protobuf.
//
// buf wants one workspace; users have several import roots (like protoc's -I) that may
// live anywhere, plus tsk's own protos. So each compile builds a throwaway workspace of
// symlinks, one module per root, and maps buf's paths back to the user's.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DescFile, FileRegistry } from '@bufbuild/protobuf';
import type { FileDescriptorSet } from '@bufbuild/protobuf/wkt';
import { bufBinary, tskProtoDir } from './paths.js';
import { CompileError, UsageError, type Diagnostic } from './diagnostics.js';
import { resolveImportRoots } from './roots.js';
import { collectTargets, listProtos, type TargetFile } from './targets.js';

const execFileAsync = promisify(execFile);

export interface CompileOptions {
  /** .proto files or directories, relative to cwd or absolute. */
  inputs: string[];
  /** Import roots (protoc's -I). Default: the project's buf.yaml modules, else cwd. */
  importPaths?: string[] | undefined;
  cwd?: string | undefined;
  /** Where default import roots are looked up (the project root); default cwd. */
  projectRoot?: string | undefined;
  /** The import roots, when the caller has resolved them already (resolveImportRoots). */
  roots?: string[] | undefined;
}

export { collectTargets, type TargetFile } from './targets.js';

export interface CompiledProtos {
  fileSet: FileDescriptorSet;
  /** The serialized FileDescriptorSet, for plugins and reflection. */
  bytes: Uint8Array;
  registry: FileRegistry;
  /** The files the inputs named, in descriptor order. */
  targets: DescFile[];
  targetFiles: TargetFile[];
  roots: string[];
}

/** tsk's protos, by a file each set has and the directory that holds the set. */
const TSK_PROTOS = [
  { file: 'google/api/annotations.proto', dir: 'google/api' },
  { file: 'errors/errors.proto', dir: 'errors' },
  { file: 'buf/validate/validate.proto', dir: 'buf/validate' },
];

export async function compileProtos(options: CompileOptions): Promise<CompiledProtos> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const roots = options.roots ?? resolveImportRoots(cwd, options.importPaths, options.projectRoot ?? cwd);
  const targetFiles = collectTargets(cwd, options.inputs, roots);
  if (targetFiles.length === 0) throw new UsageError(`no .proto files found in ${options.inputs.join(', ')}`);

  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-buf-'));
  try {
    const moduleDirs = roots.map((root, i) => ({ name: `m${i}`, root }));
    // tsk's protos are importable except those the project ships itself (its
    // third_party): buf refuses a file that two modules hold.
    const provided = (file: string) => roots.some((root) => fs.existsSync(path.join(root, file)));
    const missing = TSK_PROTOS.filter((p) => !provided(p.file));
    if (missing.length === TSK_PROTOS.length) {
      moduleDirs.push({ name: 'tsk', root: tskProtoDir });
    } else if (missing.length > 0) {
      const tskRoot = path.join(workspace, 'tsk-protos');
      for (const { dir } of missing) {
        fs.mkdirSync(path.dirname(path.join(tskRoot, dir)), { recursive: true });
        fs.symlinkSync(path.join(tskProtoDir, dir), path.join(tskRoot, dir), 'dir');
      }
      moduleDirs.push({ name: 'tskprotos', root: tskRoot });
    }
    for (const m of moduleDirs) fs.symlinkSync(m.root, path.join(workspace, m.name), 'dir');
    fs.writeFileSync(
      path.join(workspace, 'buf.yaml'),
      `version: v2\nmodules:\n${moduleDirs.map((m) => `  - path: ${m.name}\n`).join('')}`,
    );
    const out = path.join(workspace, 'image.binpb');
    const args = ['build', '-o', out, '--error-format', 'text'];
    for (const t of targetFiles) {
      const m = moduleDirs.find((d) => d.root === t.root);
      args.push('--path', `${m!.name}/${t.protoPath}`);
    }
    // The protobuf runtime loads while buf compiles: a caller that imports this module
    // first can start the compiler before anything heavy is loaded.
    const protobuf = Promise.all([import('@bufbuild/protobuf'), import('@bufbuild/protobuf/wkt')]);
    protobuf.catch(() => {}); // awaited below, unless buf fails first
    try {
      await execFileAsync(bufBinary(), args, { cwd: workspace, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '');
      throw new CompileError(parseBufDiagnostics(stderr, moduleDirs, cwd, roots), stderr);
    }
    const [{ fromBinary, createFileRegistry }, { FileDescriptorSetSchema }] = await protobuf;
    const bytes = fs.readFileSync(out);
    const fileSet = fromBinary(FileDescriptorSetSchema, bytes);
    const registry = createFileRegistry(fileSet);
    const wanted = new Set(targetFiles.map((t) => t.protoPath));
    const targets: DescFile[] = [];
    for (const file of registry.files) if (wanted.has(file.proto.name)) targets.push(file);
    return { fileSet, bytes, registry, targets, targetFiles, roots };
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** buf prints `module/path.proto:line:col:message`; turn the module prefix back into the user's path. */
function parseBufDiagnostics(
  stderr: string,
  modules: { name: string; root: string }[],
  cwd: string,
  importRoots: string[],
): Diagnostic[] {
  const roots = importRoots.map((root) => path.relative(cwd, root) || '.');
  const diagnostics: Diagnostic[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^([^:\s][^:]*\.proto):(\d+):(\d+):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, bufPath, lineNo, col, message] = m as unknown as [string, string, string, string, string];
    const [moduleName, ...rest] = bufPath.split('/');
    const module = modules.find((d) => d.name === moduleName);
    const absolute = module ? path.join(module.root, ...rest) : path.resolve(cwd, bufPath);
    const file = module ? path.relative(cwd, absolute) : bufPath;
    const text = named(message.trim(), sourceLine(absolute, Number(lineNo)), Number(col), roots, importRoots);
    diagnostics.push({ file, line: Number(lineNo), column: Number(col), message: text });
  }
  return diagnostics;
}

/**
 * Import paths of protos under the roots that an import of `imported` may have meant: the
 * same file name elsewhere (a moved file), or a path a couple of letters away (a typo).
 */
function similarImports(imported: string, importRoots: string[]): string[] {
  const name = path.posix.basename(imported);
  const near = new Set<string>();
  for (const root of importRoots) {
    if (!fs.existsSync(root)) continue;
    for (const file of listProtos(root)) {
      const importPath = path.relative(root, file).split(path.sep).join('/');
      if (path.posix.basename(importPath) === name || editDistance(importPath, imported) <= 2) near.add(importPath);
    }
  }
  return [...near].slice(0, 3);
}

/** Levenshtein distance: insertions, deletions and substitutions of one character. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** One line of a file (1-based), or '' when it cannot be read. */
function sourceLine(file: string, line: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n')[line - 1] ?? '';
  } catch {
    return '';
  }
}

/** The options tsk's protos define, by name prefix, and the file that declares them. */
const OPTION_IMPORTS: [string, string][] = [
  ['errors.', 'errors/errors.proto'],
  ['buf.validate.', 'buf/validate/validate.proto'],
  ['google.api.http', 'google/api/annotations.proto'],
];

/** Kratos projects' protoc-gen-validate rules, which tsk does not take. */
const PGV_HINT =
  'tsk checks protovalidate rules (import "buf/validate/validate.proto", options (buf.validate.field)), not protoc-gen-validate\'s (validate.rules); docs/validation.md';

/** buf's message with what it is about, where buf leaves that out: the import, the reserved name. */
function named(message: string, line: string, column: number, roots: string[], importRoots: string[]): string {
  const at = line.slice(column - 1);
  if (message === 'imported file does not exist') {
    const imported = /^import\s+(?:public\s+|weak\s+)?"([^"]+)"/.exec(at)?.[1];
    if (imported) {
      const near = similarImports(imported, importRoots);
      const hint = near.length > 0 ? `; did you mean ${near.map((p) => `"${p}"`).join(' or ')}?` : '';
      const pgv = imported === 'validate/validate.proto' ? `; ${PGV_HINT}` : '';
      return `imported file "${imported}" is not under any import root (${roots.join(', ')}, or tsk's own protos)${hint || '; check the path, or add the root of a file kept elsewhere as a module in buf.yaml, or with -I <dir>'}${pgv}`;
    }
  }
  const missing = /^cannot find `?([\w.]+)`? in this scope$/.exec(message)?.[1];
  if (missing !== undefined) {
    const file = OPTION_IMPORTS.find(([prefix]) => missing.startsWith(prefix))?.[1];
    if (file) return `${message}; it needs import "${file}";`;
  }
  if (message === 'use of reserved message field name') {
    const name = /^[A-Za-z_]\w*/.exec(at)?.[0];
    if (name) return `field name "${name}" is reserved in this message; pick another name`;
  }
  return message;
}
