import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  changedConfigKeys,
  checks,
  type Check,
  ConfigError,
  loadConfig,
  loadTree,
  watchConfig,
} from '../../../src/runtime/config/config.js';
import type { MessageSchema } from '../../../src/runtime/transport/http/route.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-conf-'));
const schema = { fromJSON: (o: any) => o };

describe('config', () => {
  it('merges files in order and applies typed environment overrides', () => {
    const dir = tmp();
    fs.writeFileSync(
      path.join(dir, 'a.yaml'),
      'server:\n  http:\n    addr: 0.0.0.0:8000\n    timeout_ms: 1000\n  debug: false\nregistry:\n  endpoints: [a]\n',
    );
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'server:\n  http:\n    timeout_ms: 2000\n');
    const conf = loadConfig({
      files: [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')],
      schema,
      envPrefix: 'APP_',
      env: { APP_SERVER_HTTP_ADDR: '127.0.0.1:9', APP_SERVER_DEBUG: 'true', APP_REGISTRY_ENDPOINTS: 'x, y' },
    }) as any;
    expect(conf).toEqual({
      server: { http: { addr: '127.0.0.1:9', timeout_ms: 2000 }, debug: true },
      registry: { endpoints: ['x', 'y'] },
    });
  });

  it('reports unreadable files, bad YAML and badly typed overrides clearly', () => {
    const dir = tmp();
    expect(() => loadTree({ files: [path.join(dir, 'nope.yaml')] })).toThrow(
      /^config: .*nope\.yaml: cannot read the file \(it does not exist\)$/,
    );
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'a: 1\nb: [1,\n');
    expect(() => loadTree({ files: [path.join(dir, 'bad.yaml')] })).toThrow(
      /^config: .*bad\.yaml:\d+:\d+: not valid YAML: [^\n]+$/,
    );
    fs.writeFileSync(path.join(dir, 'list.yaml'), '- a\n');
    expect(() => loadTree({ files: [path.join(dir, 'list.yaml')] })).toThrow(
      /list\.yaml: must hold a mapping at the top level, found a list$/,
    );
    fs.writeFileSync(path.join(dir, 'ok.yaml'), 'port: 1\n');
    expect(() => loadTree({ files: [path.join(dir, 'ok.yaml')], env: { PORT: 'abc' } })).toThrow(
      /^config: PORT: port: expected a number, got "abc"$/,
    );
  });

  it('calls back with the new config when a file changes', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'level: info\n');
    const changed = new Promise<any>((resolve) => {
      const stop = watchConfig({ files: [file], schema }, (c) => {
        stop();
        resolve(c);
      });
    });
    fs.writeFileSync(file, 'level: debug\n');
    expect(await changed).toEqual({ level: 'debug' });
  });
});

describe('config watch across file replacement', () => {
  it('keeps following a file that is replaced by rename (how ConfigMap volumes update)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'level: info\n');
    const seen: string[] = [];
    const stop = watchConfig({ files: [file], schema }, (c: any) => seen.push(c.level));
    const replace = (content: string) => {
      fs.writeFileSync(path.join(dir, 'next.yaml'), content);
      fs.renameSync(path.join(dir, 'next.yaml'), file);
    };
    replace('level: debug\n');
    for (let i = 0; i < 50 && !seen.includes('debug'); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    replace('level: warn\n');
    for (let i = 0; i < 50 && !seen.includes('warn'); i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen).toContain('debug');
    expect(seen).toContain('warn');
  });
});

