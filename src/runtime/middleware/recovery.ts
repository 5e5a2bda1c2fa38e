// Outermost middleware: anything thrown that is not a ServiceError (a bug, a
// rejected promise from a driver) becomes Kratos's 500 UNKNOWN "unknown request
// error"; the stack goes to the log, never to the caller, and the process lives on.
import type { Logger } from 'pino';
import { internalServer, isServiceError } from '../errors/errors.js';
import { withCallHooks, type Context, type Middleware } from '../transport/context.js';

export function recovery(options: { logger?: Logger } = {}): Middleware {
  const recovered = (ctx: Context, err: unknown): unknown => {
    if (isServiceError(err)) return err;
    options.logger?.error({ err, operation: ctx.transport.operation }, 'recovered from unhandled error');
    return internalServer('UNKNOWN', 'unknown request error').withCause(err);
  };
  const middleware: Middleware = (next) => async (ctx, req) => {
    try {
      return await next(ctx, req);
    } catch (err) {
      throw recovered(ctx, err);
    }
  };
  // As the outermost middleware of a server, it runs as a hook when the call ends (server-chain.ts).
  return withCallHooks(middleware, {
    start: () => undefined,
    end: (ctx, _started, _elapsedMs, failed, error) => (failed ? recovered(ctx, error) : error),
  });
}
