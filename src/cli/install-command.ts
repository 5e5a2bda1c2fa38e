// How to install a project's dependencies, in the words of the package manager it was made with.
import fs from 'node:fs';
import path from 'node:path';
import { projectPackageManager } from '../scaffold/package-manager.js';

/** `npm install`, `pnpm install` or `yarn install`: for a project made with pnpm, npm would write a second lock file. */
export function installCommand(root: string): string {
  return `${packageManagerOf(root)} install`;
}

/** `npm run <script>` (or pnpm's, yarn's) in the project at `root`. */
export function runScript(root: string, script: string): string {
  return `${packageManagerOf(root)} run ${script}`;
}

function packageManagerOf(root: string): string {
  let pkg: { packageManager?: unknown } = {};
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { packageManager?: unknown };
  } catch {
    // no readable package.json: npm's words
  }
  return projectPackageManager(pkg);
}
