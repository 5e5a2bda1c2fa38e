// How an error and its chain of causes read as one line.

/**
 * An error's message followed by what each of its causes adds to it: a cause whose
 * message the text so far already says (errors here often name their cause's reason
 * in their own message) is not repeated.
 */
export function messageWithCauses(err: Error): string {
  let message = err.message;
  const seen = new Set<unknown>([err]);
  for (let cause = err.cause; cause instanceof Error && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    if (cause.message && !message.includes(cause.message)) message += `: ${cause.message}`;
  }
  return message;
}
