// Outermost middleware: anything thrown that is not a ServiceError (a bug, a
// rejected promise from a driver) becomes Kratos's 500 UNKNOWN "unknown request
// error"; the stack goes to the log, never to the caller, and the process lives on.
import type { Logger } from 'pino';
import { internalServer, isServiceError } from '../errors/errors.js';
import type { Middleware } from '../transport/context.js';

export function recovery(options: { logger?: Logger } = {}): Middleware {
  return (next) => async (ctx, req) => {
    try {
      return await next(ctx, req);
    } catch (err) {
      if (isServiceError(err)) throw err;
      options.logger?.error({ err, operation: ctx.transport.operation }, 'recovered from unhandled error');
      throw internalServer('UNKNOWN', 'unknown request error').withCause(err);
    }
  };
}
