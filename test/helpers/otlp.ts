// OTLP trace receivers for tests (the gRPC one also decodes metric histograms), one per protocol, each speaking only its own:
// gRPC, HTTP with protobuf bodies, HTTP with JSON bodies. They accept what the
// exporter really sends and decode the spans (opentelemetry/proto/trace/v1/trace.proto
// field numbers, or the OTLP JSON mapping) without sharing any code with the exporter.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { BinaryReader, type WireType } from '@bufbuild/protobuf/wire';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  statusCode: number;
  attributes: Record<string, string | number | boolean>;
  serviceName: string;
  /** Its resource's attributes. */
  resource: Record<string, string | number | boolean>;
  /** The W3C tracestate, '' when none. */
  traceState: string;
  /** The instrumentation scope's name. */
  scope: string;
  /** The names of the span's events, in order. */
  events: string[];
  /** The attributes of each event, in the same order (protobuf exports only). */
  eventAttributes?: Record<string, unknown>[];
  /** End minus start time, in milliseconds (protobuf exports only). */
  durationMs?: number;
}

export function fields(bytes: Uint8Array, each: (field: number, wire: WireType, r: BinaryReader) => void): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    const before = r.pos;
    each(f, w, r);
    if (r.pos === before) r.skip(w, f);
  }
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Scalars as they are; an array as the JSON text of its values. */
function decodeAnyValue(bytes: Uint8Array): string | number | boolean {
  let v: string | number | boolean = '';
  fields(bytes, (f, _w, r) => {
    if (f === 1) v = r.string();
    else if (f === 2) v = r.bool();
    else if (f === 3) v = Number(r.int64());
    else if (f === 4) v = r.double();
    else if (f === 5) {
      const values: (string | number | boolean)[] = [];
      fields(r.bytes(), (f2, _w2, r2) => {
        if (f2 === 1) values.push(decodeAnyValue(r2.bytes()));
      });
      v = JSON.stringify(values);
    }
  });
  return v;
}

export function decodeAttributes(into: Record<string, string | number | boolean>, bytes: Uint8Array): void {
  let key = '';
  let value: string | number | boolean = '';
  fields(bytes, (f, _w, r) => {
    if (f === 1) key = r.string();
    else if (f === 2) value = decodeAnyValue(r.bytes());
  });
  into[key] = value;
}

/**
 * Each item of an OTLP export request, with its resource's attributes and its scope's
 * name: traces and logs nest the same way (request field 1 the resource's entries;
 * in each, 1 the resource and 2 the scope's entries; in each of those, 1 the scope and
 * 2 the items), only their items differ.
 */
export function forEachScopedItem(
  bytes: Uint8Array,
  each: (item: Uint8Array, resource: Record<string, string | number | boolean>, scope: string) => void,
): void {
  fields(bytes, (f, _w, r) => {
    if (f !== 1) return;
    const resource: Record<string, string | number | boolean> = {};
    const scoped: Uint8Array[] = [];
    fields(r.bytes(), (f2, _w2, r2) => {
      if (f2 === 1)
        fields(r2.bytes(), (f3, _w3, r3) => {
          if (f3 === 1) decodeAttributes(resource, r3.bytes());
        });
      else if (f2 === 2) scoped.push(r2.bytes());
    });
    for (const entry of scoped) {
      let scope = '';
      fields(entry, (f3, _w3, r3) => {
        if (f3 === 1)
          fields(r3.bytes(), (f4, _w4, r4) => {
            if (f4 === 1) scope = r4.string();
          }); // the scope, before its items
        else if (f3 === 2) each(r3.bytes(), resource, scope);
      });
    }
  });
}

export function decodeExportTraceRequest(bytes: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  forEachScopedItem(bytes, (item, resource, scope) => {
    const span: ReceivedSpan = {
      traceId: '',
      spanId: '',
      parentSpanId: '',
      name: '',
      kind: 0,
      statusCode: 0,
      attributes: {},
      serviceName: String(resource['service.name'] ?? ''),
      resource,
      traceState: '',
      scope,
      events: [],
    };
    let start: bigint | string = 0n;
    let end: bigint | string = 0n;
    fields(item, (f4, _w4, r4) => {
      if (f4 === 1) span.traceId = hex(r4.bytes());
      else if (f4 === 2) span.spanId = hex(r4.bytes());
      else if (f4 === 3) span.traceState = r4.string();
      else if (f4 === 4) span.parentSpanId = hex(r4.bytes());
      else if (f4 === 5) span.name = r4.string();
      else if (f4 === 6) span.kind = r4.int32();
      else if (f4 === 7) start = r4.fixed64();
      else if (f4 === 8) end = r4.fixed64();
      else if (f4 === 9) decodeAttributes(span.attributes, r4.bytes());
      else if (f4 === 11) {
        const attributes: Record<string, unknown> = {};
        fields(r4.bytes(), (f5, _w5, r5) => {
          if (f5 === 2) span.events.push(r5.string());
          else if (f5 === 3) decodeAttributes(attributes as never, r5.bytes());
        });
        (span.eventAttributes ??= []).push(attributes);
      } else if (f4 === 15)
        fields(r4.bytes(), (f5, _w5, r5) => {
          if (f5 === 3) span.statusCode = r5.int32();
        });
    });
    span.durationMs = Number(BigInt(end) - BigInt(start)) / 1e6;
    spans.push(span);
  });
  return spans;
}

/** One histogram data point of an OTLP metrics export. */
export interface ReceivedHistogramPoint {
  metric: string;
  unit: string;
  attributes: Record<string, string | number | boolean>;
  count: number;
  sum: number;
  bounds: number[];
  bucketCounts: number[];
}

