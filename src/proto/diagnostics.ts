// Errors the CLI shows to users: one line each, no stack trace.

export interface Diagnostic {
  /** Path as the user would type it (relative to their cwd). */
  file: string;
  line: number;
  column: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

/** Bad input from the user (a missing file, a bad flag, a name that is taken). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The protos did not compile, or an HTTP rule in them is invalid. */
export class CompileError extends Error {
  override readonly name = 'CompileError';
  constructor(
    readonly diagnostics: Diagnostic[],
    detail = '',
  ) {
    super(
      diagnostics.length > 0
        ? diagnostics.map(formatDiagnostic).join('\n')
        : detail.trim() || 'proto compilation failed',
    );
  }
}
