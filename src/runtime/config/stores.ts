// Config held in etcd or in Consul's KV store, as Kratos's contrib/config/etcd and
// contrib/config/consul read it: one key, or every key under a prefix ending in `/`,
// each holding a YAML (or JSON) document, read before the service starts and watched
// after. `etcd://host:2379/configs/app.yaml`, `consul://host:8500/configs/app.yaml`;
// `+https` after the scheme for TLS, several hosts separated by commas.
//
// Both stores are spoken to over their documented HTTP APIs with fetch (etcd's v3 JSON
// gateway, Consul's /v1/kv with blocking queries) rather than through the etcd3 package:
// importing etcd3 takes about 200 ms and loads @grpc/grpc-js before the telemetry's
// instrumentations can patch it, and a project whose registry is not etcd has no client.
import { untraced } from '../telemetry/active-context.js';
import { fetchFailureMessage } from '../transport/http/fetch-failure.js';
import { ConfigError, type ConfigDocument, type ConfigEntry, type ConfigStore } from './config.js';
import { isStoreUrl, storeName } from './store-url.js';

export { isStoreUrl, storeName } from './store-url.js';

export interface StoreOptions {
  /** How long one read may take; default 5000 ms. */
  timeoutMs?: number | undefined;
  /** Where CONSUL_HTTP_TOKEN is read from; default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
  /** How long a failed watch waits before it tries again; default 1000 ms, doubling up to 30 s. */
  retryMs?: number | undefined;
}

/** A config store opened and read once: what `--conf etcd://...` or `--conf consul://...` names. */
export interface OpenedStore extends ConfigStore {
  close(): void;
}

const STORE_URL = /^(etcd|consul)(\+https)?:\/\/(?:([^@/]*)@)?([^/@?]+)(\/[^?]*)(?:\?(.*))?$/;
/** Under a prefix, the keys read are those a config directory's files would be named. */
const CONFIG_KEY = /\.(ya?ml|json)$/;

/**
 * `entries` with each store URL opened and read: files and directories are left as they
 * are, for loadConfig to read in the same order. A store that cannot be read throws a
 * ConfigError naming it (`config: etcd://etcd:2379/configs/app.yaml: no such key`).
 */
export async function openConfigEntries(
  entries: readonly string[],
  options: StoreOptions = {},
): Promise<ConfigEntry[]> {
  const opened: ConfigEntry[] = [];
  for (const entry of entries) opened.push(isStoreUrl(entry) ? await openStore(entry, options) : entry);
  return opened;
}

