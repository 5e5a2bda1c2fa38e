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
    await execa('git', ['add', '-A'], { cwd: dir });
    await execa('git', ['-c', 'user.name=tsk', '-c', 'user.email=tsk@localhost', 'commit', '-q', '-m', message], {
      cwd: dir,
    });
  } catch (err) {
    throw new Error(
      `git init failed (${(err as Error).message.split('\n')[0]}); the project is complete, commit it yourself`,
    );
  }
}
