// The OpenTelemetry context manager tsk installs by default. The runtime hands a
// call's trace context along explicitly (in the call Context, see otelContext()),
// so it needs no async propagation: `context.with` holds for the synchronous
// extent of its callback and nothing more. The SDK's own default, built on
// AsyncLocalStorage, turns on Node's promise hooks the first time it is used (the
// span exporter does so on its first export), and from then on every promise in
// the process pays for them.
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

export class SynchronousContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
