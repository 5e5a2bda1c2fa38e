// What commands print: short lines, colour only on a terminal (chalk decides).
import chalk from 'chalk';
import path from 'node:path';
import type { WriteReport } from './writer.js';

/**
 * A line per file written, removed or skipped, else "up to date". A `note` (why the
 * inputs gave no code, say) is said instead of "up to date", which would pass for current.
 */
export function printReport(report: WriteReport, cwd: string, note?: string): void {
  const rel = (p: string) => path.relative(cwd, p) || '.';
  for (const p of report.written) console.log(`${chalk.green('wrote')}   ${rel(p)}`);
  for (const p of report.removed) console.log(`${chalk.green('removed')} ${rel(p)}`);
  for (const s of report.skipped) console.log(`${chalk.yellow('skipped')} ${rel(s.path)}: ${s.reason}`);
  if (note !== undefined) console.error(`${chalk.yellow('note:')} ${note}`);
  else if (!reportsChanges(report))
    console.log(
      chalk.dim(
        `up to date (${report.unchanged.length} ${report.unchanged.length === 1 ? 'file' : 'files'} unchanged)`,
      ),
    );
}

/** An empty report that the reports of several steps are added to, to be printed as one. */
export function combinedReport(): WriteReport & { add(step: WriteReport): void } {
  const all: WriteReport = { written: [], unchanged: [], removed: [], skipped: [] };
  return Object.assign(all, {
    add(step: WriteReport) {
      // Each step records itself in the manifest: one line for it however many steps wrote it.
      all.written.push(...step.written.filter((file) => !all.written.includes(file)));
      all.unchanged.push(...step.unchanged);
      all.removed.push(...step.removed);
      all.skipped.push(...step.skipped);
    },
  });
}

/** Whether a report has anything to say but "up to date". */
export function reportsChanges(report: WriteReport): boolean {
  return report.written.length + report.removed.length + report.skipped.length > 0;
}

/**
 * A generation that left generated files out of date did not do what was asked:
 * say so, say what to do, and fail (exit 1) unless the user said keeping them is intended.
 */
export function failOnStale(
  report: WriteReport,
  keepLocal: boolean | undefined,
  what: { files: string; mismatch: string } = { files: 'generated', mismatch: 'the protos' },
): void {
  const stale = report.skipped.filter((s) => s.stale).length;
  if (stale === 0 || keepLocal) return;
  console.error(
    `${chalk.red('error:')} ${stale} ${what.files} file${stale === 1 ? ' was' : 's were'} not updated and may not match ${what.mismatch}; ` +
      'run again with --force to overwrite them, or --keep-local to keep your edits',
  );
  process.exitCode = 1;
}
