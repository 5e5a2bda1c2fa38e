// A stand-in for the Consul agent, following its documented HTTP API
// (https://developer.hashicorp.com/consul/api-docs/agent/service,
// .../api-docs/health and .../api-docs/features/blocking): register, deregister,
// read one service, /v1/health/service with blocking queries (index + wait,
// X-Consul-Index), HTTP checks run every Interval (starting at Status, critical by
// default), DeregisterCriticalServiceAfter, ACL tokens (X-Consul-Token), and the KV
// store (.../api-docs/kv: GET with ?recurse and blocking queries, PUT, DELETE).
// No Consul server can be installed on the CI machines, so the registry is tested against this.
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

interface CheckState {
  status: 'passing' | 'warning' | 'critical';
  criticalSince?: number | undefined;
  timer?: NodeJS.Timeout;
}

export class ConsulStandIn {
  readonly services = new Map<string, Registered>();
  readonly checks = new Map<string, CheckState>();
  /** The KV store: key -> value and the index it was last written at. */
  readonly kv = new Map<string, { value: Buffer; modifyIndex: number }>();
  /** The raft index X-Consul-Index reports; a test may set it (0: nothing written yet). */
  index = 1;
  /** When set, every request must carry it as X-Consul-Token (403 "Permission denied" otherwise). */
  token?: string | undefined;
  /** Accept requests and never answer them, as an agent that hangs. */
  hang = false;
  /** Answer /v1/health/service with this status (an agent that lost its servers answers 500). */
  healthStatus?: number | undefined;
  /** Requests seen, as `METHOD /path` (no query). */
  readonly requests: string[] = [];
  /** Their queries, as `?a=b&c=d` ('' for none), in the same order. */
  readonly queries: string[] = [];
  /** Tokens the requests carried, in order. */
  readonly tokens: (string | undefined)[] = [];
  private waiters: (() => void)[] = [];
  private hung: http.ServerResponse[] = [];
  private server = http.createServer((req, res) => void this.handle(req, res));

  /** Listens on `port` (default: any free one) and returns the agent's address. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections open now (a client that aborted its requests has closed them). */
  async connections(): Promise<number> {
    return new Promise((r) => this.server.getConnections((_, n) => r(n)));
  }