// What conf_schema.ts holds for a small conf.proto (the generator's output is tested in test/gen).
const Http: MessageSchema = {
  typeName: 'conf.Server.HTTP',
  fields: [
    { name: 'addr', jsonName: 'addr', kind: 'scalar', scalar: 'string' },
    { name: 'timeout_ms', jsonName: 'timeoutMs', kind: 'scalar', scalar: 'int32' },
  ],
};
const Server: MessageSchema = {
  typeName: 'conf.Server',
  fields: [
    { name: 'http', jsonName: 'http', kind: 'message', typeName: 'conf.Server.HTTP', schema: () => Http },
    { name: 'stop_timeout_ms', jsonName: 'stopTimeoutMs', kind: 'scalar', scalar: 'int32' },
  ],
};
const Telemetry: MessageSchema = {
  typeName: 'conf.Telemetry',
  fields: [
    { name: 'sampling_ratio', jsonName: 'samplingRatio', kind: 'scalar', scalar: 'double' },
    { name: 'otlp_metrics', jsonName: 'otlpMetrics', kind: 'scalar', scalar: 'bool' },
  ],
};
const Registry: MessageSchema = {
  typeName: 'conf.Registry',
  fields: [
    { name: 'kind', jsonName: 'kind', kind: 'scalar', scalar: 'string' },
    { name: 'endpoints', jsonName: 'endpoints', repeated: true, kind: 'scalar', scalar: 'string' },
  ],
};
const Bootstrap: MessageSchema = {
  typeName: 'conf.Bootstrap',
  fields: [
    { name: 'server', jsonName: 'server', kind: 'message', typeName: 'conf.Server', schema: () => Server },
    { name: 'telemetry', jsonName: 'telemetry', kind: 'message', typeName: 'conf.Telemetry', schema: () => Telemetry },
    { name: 'registry', jsonName: 'registry', kind: 'message', typeName: 'conf.Registry', schema: () => Registry },
  ],
};
const rules = {
  'server.http.addr': checks.address(),
  'telemetry.sampling_ratio': checks.range(0, 1),
  'registry.kind': checks.oneOf(['', 'none'], 'this project was made without a registry'),
  'registry.endpoints': checks.url(),
};
const GOOD =
  'server:\n  http:\n    addr: 0.0.0.0:8000\n    timeout_ms: 1000\n  stop_timeout_ms: 10000\ntelemetry:\n  sampling_ratio: 0.1\n  otlp_metrics: false\nregistry:\n  kind: none\n  endpoints: []\n';

/** The problem lines of loading `yaml` (file names as config.yaml), with these layout and checks. */
function problems(
  yaml: string,
  env: Record<string, string> = {},
  layout: MessageSchema = Bootstrap,
  checkRules: Record<string, Check> = rules,
): string[] {
  const dir = tmp();
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yaml);
  try {
    loadConfig({ files: [file], schema, layout, checks: checkRules, envPrefix: 'APP_', env });
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.replace(file, 'config.yaml'));
  }
}

