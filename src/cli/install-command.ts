// How to install a project's dependencies, in the words of the package manager it was made with.
import { projectPackageManager } from '../scaffold/package-manager.js';
import { projectPackageOrEmpty } from '../scaffold/project-package.js';

/** `npm install`, `pnpm install` or `yarn install`: for a project made with pnpm, npm would write a second lock file. */
export function installCommand(root: string): string {
  return `${packageManagerOf(root)} install`;
}

/** `npm run <script>` (or pnpm's, yarn's) in the project at `root`. */
export function runScript(root: string, script: string): string {
  return `${packageManagerOf(root)} run ${script}`;
}

/** The project's package manager; npm's words when its package.json cannot be read. */
function packageManagerOf(root: string): string {
  return projectPackageManager(projectPackageOrEmpty(root));
}