  async stop(): Promise<void> {
    this.wipe();
    for (const w of this.waiters.splice(0)) w();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Forgets every service, as an agent restarted without its data directory. */
  wipe(): void {
    for (const c of this.checks.values()) clearInterval(c.timer);
    this.checks.clear();
    this.services.clear();
    this.bump();
  }

  private bump(): void {
    this.index++;
    for (const w of this.waiters.splice(0)) w();
  }

  private remove(id: string): boolean {
    clearInterval(this.checks.get(id)?.timer);
    this.checks.delete(id);
    const had = this.services.delete(id);
    if (had) this.bump();
    return had;
  }

  /** Runs the service's HTTP check every Interval, as the agent does, and reaps it when critical too long. */
  private runCheck(id: string, check: Record<string, unknown>): void {
    const state: CheckState = { status: (check['Status'] as CheckState['status']) ?? 'critical' };
    if (state.status === 'critical') state.criticalSince = Date.now();
    this.checks.set(id, state);
    const url = check['HTTP'] as string | undefined;
    if (!url) return;
    const reapAfter = check['DeregisterCriticalServiceAfter'];
    state.timer = setInterval(
      async () => {
        const status = await fetch(url, { signal: AbortSignal.timeout(parseWait(String(check['Timeout'] ?? '10s'))) })
          .then((r) => (r.ok ? 'passing' : r.status === 429 ? 'warning' : 'critical'))
          .catch(() => 'critical' as const);
        if (this.checks.get(id) !== state) return;
        if (status !== 'critical') state.criticalSince = undefined;
        else state.criticalSince ??= Date.now();
        if (status !== state.status) {
          state.status = status;
          this.bump();
        }
        if (reapAfter && state.criticalSince && Date.now() - state.criticalSince >= parseWait(String(reapAfter)))
          this.remove(id);
      },
      parseWait(String(check['Interval'] ?? '10s')),
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}`);
    this.queries.push(url.search);
    const token = req.headers['x-consul-token'] as string | undefined;
    this.tokens.push(token);
    const body = await new Promise<string>((r) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => r(s));
    });
    if (this.hang) {
      this.hung.push(res);
      return;
    }
    if (this.token !== undefined && token !== this.token) return this.send(res, 403, 'Permission denied');
    if (req.method === 'PUT' && url.pathname === '/v1/agent/service/register') {
      const s = JSON.parse(body) as Registered & { Name: string };
      if (!s.Name) return this.send(res, 400, 'missing service name');
      const id = s.ID ?? s.Name;
      this.remove(id);
      // The agent adds the service address as its LAN and WAN IPv4 tagged addresses.
      const own: Registered['TaggedAddresses'] = /^\d+\.\d+\.\d+\.\d+$/.test(s.Address ?? '')
        ? { lan_ipv4: { Address: s.Address, Port: s.Port }, wan_ipv4: { Address: s.Address, Port: s.Port } }
        : {};
      this.services.set(id, { ...s, ID: id, Service: s.Name, TaggedAddresses: { ...s.TaggedAddresses, ...own } });
      this.runCheck(id, s.Check ?? {});
      this.bump();
      return this.send(res, 200, '');
    }
    const dereg = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(url.pathname);
    if (req.method === 'PUT' && dereg) {
      if (!this.remove(decodeURIComponent(dereg[1]!))) return this.send(res, 404, 'Unknown service ID');
      return this.send(res, 200, '');
    }
    const one = /^\/v1\/agent\/service\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      const s = this.services.get(decodeURIComponent(one[1]!));
      if (!s) return this.send(res, 404, `unknown service ID: ${decodeURIComponent(one[1]!)}`);
      return this.send(res, 200, JSON.stringify(s), 'application/json');
    }
    const kv = /^\/v1\/kv\/(.*)$/.exec(url.pathname);
    if (kv) return this.handleKv(req.method ?? 'GET', decodeURIComponent(kv[1]!), url, body, res);
    const health = /^\/v1\/health\/service\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && health) {
      if (this.healthStatus) return this.send(res, this.healthStatus, 'No cluster leader');
      await this.block(url);
      const name = decodeURIComponent(health[1]!);
      const passingOnly = url.searchParams.has('passing') && url.searchParams.get('passing') !== 'false';
      const entries = [...this.services.values()]
        .filter((s) => s.Service === name)
        .map((s) => ({
          Node: { Node: 'standin', Address: '127.0.0.1' },
          Service: s,
          Checks: [{ Status: this.checks.get(s.ID)?.status ?? 'critical', ServiceID: s.ID }],
        }))
        .filter((e) => !passingOnly || e.Checks[0]!.Status === 'passing');
      res.setHeader('X-Consul-Index', String(this.index));
      return this.send(res, 200, JSON.stringify(entries), 'application/json');
    }
    this.send(res, 404, 'not found');
  }

  /** A blocking query: index 0 (or none) answers at once; otherwise it waits while the index has not passed it. */
  private async block(url: URL): Promise<void> {
    const wantIndex = Number(url.searchParams.get('index') ?? 0);
    if (wantIndex > 0 && wantIndex >= this.index) {
      const waitMs = parseWait(url.searchParams.get('wait') ?? '5m');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Writes a key as `PUT /v1/kv/<key>` would. */
  putKey(key: string, value: string): void {
    this.bump();
    this.kv.set(key, { value: Buffer.from(value), modifyIndex: this.index });
  }

  deleteKey(key: string): void {
    if (this.kv.delete(key)) this.bump();
  }

  private async handleKv(method: string, key: string, url: URL, body: string, res: http.ServerResponse): Promise<void> {
    if (method === 'PUT') {
      this.putKey(key, body);
      return this.send(res, 200, 'true', 'application/json');
    }
    if (method === 'DELETE') {
      this.deleteKey(key);
      return this.send(res, 200, 'true', 'application/json');
    }
    await this.block(url);
    const recurse = url.searchParams.has('recurse') && url.searchParams.get('recurse') !== 'false';
    const entries = [...this.kv.entries()]
      .filter(([k]) => (recurse ? k.startsWith(key) : k === key))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => ({
        LockIndex: 0,
        Key: k,
        Flags: 0,
        Value: v.value.length > 0 ? v.value.toString('base64') : null,
        CreateIndex: v.modifyIndex,
        ModifyIndex: v.modifyIndex,
      }));
    res.setHeader('X-Consul-Index', String(this.index));
    if (entries.length === 0) return this.send(res, 404, '');
    return this.send(res, 200, JSON.stringify(entries), 'application/json');
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
