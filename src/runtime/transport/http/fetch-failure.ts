/**
 * fetch's own error for a request that got no answer says only "fetch failed"; the
 * network's reason is in its cause. The message with that reason: `fetch failed (ECONNREFUSED)`.
 */
export function fetchFailureMessage(err: unknown): string {
  const message = (err as Error).message;
  const code = ((err as Error).cause as { code?: string } | undefined)?.code;
  return code ? `${message} (${code})` : message;
}
