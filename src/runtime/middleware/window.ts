// A rolling window of counters in fixed buckets: the shared bookkeeping of the
// adaptive rate limiter and the circuit breaker.
export class RollingWindow {
  private readonly buckets: { sum: number; count: number; min: number }[];
  private offset = 0;
  private lastTick: number;

  constructor(
    private readonly size: number,
    private readonly bucketMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = Array.from({ length: size }, () => ({ sum: 0, count: 0, min: Infinity }));
    this.lastTick = Math.floor(now() / bucketMs);
  }

  add(value: number): void {
    this.advance();
    const b = this.buckets[this.offset]!;
    b.sum += value;
    b.count++;
    if (value < b.min) b.min = value;
  }

  /** Folds the buckets that are complete or current. */
  reduce<T>(fn: (acc: T, bucket: { sum: number; count: number; min: number }) => T, init: T): T {
    this.advance();
    return this.buckets.reduce(fn, init);
  }

  private advance(): void {
    const tick = Math.floor(this.now() / this.bucketMs);
    const steps = Math.min(tick - this.lastTick, this.size);
    for (let i = 0; i < steps; i++) {
      this.offset = (this.offset + 1) % this.size;
      this.buckets[this.offset] = { sum: 0, count: 0, min: Infinity };
    }
    this.lastTick = tick;
  }
}
