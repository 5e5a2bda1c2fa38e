// `tsk generate`: the whole generate step of a tsk project, from its root wherever it
// runs: the OpenAPI module (api/openapi.ts) from the protos under api/, then the
// messages, servers, clients, errors and config code of api/ and internal/conf/.
// --force and --keep-local apply to every step.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../proto/diagnostics.js';
import { findProjectRoot } from '../manifest.js';
import { protoClient } from './proto.js';
import { protoOpenApi } from './proto-openapi.js';

export interface GenerateFlags {
  force?: boolean;
  keepLocal?: boolean;
}

/** The proto directories of a tsk project's layout that exist, absolute. */
export function projectProtoDirs(root: string): string[] {
  return ['api', path.join('internal', 'conf')].map((d) => path.join(root, d)).filter((d) => fs.existsSync(d));
}

export async function generate(flags: GenerateFlags): Promise<void> {
  const root = findProjectRoot(process.cwd());
  if (!root)
    throw new UsageError(
      'not inside a tsk project (no .tsk/manifest.json found here or above); run tsk proto client <dirs> outside one',
    );
  const api = path.join(root, 'api');
  if (fs.existsSync(api))
    await protoOpenApi([api], { output: path.join(api, 'openapi.ts'), force: flags.force, keepLocal: flags.keepLocal });
  const dirs = projectProtoDirs(root);
  if (dirs.length === 0) throw new UsageError(`${root}: neither api/ nor internal/conf/ exists; nothing to generate`);
  await protoClient(dirs, { force: flags.force, keepLocal: flags.keepLocal });
}
