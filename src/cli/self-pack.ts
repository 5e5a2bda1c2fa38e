// tsk as a dependency of the projects it makes: until tsk is on a registry, each
// project carries the packed tsk that created it (.tsk/tsk-<version>.tgz) and
// lists it as a devDependency, so `npm run generate` needs no global install and
// always runs the generator version the project was made with.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { packageRoot, tskVersion } from '../proto/paths.js';

/** Where the packed tsk lives in a project, relative to its root (also the devDependency's `file:` spec). */
export function vendoredTskPath(): string {
  return `.tsk/tsk-${tskVersion()}.tgz`;
}

/** Packs the running tsk into `<projectDir>/.tsk/`; scripts are not run, the package is used as installed. */
export async function packTskInto(projectDir: string): Promise<void> {
  const dest = path.join(projectDir, path.dirname(vendoredTskPath()));
  fs.mkdirSync(dest, { recursive: true });
  try {
    await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest, packageRoot], { cwd: dest });
  } catch (err) {
    throw new Error(`npm pack of tsk failed: ${(err as { stderr?: string }).stderr?.trim().split('\n')[0] || (err as Error).message}`);
  }
  if (!fs.existsSync(path.join(projectDir, vendoredTskPath()))) throw new Error(`npm pack did not write ${vendoredTskPath()}`);
}
