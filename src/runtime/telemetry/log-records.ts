// The service's JSON log lines read back as OpenTelemetry log records, for OTLP log
// export: the message is the body, pino's level the severity, the line's time its
// timestamp, its trace_id/span_id/trace_flags the record's span context (so the collector ties
// the record to its trace), every other field an attribute. Reading the finished
// lines back costs a JSON.parse per line, paid only while log export is on; the
// logger itself stays as fast as without it.
import {
  type AnyValue,
  type Attributes,
  type Context,
  type LogRecord,
  ROOT_CONTEXT,
  SeverityNumber,
  TraceFlags,
  trace,
} from '@opentelemetry/api';

/** pino's levels, by label and by number, as OpenTelemetry severities. */
const SEVERITIES: Record<string, { number: SeverityNumber; text: string }> = {
  trace: { number: SeverityNumber.TRACE, text: 'TRACE' },
  debug: { number: SeverityNumber.DEBUG, text: 'DEBUG' },
  info: { number: SeverityNumber.INFO, text: 'INFO' },
  warn: { number: SeverityNumber.WARN, text: 'WARN' },
  error: { number: SeverityNumber.ERROR, text: 'ERROR' },
  fatal: { number: SeverityNumber.FATAL, text: 'FATAL' },
};
const LABELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The severity of a pino level (`"info"`, or 30 where levels are written as numbers). */
export function severityOf(level: unknown): { number: SeverityNumber; text?: string } {
  const label = typeof level === 'number' ? LABELS[level] : typeof level === 'string' ? level : undefined;
  const known = label === undefined ? undefined : SEVERITIES[label];
  if (known) return known;
  // A custom level: its name is all that can be said about it.
  return { number: SeverityNumber.UNSPECIFIED, ...(label === undefined ? {} : { text: label }) };
}

/**
 * The record of one JSON line; undefined for text that is not a JSON object.
 * `resource` holds attributes the record's resource already carries (service.name and
 * the like): a field repeating one of them with the same value is not repeated.
 */
export function recordOfLine(line: string, resource: Readonly<Record<string, unknown>> = {}): LogRecord | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const { level, time, msg, trace_id, span_id, trace_flags, err, ...rest } = fields as Record<string, unknown>;
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(rest)) {
    if (resource[key] !== value) attributes[key] = value as AnyValue;
  }
  if (err !== undefined) Object.assign(attributes, exceptionAttributes(err));
  const severity = severityOf(level);
  const timestamp = typeof time === 'string' ? Date.parse(time) : typeof time === 'number' ? time : Number.NaN;
  const context = spanContextOf(trace_id, span_id, trace_flags);
  return {
    severityNumber: severity.number,
    ...(severity.text === undefined ? {} : { severityText: severity.text }),
    ...(msg === undefined ? {} : { body: msg as AnyValue }),
    attributes,
    ...(Number.isFinite(timestamp) ? { timestamp } : {}),
    ...(context ? { context } : {}),
  };
}

/** Each record of a text of whole lines (one line of pino's, or a batch of access lines). */
export function forEachRecord(
  lines: string,
  resource: Readonly<Record<string, unknown>>,
  each: (record: LogRecord) => void,
): void {
  let start = 0;
  while (start < lines.length) {
    let end = lines.indexOf('\n', start);
    if (end === -1) end = lines.length;
    if (end > start) {
      const record = recordOfLine(lines.slice(start, end), resource);
      if (record) each(record);
    }
    start = end + 1;
  }
}

/**
 * A line's trace context as a context holding that span, for the record's trace and
 * span ids and flags. A line without `trace_flags` (one a user's own logger wrote)
 * claims no flag.
 */
function spanContextOf(traceId: unknown, spanId: unknown, flags: unknown): Context | undefined {
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  const traceFlags =
    typeof flags === 'string' && /^[0-9a-f]{2}$/i.test(flags) ? Number.parseInt(flags, 16) : TraceFlags.NONE;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags, isRemote: true });
}

/**
 * pino's serialized error (`err: {type, message, stack, ...}`) under the semantic
 * conventions' exception attributes; its other fields (a code, say) stay under `err`.
 */
function exceptionAttributes(err: unknown): Attributes {
  if (typeof err !== 'object' || err === null || Array.isArray(err)) return { err: err as AnyValue };
  const { type, message, stack, ...others } = err as Record<string, unknown>;
  return {
    ...(typeof type === 'string' ? { 'exception.type': type } : {}),
    ...(typeof message === 'string' ? { 'exception.message': message } : {}),
    ...(typeof stack === 'string' ? { 'exception.stacktrace': stack } : {}),
    ...(Object.keys(others).length > 0 ? { err: others as AnyValue } : {}),
  };
}
