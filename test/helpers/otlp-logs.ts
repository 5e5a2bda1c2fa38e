// OTLP log receivers for tests, over HTTP (POST /v1/logs as protobuf or as the OTLP
// JSON mapping) and gRPC (LogsService/Export), decoding what arrives here
// (opentelemetry/proto/logs/v1/logs.proto field numbers) with no code shared with
// the exporter under test.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodeAttributes, fields, forEachScopedItem, hex } from './otlp.js';

export interface ReceivedLogRecord {
  body: string;
  severityNumber: number;
  severityText: string;
  attributes: Record<string, string | number | boolean>;
  /** '' when the record has no span context. */
  traceId: string;
  spanId: string;
  /** The trace flags (W3C: 1 sampled), 0 when the record claims none. */
  flags: number;
  /** Milliseconds since the epoch (from time_unix_nano). */
  timeMs: number;
  scope: string;
  resource: Record<string, string | number | boolean>;
}

/** The log records of an ExportLogsServiceRequest. */
export function decodeExportLogsRequest(bytes: Uint8Array): ReceivedLogRecord[] {
  const records: ReceivedLogRecord[] = [];
  forEachScopedItem(bytes, (item, resource, scope) => {
    const record: ReceivedLogRecord = {
      body: '',
      severityNumber: 0,
      severityText: '',
      attributes: {},
      traceId: '',
      spanId: '',
      flags: 0,
      timeMs: 0,
      scope,
      resource,
    };
    fields(item, (f4, _w4, r4) => {
      if (f4 === 1) record.timeMs = Number(BigInt(r4.fixed64()) / 1_000_000n);
      else if (f4 === 2) record.severityNumber = r4.int32();
      else if (f4 === 3) record.severityText = r4.string();
      else if (f4 === 5)
        fields(r4.bytes(), (f5, _w5, r5) => {
          if (f5 === 1) record.body = r5.string();
        });
      else if (f4 === 6) decodeAttributes(record.attributes, r4.bytes());
      else if (f4 === 9) record.traceId = hex(r4.bytes());
      else if (f4 === 8) record.flags = r4.fixed32();
      else if (f4 === 10) record.spanId = hex(r4.bytes());
    });
    records.push(record);
  });
  return records;
}

/** The OTLP JSON mapping of ExportLogsServiceRequest, decoded to the same shape. */
export function decodeJsonLogsRequest(body: unknown): ReceivedLogRecord[] {
  type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
  type KeyValue = { key: string; value: AnyValue };
  const value = (v: AnyValue | undefined): string | number | boolean =>
    v?.stringValue ??
    v?.boolValue ??
    (v?.intValue !== undefined ? Number(v.intValue) : undefined) ??
    v?.doubleValue ??
    '';
  const attrs = (list: KeyValue[] | undefined) =>
    Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
  const request = body as {
    resourceLogs?: {
      resource?: { attributes?: KeyValue[] };
      scopeLogs?: { scope?: { name?: string }; logRecords?: Record<string, unknown>[] }[];
    }[];
  };
  const records: ReceivedLogRecord[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = attrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const l of sl.logRecords ?? []) {
        records.push({
          body: String(value(l['body'] as AnyValue | undefined)),
          severityNumber: Number(l['severityNumber'] ?? 0),
          severityText: String(l['severityText'] ?? ''),
          attributes: attrs(l['attributes'] as KeyValue[] | undefined),
          traceId: String(l['traceId'] ?? ''),
          spanId: String(l['spanId'] ?? ''),
          flags: Number(l['flags'] ?? 0),
          timeMs: Number(BigInt(String(l['timeUnixNano'] ?? '0')) / 1_000_000n),
          scope: sl.scope?.name ?? '',
          resource,
        });
      }
    }
  }
  return records;
}

/** Takes POST /v1/logs in either encoding (by its content type) and POST /v1/traces; other paths get 404 and are counted. */
export class OtlpLogsReceiver {
  readonly records: ReceivedLogRecord[] = [];
  /** The content type of each export request. */
  readonly contentTypes: string[] = [];
  /** Trace exports, taken and not decoded. */
  traceRequests = 0;
  /** Requests to any other path. */
  others = 0;
  endpoint = '';
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        // Spans are only taken, so a service can trace to the same collector.
        this.traceRequests++;
        res.writeHead(200, { 'content-type': String(req.headers['content-type']) }).end();
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/logs') {
        this.others++;
        res.writeHead(404).end();
        return;
      }
      const type = String(req.headers['content-type'] ?? '');
      this.contentTypes.push(type);
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const json = type.startsWith('application/json');
      this.records.push(
        ...(json ? decodeJsonLogsRequest(JSON.parse(body.toString('utf8'))) : decodeExportLogsRequest(body)),
      );
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : Buffer.alloc(0));
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** Takes LogsService/Export over plaintext gRPC. */
export class OtlpGrpcLogsReceiver {
  readonly records: ReceivedLogRecord[] = [];
  endpoint = '';
  private readonly server = new grpc.Server();

  async start(): Promise<void> {
    const raw = (b: Buffer) => b;
    this.server.addService(
      {
        export: {
          path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: raw,
          requestDeserialize: raw,
          responseSerialize: raw,
          responseDeserialize: raw,
        },
      },
      {
        export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          this.records.push(...decodeExportLogsRequest(call.request));
          cb(null, Buffer.alloc(0));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.endpoint = `127.0.0.1:${port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