/** openConfigEntries, or each problem printed to stderr and exit 1, as loadConfigOrExit does. */
export async function openConfigEntriesOrExit(
  entries: readonly string[],
  options?: StoreOptions,
): Promise<ConfigEntry[]> {
  try {
    return await openConfigEntries(entries, options);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<OpenedStore> {
  const m = STORE_URL.exec(url);
  // Error lines and logs name the store without its credentials.
  const shown = storeName(url);
  if (!m)
    throw new ConfigError([
      `config: ${shown}: expected <etcd|consul>[+https]://host:port[,host:port]/key (a key ending in / reads every key under it)`,
    ]);
  const [, kind, tls, userinfo, hosts, path, query] = m as unknown as [
    string,
    'etcd' | 'consul',
    string | undefined,
    string | undefined,
    string,
    string,
    string | undefined,
  ];
  // An unencoded `/` or `@` in a password moves where the host seems to start: refused, not dialled.
  if (userinfo !== undefined && path.includes('@'))
    throw new ConfigError([`config: ${shown}: percent-encode ':', '@' and '/' in the user and password`]);
  if (kind === 'etcd' && query !== undefined)
    throw new ConfigError([`config: ${shown}: an etcd key takes no query (?${query})`]);
  const env = options.env ?? process.env;
  const place: Place = {
    kind,
    bases: hosts.split(',').map((h) => `${tls ? 'https' : 'http'}://${h}`),
    // etcd keys are whole paths (`/configs/app.yaml`); Consul's have no leading slash.
    key: kind === 'etcd' ? path : path.slice(1),
    prefix: path.endsWith('/'),
    name: shown,
    origin: `${kind}${tls ?? ''}://${hosts}${kind === 'etcd' ? '' : '/'}`,
    timeoutMs: options.timeoutMs ?? 5000,
  };
  let credentials: ReturnType<typeof etcdCredentials>;
  try {
    credentials = etcdCredentials(userinfo, env);
  } catch {
    throw new ConfigError([`config: ${shown}: the user or password is not percent-encoded text`]);
  }
  const client =
    kind === 'etcd'
      ? new EtcdKeys(place, credentials)
      : new ConsulKeys(place, env['CONSUL_HTTP_TOKEN'] || undefined, query);
  const store = new Store(place, client, options.retryMs ?? 1000);
  try {
    await store.read();
  } catch (err) {
    throw new ConfigError([`config: ${place.name}: ${(err as Error).message}`]);
  }
  return store;
}

/**
 * etcd's user and password: from the URL (`etcd://user:password@host/...`, percent-encoded),
 * else ETCD_USERNAME and ETCD_PASSWORD, which a Deployment can take from a Secret.
 */
export function etcdCredentials(
  userinfo: string | undefined,
  env: NodeJS.ProcessEnv,
): { name: string; password: string } | undefined {
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    const [name, password] = colon < 0 ? [userinfo, ''] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
    return { name: decodeURIComponent(name), password: decodeURIComponent(password) };
  }
  const name = env['ETCD_USERNAME'];
  return name ? { name, password: env['ETCD_PASSWORD'] ?? '' } : undefined;
}

interface Place {
  kind: 'etcd' | 'consul';
  /** Tried in order; the first that answers is used. */
  bases: string[];
  key: string;
  prefix: boolean;
  name: string;
  /** What a key is appended to for a document's name: the URL without credentials, key or query. */
  origin: string;
  timeoutMs: number;
}

interface Keys {
  /** The key's document (or the prefix's, by key), and the store's revision they are at. */
  read(signal?: AbortSignal): Promise<{ values: Map<string, string>; revision: string }>;
  /** Resolves when something under the key may have changed since `revision`; rejects when the store cannot be reached. */
  changedSince(revision: string, signal: AbortSignal): Promise<void>;
}

class Store implements OpenedStore {
  readonly name: string;
  private current: ConfigDocument[] = [];
  private revision = '';
  private readonly stopped = new AbortController();

  constructor(
    private readonly place: Place,
    private readonly keys: Keys,
    private readonly retryMs: number,
  ) {
    this.name = place.name;
  }

  documents(): readonly ConfigDocument[] {
    return this.current;
  }

  async read(): Promise<void> {
    const { values, revision } = await this.keys.read(this.stopped.signal);
    const keys = [...values.keys()].filter((k) => !this.place.prefix || CONFIG_KEY.test(k)).sort();
    if (keys.length === 0) throw new Error(this.missing());
    this.current = keys.map((k) => ({ name: `${this.place.origin}${k}`, text: values.get(k) as string }));
    this.revision = revision;
  }

  /** Why nothing was read, with the slip that most often causes it. */
  private missing(): string {
    const { key, prefix, kind } = this.place;
    if (prefix) return `no key ending in .yaml, .yml or .json under ${key}`;
    if (kind === 'consul' && key.startsWith('/'))
      return `no such key (${key}; Consul keys have no leading slash: consul://host:port/${key.replace(/^\/+/, '')})`;
    return `no such key (${key}; a prefix of several keys ends in /)`;
  }

  watch(changed: () => void, failed: (err: Error) => void, recovered?: () => void): () => void {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.stopped.signal]);
    void this.follow(changed, failed, recovered, signal);
    return () => stop.abort();
  }

  /**
   * Waits for a change, re-reads, says so. A failure is told once (and again only when
   * its reason changes), then retried with backoff until the store answers again.
   */
  private async follow(
    changed: () => void,
    failed: (err: Error) => void,
    recovered: (() => void) | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    let wait = this.retryMs;
    let failure: string | undefined;
    while (!signal.aborted) {
      try {
        if (failure !== undefined) await this.read();
        else {
          await this.keys.changedSince(this.revision, signal);
          await this.read();
        }
        // Every read may hold a change (after a failure, one made while the store was away).
        if (failure !== undefined) recovered?.();
        changed();
        failure = undefined;
        wait = this.retryMs;
      } catch (err) {
        if (signal.aborted) return;
        const message = (err as Error).message;
        if (message !== failure) failed(new ConfigError([`config: ${this.name}: ${message}`]));
        failure = message;
        await sleep(wait, signal);
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  close(): void {
    this.stopped.abort(new Error(`${this.name} closed`));
  }
}

/** etcd over its v3 JSON gateway (`/v3/kv/range`, `/v3/watch`); keys and values travel base64-encoded. */
class EtcdKeys implements Keys {
  constructor(
    private readonly place: Place,
    private readonly credentials: { name: string; password: string } | undefined,
  ) {}

  private range(): { key: string; range_end?: string } {
    const key = Buffer.from(this.place.key);
    if (!this.place.prefix) return { key: key.toString('base64') };
    // Every key that starts with the prefix: up to the prefix with its last byte plus one.
    const end = Buffer.from(key);
    end[end.length - 1] = (end[end.length - 1] as number) + 1;
    return { key: key.toString('base64'), range_end: end.toString('base64') };
  }

  async read(signal?: AbortSignal) {
    const answer = (await this.post('/v3/kv/range', this.range(), signal)) as {
      header?: { revision?: string };
      kvs?: { key: string; value?: string }[];
    };
    const values = new Map<string, string>();
    for (const kv of answer.kvs ?? [])
      values.set(
        Buffer.from(kv.key, 'base64').toString('utf8'),
        Buffer.from(kv.value ?? '', 'base64').toString('utf8'),
      );
    return { values, revision: answer.header?.revision ?? '0' };
  }

  async changedSince(revision: string, signal: AbortSignal): Promise<void> {
    const start_revision = String(BigInt(revision) + 1n);
    const res = await this.send('/v3/watch', { create_request: { ...this.range(), start_revision } }, signal, false);
    // The gateway streams one JSON object a line: first `created`, then events; a line with
    // events (or a cancel, as after a compaction) means a fresh read is due.
    const reader = res.body?.getReader();
    if (!reader) throw new Error('the watch answered without a body');
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) throw new Error('etcd ended the watch (restarted, or the connection was lost)');
        buffered += decoder.decode(value, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (!line) continue;
          const { result, error } = JSON.parse(line) as {
            result?: { events?: unknown[]; canceled?: boolean; cancel_reason?: string };
            error?: { message?: string };
          };
          if (error) throw new Error(`the watch failed: ${error.message ?? line}`);
          if (result?.events?.length || result?.canceled) return;
        }
      }
    } finally {
      void reader.cancel().catch(() => {});
    }
  }

  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send(path, body, signal, true);
    return JSON.parse(await res.text());
  }

  /** One request to the first endpoint that answers, authenticated when there are credentials. */
  private async send(path: string, body: unknown, signal: AbortSignal | undefined, timed: boolean): Promise<Response> {
    const token = this.credentials ? await this.authenticate(signal) : undefined;
    try {
      return await requestAny(this.place, path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
        body: JSON.stringify(body),
        signal,
        timed,
      });
    } catch (err) {
      if (!token && /user name is empty/.test((err as Error).message))
        throw new Error(
          `${(err as Error).message} (etcd has auth on: give etcd://<user>:<password>@host:port/..., or ETCD_USERNAME and ETCD_PASSWORD)`,
        );
      throw err;
    }
  }

  private async authenticate(signal?: AbortSignal): Promise<string> {
    const res = await requestAny(this.place, '/v3/auth/authenticate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.credentials),
      signal,
      timed: true,
    });
    const { token } = JSON.parse(await res.text()) as { token?: string };
    if (!token) throw new Error('etcd gave no token for the credentials');
    return token;
  }
}

