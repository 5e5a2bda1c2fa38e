// tsk as a dependency of the projects it makes: until tsk is on a registry, each
// project carries the packed tsk that created it (.tsk/tsk-<version>.tgz) and
// lists it as a devDependency, so `npm run generate` needs no global install and
// always runs the generator version the project was made with.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { packageRoot, tskVersion } from '../proto/paths.js';
import { writeProjectPackage } from '../scaffold/project-package.js';

/** Where the packed tsk lives in a project, relative to its root (also the devDependency's `file:` spec). */
export function vendoredTskPath(): string {
  return `.tsk/tsk-${tskVersion()}.tgz`;
}

/** Packs the running tsk into `<projectDir>/.tsk/`; scripts are not run, the package is used as installed. */
export async function packTskInto(projectDir: string): Promise<void> {
  const dest = path.join(projectDir, path.dirname(vendoredTskPath()));
  fs.mkdirSync(dest, { recursive: true });
  try {
    await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest, packageRoot], {
      cwd: dest,
    });
  } catch (err) {
    throw new Error(
      `npm pack of tsk failed: ${(err as { stderr?: string }).stderr?.trim().split('\n')[0] || (err as Error).message}`,
    );
  }
  if (!fs.existsSync(path.join(projectDir, vendoredTskPath())))
    throw new Error(`npm pack did not write ${vendoredTskPath()}`);
}

/** A devDependency spec that points at a tarball vendored in `.tsk/`. */
const VENDORED_SPEC = /^file:\.tsk\/tsk-[^/]+\.tgz$/;

/**
 * Brings a project's vendored tsk to the running version: packs this tsk into `.tsk/`,
 * points the devDependency at it and removes the tarballs of other versions. Nothing
 * happens when the project already lists and holds this version's tarball, or does not
 * depend on a vendored tsk (a registry version, or none). Returns the absolute paths written and removed.
 */
export async function refreshVendoredTsk(root: string): Promise<{ written: string[]; removed: string[] }> {
  const pkgPath = path.join(root, 'package.json');
  if (!fs.existsSync(pkgPath)) return { written: [], removed: [] };
  const text = fs.readFileSync(pkgPath, 'utf8');
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(text);
  } catch {
    throw new Error(`${pkgPath} is not valid JSON; fix it and run tsk upgrade again`);
  }
  const section = [pkg.devDependencies, pkg.dependencies].find((deps) => typeof deps?.['tsk'] === 'string');
  if (!section || !VENDORED_SPEC.test(section['tsk']!)) return { written: [], removed: [] };
  const wanted = `file:${vendoredTskPath()}`;
  const tarball = path.join(root, vendoredTskPath());
  if (section['tsk'] === wanted && fs.existsSync(tarball)) return { written: [], removed: [] };

  const written: string[] = [];
  if (!fs.existsSync(tarball)) {
    await packTskInto(root);
    written.push(tarball);
  }
  if (section['tsk'] !== wanted) {
    section['tsk'] = wanted;
    writeProjectPackage(root, pkg);
    written.push(pkgPath);
  }
  const dir = path.dirname(tarball);
  const removed = fs
    .readdirSync(dir)
    .filter((name) => /^tsk-.+\.tgz$/.test(name) && name !== path.basename(tarball))
    .map((name) => path.join(dir, name));
  for (const old of removed) fs.rmSync(old);
  return { written, removed };
}