/** Packed repeated fixed64 or double values (8 bytes each). */
function packed64(bytes: Uint8Array, read: (view: DataView, at: number) => number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength; at += 8) values.push(read(view, at));
  return values;
}

/** The histogram data points of an ExportMetricsServiceRequest (opentelemetry/proto/metrics/v1/metrics.proto). */
export function decodeExportMetricsHistograms(bytes: Uint8Array): ReceivedHistogramPoint[] {
  const points: ReceivedHistogramPoint[] = [];
  fields(bytes, (f, _w, r) => {
    if (f !== 1) return; // resource_metrics
    fields(r.bytes(), (f2, _w2, r2) => {
      if (f2 !== 2) return; // scope_metrics
      fields(r2.bytes(), (f3, _w3, r3) => {
        if (f3 !== 2) return; // metrics
        let metric = '';
        let unit = '';
        fields(r3.bytes(), (f4, _w4, r4) => {
          if (f4 === 1) metric = r4.string();
          else if (f4 === 3) unit = r4.string();
          else if (f4 === 9)
            fields(r4.bytes(), (f5, _w5, r5) => {
              if (f5 !== 1) return; // data_points
              const point: ReceivedHistogramPoint = {
                metric,
                unit,
                attributes: {},
                count: 0,
                sum: 0,
                bounds: [],
                bucketCounts: [],
              };
              fields(r5.bytes(), (f6, _w6, r6) => {
                if (f6 === 9) decodeAttributes(point.attributes, r6.bytes());
                else if (f6 === 4) point.count = Number(r6.fixed64());
                else if (f6 === 5) point.sum = r6.double();
                else if (f6 === 6)
                  point.bucketCounts = packed64(r6.bytes(), (v, at) => Number(v.getBigUint64(at, true)));
                else if (f6 === 7) point.bounds = packed64(r6.bytes(), (v, at) => v.getFloat64(at, true));
              });
              points.push(point);
            });
        });
      });
    });
  });
  return points;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** The histogram points of each metrics export, in order. */
  readonly histogramExports: ReceivedHistogramPoint[][] = [];
  /** The metadata of each export request. */
  readonly requests: Record<string, string>[] = [];
  private readonly server = new grpc.Server();
  endpoint = '';

  /** `silent`: take every export and never answer (a collector that hangs). */
  constructor(private readonly options: { silent?: boolean } = {}) {}

  async start(): Promise<void> {
    const raw = {
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    };
    this.server.addService(
      {
        traces: { ...raw, path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export' },
        metrics: { ...raw, path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export' },
      },
      {
        traces: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          const md: Record<string, string> = {};
          for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v);
          this.requests.push(md);
          if (this.options.silent) return;
          this.spans.push(...decodeExportTraceRequest(call.request));
          cb(null, Buffer.alloc(0));
        },
        metrics: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          this.histogramExports.push(decodeExportMetricsHistograms(call.request));
          cb(null, Buffer.alloc(0));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** The OTLP JSON mapping of ExportTraceServiceRequest, decoded to the same shape. */
export function decodeJsonTraceRequest(body: unknown): ReceivedSpan[] {
  type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
  type KeyValue = { key: string; value: AnyValue };
  const value = (v: AnyValue): string | number | boolean =>
    v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? '';
  const attrs = (list: KeyValue[] | undefined) =>
    Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
  const spans: ReceivedSpan[] = [];
  const request = body as {
    resourceSpans?: {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: { scope?: { name?: string }; spans?: Record<string, unknown>[] }[];
    }[];
  };
  for (const rs of request.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: String(s['traceId'] ?? ''),
          spanId: String(s['spanId'] ?? ''),
          parentSpanId: String(s['parentSpanId'] ?? ''),
          name: String(s['name'] ?? ''),
          kind: Number(s['kind'] ?? 0),
          statusCode: Number((s['status'] as { code?: number } | undefined)?.code ?? 0),
          attributes: attrs(s['attributes'] as KeyValue[] | undefined),
          serviceName: String(resource['service.name'] ?? ''),
          resource,
          traceState: String(s['traceState'] ?? ''),
          scope: ss.scope?.name ?? '',
          events: ((s['events'] as { name: string }[] | undefined) ?? []).map((e) => e.name),
        });
      }
    }
  }
  return spans;
}

/**
 * An OTLP/HTTP trace receiver that accepts one encoding only (`application/x-protobuf`
 * or `application/json`) and answers 415 to the other, as a collector configured for
 * one would refuse it. gzip bodies are inflated.
 */
export class OtlpHttpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** The headers of each export request. */
  readonly requests: http.IncomingHttpHeaders[] = [];
  /** Requests refused for their content type. */
  refused = 0;
  endpoint = '';
  private readonly server: http.Server;

  constructor(readonly accepts: 'protobuf' | 'json') {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push(req.headers);
        const type = String(req.headers['content-type'] ?? '');
        const wanted = accepts === 'json' ? 'application/json' : 'application/x-protobuf';
        if (req.url !== '/v1/traces' || !type.startsWith(wanted)) {
          this.refused++;
          res.writeHead(req.url !== '/v1/traces' ? 404 : 415).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        this.spans.push(
          ...(accepts === 'json'
            ? decodeJsonTraceRequest(JSON.parse(body.toString('utf8')))
            : decodeExportTraceRequest(body)),
        );
        res.writeHead(200, { 'content-type': wanted }).end(accepts === 'json' ? '{}' : Buffer.alloc(0));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
