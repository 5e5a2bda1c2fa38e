// Structured JSON logs with pino: one object per line, fields named as Kratos
// names them where they overlap (service.name, trace_id, span_id).
import { openSync, writeSync } from 'node:fs';
import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import { messageWithCauses } from '../errors/causes.js';
import sonicBoomModule from 'sonic-boom';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level?: string | undefined;
  /** A file path (appended to) or an fd; default stdout. */
  destination?: string | number | undefined;
  /** Extra fields on every line (service.version, instance id). */
  base?: Record<string, unknown> | undefined;
  /**
   * Fields written as `***` on every line, as Kratos's log filter masks keys: pino's
   * redaction paths, such as `password`, `*.password` (one level down) or
   * `req.headers.authorization`.
   */
  redact?: readonly string[] | undefined;
}

const CENSOR = '***';

/** Hand a batch to the destination at once when this many bytes have piled up (a full access queue is about 40 KiB). */
export const BATCH_BYTES = 64 * 1024;
/** Longest a line waits for its batch. */
const FLUSH_INTERVAL_MS = 20;

/** What a batcher writes to: sonic-boom in `contentMode: 'buffer'`, whose typings only know strings. */
interface ByteDestination {
  write(bytes: Buffer): boolean;
  flush(callback?: (err?: Error) => void): void;
  flushSync(): void;
  end(): void;
}

/**
 * Records queued for formatting at the batch's next drain, turned into lines in one
 * tight loop: cheaper per line than formatting each between two requests, whose
 * code has pushed the formatter's code and data out of the CPU's caches.
 */
export interface DeferredLines {
  /** Hands every queued line to `append` (whole lines, one or more per call), in order, and forgets them. */
  flush(append: (lines: string) => void): void;
}

/**
 * Collects lines and hands them to the destination as one synchronous write every
 * few milliseconds (or sooner once enough has piled up): one syscall for many
 * requests. Line-by-line writes cost an access log microseconds per request, and
 * asynchronous ones worse: their thread-pool writes wait for a busy CPU. Each line
 * is encoded into the batch's bytes as it arrives, so no long string of pending lines
 * is kept, and sonic-boom (in buffer mode) does not measure and re-encode the batch.
 */
export class LineBatcher {
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private scheduled = false;
  /** A write failed: the destination takes no more. */
  private failed = false;
  private readonly exitRef: WeakRef<LineBatcher>;
  private readonly deferred: DeferredLines[] = [];
  private append = (lines: string): void => this.appendLine(lines);

  constructor(private readonly destination: ByteDestination) {
    // Lines still pending when the process exits are written synchronously.
    this.exitRef = flushAtExit(this);
  }

  /** Adds a source of deferred lines; they are formatted before any later line is written. */
  addDeferred(source: DeferredLines): void {
    this.deferred.push(source);
  }

  write(line: string): boolean {
    this.formatDeferred();
    this.appendLine(line);
    return true;
  }

  /**
   * Hands every line to `listener` as well, right after it joins the batch (whole lines,
   * one or more per call), except lines written inside `notExported`. For OTLP log
   * export, which is opt-in: the listener is put in by replacing this batcher's own
   * `write` and deferred-line path, so a batcher nobody listens to does no extra work
   * per line. Returns what takes the listener out again.
   */
  tap(listener: (lines: string) => void): () => void {
    const write = this.write;
    const append = this.append;
    this.write = (line: string): boolean => {
      write.call(this, line);
      if (unexportedWrites === 0) listener(line);
      return true;
    };
    this.append = (lines: string): void => {
      append(lines);
      listener(lines);
    };
    return () => {
      this.write = write;
      this.append = append;
    };
  }

