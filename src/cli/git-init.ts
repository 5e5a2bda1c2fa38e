// The first commit of what tsk writes (a project, an example), in a repository of its own.
import chalk from 'chalk';
import { execa } from 'execa';

/**
 * A repository of the project's own with its first commit; inside an existing work
 * tree (a monorepo) none, since a repository nested in another is what nobody wants,
 * unless that tree ignores the project's directory.
 */
export async function gitInit(dir: string, message: string): Promise<void> {
  const enclosing = await execa('git', ['rev-parse', '--show-toplevel'], { cwd: dir, reject: false });
  const ignored = async () =>
    (await execa('git', ['check-ignore', '-q', '.'], { cwd: dir, reject: false })).exitCode === 0;
  if (enclosing.exitCode === 0 && enclosing.stdout.trim() && !(await ignored())) {
    console.log(
      chalk.dim(`inside the git repository at ${enclosing.stdout.trim()}: no repository of its own; commit it there`),
    );
    return;
  }
  try {
    await execa('git', ['init', '-q'], { cwd: dir });
    // `main` unless the user's git names another default: the branch docs and CI refer to
    // (`buf breaking --against '.git#branch=main'`). Older gits would call it master.
    if (!(await gitConfig(dir, 'init.defaultBranch')))
      await execa('git', ['symbolic-ref', 'HEAD', 'refs/heads/main'], { cwd: dir });
    await execa('git', ['add', '-A'], { cwd: dir });
    // The user's identity when git has one; else the commit is tsk's rather than refused.
    const identity = [];
    if (!(await gitConfig(dir, 'user.name'))) identity.push('-c', 'user.name=tsk');
    if (!(await gitConfig(dir, 'user.email'))) identity.push('-c', 'user.email=tsk@localhost');
    await execa('git', [...identity, 'commit', '-q', '-m', message], { cwd: dir });
  } catch (err) {
    throw new Error(
      `git init failed (${(err as Error).message.split('\n')[0]}); the project is complete, commit it yourself`,
    );
  }
}

/** A git setting as the repository at `dir` sees it (its own, the user's, the system's); empty when unset. */
async function gitConfig(dir: string, key: string): Promise<string> {
  return (await execa('git', ['config', '--get', key], { cwd: dir, reject: false })).stdout.trim();
}