describe('config validated against the schema from conf.proto', () => {
  it('accepts the good file, and env sets leaves the file does not have', () => {
    expect(problems(GOOD)).toEqual([]);
    const dir = tmp();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'server:\n  http:\n    addr: 0.0.0.0:8000\n');
    const conf = loadConfig({
      files: [file],
      schema,
      layout: Bootstrap,
      checks: rules,
      envPrefix: 'APP_',
      env: {
        APP_SERVER_STOP_TIMEOUT_MS: '3000',
        APP_TELEMETRY_SAMPLING_RATIO: '1',
        APP_REGISTRY_ENDPOINTS: 'http://a:2379, http://b:2379',
      },
    }) as any;
    expect(conf).toEqual({
      server: { http: { addr: '0.0.0.0:8000' }, stop_timeout_ms: 3000 },
      telemetry: { sampling_ratio: 1 },
      registry: { endpoints: ['http://a:2379', 'http://b:2379'] },
    });
  });

  it('names the key and the file:line of each wrong value, one line each', () => {
    const yaml = GOOD.replace('timeout_ms: 1000', 'timeout_ms: abc')
      .replace('sampling_ratio: 0.1', 'sampling_ratio: "lots"')
      .replace('otlp_metrics: false', 'otlp_metrics: 5');
    expect(problems(yaml)).toEqual([
      'config: config.yaml:4: server.http.timeout_ms: expected an integer, got "abc"',
      'config: config.yaml:7: telemetry.sampling_ratio: expected a number, got "lots"',
      'config: config.yaml:8: telemetry.otlp_metrics: expected true or false, got 5',
    ]);
    expect(problems(GOOD.replace('sampling_ratio: 0.1', 'sampling_ratio: 5'))).toEqual([
      'config: config.yaml:7: telemetry.sampling_ratio: must be between 0 and 1, got 5',
    ]);
    expect(problems(GOOD.replace('timeout_ms: 1000', 'timeout_ms: 1.5'))).toEqual([
      'config: config.yaml:4: server.http.timeout_ms: expected an integer, got 1.5',
    ]);
    expect(problems(GOOD.replace('timeout_ms: 1000', 'timeout_ms: 99999999999'))).toEqual([
      'config: config.yaml:4: server.http.timeout_ms: must be between -2147483648 and 2147483647, got 99999999999',
    ]);
    expect(problems(GOOD.replace('addr: 0.0.0.0:8000', 'adress: 0.0.0.0:8000'))).toEqual([
      'config: config.yaml:3: server.http.adress: unknown key (conf.Server.HTTP has addr, timeout_ms)',
    ]);
    expect(problems(GOOD.replace('kind: none', 'kind: etcd'))).toEqual([
      'config: config.yaml:10: registry.kind: expected one of none, got "etcd" (this project was made without a registry)',
    ]);
    expect(problems(GOOD.replace('endpoints: []', 'endpoints: [127.0.0.1:2379]'))).toEqual([
      'config: config.yaml:11: registry.endpoints: expected an http:// or https:// URL, got "127.0.0.1:2379"',
    ]);
    expect(problems('telemetry:\n  sampling_ratio: 1\nserver: 5\n')).toEqual([
      'config: config.yaml:3: server: expected a mapping, got 5',
    ]);
    // In the file's line order, though a type is checked before a value's range.
    expect(
      problems(GOOD.replace('timeout_ms: 1000', 'timeout_ms: 99999999999').replace('addr: 0.0.0.0:8000', 'addr: x')),
    ).toEqual([
      'config: config.yaml:3: server.http.addr: expected host:port or :port (e.g. 0.0.0.0:8000), got "x"',
      'config: config.yaml:4: server.http.timeout_ms: must be between -2147483648 and 2147483647, got 99999999999',
    ]);
  });

  it('names the variable for wrong environment values', () => {
    expect(problems(GOOD, { APP_SERVER_HTTP_ADDR: 'abc' })).toEqual([
      'config: APP_SERVER_HTTP_ADDR: server.http.addr: expected host:port or :port (e.g. 0.0.0.0:8000), got "abc"',
    ]);
    // `:port` listens on every interface, as a Go listen address does.
    expect(problems(GOOD, { APP_SERVER_HTTP_ADDR: ':18713' })).toEqual([]);
    expect(problems(GOOD, { APP_TELEMETRY_SAMPLING_RATIO: 'abc' })).toEqual([
      'config: APP_TELEMETRY_SAMPLING_RATIO: telemetry.sampling_ratio: expected a number, got "abc"',
    ]);
    expect(problems(GOOD, { APP_SERVER_HTTP_TIMEOUT_MS: '1e3' })).toEqual([
      'config: APP_SERVER_HTTP_TIMEOUT_MS: server.http.timeout_ms: expected an integer, got "1e3"',
    ]);
    expect(problems(GOOD, { APP_TELEMETRY_OTLP_METRICS: 'maybe' })).toEqual([
      'config: APP_TELEMETRY_OTLP_METRICS: telemetry.otlp_metrics: expected true or false (or 1/0, yes/no), got "maybe"',
    ]);
    expect(problems(GOOD, { APP_TELEMETRY_SAMPLING_RATIO: '1.5' })).toEqual([
      'config: APP_TELEMETRY_SAMPLING_RATIO: telemetry.sampling_ratio: must be between 0 and 1, got 1.5',
    ]);
  });

  it("lists a variable that does not convert with the files' problems and the other variables' checks", () => {
    expect(
      problems(GOOD.replace('sampling_ratio: 0.1', 'sampling_ratio: "lots"'), {
        APP_SERVER_HTTP_TIMEOUT_MS: '1.5',
        APP_SERVER_HTTP_ADDR: 'abc',
      }),
    ).toEqual([
      'config: APP_SERVER_HTTP_TIMEOUT_MS: server.http.timeout_ms: expected an integer, got "1.5"',
      'config: config.yaml:7: telemetry.sampling_ratio: expected a number, got "lots"',
      'config: APP_SERVER_HTTP_ADDR: server.http.addr: expected host:port or :port (e.g. 0.0.0.0:8000), got "abc"',
    ]);
  });
});