  /** Makes sure queued deferred lines are formatted and written within the flush interval. */
  schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.onTimer, FLUSH_INTERVAL_MS).unref();
    }
  }

  /** Formats queued deferred lines into the batch now (a source whose queue is full calls it). */
  formatDeferred(): void {
    for (const source of this.deferred) source.flush(this.append);
  }

  /** Adds whole lines to the batch: one line of pino's, or a deferred source's queue at once. */
  private appendLine(text: string): void {
    if (this.tryAppend(text)) return;
    this.drain();
    // Text that does not fit an empty batch goes out on its own.
    if (!this.tryAppend(text)) this.send(Buffer.from(text, 'utf8'));
  }

  /** Encodes text into the batch if it fits whole; false, leaving the batch as it was, if not. */
  private tryAppend(text: string): boolean {
    const room = this.batch.length - this.used;
    if (text.length > room) return false; // UTF-8 takes at least a byte per UTF-16 unit
    // Node writes whole characters only: when it stopped more than a character's
    // width (4 bytes) short of the end, everything was written.
    const written = this.batch.write(text, this.used);
    if (written > room - 4 && written !== Buffer.byteLength(text)) return false;
    this.used += written;
    this.schedule();
    return true;
  }

  /** Pending lines to the destination now; pino's `logger.flush(cb)` lands here. */
  flush(callback?: (err?: Error) => void): void {
    this.drain();
    this.destination.flush(callback);
  }

  flushSync(): void {
    // sonic-boom's flushSync retries a failed write forever (a closed pipe: EPIPE), which
    // at exit would leave the process hanging instead of ending.
    if (this.failed) return;
    this.drain();
    try {
      this.destination.flushSync();
    } catch {
      // destroyed or never opened: nothing more can be written
    }
  }

  end(): void {
    this.drain();
    liveBatchers.delete(this.exitRef);
    this.destination.end();
  }

  private readonly onTimer = (): void => {
    this.scheduled = false;
    this.drain();
  };

  private drain(): void {
    this.formatDeferred();
    if (this.used === 0) return;
    // sonic-boom keeps bytes it could not write yet (after a write error) for its
    // next write, so the next batch gets a buffer of its own.
    const full = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
    this.send(full);
  }

  /**
   * A write the destination cannot make (stdout's reader gone, the terminal closed) ends
   * the process with its error, as pino's own destination does. It is thrown on its own,
   * as an uncaught error, never into the call that logged: code that catches its errors (a
   * handler's, a start or a stop in progress) would swallow it and leave the process
   * running and holding its ports. Nothing more is written after it.
   */
  private send(bytes: Buffer): void {
    if (this.failed) return;
    try {
      this.destination.write(bytes);
    } catch (error) {
      this.failed = true;
      // The log cannot say so itself; stderr may still be open (a service whose uncaught-error
      // handler logs would otherwise stop without a word).
      try {
        writeSync(2, `log lines can no longer be written (${String(error)}); the process ends with that error\n`);
      } catch {
        // stderr is gone too
      }
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

let unexportedWrites = 0;

/**
 * Runs `write` (which logs synchronously) with its lines kept out of every tap: they
 * reach the destination as usual, not the OTLP log export. OpenTelemetry's own
 * diagnostics are written this way, so a report of a failed log export is never
 * itself exported, fails and is reported again, without end.
 */
export function notExported(write: () => void): void {
  unexportedWrites++;
  try {
    write();
  } finally {
    unexportedWrites--;
  }
}

// Every batcher is flushed synchronously when the process exits, through one
// listener; weak references let loggers nobody holds any more be collected.
const liveBatchers = new Set<WeakRef<LineBatcher>>();
const forgetBatcher = new FinalizationRegistry<WeakRef<LineBatcher>>((ref) => liveBatchers.delete(ref));
let exitHooked = false;

function flushAtExit(batcher: LineBatcher): WeakRef<LineBatcher> {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const ref of liveBatchers) ref.deref()?.flushSync();
    });
  }
  const ref = new WeakRef(batcher);
  liveBatchers.add(ref);
  forgetBatcher.register(batcher, ref);
  return ref;
}

/**
 * The service name the spans' resource takes from the environment, as the SDK reads it:
 * OTEL_SERVICE_NAME (set but blank is unset), else `service.name` in
 * OTEL_RESOURCE_ATTRIBUTES (comma-separated key=value, values percent-encoded).
 */
function serviceNameFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const named = env['OTEL_SERVICE_NAME']?.trim();
  if (named) return named;
  for (const entry of (env['OTEL_RESOURCE_ATTRIBUTES'] ?? '').split(',')) {
    const eq = entry.indexOf('=');
    if (eq < 0 || entry.slice(0, eq).trim() !== 'service.name') continue;
    try {
      return decodeURIComponent(entry.slice(eq + 1).trim()) || undefined;
    } catch {
      return undefined; // the SDK ignores a value that does not decode, too
    }
  }
  return undefined;
}

// sonic-boom is CommonJS whose module.exports is the class; its typings describe an ES module.
const SonicBoomClass = sonicBoomModule as unknown as typeof import('sonic-boom').SonicBoom;

