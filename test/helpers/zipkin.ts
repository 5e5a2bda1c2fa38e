// A Zipkin collector stand-in for tests: takes POST /api/v2/spans with a JSON array of
// Zipkin v2 spans, as a Zipkin server does, and keeps them as it got them. Anything
// else is answered 404 (wrong path) or 415 (not JSON) and counted as refused.
import http from 'node:http';

/** A span in Zipkin's v2 JSON model (the fields the OpenTelemetry exporter writes). */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  /** Epoch microseconds. */
  timestamp: number;
  /** Microseconds. */
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
}

export class ZipkinReceiver {
  readonly spans: ZipkinSpan[] = [];
  /** Requests not taken (wrong path or content type). */
  refused = 0;
  /** The spans URL, to set as OTEL_EXPORTER_ZIPKIN_ENDPOINT. */
  endpoint = '';
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v2/spans') {
        this.refused++;
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        this.refused++;
        res.writeHead(415).end();
        return;
      }
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (!Array.isArray(body)) {
        this.refused++;
        res.writeHead(400).end();
        return;
      }
      this.spans.push(...(body as ZipkinSpan[]));
      res.writeHead(202).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/api/v2/spans`;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
