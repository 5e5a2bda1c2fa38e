// The "feed" service of fixtures/stream as the streaming tests serve it, over gRPC or
// HTTP: telemetry exporting to a real OTLP receiver, the default server observers plus
// one that records each ended call, an ordinary middleware that records what it wraps,
// and a `feed` implementation that records what its handlers saw.
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { newError, reason } from '../../src/runtime/errors/errors.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import type { Context, Middleware } from '../../src/runtime/transport/context.js';
import type { CallObserver } from '../../src/runtime/transport/observer.js';
import type { Send } from '../../src/runtime/transport/stream.js';
import { OtlpReceiver } from './otlp.js';

export interface Item {
  id: string;
  topic: string;
  text: string;
  seq: string | number;
}

export interface WatchRequest {
  topic: string;
  count: number;
  intervalMs: number;
  failReason: string;
}

/** A call as the recording observer saw it end. */
export interface EndedCall {
  operation: string;
  failed: boolean;
  reason: string;
}

/** What a call's Context said of its message sizes as it ended. */
export interface CallSizes {
  operation: string;
  requestBytes?: number | undefined;
  responseBytes?: number | undefined;
}

export class FeedService {
  readonly receiver = new OtlpReceiver();
  telemetry!: Telemetry;
  readonly logger = createLogger({ name: 'feed', level: 'silent' });
  /** One entry per ended call, as the recording observer saw it. */
  readonly ended: EndedCall[] = [];
  /** The sizes of each ended call, as the recording observer saw them. */
  readonly sizes: CallSizes[] = [];
  /** What the middleware saw around each handler. */
  readonly wrapped: string[] = [];
  /** Per watched topic: the active span id inside the handler, and why its ctx.signal aborted. */
  readonly handlerSpan = new Map<string, string | undefined>();
  readonly aborted = new Map<string, unknown>();

  /** The server's observers: the defaults (tracing, access log, metrics), then the recorder. */
  get observers(): CallObserver[] {
    const record: CallObserver = {
      onStart: () => undefined,
      onEnd: (ctx, _started, { error }) => {
        this.ended.push({
          operation: ctx.transport.operation,
          failed: error !== undefined,
          reason: error !== undefined ? reason(error) : '',
        });
        const { requestBytes, responseBytes } = ctx;
        this.sizes.push({ operation: ctx.transport.operation, requestBytes, responseBytes });
      },
    };
    return [...defaultServerObservers({ logger: this.logger }), record];
  }

  /** The server's middleware: an ordinary async one that records the calls it wraps. */
  get middleware(): Middleware[] {
    const around: Middleware = (next) => async (ctx, req) => {
      this.wrapped.push(`in ${ctx.transport.operation}`);
      try {
        return await next(ctx, req);
      } finally {
        this.wrapped.push(`out ${ctx.transport.operation}`);
      }
    };
    return [around];
  }

  /**
   * The service's methods. watch sends `count` items (0: until cancelled, bounded),
   * `intervalMs` apart, then fails with `failReason` if given; topic "forbidden" fails
   * before the first item.
   */
  readonly feed = {
    getItem: async (_ctx: Context, req: { id: string }) => ({ id: req.id, topic: 't', text: 'x', seq: 7 }),
    watch: async (ctx: Context, req: WatchRequest, send: Send<Item>) => {
      ctx.signal.addEventListener('abort', () => this.aborted.set(req.topic, ctx.signal.reason));
      if (req.topic === 'forbidden') throw newError(403, 'TOPIC_FORBIDDEN', 'not your topic');
      for (let i = 0; req.count === 0 || i < req.count; i++) {
        await send({ id: `${req.topic}-${i}`, topic: req.topic, text: `line ${i}\nnext`, seq: i });
        // The server span stays the active context across the handler's awaits.
        this.handlerSpan.set(req.topic, trace.getActiveSpan()?.spanContext().spanId);
        if (req.intervalMs > 0) await sleep(req.intervalMs, undefined, { signal: ctx.signal });
        if (i > 500) throw new Error('bounded');
      }
      if (req.failReason) throw newError(409, req.failReason, 'the topic closed', { topic: req.topic });
    },
    publish: async (_ctx: Context, requests: AsyncIterable<Item>) => {
      const ids: string[] = [];
      for await (const item of requests) ids.push(item.id);
      if (ids.includes('bad')) throw newError(400, 'BAD_ITEM', 'an item was bad');
      return { count: ids.length, ids };
    },
    echo: async (_ctx: Context, requests: AsyncIterable<Item>, send: Send<Item>) => {
      for await (const item of requests) await send({ ...item, text: item.text.toUpperCase() });
    },
  };

  /** Starts the OTLP receiver and telemetry that exports every span to it. */
  async start(): Promise<void> {
    await this.receiver.start();
    this.telemetry = await setupTelemetry({
      serviceName: 'feed',
      serviceVersion: '1',
      instanceId: 'feed-1',
      otlp: { endpoint: this.receiver.endpoint },
      samplingRatio: 1,
    });
  }

  async stop(): Promise<void> {
    await this.telemetry?.shutdown();
    this.receiver.stop();
  }
}
