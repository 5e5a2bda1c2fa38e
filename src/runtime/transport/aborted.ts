// A client call cut short by its context's signal failed for the reason the signal gives:
// the request it serves passed its deadline (504 TIMEOUT), its caller went away (499), or
// a user's own AbortSignal.timeout. The transport's own words ("Cancelled on client", a
// fetch AbortError) say only that the call was cancelled, not why.
import { ErrCancelled, ErrTimeout } from '../errors/catalogue.js';
import { fromError, isServiceError, type ServiceError } from '../errors/errors.js';
import { abortedAtDeadline, deadlineExceeded } from './client-options.js';
import type { Context } from './context.js';

export function abortedCallError(signal: AbortSignal, ctx: Context): ServiceError {
  const why = signal.reason as { name?: string } | undefined;
  if (isServiceError(why)) return fromError(why);
  if (abortedAtDeadline(ctx, why)) return deadlineExceeded(ctx);
  // A user's own AbortSignal.timeout, passed as the call's signal.
  if (why?.name === 'TimeoutError') return ErrTimeout('request timed out');
  return ErrCancelled('request was cancelled');
}
