// `tsk proto add`: a CRUD service proto to start from (never overwrites).
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { UsageError } from '../../proto/diagnostics.js';
import { checkProtoPath, renderProtoTemplate } from '../../gen/proto-template.js';
import { projectAt } from '../../proto/project.js';
import { resolveImportRoots } from '../../proto/roots.js';
import { findProjectRoot } from '../manifest.js';
import { printReport } from '../output.js';
import { writeFiles } from '../writer.js';
import type { ProtoFlags } from './proto.js';

export async function protoAdd(file: string, flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  // A relative path names a place in the project (api/user/v1/user.proto), wherever in it the command runs.
  const project = path.isAbsolute(file) ? undefined : projectAt(cwd);
  const abs = path.resolve(project?.root ?? cwd, file);
  if (!file.endsWith('.proto')) throw new UsageError(`${file}: the file name must end in .proto`);
  if (fs.existsSync(abs)) throw new UsageError(`${file} already exists; not overwriting it`);
  const parent = fs.existsSync(path.dirname(abs)) ? fs.realpathSync(path.dirname(abs)) : path.dirname(abs);
  const absReal = path.join(parent, path.basename(abs));
  const apiDir = absReal.lastIndexOf(`${path.sep}api${path.sep}`);
  // Protos live below `api/`, which is the import root (package user.v1 for api/user/v1/user.proto);
  // elsewhere the import roots come from -I or buf.yaml as for every other command.
  const roots =
    flags.protoPath || apiDir < 0
      ? resolveImportRoots(cwd, flags.protoPath, projectAt(absReal)?.root ?? cwd)
      : [absReal.slice(0, apiDir + 4)];
  const base = roots.filter((r) => absReal.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
  if (!base)
    throw new UsageError(
      `${file} is not under api/ or another import root: write e.g. api/${path.basename(file, '.proto')}/v1/${path.basename(file)}, or pass -I <dir>`,
    );
  const protoPath = path.relative(base, absReal).split(path.sep).join('/');
  const problem = checkProtoPath(protoPath);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  const content = renderProtoTemplate({ protoPath });
  const clash = clashingDeclarations(content, parent);
  if (clash) {
    // The sample every new project has: replacing it is the usual way out (README).
    const sample =
      path.basename(clash.file) === 'greeter.proto'
        ? ", or delete the greeter sample first (tsk's README, Quick start, says how)"
        : '';
    throw new UsageError(
      `${path.relative(cwd, clash.file)} already declares ${clash.names.join(', ')} in this directory's package, which ${file} would declare again: name it after another resource or put it in another package${sample}`,
    );
  }
  const report = writeFiles([{ path: absReal, content, kind: 'owned' }], {
    projectRoot: findProjectRoot(parent),
  });
  printReport(report, cwd);
  console.log(chalk.dim(`next: tsk proto client ${path.relative(cwd, absReal)}`));
}

/** Top-level messages, enums and services a proto declares (declarations start their line). */
function topLevelNames(proto: string): Set<string> {
  return new Set([...proto.matchAll(/^(?:message|enum|service)\s+(\w+)/gm)].map((m) => m[1]!));
}

/**
 * A proto already in `dir` (the same package, as tsk lays protos out) that declares a
 * name the new one would: the package would then not compile.
 */
function clashingDeclarations(content: string, dir: string): { file: string; names: string[] } | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const mine = topLevelNames(content);
  for (const entry of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.proto'))
    .sort()) {
    const file = path.join(dir, entry);
    const names = [...topLevelNames(fs.readFileSync(file, 'utf8'))].filter((n) => mine.has(n));
    if (names.length > 0) return { file, names };
  }
  return undefined;
}
