// Where a project starts its service without the Node flags tsk's services start
// with (SERVICE_NODE_COMMAND). `tsk upgrade` names those places rather than editing
// them: package.json's scripts, the Dockerfile and the manifests are the user's files.
import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_NODE_COMMAND } from '../scaffold/package-json.js';
import { readProjectPackage } from '../scaffold/project-package.js';

const FLAGS = SERVICE_NODE_COMMAND.slice(1);

/**
 * Runs the service's main.js with node (a word, or a quoted one in an exec-form CMD or a
 * YAML list) but lacks a flag. Other node commands (the image's HEALTHCHECK) are not starts.
 */
function startsNodeWithoutFlags(text: string): boolean {
  return (
    /(^|[\s"'[,/])node($|[\s"',\]])/.test(text) &&
    text.includes('main.js') &&
    FLAGS.some((flag) => !text.includes(flag))
  );
}

/** The project's service starts that lack the flags, as `file (what)`; empty when none does. */
export function startsWithoutServiceFlags(root: string): string[] {
  const places: string[] = [];
  const read = (rel: string) => {
    const file = path.join(root, rel);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  };
  if (fs.existsSync(path.join(root, 'package.json'))) {
    const start = readProjectPackage<{ scripts?: Record<string, unknown> }>(root).scripts?.start;
    if (typeof start === 'string' && startsNodeWithoutFlags(start)) places.push('package.json (scripts.start)');
  }
  const lines = (rel: string, instruction: RegExp) =>
    (read(rel) ?? '').split('\n').some((line) => instruction.test(line) && startsNodeWithoutFlags(line));
  if (lines('Dockerfile', /^\s*CMD\b/)) places.push('Dockerfile (CMD)');
  if (lines('deploy/kubernetes/deployment.yaml', /^\s*command:/))
    places.push('deploy/kubernetes/deployment.yaml (command)');
  return places;
}

/** The line `tsk upgrade` prints about them. */
export function serviceFlagsHint(places: string[]): string {
  return `the service starts without ${FLAGS.join(' ')} in ${places.join(', ')}: add it there, as services tsk makes now start (tsk's docs/operations.md, "Node flags", says why)`;
}
