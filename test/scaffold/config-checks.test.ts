// The config checks of a new project (internal/conf/checks.ts) accept every telemetry
// setting docs/telemetry.md documents, so a project made with `tsk new --otlp-endpoint
// otel-collector:4317` starts with the config it was given. The project is rendered to
// disk and its own checks are run on the values.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderProject } from '../../src/scaffold/project.js';
import { repoRoot, tsk } from '../helpers/cli.js';

const dir = path.join(repoRoot, '.tmp', 'scaffold-config-checks');
let checks: Record<string, (value: unknown) => string | undefined>;
let config: { telemetry: { otlp_endpoint: string; otlp_protocol: string } };

beforeAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  const files = renderProject({
    name: 'demo',
    registry: 'none',
    httpPort: 8000,
    grpcPort: 9000,
    otlpEndpoint: 'otel-collector:4317',
  });
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.path), f.content);
  }
  checks = (await import(path.join(dir, 'internal/conf/checks.ts'))).CONFIG_CHECKS;
  config = parse(fs.readFileSync(path.join(dir, 'configs/config.yaml'), 'utf8'));
});

describe('telemetry config checks', () => {
  const endpoint = (v: string) => checks['telemetry.otlp_endpoint']!(v);
  const protocol = (v: string) => checks['telemetry.otlp_protocol']!(v);

  it('accept the host:port endpoint tsk new wrote (plaintext gRPC)', () => {
    expect(config.telemetry.otlp_endpoint).toBe('otel-collector:4317');
    expect(endpoint(config.telemetry.otlp_endpoint)).toBeUndefined();
    expect(protocol(config.telemetry.otlp_protocol)).toBeUndefined();
  });

  it('accept URLs, no endpoint, and every documented protocol, http/json included', () => {
    for (const v of ['', 'http://otel-collector:4317', 'https://collector.example.com/otlp', '[::1]:4317'])
      expect(endpoint(v), v).toBeUndefined();
    for (const v of ['', 'grpc', 'http/protobuf', 'http/json']) expect(protocol(v), v).toBeUndefined();
  });

  it('refuse an endpoint that is neither host:port nor an http(s) URL, and an unknown protocol', () => {
    expect(endpoint('otel collector')).toMatch(/host:port/);
    expect(endpoint('ftp://c:4317')).toMatch(/http:\/\/ or https:\/\//);
    expect(endpoint('otel-collector:99999')).toMatch(/port 99999 is not between 1 and 65535/);
    expect(endpoint('otel-collector:0')).toMatch(/port 0 is not between 1 and 65535/);
    expect(endpoint('http://otel-collector:99999')).toMatch(/not a valid URL/);
    expect(protocol('http')).toBe('expected one of grpc, http/protobuf, http/json, got "http"');
  });
});

describe('telemetry.sampling_ratio', () => {
  it('left out of the config is unset (the service samples every new trace), while 0 stays 0', async () => {
    const r = tsk(['proto', 'client', 'api', 'internal/conf'], dir);
    expect(r.status, r.stderr).toBe(0);
    const { loadConfig } = await import(path.join(dir, 'internal/pkg/config/config.ts'));
    const { Bootstrap } = await import(path.join(dir, 'internal/conf/conf.ts'));
    const { BootstrapSchema } = await import(path.join(dir, 'internal/conf/conf_schema.ts'));
    const file = path.join(dir, 'configs/config.yaml');
    const full = fs.readFileSync(file, 'utf8');
    const ratio = (text: string) => {
      fs.writeFileSync(file, text);
      return loadConfig({
        files: [file],
        schema: Bootstrap,
        layout: BootstrapSchema,
        checks,
        envPrefix: 'DEMO_',
        env: {},
      }).telemetry.samplingRatio;
    };
    expect(ratio(full)).toBe(0.1);
    expect(ratio(full.replace(/^ {2}sampling_ratio: .*\n/m, ''))).toBeUndefined();
    expect(ratio(full.replace(/sampling_ratio: .*/, 'sampling_ratio: 0'))).toBe(0);
  }, 120_000);
});

describe('keys whose 0 would read as unset', () => {
  it('refuse 0 for server.stop_timeout_ms and data.max_users, where unset is the default', () => {
    for (const key of ['server.stop_timeout_ms', 'data.max_users']) {
      expect(checks[key]!(0), key).toMatch(/0/);
      expect(checks[key]!(1), key).toBeUndefined();
    }
    expect(checks['server.drain_delay_ms']!(0)).toBeUndefined();
  });
});

describe('keys where 0 would read as unset', () => {
  it('refuse 0, so a 0 never silently becomes the default', () => {
    for (const key of ['server.stop_timeout_ms', 'data.max_users', 'registry.ttl_seconds']) {
      expect(checks[key]!(0), key).toBeDefined();
      expect(checks[key]!(5), key).toBeUndefined();
    }
  });

  it('accept 0 where it means none (drain_delay_ms is optional: unset is its default)', () => {
    expect(checks['server.drain_delay_ms']!(0)).toBeUndefined();
  });
});

describe('clients.*.endpoint and log.redact', () => {
  it('accept one target, in every form the clients dial, and refuse a bare list of addresses', () => {
    const endpoint = (v: string) => checks['clients.*.endpoint']!(v);
    for (const v of [
      '',
      '127.0.0.1:9000',
      'dns:///stock-headless:9000',
      'discovery:///stock',
      'http://stock:8000',
      'ipv4:127.0.0.1:9001,127.0.0.1:9002',
    ])
      expect(endpoint(v), v).toBeUndefined();
    for (const v of ['127.0.0.1:9001,127.0.0.1:9002', 'dns:///a:9000,b:9000'])
      expect(endpoint(v), v).toBe(
        `names one target; give several addresses one DNS name (a headless Service), or, to a gRPC client, write them as ipv4:<host>:<port>,<host>:<port>; got ${v}`,
      );
  });

  it('accept the redaction paths new projects ship, and refuse one that masks nothing', () => {
    const redact = (v: string) => checks['log.redact']!(v);
    const shipped = (config as unknown as { log: { redact: string[] } }).log.redact;
    expect(shipped).toContain('password');
    for (const v of shipped) expect(redact(v), v).toBeUndefined();
    expect(redact('**.password')).toMatch(/^not a field path/);
  });
});