/** Consul's KV store (`/v1/kv/<key>`, `?recurse` for a prefix), watched with blocking queries. */
class ConsulKeys implements Keys {
  constructor(
    private readonly place: Place,
    private readonly token: string | undefined,
    /** The URL's own query, passed on: `dc=eu`, `ns=team` (Consul Enterprise). */
    private readonly query: string | undefined,
  ) {}

  private path(query: string): string {
    const key = this.place.key.split('/').map(encodeURIComponent).join('/');
    const params = [this.place.prefix ? 'recurse=true' : '', this.query ?? '', query].filter(Boolean).join('&');
    return `/v1/kv/${key}?${params}`;
  }

  private headers(): Record<string, string> {
    return this.token ? { 'x-consul-token': this.token } : {};
  }

  async read(signal?: AbortSignal) {
    const res = await requestAny(this.place, this.path(''), {
      headers: this.headers(),
      signal,
      timed: true,
      missing: true,
    });
    const values = new Map<string, string>();
    if (res.status !== 404) {
      const entries = JSON.parse(await res.text()) as { Key: string; Value: string | null }[];
      // A key ending in `/` is a folder Consul's UI made; it holds no document.
      for (const e of entries)
        if (!e.Key.endsWith('/')) values.set(e.Key, Buffer.from(e.Value ?? '', 'base64').toString('utf8'));
    }
    return { values, revision: res.headers.get('x-consul-index') ?? '0' };
  }

