// Config read from etcd (a real etcd server, written to with the etcd3 package) and from
// Consul's KV store (the stand-in that follows its documented HTTP API), merged with files,
// and watched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, watchConfig } from '../../../src/runtime/config/config.js';
import { type OpenedStore, openConfigEntries, openStore } from '../../../src/runtime/config/stores.js';
import type { MessageSchema } from '../../../src/runtime/transport/http/route.js';
import { EtcdRegistry } from '../../../src/runtime/registry/etcd.js';
import { ConsulStandIn } from '../../helpers/consul-standin.js';
import { EtcdProcess, etcdAvailable, etcdForTests, freePort } from '../../helpers/etcd.js';

const Server: MessageSchema = {
  typeName: 'conf.Server',
  fields: [{ name: 'addr', jsonName: 'addr', kind: 'scalar', scalar: 'string' }],
};
const Log: MessageSchema = {
  typeName: 'conf.Log',
  fields: [{ name: 'level', jsonName: 'level', kind: 'scalar', scalar: 'string' }],
};
const layout: MessageSchema = {
  typeName: 'conf.Bootstrap',
  fields: [
    { name: 'server', jsonName: 'server', kind: 'message', typeName: 'conf.Server', schema: () => Server },
    { name: 'log', jsonName: 'log', kind: 'message', typeName: 'conf.Log', schema: () => Log },
  ],
};
const schema = { fromJSON: (o: unknown) => o as { server?: { addr?: string }; log?: { level?: string } } };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-stores-'));
const base = path.join(dir, 'config.yaml');
fs.writeFileSync(base, 'server:\n  addr: ":8000"\nlog:\n  level: info\n');

