// Request validation hook: a check per call returns a message when the request
// is invalid, which becomes a 400 VALIDATOR error (Kratos's validate middleware).
import { ErrValidator } from '../errors/catalogue.js';
import type { Context, Middleware } from '../transport/context.js';

export type Check = (request: unknown, ctx: Context) => string | undefined | void;

/** `checks` maps an operation (`/pkg.Service/Method`) to its check; '*' applies to all. */
export function validate(checks: Record<string, Check>): Middleware {
  return (next) => async (ctx, req) => {
    for (const check of [checks[ctx.transport.operation], checks['*']]) {
      const problem = check?.(req, ctx);
      if (problem) throw ErrValidator(problem);
    }
    return next(ctx, req);
  };
}
