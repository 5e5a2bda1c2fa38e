// Listen addresses ("0.0.0.0:8000") and the endpoints other processes should dial.
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port", ":port" or "[::1]:port"; the host defaults to 0.0.0.0. */
export function parseAddress(address: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`invalid listen address "${address}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid listen address "${address}": port out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * The host to advertise for a listener: a wildcard address is replaced by this
 * machine's first non-internal IPv4 address (as Kratos's host.Extract does), so
 * registry entries point at something reachable.
 */
export function advertisedHost(listenHost: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') return listenHost;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Listens on host:port and lets go at once: rejects with Node's own error when the
 * address cannot be bound (`listen EADDRINUSE: address already in use 0.0.0.0:9000`, as
 * any net listen words it), so a server can fail with it before its library gets to.
 */
export function probeListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port }, () => probe.close(() => resolve()));
  });
}
