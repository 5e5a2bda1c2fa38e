// `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API.
// Kept light: a run the codegen cache vouches for loads nothing that compiles.
import path from 'node:path';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { cachedTreeStep } from '../../gen/incremental.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { failOnStale, printReport } from '../output.js';
import { CLIENTS_PATH } from '../manifest.js';
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
async function servedOnly<T extends { targets: { proto: { name: string } }[] }>(
  compiled: T,
  root: string | undefined,
): Promise<T> {
  if (!root) return compiled;
  const called = (await import('./client.js')).calledApiProtos(root);
  const own = compiled.targets.filter((file) => !called.has(file.proto.name));
  return own.length === 0 || own.length === compiled.targets.length ? compiled : { ...compiled, targets: own };
}

/** `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API, per service or in one file. */
export async function protoOpenApi(inputs: string[], flags: OpenApiFlags): Promise<void> {
  const cwd = process.cwd();
  const { project, manifestRoot } = locate(cwd, inputs, flags);
  const meta = { title: flags.title, apiVersion: flags.version };
  const output = flags.output ? path.resolve(cwd, flags.output) : undefined;
  // One document from the whole tree: cached like the per-proto code (a project's `tsk generate`).
  const step = output
    ? cachedTreeStep({
        cwd,
        inputs,
        importPaths: flags.protoPath,
        projectRoot: project?.root,
        id: `openapi|${output}`,
        settings: JSON.stringify(meta),
        extraInputs: project ? [path.join(project.root, CLIENTS_PATH)] : [],
      })
    : undefined;
  if (step?.upToDate) {
    printReport({ written: [], unchanged: step.upToDate, removed: [], skipped: [] }, cwd);
    return;
  }
  const [{ compileProtos }, { planClientFiles }, { generateOpenApi, openApiModule }] = await Promise.all([
    import('../../proto/compile.js'),
    import('../../gen/client.js'),
    import('../../plugins/openapi/generate.js'),
  ]);
  const compiled = await servedOnly(
    await compileProtos({ inputs, importPaths: flags.protoPath, cwd, projectRoot: project?.root }),
    project?.root,
  );
  if (!output) {
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
  const content = output.endsWith('.ts') ? openApiModule(document.content, compiled.targets) : document.content;
  const report = writeFiles([{ path: output, content, kind: 'generated' as const }], {
    projectRoot: manifestRoot,
    force: flags.force,
  });
  step?.save([output], report);
  printReport(report, cwd);
  failOnStale(report, flags.keepLocal);
}