describe('config map entries from the environment', () => {
  const Client: MessageSchema = {
    typeName: 'conf.Client',
    fields: [
      { name: 'endpoint', jsonName: 'endpoint', kind: 'scalar', scalar: 'string' },
      { name: 'timeout_ms', jsonName: 'timeoutMs', kind: 'scalar', scalar: 'int32' },
      { name: 'version', jsonName: 'version', kind: 'scalar', scalar: 'string' },
    ],
  };
  const WithClients: MessageSchema = {
    typeName: 'conf.Bootstrap',
    fields: [
      {
        name: 'clients',
        jsonName: 'clients',
        kind: 'map',
        key: 'string',
        value: { name: 'value', jsonName: 'value', kind: 'message', typeName: 'conf.Client', schema: () => Client },
      },
      {
        name: 'labels',
        jsonName: 'labels',
        kind: 'map',
        key: 'string',
        value: { name: 'value', jsonName: 'value', kind: 'scalar', scalar: 'string' },
      },
    ],
  };
  const load = (env: Record<string, string>) => {
    const file = path.join(tmp(), 'config.yaml');
    fs.writeFileSync(
      file,
      'clients:\n  user:\n    endpoint: discovery:///user\n    timeout_ms: 1000\n  order-svc:\n    endpoint: ""\nlabels:\n  team: core\n',
    );
    return loadConfig({ files: [file], schema, layout: WithClients, envPrefix: 'APP_', env }) as any;
  };

  it('sets the fields of entries the file has (`tsk add client` ones, in a Deployment)', () => {
    const conf = load({
      APP_CLIENTS_USER_ENDPOINT: 'user.prod:9000',
      APP_CLIENTS_ORDER_SVC_TIMEOUT_MS: '250',
      APP_LABELS_TEAM: 'edge',
    });
    expect(conf.clients).toEqual({
      user: { endpoint: 'user.prod:9000', timeout_ms: 1000 },
      'order-svc': { endpoint: '', timeout_ms: 250 },
    });
    expect(conf.labels).toEqual({ team: 'edge' });
  });

  it('names the variable for a wrong value', () => {
    expect(() => load({ APP_CLIENTS_USER_TIMEOUT_MS: 'soon' })).toThrow(
      /^config: APP_CLIENTS_USER_TIMEOUT_MS: clients\.user\.timeout_ms: expected an integer, got "soon"$/,
    );
  });

  it('runs a `*` check on every entry, each named by its own key and source, with the keys beside it', () => {
    const pinned = {
      'clients.*.version': (v: unknown, client: Readonly<Record<string, unknown>>) =>
        v && !String(client['endpoint'] ?? '').startsWith('discovery:') ? 'needs a discovery endpoint' : undefined,
    };
    const yaml =
      'clients:\n  user:\n    endpoint: discovery:///user\n    version: 1.4.2\n  order:\n    endpoint: 127.0.0.1:9000\n';
    expect(problems(yaml, {}, WithClients, pinned)).toEqual([]);
    expect(problems(yaml, { APP_CLIENTS_ORDER_VERSION: '2.0.0' }, WithClients, pinned)).toEqual([
      'config: APP_CLIENTS_ORDER_VERSION: clients.order.version: needs a discovery endpoint',
    ]);
    expect(problems(yaml.replace('discovery:///user', '127.0.0.1:9001'), {}, WithClients, pinned)).toEqual([
      'config: config.yaml:4: clients.user.version: needs a discovery endpoint',
    ]);
    expect(problems('clients: {}\n', {}, WithClients, pinned)).toEqual([]);
  });
});

