// Runs a handler with observers around it, as a client runs its calls: for tests
// that call an observer's handler directly, without a server.
import type { Handler } from '../../src/runtime/transport/context.js';
import { runObserved, type CallObserver } from '../../src/runtime/transport/observer.js';

export const observed = (observers: CallObserver | CallObserver[], handler: Handler): Handler => {
  const list = Array.isArray(observers) ? observers : [observers];
  return (ctx, req) => runObserved(list, ctx, handler, req);
};