const opened: OpenedStore[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
async function open(url: string, options?: Parameters<typeof openStore>[1]): Promise<OpenedStore> {
  const store = await openStore(url, options);
  opened.push(store);
  return store;
}

async function problemOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

/** The configs watchConfig passes on, and the errors it reports, as they arrive. */
function watched(files: Parameters<typeof watchConfig>[0]['files']) {
  const changes: unknown[] = [];
  const errors: string[] = [];
  const stop = watchConfig(
    { files, schema, layout },
    (c) => changes.push(c),
    (e) => errors.push(e.message),
  );
  return { changes, errors, stop };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('store URLs', () => {
  it('refuses a URL without a key, naming the form', async () => {
    expect(await problemOf(openStore('etcd://127.0.0.1:2379'))).toBe(
      'config: etcd://127.0.0.1:2379: expected <etcd|consul>[+https]://host:port[,host:port]/key (a key ending in / reads every key under it)',
    );
  });

  it('never shows the credentials of a URL it refuses', async () => {
    const refused =
      'config: etcd://127.0.0.1:2379: expected <etcd|consul>[+https]://host:port[,host:port]/key (a key ending in / reads every key under it)';
    expect(await problemOf(openStore('etcd://root:secret@127.0.0.1:2379'))).toBe(refused);
    // A password with an unencoded / or @ is not shown in part either.
    expect(await problemOf(openStore('etcd://root:pa@ss/wd@127.0.0.1:2379/configs/a.yaml'))).toBe(
      "config: etcd://127.0.0.1:2379/configs/a.yaml: percent-encode ':', '@' and '/' in the user and password",
    );
    expect(await problemOf(openStore('etcd://127.0.0.1:2379/configs/a.yaml?dc=eu'))).toBe(
      'config: etcd://127.0.0.1:2379/configs/a.yaml?dc=eu: an etcd key takes no query (?dc=eu)',
    );
  });

  it('leaves files and directories in place, in order', async () => {
    expect(await openConfigEntries([base, dir])).toEqual([base, dir]);
  });
});

describe.skipIf(!etcdAvailable() && !process.env['CI'])('config in etcd (real etcd)', () => {
  const live = etcdForTests();
  let at: string;
  beforeAll(() => {
    at = `etcd://127.0.0.1:${live.etcd.clientPort}`;
  });

  it('merges a key over the file, and names the key and line of a wrong value', async () => {
    await live.admin.put('/configs/demo.yaml').value('log:\n  level: debug\n');
    const store = await open(`${at}/configs/demo.yaml`);
    expect(loadConfig({ files: [base, store], schema, layout })).toEqual({
      server: { addr: ':8000' },
      log: { level: 'debug' },
    });

    await live.admin.put('/configs/bad.yaml').value('# tuned\nserver:\n  addr: 5\n');
    const bad = await open(`${at}/configs/bad.yaml`);
    expect(() => loadConfig({ files: [base, bad], schema, layout })).toThrow(
      `config: ${at}/configs/bad.yaml:3: server.addr: expected a string, got 5`,
    );
    await live.admin.put('/configs/broken.yaml').value('log: [\n');
    const broken = await open(`${at}/configs/broken.yaml`);
    expect(() => loadConfig({ files: [broken], schema, layout })).toThrow(
      new RegExp(`^config: ${at}/configs/broken.yaml:2:1: not valid YAML`),
    );
  });

  it('reads every config key under a prefix, in name order', async () => {
    await live.admin.put('/svc/b.yaml').value('log:\n  level: warn\n');
    await live.admin.put('/svc/a.yaml').value('log:\n  level: debug\nserver:\n  addr: ":9"\n');
    await live.admin.put('/svc/notes.txt').value('not config');
    await live.admin.put('/svcs/other.yaml').value('log:\n  level: error\n');
    const store = await open(`${at}/svc/`);
    expect(store.documents().map((d) => d.name)).toEqual([`${at}/svc/a.yaml`, `${at}/svc/b.yaml`]);
    expect(loadConfig({ files: [store], schema, layout })).toEqual({ server: { addr: ':9' }, log: { level: 'warn' } });
  });

  it('says when the key is missing, or etcd does not answer', async () => {
    expect(await problemOf(open(`${at}/configs/none.yaml`))).toBe(
      `config: ${at}/configs/none.yaml: no such key (/configs/none.yaml; a prefix of several keys ends in /)`,
    );
    expect(await problemOf(open(`${at}/empty/`))).toBe(
      `config: ${at}/empty/: no key ending in .yaml, .yml or .json under /empty/`,
    );
    const closed = await freePort();
    expect(await problemOf(open(`etcd://127.0.0.1:${closed}/configs/demo.yaml`))).toBe(
      `config: etcd://127.0.0.1:${closed}/configs/demo.yaml: http://127.0.0.1:${closed}: fetch failed (ECONNREFUSED)`,
    );
  });

  it('tries the next endpoint when one does not answer', async () => {
    await live.admin.put('/configs/demo.yaml').value('log:\n  level: debug\n');
    const closed = await freePort();
    const store = await open(`etcd://127.0.0.1:${closed},127.0.0.1:${live.etcd.clientPort}/configs/demo.yaml`);
    expect(store.documents()[0]?.text).toBe('log:\n  level: debug\n');
  });

  it('follows changes to the key: a new value, a deleted key (reported once), the key back', async () => {
    await live.admin.put('/configs/live.yaml').value('log:\n  level: info\n');
    const store = await open(`${at}/configs/live.yaml`, { retryMs: 100 });
    const w = watched([base, store]);
    try {
      await live.admin.put('/configs/live.yaml').value('log:\n  level: debug\n');
      await until(() => w.changes.length === 1, 'the change');
      expect(w.changes[0]).toEqual({ server: { addr: ':8000' }, log: { level: 'debug' } });

      await live.admin.delete().key('/configs/live.yaml');
      await until(() => w.errors.length === 1, 'the deletion reported');
      expect(w.errors[0]).toBe(
        `config: ${at}/configs/live.yaml: no such key (/configs/live.yaml; a prefix of several keys ends in /)`,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(w.errors).toHaveLength(1);

      await live.admin.put('/configs/live.yaml').value('log:\n  level: warn\n');
      await until(() => w.changes.length === 2, 'the key back');
      expect(w.changes[1]).toEqual({ server: { addr: ':8000' }, log: { level: 'warn' } });
    } finally {
      w.stop();
    }
  });

  it('says when etcd is lost, again only when the reason changes, and when it answers again', async () => {
    const own = await EtcdProcess.create();
    await own.start();
    const writer = new Etcd3({ hosts: own.endpoint });
    try {
      await writer.put('/configs/r.yaml').value('log:\n  level: info\n');
      const store = await open(`etcd://127.0.0.1:${own.clientPort}/configs/r.yaml`, { retryMs: 100 });
      const changes: unknown[] = [];
      const errors: string[] = [];
      const recovered: string[] = [];
      const stop = watchConfig(
        { files: [store], schema, layout },
        (c) => changes.push(c),
        (e) => errors.push(e.message),
        (name) => recovered.push(name),
      );
      try {
        await own.stop();
        await until(() => errors.some((e) => e.includes('ECONNREFUSED')), 'the loss');
        // Retries every 100 ms and more: the same reason is not said again.
        await new Promise((r) => setTimeout(r, 800));
        expect(errors.length, errors.join('\n')).toBeLessThanOrEqual(2);
        await own.start();
        await until(() => recovered.length === 1, 'the store back');
        expect(recovered).toEqual([`etcd://127.0.0.1:${own.clientPort}/configs/r.yaml`]);
        await writer.put('/configs/r.yaml').value('log:\n  level: debug\n');
        await until(() => changes.length === 1, 'a change after the return');
        expect(changes[0]).toEqual({ log: { level: 'debug' } });
      } finally {
        stop();
      }
    } finally {
      writer.close();
      await own.destroy();
    }
  });

  it('logs in with the credentials in the URL when etcd has auth on', async () => {
    const secured = await EtcdProcess.create();
    await secured.start();
    const root = new Etcd3({ hosts: secured.endpoint });
    try {
      await root.put('/configs/demo.yaml').value('log:\n  level: debug\n');
      await root.user('root').create('s3cret:/');
      await root.user('root').addRole('root');
      await root.auth.authEnable({});
      const url = `etcd://root:${encodeURIComponent('s3cret:/')}@127.0.0.1:${secured.clientPort}/configs/demo.yaml`;
      const store = await open(url);
      // The name error lines and logs give leaves the password out.
      expect(store.name).toBe(`etcd://127.0.0.1:${secured.clientPort}/configs/demo.yaml`);
      expect(store.documents()[0]?.text).toBe('log:\n  level: debug\n');
      // Or from ETCD_USERNAME and ETCD_PASSWORD, which a Deployment takes from a Secret.
      const fromEnv = await open(`etcd://127.0.0.1:${secured.clientPort}/configs/demo.yaml`, {
        env: { ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret:/' },
      });
      expect(fromEnv.documents()[0]?.text).toBe('log:\n  level: debug\n');
      expect(await problemOf(open(`etcd://127.0.0.1:${secured.clientPort}/configs/demo.yaml`, { env: {} }))).toBe(
        `config: etcd://127.0.0.1:${secured.clientPort}/configs/demo.yaml: http://127.0.0.1:${secured.clientPort}/v3/kv/range answered 400: etcdserver: user name is empty (etcd has auth on: give etcd://<user>:<password>@host:port/..., or ETCD_USERNAME and ETCD_PASSWORD)`,
      );
      // The etcd registry logs in the same ways.
      for (const [endpoint, env] of [
        [`http://root:${encodeURIComponent('s3cret:/')}@127.0.0.1:${secured.clientPort}`, {}],
        [secured.endpoint, { ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret:/' }],
      ] as const) {
        const registry = new EtcdRegistry({ endpoints: [endpoint], env });
        try {
          const instance = { id: 'i1', name: 'cfg', version: '1', metadata: {}, endpoints: ['grpc://127.0.0.1:1'] };
          await registry.register(instance);
          expect((await registry.getService('cfg')).map((i) => i.id)).toEqual(['i1']);
          await registry.deregister(instance);
        } finally {
          await registry.close();
        }
      }
    } finally {
      root.close();
      await secured.destroy();
    }
  });
});

describe("config in Consul's KV store (stand-in for its HTTP API)", () => {
  let consul: ConsulStandIn;
  let at: string;
  beforeAll(async () => {
    consul = new ConsulStandIn();
    at = `consul://${await consul.start()}`;
  });
  afterAll(async () => {
    await consul?.stop();
  });

  it('merges a key over the file and follows its changes', async () => {
    consul.putKey('configs/demo.yaml', 'log:\n  level: debug\n');
    const store = await open(`${at}/configs/demo.yaml`, { retryMs: 100 });
    expect(loadConfig({ files: [base, store], schema, layout })).toEqual({
      server: { addr: ':8000' },
      log: { level: 'debug' },
    });
    const w = watched([base, store]);
    try {
      // A write elsewhere moves Consul's index but not this key: no change is passed on.
      consul.putKey('other/key', 'x');
      consul.putKey('configs/demo.yaml', 'log:\n  level: warn\n');
      await until(() => w.changes.length === 1, 'the change');
      expect(w.changes[0]).toEqual({ server: { addr: ':8000' }, log: { level: 'warn' } });
      consul.deleteKey('configs/demo.yaml');
      await until(() => w.errors.length === 1, 'the deletion reported');
      expect(w.errors[0]).toBe(
        `config: ${at}/configs/demo.yaml: no such key (configs/demo.yaml; a prefix of several keys ends in /)`,
      );
    } finally {
      w.stop();
    }
  });

  it('reads a prefix, skipping folders and keys that are not config', async () => {
    consul.putKey('app/', '');
    consul.putKey('app/b.yml', 'log:\n  level: warn\n');
    consul.putKey('app/a.json', '{"log": {"level": "debug"}, "server": {"addr": ":7"}}');
    consul.putKey('app/README', 'notes');
    const store = await open(`${at}/app/`);
    expect(store.documents().map((d) => d.name)).toEqual([`${at}/app/a.json`, `${at}/app/b.yml`]);
    expect(loadConfig({ files: [store], schema, layout })).toEqual({ server: { addr: ':7' }, log: { level: 'warn' } });
  });

  it('sends CONSUL_HTTP_TOKEN, and names what the agent said when it refuses', async () => {
    consul.putKey('configs/demo.yaml', 'log:\n  level: debug\n');
    consul.token = 'tok';
    try {
      const store = await open(`${at}/configs/demo.yaml`, { env: { CONSUL_HTTP_TOKEN: 'tok' } });
      expect(store.documents()).toHaveLength(1);
      expect(consul.tokens.at(-1)).toBe('tok');
      expect(await problemOf(open(`${at}/configs/demo.yaml`, { env: {} }))).toBe(
        `config: ${at}/configs/demo.yaml: http://${at.slice('consul://'.length)}/v1/kv/configs/demo.yaml answered 403: Permission denied`,
      );
    } finally {
      consul.token = undefined;
    }
  });

  it("passes the URL's query on (a datacenter), and says when a key was given a leading slash", async () => {
    consul.putKey('configs/dc.yaml', 'log:\n  level: debug\n');
    const store = await open(`${at}/configs/dc.yaml?dc=eu`);
    expect(consul.queries.at(-1)).toBe('?dc=eu');
    // Its documents are named by their keys, which error lines give with their line numbers.
    expect(store.documents().map((d) => d.name)).toEqual([`${at}/configs/dc.yaml`]);
    expect(await problemOf(open(`${at}//configs/dc.yaml`))).toBe(
      `config: ${at}//configs/dc.yaml: no such key (/configs/dc.yaml; Consul keys have no leading slash: consul://host:port/configs/dc.yaml)`,
    );
  });

  it('gives up on an agent that never answers after the timeout', async () => {
    consul.hang = true;
    try {
      expect(await problemOf(open(`${at}/configs/demo.yaml`, { timeoutMs: 300 }))).toBe(
        `config: ${at}/configs/demo.yaml: http://${at.slice('consul://'.length)} gave no answer within 300 ms`,
      );
    } finally {
      consul.hang = false;
    }
  });
});
