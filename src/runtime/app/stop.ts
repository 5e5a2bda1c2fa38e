// The time budget of one stop: every step gets what is left of the stop timeout,
// and the servers leave a share of it for afterStop (closing data, flushing telemetry), so a
// collector that never answers cannot push the exit past the timeout.

/** Share of the stop timeout kept for afterStop, capped at AFTER_STOP_MAX_MS. */
const AFTER_STOP_SHARE = 0.2;
const AFTER_STOP_MAX_MS = 2000;
/** Share of the stop timeout deregistering may take (an unreachable registry must not eat the drain). */
const DEREGISTER_SHARE = 0.2;

export class StopBudget {
  private readonly started = Date.now();
  private readonly deadline: number;
  private readonly afterStopMs: number;
  private readonly timeoutMs: number;
  lastError: unknown;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.deadline = this.started + timeoutMs;
    this.afterStopMs = Math.min(AFTER_STOP_MAX_MS, Math.floor(timeoutMs * AFTER_STOP_SHARE));
  }

  remaining(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** What is left for the steps before afterStop. */
  forServers(): number {
    return Math.max(0, this.remaining() - this.afterStopMs);
  }

  /** What deregistering may take. */
  forDeregister(): number {
    return Math.min(this.forServers(), Math.floor(this.timeoutMs * DEREGISTER_SHARE));
  }

  elapsed(): number {
    return Date.now() - this.started;
  }

  /** Runs `work`, waiting at most `limitMs` for it; a late one keeps running unobserved. */
  async step(limitMs: number, work: () => Promise<unknown>): Promise<'done' | 'failed' | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs)));
    try {
      return await Promise.race([
        work().then(
          () => 'done' as const,
          (err: unknown) => {
            this.lastError = err;
            return 'failed' as const;
          },
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  sleep(ms: number): Promise<void> {
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }
}