const batchers = new WeakMap<Logger, LineBatcher>();

/**
 * The batcher behind a logger made by createLogger, or undefined for other loggers.
 * The access log queues its lines there (DeferredLines): building them from cached
 * pieces costs a fraction of pino's generic serialization, per request.
 */
export function lineBatcher(logger: Logger): LineBatcher | undefined {
  return batchers.get(logger);
}

/** The bindings pino writes on every line of this logger (`,"service.name":"x",...`). */
export function serializedBindings(logger: Logger): string {
  return (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
}

/**
 * The ids of the active span, on every line logged while it is active (in a handler, in
 * code it calls), so a line leads to its trace as with Kratos's `tracing.TraceID()`
 * valuers. Fields the line sets itself win. A new object each time: pino merges into it.
 */
function activeSpanIds(): Record<string, string> {
  const span = trace.getSpan(context.active())?.spanContext();
  return span && isSpanContextValid(span) ? spanFields(span) : {};
}

/**
 * A span context as log line fields, named as OpenTelemetry names trace context in
 * formats other than OTLP: `trace_id`, `span_id`, and `trace_flags` (W3C's two hex
 * digits), which says whether the trace was sampled.
 */
export function spanFields(span: SpanContext): { trace_id: string; span_id: string; trace_flags: string } {
  return { trace_id: span.traceId, span_id: span.spanId, trace_flags: traceFlagsText(span.traceFlags) };
}

/** Trace flags as W3C writes them: two lower-case hex digits. */
export function traceFlagsText(flags: number): string {
  if (flags === 1) return '01';
  if (flags === 0) return '00';
  return (flags & 0xff).toString(16).padStart(2, '0');
}

export function createLogger(options: LoggerOptions): Logger {
  // A path is opened here, synchronously, so the destination is writable (and
  // flushable at exit) from the first line on.
  const fd = typeof options.destination === 'string' ? openSync(options.destination, 'a') : (options.destination ?? 1);
  const batcher = new LineBatcher(
    new SonicBoomClass({ fd, sync: true, contentMode: 'buffer' }) as unknown as ByteDestination,
  );
  const logger = pino(
    {
      // The service's name is `service.name` (Kratos's key), not pino's `name`: a line's
      // own `name` field (a user's name, say) would otherwise repeat the key. It is the
      // name its spans carry, which the OpenTelemetry variables may rename.
      level: options.level ?? 'info',
      base: { 'service.name': serviceNameFromEnv(process.env) ?? options.name, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: activeSpanIds,
      serializers: { err: serializeError },
      ...(options.redact?.length ? { redact: { paths: [...options.redact], censor: CENSOR } } : {}),
    },
    batcher,
  );
  batchers.set(logger, batcher);
  return logger;
}

/** What is wrong with a redaction path (a config check), or undefined when pino takes it. */
export function redactPathProblem(path: string): string | undefined {
  const problem = `not a field path (a name, a.b.c, *.name for one level down, a["x-y"] for other characters), got ${JSON.stringify(path)}`;
  // pino takes some paths that match nothing (`**.password`, `pass word`): names and `*` only.
  if (!REDACT_PATH.test(path)) return problem;
  try {
    pino({ redact: [path] }, { write: () => {} });
    return undefined;
  } catch {
    return problem;
  }
}

/** Dotted names or `*`, each step possibly a bracketed name or index. */
const REDACT_PATH = /^(?:[A-Za-z_$][\w$-]*|\*|\[[^\]]+\])(?:\.(?:[A-Za-z_$][\w$-]*|\*)|\[[^\]]+\])*$/;

/**
 * pino's error serializer, with each cause's message added only where the message
 * before it does not already say it: errors here name their cause's reason in their
 * own message (`... did not register x: fetch failed (ECONNREFUSED)`), which pino would
 * otherwise repeat once per cause. The stack keeps every cause.
 */
function serializeError(err: unknown): unknown {
  // A description made for the line ({ type, message, code }, a plain object) is written
  // as it is: pino's serializer would retype it `Object` with an empty stack.
  if (err !== null && typeof err === 'object' && Object.getPrototypeOf(err) === Object.prototype) return err;
  const serialized = pino.stdSerializers.err(err as Error) as { message?: unknown };
  if (err instanceof Error) serialized.message = messageWithCauses(err);
  return serialized;
}
