// A stand-in for the Consul agent, following its documented HTTP API
// (https://developer.hashicorp.com/consul/api-docs/agent/service and
// .../api-docs/health): register, deregister, and /v1/health/service with
// blocking queries (index + wait, X-Consul-Index). No Consul server can be
// installed on the CI machines, so the registry is tested against this.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Registered {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
  TaggedAddresses: Record<string, { Address: string; Port: number }>;
  Check: Record<string, unknown>;
}

export class ConsulStandIn {
  readonly services = new Map<string, Registered>();
  private index = 1;
  private waiters: (() => void)[] = [];
  private server = http.createServer((req, res) => void this.handle(req, res));

  /** Listens on `port` (default: any free one) and returns the agent's address. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private bump(): void {
    this.index++;
    for (const w of this.waiters.splice(0)) w();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await new Promise<string>((r) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => r(s));
    });
    if (req.method === 'PUT' && url.pathname === '/v1/agent/service/register') {
      const s = JSON.parse(body) as Registered & { Name: string };
      if (!s.Name) return this.send(res, 400, 'missing service name');
      this.services.set(s.ID ?? s.Name, { ...s, ID: s.ID ?? s.Name, Service: s.Name });
      this.bump();
      return this.send(res, 200, '');
    }
    const dereg = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(url.pathname);
    if (req.method === 'PUT' && dereg) {
      if (!this.services.delete(decodeURIComponent(dereg[1]!))) return this.send(res, 404, 'Unknown service ID');
      this.bump();
      return this.send(res, 200, '');
    }
    const health = /^\/v1\/health\/service\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && health) {
      const wantIndex = Number(url.searchParams.get('index') ?? 0);
      if (wantIndex >= this.index) {
        const waitMs = parseWait(url.searchParams.get('wait') ?? '5m');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, waitMs);
          this.waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      const name = decodeURIComponent(health[1]!);
      const entries = [...this.services.values()]
        .filter((s) => s.Service === name)
        .map((s) => ({
          Node: { Node: 'standin', Address: '127.0.0.1' },
          Service: s,
          Checks: [{ Status: 'passing', ServiceID: s.ID }],
        }));
      res.setHeader('X-Consul-Index', String(this.index));
      return this.send(res, 200, JSON.stringify(entries), 'application/json');
    }
    this.send(res, 404, 'not found');
  }

  private send(res: http.ServerResponse, status: number, body: string, type = 'text/plain'): void {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  }
}

function parseWait(w: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(w);
  if (!m) return 300_000;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
