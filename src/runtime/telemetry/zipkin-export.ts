// Trace export to Zipkin (OTEL_TRACES_EXPORTER=zipkin), as sdk-node sets it up: the
// SDK's Zipkin exporter behind its batch span processor. The exporter reads
// OTEL_EXPORTER_ZIPKIN_ENDPOINT itself; its package is imported only by services
// that ask for Zipkin.
//
// Two parts differ. The exporter's sender has no timeout: against a Zipkin that
// accepts a connection and never answers, every batch left its request (a socket and
// the spans' JSON) open for good, and a flush waited on them; ours makes the same
// request and gives up in time. And failures are reported as OTLP's are, once as they
// start and once as they end, and counted: the batch processor would log an error for
// every failed batch, one a second while Zipkin is down. Spans its full queue drops are
// counted as OTLP's are.
import http from 'node:http';
import https from 'node:https';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import * as tracing from '@opentelemetry/sdk-trace';
import { positiveNumberFromEnv } from './env-number.js';
import { type ExportHealth, reportedTo } from './export-health.js';
import type { SpanBatcherOptions } from './span-batcher.js';

/** OTEL_EXPORTER_ZIPKIN_TIMEOUT's default in the OpenTelemetry specification. */
export const DEFAULT_ZIPKIN_TIMEOUT_MS = 10_000;

/** A batch span processor sending to Zipkin, with the same queue and batch settings as OTLP export. */
export async function zipkinSpanProcessor(
  batching: SpanBatcherOptions,
  health: ExportHealth,
  env: NodeJS.ProcessEnv = process.env,
): Promise<tracing.SpanProcessor> {
  const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');
  const exporter = new ZipkinExporter();
  // A request ends by the sooner of the two timeouts; the processor's own comes later,
  // so every failure is the sender's, reported below.
  const timeoutMs = Math.min(
    positiveNumberFromEnv(env, 'OTEL_EXPORTER_ZIPKIN_TIMEOUT', DEFAULT_ZIPKIN_TIMEOUT_MS),
    batching.exportTimeoutMillis,
  );
  boundSends(exporter, timeoutMs);
  return countingQueueDrops(
    new tracing.BatchSpanProcessor({
      exporter: reportedTo(health, exporter, (spans) => spans.length),
      ...batching,
      exportTimeoutMillis: timeoutMs + 1000,
    }),
    health,
  );
}

/**
 * `processor` with each span its full queue drops told to `health`, as tsk's OTLP
 * batcher tells it: the SDK's processor only counts them for its own warning. Its
 * warning is kept.
 */
export function countingQueueDrops(processor: tracing.BatchSpanProcessor, health: ExportHealth): tracing.SpanProcessor {
  const internals = processor as unknown as { _droppedSpansCount?: number };
  // A newer sdk-trace that counts elsewhere must fail the tests, not stop counting quietly.
  if (typeof internals._droppedSpansCount !== 'number')
    throw new Error('@opentelemetry/sdk-trace no longer has the drop count tsk reads (_droppedSpansCount)');
  return {
    onStart: (span, context) => processor.onStart(span, context),
    onEnd(span) {
      const before = internals._droppedSpansCount!;
      processor.onEnd(span);
      if (internals._droppedSpansCount! > before) health.drop('queue_full', 1);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

type Send = (spans: unknown[], done: (result: ExportResult) => void) => void;

/** Gives `exporter` (a ZipkinExporter) a sender that gives up after `timeoutMs`. */
export function boundSends(exporter: object, timeoutMs: number): void {
  const internals = exporter as { _send?: Send; _urlStr?: string };
  // A newer exporter-zipkin that keeps these elsewhere must fail the tests, not leak quietly.
  if (typeof internals._send !== 'function' || typeof internals._urlStr !== 'string')
    throw new Error('@opentelemetry/exporter-zipkin no longer has the sender tsk bounds (_send, _urlStr)');
  internals._send = zipkinSender(internals._urlStr, timeoutMs);
}

/** Posts spans as the SDK's sender does (JSON, a status under 400 is success), within `timeoutMs`. */
export function zipkinSender(url: string, timeoutMs: number): Send {
  const target = new URL(url);
  const { request } = target.protocol === 'http:' ? http : https;
  return (spans, done) => {
    if (spans.length === 0) return done({ code: ExportResultCode.SUCCESS });
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
    };
    const req = request(target, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', finish);
      res.on('end', () =>
        finish(status < 400 ? undefined : new Error(`Got unexpected status code from zipkin: ${status}`)),
      );
      res.resume();
    });
    const timer = setTimeout(() => {
      const error = new Error(`Zipkin did not answer within ${timeoutMs} ms (OTEL_EXPORTER_ZIPKIN_TIMEOUT)`);
      finish(error);
      req.destroy(error);
    }, timeoutMs);
    timer.unref();
    req.on('error', finish);
    req.end(JSON.stringify(spans), 'utf8');
  };
}
