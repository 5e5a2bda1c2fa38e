// Responses of a streaming call on their way to the caller: the transport pushes them
// as they arrive, the caller takes them with `for await`. Too many unread ones pause
// the transport (backpressure); a caller that stops reading cancels the call.
import { ErrCancelled } from '../errors/catalogue.js';

/** Messages in flight to the consumer before the call is paused. */
const HIGH_WATER = 16;

/** Messages waiting for the consumer, handed out by async iteration. */
export class Inbox<T> implements AsyncIterable<T> {
  onDrained?: () => void;
  onAbandoned?: () => void;
  private readonly items: T[] = [];
  private waiter?: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void } | undefined;
  private closed = false;
  private error?: { err: unknown };
  private abandoned = false;

  /** Adds a message; true when the consumer is behind and the call should pause. */
  push(item: T): boolean {
    if (this.abandoned) return false;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return false;
    }
    this.items.push(item);
    return this.items.length >= HIGH_WATER;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(err: unknown): void {
    this.error ??= { err };
    this.closed = true;
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) {
          const value = this.items.shift()!;
          if (this.items.length === HIGH_WATER - 1) this.onDrained?.();
          return Promise.resolve({ value, done: false });
        }
        if (this.error && !this.abandoned) return Promise.reject(this.error.err);
        if (this.closed || this.abandoned) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      // The consumer stopped reading (break, or an error in its loop): the call is cancelled.
      return: () => {
        if (!this.closed) {
          this.abandoned = true;
          this.error ??= { err: ErrCancelled('the stream was abandoned by its reader') };
          this.onAbandoned?.();
        }
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || this.items.length > 0) return;
    this.waiter = undefined;
    if (this.error) w.reject(this.error.err);
    else w.resolve({ value: undefined, done: true });
  }
}
