// Per-request deadlines with one timer for all of them. A server gives every call
// the same timeout, so deadlines arrive in order and the in-flight calls form a
// queue: adding is an append, finishing is an unlink, and a single Node timer
// armed for the oldest call replaces a setTimeout/clearTimeout pair per request.

export interface Deadline {
  readonly at: number;
  /** Unlinked once the call settles or expires. */
  prev?: Deadline | undefined;
  next?: Deadline | undefined;
  linked: boolean;
  /** `cut`: why the deadline was ended early (see expireAll); none when its time came. */
  readonly onExpire: (cut?: Error) => void;
}

export class DeadlineQueue {
  private head?: Deadline | undefined;
  private tail?: Deadline | undefined;
  private timer?: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Calls onExpire once timeoutMs have passed, unless the deadline is cancelled first. */
  add(onExpire: (cut?: Error) => void): Deadline {
    const deadline: Deadline = { at: Date.now() + this.timeoutMs, onExpire, prev: this.tail, linked: true };
    if (this.tail) this.tail.next = deadline;
    else this.head = deadline;
    this.tail = deadline;
    if (!this.timer) this.arm(deadline.at);
    return deadline;
  }

  cancel(deadline: Deadline): void {
    if (!deadline.linked) return;
    deadline.linked = false;
    if (deadline.prev) deadline.prev.next = deadline.next;
    else this.head = deadline.next;
    if (deadline.next) deadline.next.prev = deadline.prev;
    else this.tail = deadline.prev;
    deadline.prev = deadline.next = undefined;
    // The timer stays armed: when it fires it re-arms for whoever is oldest then.
  }

  /** Ends every pending deadline now, each told `cut`; returns how many there were. */
  expireAll(cut: Error): number {
    let count = 0;
    while (this.head) {
      const expired = this.head;
      this.cancel(expired);
      expired.onExpire(cut);
      count++;
    }
    return count;
  }

  /** Stops the timer; pending deadlines never fire. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.head = this.tail = undefined;
  }

  private arm(at: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    // Deadlines alone never keep the process alive; the server's sockets do.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    while (this.head && this.head.at <= now) {
      const expired = this.head;
      this.cancel(expired);
      expired.onExpire();
    }
    if (this.head && !this.timer) this.arm(this.head.at);
  };
}
