// Applies middleware only to matching operations (Kratos's selector):
//   selector(auth()).prefix('/admin.v1.').path('/user.v1.User/Delete').build()
import { chain, type Middleware } from '../transport/context.js';

export class SelectorBuilder {
  private readonly paths = new Set<string>();
  private readonly prefixes: string[] = [];
  private readonly regexes: RegExp[] = [];
  private readonly matchers: ((operation: string) => boolean)[] = [];

  constructor(private readonly middleware: Middleware[]) {}

  path(...operations: string[]): this {
    for (const o of operations) this.paths.add(o);
    return this;
  }
  prefix(...prefixes: string[]): this {
    this.prefixes.push(...prefixes);
    return this;
  }
  regex(...patterns: (string | RegExp)[]): this {
    this.regexes.push(...patterns.map((p) => (typeof p === 'string' ? new RegExp(p) : p)));
    return this;
  }
  match(fn: (operation: string) => boolean): this {
    this.matchers.push(fn);
    return this;
  }

  build(): Middleware {
    const inner = chain(...this.middleware);
    const matches = (op: string) =>
      this.paths.has(op) ||
      this.prefixes.some((p) => op.startsWith(p)) ||
      this.regexes.some((r) => r.test(op)) ||
      this.matchers.some((m) => m(op));
    return (next) => {
      const wrapped = inner(next);
      return (ctx, req) => (matches(ctx.transport.operation) ? wrapped(ctx, req) : next(ctx, req));
    };
  }
}

export function selector(...middleware: Middleware[]): SelectorBuilder {
  return new SelectorBuilder(middleware);
}