  async changedSince(revision: string, signal: AbortSignal): Promise<void> {
    // A blocking query answers when the index moves past `revision` or after `wait`; an
    // unchanged index is a timeout, and the next query waits again.
    for (;;) {
      const res = await requestAny(this.place, this.path(`index=${revision}&wait=5m`), {
        headers: this.headers(),
        signal,
        timed: false,
        missing: true,
      });
      await res.body?.cancel();
      if ((res.headers.get('x-consul-index') ?? revision) !== revision) return;
    }
  }
}

/**
 * The request to each base in turn until one answers; a non-2xx answer (bar a 404 when
 * `missing` allows it) throws with the store's own words.
 */
async function requestAny(
  place: Place,
  path: string,
  init: {
    method?: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal | undefined;
    /** Cut off after the place's timeout (not a watch, which waits as long as nothing changes). */
    timed: boolean;
    missing?: boolean;
  },
): Promise<Response> {
  let last: Error | undefined;
  for (const base of place.bases) {
    const timeout = AbortSignal.timeout(place.timeoutMs);
    const signals = [...(init.signal ? [init.signal] : []), ...(init.timed ? [timeout] : [])];
    let res: Response;
    try {
      // The config's own traffic, not part of any call: never traced, even with fetch instrumented.
      res = await untraced(() =>
        fetch(`${base}${path}`, {
          method: init.method ?? 'GET',
          headers: init.headers,
          ...(init.body !== undefined ? { body: init.body } : {}),
          signal: AbortSignal.any(signals),
        }),
      );
    } catch (err) {
      if (init.signal?.aborted) throw init.signal.reason;
      last = new Error(
        timeout.aborted && init.timed
          ? `${base} gave no answer within ${place.timeoutMs} ms`
          : `${base}: ${fetchFailureMessage(err)}`,
      );
      continue;
    }
    if (res.ok || (init.missing && res.status === 404)) return res;
    const said = storeMessage((await res.text().catch(() => '')).trim());
    throw new Error(`${base}${path.split('?')[0]} answered ${res.status}${said ? `: ${said}` : ''}`);
  }
  throw last ?? new Error('no endpoint to ask');
}

/** What the store said: etcd's gateway answers errors as JSON with a `message`, Consul in plain text. */
function storeMessage(body: string): string {
  try {
    const { message } = JSON.parse(body) as { message?: unknown };
    if (typeof message === 'string' && message) return message;
  } catch {
    // plain text
  }
  return body;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
