// An OTLP/gRPC trace receiver for tests: accepts what the exporter really sends
// and decodes the spans (opentelemetry/proto/trace/v1/trace.proto field numbers),
// without sharing any code with the exporter.
import * as grpc from '@grpc/grpc-js';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  statusCode: number;
  attributes: Record<string, string | number | boolean>;
  serviceName: string;
  /** The W3C tracestate, '' when none. */
  traceState: string;
  /** The instrumentation scope's name. */
  scope: string;
}

function fields(bytes: Uint8Array, each: (field: number, wire: WireType, r: BinaryReader) => void): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    const before = r.pos;
    each(f, w, r);
    if (r.pos === before) r.skip(w, f);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function decodeAnyValue(bytes: Uint8Array): string | number | boolean {
  let v: string | number | boolean = '';
  fields(bytes, (f, _w, r) => {
    if (f === 1) v = r.string();
    else if (f === 2) v = r.bool();
    else if (f === 3) v = Number(r.int64());
    else if (f === 4) v = r.double();
  });
  return v;
}

function decodeAttributes(into: Record<string, string | number | boolean>, bytes: Uint8Array): void {
  let key = '';
  let value: string | number | boolean = '';
  fields(bytes, (f, _w, r) => {
    if (f === 1) key = r.string();
    else if (f === 2) value = decodeAnyValue(r.bytes());
  });
  into[key] = value;
}

export function decodeExportTraceRequest(bytes: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  fields(bytes, (f, _w, r) => {
    if (f !== 1) return; // resource_spans
    const resourceAttrs: Record<string, string | number | boolean> = {};
    const scopeSpans: Uint8Array[] = [];
    fields(r.bytes(), (f2, _w2, r2) => {
      if (f2 === 1) fields(r2.bytes(), (f3, _w3, r3) => { if (f3 === 1) decodeAttributes(resourceAttrs, r3.bytes()); });
      else if (f2 === 2) scopeSpans.push(r2.bytes());
    });
    for (const ss of scopeSpans) {
      let scope = '';
      fields(ss, (f3, _w3, r3) => {
        if (f3 === 1) fields(r3.bytes(), (f4, _w4, r4) => { if (f4 === 1) scope = r4.string(); }); // scope, before its spans
        if (f3 !== 2) return; // spans
        const span: ReceivedSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, statusCode: 0, attributes: {}, serviceName: String(resourceAttrs['service.name'] ?? ''), traceState: '', scope };
        fields(r3.bytes(), (f4, _w4, r4) => {
          if (f4 === 1) span.traceId = hex(r4.bytes());
          else if (f4 === 2) span.spanId = hex(r4.bytes());
          else if (f4 === 3) span.traceState = r4.string();
          else if (f4 === 4) span.parentSpanId = hex(r4.bytes());
          else if (f4 === 5) span.name = r4.string();
          else if (f4 === 6) span.kind = r4.int32();
          else if (f4 === 9) decodeAttributes(span.attributes, r4.bytes());
          else if (f4 === 15) fields(r4.bytes(), (f5, _w5, r5) => { if (f5 === 3) span.statusCode = r5.int32(); });
        });
        spans.push(span);
      });
    }
  });
  return spans;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server = new grpc.Server();
  endpoint = '';

  async start(): Promise<void> {
    const raw = { requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    this.server.addService(
      {
        traces: { ...raw, path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export' },
        metrics: { ...raw, path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export' },
      },
      {
        traces: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          this.spans.push(...decodeExportTraceRequest(call.request));
          cb(null, Buffer.alloc(0));
        },
        metrics: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(0)),
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