describe('config watch across delete and recreate', () => {
  it('reports the missing file, keeps going, and picks up the file when it is back', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'level: info\n');
    const seen: string[] = [];
    const errors: string[] = [];
    const stop = watchConfig(
      { files: [file], schema },
      (c: any) => seen.push(c.level),
      (e) => errors.push(e.message),
    );
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
    };
    fs.rmSync(file);
    await until(() => errors.length > 0);
    fs.writeFileSync(file, 'level: debug\n');
    await until(() => seen.includes('debug'));
    fs.writeFileSync(file, 'level: warn\n');
    await until(() => seen.includes('warn'));
    stop();
    expect(errors).toEqual([`config: ${file}: cannot read the file (it does not exist)`]);
    expect(seen).toEqual(['debug', 'warn']);
  });
});

describe('a config directory', () => {
  it("merges the directory's YAML files in name order, leaving out dot entries and other files", () => {
    const dir = tmp();
    fs.writeFileSync(
      path.join(dir, '10-base.yaml'),
      'server:\n  http:\n    addr: 0.0.0.0:8000\n    timeout_ms: 1000\n',
    );
    fs.writeFileSync(path.join(dir, '20-prod.yml'), 'server:\n  http:\n    timeout_ms: 3000\n');
    fs.writeFileSync(path.join(dir, 'README.md'), 'not config');
    fs.mkdirSync(path.join(dir, '..data'));
    fs.writeFileSync(path.join(dir, '.hidden.yaml'), 'server: [not, a, map]\n');
    const conf = loadConfig({ files: [dir], schema }) as any;
    expect(conf).toEqual({ server: { http: { addr: '0.0.0.0:8000', timeout_ms: 3000 } } });
  });

  it('without config files is an error naming it', () => {
    const dir = tmp();
    expect(() => loadConfig({ files: [dir], schema })).toThrow(
      `config: ${dir}: the directory holds no .yaml, .yml or .json file`,
    );
  });

  it('is watched: a file added to it is read', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'log:\n  level: info\n');
    const seen: any[] = [];
    const stop = watchConfig({ files: [dir], schema }, (c) => seen.push(c));
    try {
      await new Promise((r) => setTimeout(r, 50));
      fs.writeFileSync(path.join(dir, 'b.yaml'), 'log:\n  level: debug\n');
      await expect.poll(() => seen.at(-1), { timeout: 5000 }).toEqual({ log: { level: 'debug' } });
    } finally {
      stop();
    }
  });
});

describe('changedConfigKeys', () => {
  it('names each leaf that differs, by its proto field name', () => {
    const before = { server: { grpc: { addr: ':9000' }, stopTimeoutMs: 10000 }, log: { level: 'info' }, seeds: ['a'] };
    const after = {
      server: { grpc: { addr: ':9001' }, stopTimeoutMs: 10000 },
      log: { level: 'debug' },
      seeds: ['a', 'b'],
    };
    expect(changedConfigKeys(before, after)).toEqual(['server.grpc.addr', 'log.level', 'seeds']);
    expect(changedConfigKeys(before, { ...before, data: { maxUsers: 5 } })).toEqual(['data']);
    expect(changedConfigKeys(before, structuredClone(before))).toEqual([]);
  });
});

describe('checks.single (a list key that takes one value: a Consul agent)', () => {
  const consul = { ...rules, 'registry.endpoints': checks.single(checks.address(), 'one agent') };
  const check = (yaml: string, env: Record<string, string> = {}) => problems(yaml, env, Bootstrap, consul);

  it('takes none or one, checked as the item check says, and refuses several, naming them', () => {
    expect(check('registry:\n  endpoints: []\n')).toEqual([]);
    expect(check('registry:\n  endpoints: [":8500"]\n')).toEqual([]);
    expect(check('registry:\n  endpoints: ["consul"]\n')).toEqual([
      'config: config.yaml:2: registry.endpoints: expected host:port or :port (e.g. 0.0.0.0:8000), got "consul"',
    ]);
    expect(check('registry:\n  endpoints: []\n', { APP_REGISTRY_ENDPOINTS: 'a:8500,b:8500' })).toEqual([
      'config: APP_REGISTRY_ENDPOINTS: registry.endpoints: expected one value (one agent), got 2: "a:8500", "b:8500"',
    ]);
  });
});
