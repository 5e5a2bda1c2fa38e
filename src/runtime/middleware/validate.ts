// Request validation, before the handler, on every transport (Kratos's validate
// middleware): buf.validate rules from the protos (generated `*_rules.ts`, handed over
// by the generated register functions), and hand-written checks per operation. A
// stream of requests is checked message by message as the handler reads it. A broken
// rule is a 400 / INVALID_ARGUMENT with reason VALIDATOR, every violation in the error
// (metadata, and over gRPC a google.rpc.BadRequest detail).
import { ErrValidator } from '../errors/catalogue.js';
import { afterStart } from '../app/after-start.js';
import type { Context, Middleware } from '../transport/context.js';
import { allRegisteredRules, registeredRules, RequestRules, type RuleViolation } from './request-rules.js';

/** A hand-written check: the reason the request is invalid, or nothing when it is valid. */
// biome-ignore lint/suspicious/noConfusingVoidType: a check written without a return statement (valid) must type-check
export type Check = (request: unknown, ctx: Context) => string | undefined | void;

/** Hand-written checks: an operation (`/pkg.Service/Method`) to its check; '*' applies to all. */
export type Checks = Record<string, Check>;

/**
 * Checks each call's request against its buf.validate rules, then runs the hand-written
 * checks given, before the handler. The rules are those of every service registered
 * through its generated register function; RequestRules given here add those of services
 * registered by hand, and win for the operations they cover.
 */
export function validate(...sources: (RequestRules | Checks)[]): Middleware {
  const given = sources.filter((s): s is RequestRules => s instanceof RequestRules);
  const checks = sources.filter((s): s is Checks => !(s instanceof RequestRules));
  // protovalidate (about 10 MB with CEL and RE2), when some request needs it, loads once the
  // service is ready, not on its way there; by then its services are registered.
  afterStart(() => Promise.all([...new Set([...given, ...allRegisteredRules()])].map((r) => r.prepare())));
  return (next) => async (ctx, request) => {
    const operation = ctx.transport.operation;
    let req = request;
    const rules = (given.length > 0 && given.find((r) => r.covers(operation))) || registeredRules(operation);
    if (rules) {
      if (rules.streams(operation)) req = checkedStream(rules, operation, req as AsyncIterable<unknown>);
      else {
        const violations = await rules.violations(operation, req);
        if (violations) throw violationError(violations);
      }
    }
    for (const c of checks) {
      for (const check of [c[operation], c['*']]) {
        const problem = check?.(req, ctx);
        if (problem) throw ErrValidator(problem);
      }
    }
    return next(ctx, req);
  };
}

/**
 * A stream of requests whose messages are checked as the handler reads them: the first
 * that breaks a rule fails the read (and so, unless the handler catches it, the call)
 * with the violations, and ends the stream.
 */
async function* checkedStream(
  rules: RequestRules,
  operation: string,
  requests: AsyncIterable<unknown>,
): AsyncGenerator<unknown> {
  for await (const message of requests) {
    const violations = await rules.violations(operation, message);
    if (violations) throw violationError(violations);
    yield message;
  }
}

/**
 * The error for broken rules: the message lists them, metadata.field names the first,
 * metadata.violations holds them all as JSON ([{field, rule, message}]).
 */
export function violationError(violations: RuleViolation[]) {
  // A rule on the whole message (a CEL expression) has no field to name.
  const message = violations.map((v) => (v.field ? `${v.field}: ${v.message}` : v.message)).join('; ');
  return ErrValidator(`invalid request: ${message}`, {
    field: violations[0]?.field ?? '',
    violations: JSON.stringify(violations),
  });
}

export {
  registerRules,
  RequestRules,
  type CheckedMethod,
  type ProtovalidateMethod,
  type RuleMethod,
  type RuleViolation,
} from './request-rules.js';
