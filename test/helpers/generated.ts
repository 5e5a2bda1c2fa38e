// Generates a fixture's code with the real CLI into .tmp/<group>/<name>, importing
// the runtime from src/runtime, so tests can load the generated modules.
import path from 'node:path';
import { repoRoot, scratchFixture, tsk } from './cli.js';

export function generateFixture(group: string, name: string): string {
  const dir = scratchFixture(group, name);
  const r = tsk(['proto', 'client', '.', '-I', '.', '--runtime', path.join(repoRoot, 'src', 'runtime')], dir);
  if (r.status !== 0) throw new Error(`tsk proto client failed for ${name}: ${r.stderr}`);
  return dir;
}
