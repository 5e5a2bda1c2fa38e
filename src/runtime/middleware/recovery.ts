// Outermost middleware: anything thrown that is not a ServiceError (a bug, a
// rejected promise from a driver) becomes Kratos's 500 UNKNOWN "unknown request
// error"; the stack goes to the log, never to the caller, and the process lives on.
import type { Logger } from 'pino';
import { isServiceError } from '../errors/errors.js';
import { ErrUnknownRequest } from '../errors/catalogue.js';
import { hookMiddleware, type Context, type Middleware } from '../transport/context.js';

export function recovery(options: { logger?: Logger } = {}): Middleware {
  const recovered = (ctx: Context, err: unknown): unknown => {
    if (isServiceError(err)) return err;
    options.logger?.error({ err, operation: ctx.transport.operation }, 'recovered from unhandled error');
    return ErrUnknownRequest(err);
  };
  // As the outermost middleware of a server, the server runs it as a hook when the call ends (server-chain.ts).
  return hookMiddleware({
    start: () => undefined,
    end: (ctx, _started, _elapsedMs, failed, error) => (failed ? recovered(ctx, error) : error),
  });
}
