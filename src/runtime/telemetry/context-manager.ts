// The context manager of `contextPropagation: 'explicit'`: `context.with` holds
// for the synchronous extent of its callback and nothing more, and nothing in the
// process pays for async context tracking. The call's trace context then travels
// in the call Context only (see otelContext()); the default is the SDK's
// AsyncLocalStorage manager, which also follows awaits.
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

export class SynchronousContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
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
