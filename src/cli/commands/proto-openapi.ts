// `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API.
import path from 'node:path';
import { compileProtos } from '../../proto/compile.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { planClientFiles } from '../../gen/client.js';
import { generateOpenApi, openApiModule } from '../../plugins/openapi/generate.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { calledApiProtos } from './client.js';
import { failOnStale, printReport } from '../output.js';
import { writeFiles } from '../writer.js';
import { locate, type ProtoFlags } from './proto.js';

export interface OpenApiFlags extends ProtoFlags {
  /** One document for every service, written to this file, instead of one per service next to its proto. */
  output?: string;
  title?: string;
  version?: string;
}

/**
 * The project's own APIs among the compiled protos: the copies of the services it calls
 * (`tsk add client`) are left out, since its server does not serve them; unless they are
 * all that was asked for.
 */
function servedOnly<T extends { targets: { proto: { name: string } }[] }>(compiled: T, root: string | undefined): T {
  if (!root) return compiled;
  const called = calledApiProtos(root);
  const own = compiled.targets.filter((file) => !called.has(file.proto.name));
  return own.length === 0 || own.length === compiled.targets.length ? compiled : { ...compiled, targets: own };
}

/** `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API, per service or in one file. */
export async function protoOpenApi(inputs: string[], flags: OpenApiFlags): Promise<void> {
  const cwd = process.cwd();
  const { project, manifestRoot } = locate(cwd, inputs, flags);
  const compiled = servedOnly(
    await compileProtos({ inputs, importPaths: flags.protoPath, cwd, projectRoot: project?.root }),
    project?.root,
  );
  const meta = { title: flags.title, apiVersion: flags.version };
  if (!flags.output) {
    const files = await planClientFiles(compiled, {
      cwd,
      runtimeFor: () => DEFAULT_RUNTIME_DIR,
      only: ['openapi'],
      openapi: { openapi: 'service', ...meta },
    });
    if (files.length === 0) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
    printReport(writeFiles(files, { projectRoot: manifestRoot, force: flags.force }), cwd);
    return;
  }
  const result = generateOpenApi({
    files: compiled.targets,
    registry: compiled.registry,
    options: { runtime: DEFAULT_RUNTIME_DIR, openapi: 'project', ...meta },
  });
  if (result.problems.length > 0)
    throw new CompileError(
      result.problems.map((p) => ({
        ...p,
        file: path.relative(
          cwd,
          path.join(compiled.targetFiles.find((t) => t.protoPath === p.file)?.root ?? cwd, p.file),
        ),
      })),
    );
  const document = result.files[0];
  if (!document) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
  // A .ts output is the same document as a module a service imports and serves.
  const content = flags.output.endsWith('.ts') ? openApiModule(document.content, compiled.targets) : document.content;
  const file = { path: path.resolve(cwd, flags.output), content, kind: 'generated' as const };
  const report = writeFiles([file], { projectRoot: manifestRoot, force: flags.force });
  printReport(report, cwd);
  failOnStale(report, flags.keepLocal);
}
