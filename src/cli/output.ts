// What commands print: short lines, colour only on a terminal (chalk decides).
import chalk from 'chalk';
import path from 'node:path';
import type { WriteReport } from './writer.js';

export function printReport(report: WriteReport, cwd: string): void {
  const rel = (p: string) => path.relative(cwd, p) || '.';
  for (const p of report.written) console.log(`${chalk.green('wrote')}   ${rel(p)}`);
  for (const p of report.removed) console.log(`${chalk.green('removed')} ${rel(p)}`);
  for (const s of report.skipped) console.log(`${chalk.yellow('skipped')} ${rel(s.path)}: ${s.reason}`);
  if (report.written.length === 0 && report.skipped.length === 0 && report.removed.length === 0) console.log(chalk.dim(`up to date (${report.unchanged.length} files unchanged)`));
}
