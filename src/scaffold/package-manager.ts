// The package manager a project is made with (`tsk new --package-manager`): the commands
// its README and Dockerfile spell, the lock file the image build copies, and which
// versions tsk can make a project for.

export const PACKAGE_MANAGERS = ['npm', 'pnpm', 'yarn'] as const;
export type PackageManagerName = (typeof PACKAGE_MANAGERS)[number];

export interface PackageManager {
  name: PackageManagerName;
  /** The version that installs the project; recorded as package.json's `packageManager` (not for npm). */
  version?: string;
}

/** How a README and a Dockerfile spell this package manager's commands. */
export interface PackageManagerCommands {
  name: PackageManagerName;
  /** Runs a binary of the project's dependencies: `npx tsk ...`. */
  exec: string;
  /** What goes between `<pm> run <script>` and arguments for the script (npm needs `--`). */
  scriptArgs: string;
  lockfile: string;
  /** The `packageManager` field of package.json, or undefined. */
  packageManagerField?: string | undefined;
}

export const DEFAULT_PACKAGE_MANAGER: PackageManager = { name: 'npm' };

export function packageManagerCommands(pm: PackageManager): PackageManagerCommands {
  const field = pm.name !== 'npm' && pm.version ? `${pm.name}@${pm.version}` : undefined;
  switch (pm.name) {
    case 'npm':
      return { name: 'npm', exec: 'npx', scriptArgs: '-- ', lockfile: 'package-lock.json' };
    case 'pnpm':
      return {
        name: 'pnpm',
        exec: 'pnpm exec',
        scriptArgs: '',
        lockfile: 'pnpm-lock.yaml',
        packageManagerField: field,
      };
    case 'yarn':
      return { name: 'yarn', exec: 'yarn', scriptArgs: '', lockfile: 'yarn.lock', packageManagerField: field };
  }
}

/**
 * Why tsk cannot make a project with this package manager version, or undefined.
 * Yarn 2 and later install with Plug'n'Play, without node_modules, which the bundle's
 * packages, tsx and the vendored tsk are loaded from.
 */
export function packageManagerProblem(pm: PackageManager): string | undefined {
  if (pm.name !== 'yarn' || !pm.version) return undefined;
  const major = Number(pm.version.split('.')[0]);
  if (major >= 2)
    return `yarn ${pm.version} installs with Plug'n'Play, without the node_modules a tsk project loads its packages from; use yarn 1, pnpm or npm`;
  return undefined;
}

/** The package manager a project's package.json names (`packageManager`, as `tsk new` writes it); npm when none. */
export function projectPackageManager(packageJson: { packageManager?: unknown }): PackageManagerName {
  const name = typeof packageJson.packageManager === 'string' ? packageJson.packageManager.split('@')[0] : undefined;
  return name === 'pnpm' || name === 'yarn' ? name : 'npm';
}
