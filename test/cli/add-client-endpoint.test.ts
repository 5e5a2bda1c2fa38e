// `tsk add client` without a registry: the endpoint it configures is where the called
// project listens (its configs/config.yaml), on loopback for the config file and as its
// Kubernetes Service in the ConfigMap; an endpoint that would be the caller's own
// address is warned about. Switching --transport moves an endpoint tsk wrote to the other
// transport's port, and warns about one the user set. (Calls over the network:
// test/e2e/add-client.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

let work = '';
const clientEndpoint = (project: string, service: string) => {
  const config = parseDocument(fs.readFileSync(path.join(work, project, 'configs/config.yaml'), 'utf8'));
  const configMap = parseDocument(
    fs.readFileSync(path.join(work, project, 'deploy/kubernetes/configmap.yaml'), 'utf8'),
  );
  const mounted = parseDocument(String(configMap.getIn(['data', 'config.yaml'])));
  return {
    local: config.getIn(['clients', service, 'endpoint']),
    cluster: mounted.getIn(['clients', service, 'endpoint']),
  };
};

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-add-client-'));
  const made = [
    ['new', 'users', '--http-port', '8101', '--grpc-port', '9101'],
    ['new', 'front'],
    ['new', 'admin'],
    ['new', 'shop'],
    ['new', 'depot'],
  ].map((args) => tsk([...args, '--yes', '--no-git', '--no-install'], work));
  for (const r of made) expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('tsk add client endpoint', () => {
  it("is the called project's own port: loopback in the config, its Service in the ConfigMap", () => {
    const grpc = tsk(['add', 'client', 'users', '--proto', '../users/api/users'], path.join(work, 'front'));
    expect(grpc.status, grpc.stderr).toBe(0);
    expect(grpc.stdout).not.toContain('warning');
    // gRPC in the cluster: the headless Service, whose DNS name gives every pod to balance over.
    expect(clientEndpoint('front', 'users')).toEqual({
      local: '127.0.0.1:9101',
      cluster: 'dns:///users-headless:9101',
    });

    const http = tsk(
      ['add', 'client', 'users', '--proto', '../users/api/users', '--transport', 'http'],
      path.join(work, 'admin'),
    );
    expect(http.status, http.stderr).toBe(0);
    expect(clientEndpoint('admin', 'users')).toEqual({ local: 'http://127.0.0.1:8101', cluster: 'http://users:8101' });
  });

  it('is the Service when the called project has no headless Service (made by an older tsk)', () => {
    const made = tsk(['new', 'legacy', '--yes', '--no-git', '--no-install'], work);
    expect(made.status, made.stderr).toBe(0);
    const services = path.join(work, 'legacy', 'deploy/kubernetes/service.yaml');
    fs.writeFileSync(services, fs.readFileSync(services, 'utf8').split('\n---\n')[0]!);
    const r = tsk(['add', 'client', 'legacy', '--proto', '../legacy/api/legacy'], path.join(work, 'front'));
    expect(r.status, r.stderr).toBe(0);
    expect(clientEndpoint('front', 'legacy').cluster).toBe('legacy:9000');
  });

  it('names the methods an HTTP client cannot call: streams with no HTTP route', () => {
    const proto = path.join(work, 'shop', 'api', 'shop', 'v1', 'greeter.proto');
    fs.writeFileSync(
      proto,
      fs
        .readFileSync(proto, 'utf8')
        .replace(
          'service Greeter {',
          'service Greeter {\n  rpc Chat(stream HelloRequest) returns (stream HelloReply);',
        ),
    );
    const r = tsk(
      ['add', 'client', 'shop', '--proto', '../shop/api/shop', '--transport', 'http'],
      path.join(work, 'depot'),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('warning: the HTTP client has no Greeter.Chat: client and bidi streams');
  });

  it("warns when that is the caller's own address (both on the default ports)", () => {
    const r = tsk(['add', 'client', 'front', '--proto', '../front/api/front'], path.join(work, 'admin'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "warning: clients.front.endpoint is 127.0.0.1:9000, where this service itself listens: set it to the front service's address",
    );
  });

  it("switching --transport moves the endpoint it wrote to the other transport's port, there and back", () => {
    const shop = path.join(work, 'shop');
    const add = (...transport: string[]) =>
      tsk(['add', 'client', 'users', '--proto', '../users/api/users', ...transport], shop);
    expect(add().status).toBe(0);
    const toHttp = add('--transport', 'http');
    expect(toHttp.status, toHttp.stderr).toBe(0);
    expect(toHttp.stdout).not.toContain('warning');
    expect(clientEndpoint('shop', 'users')).toEqual({ local: 'http://127.0.0.1:8101', cluster: 'http://users:8101' });
    expect(add('--transport', 'grpc').status).toBe(0);
    expect(clientEndpoint('shop', 'users')).toEqual({ local: '127.0.0.1:9101', cluster: 'dns:///users-headless:9101' });
  });

  it('switching --transport keeps an endpoint the user set, and says it must now be the other address', () => {
    const config = path.join(work, 'shop', 'configs/config.yaml');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('127.0.0.1:9101', 'users.internal:7000'));
    const r = tsk(
      ['add', 'client', 'users', '--proto', '../users/api/users', '--transport', 'http'],
      path.join(work, 'shop'),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(clientEndpoint('shop', 'users')).toEqual({ local: 'users.internal:7000', cluster: 'http://users:8101' });
    expect(r.stdout).toContain(
      "warning: clients.users.endpoint is users.internal:7000 in configs/config.yaml, set for gRPC: set it to the users service's HTTP address",
    );
  });

  it('names the endpoint the config gives, not discovery, after the project gains a registry', () => {
    const depot = path.join(work, 'depot');
    expect(tsk(['add', 'client', 'users', '--proto', '../users/api/users'], depot).status).toBe(0);
    const switched = tsk(['registry', 'etcd'], depot);
    expect(switched.status, switched.stderr).toBe(0);
    // The address written without a registry stays (the registry switch touches no client)...
    const again = tsk(['add', 'client', 'users', '--proto', '../users/api/users'], depot);
    expect(again.status, again.stderr).toBe(0);
    expect(clientEndpoint('depot', 'users').local).toBe('127.0.0.1:9101');
    // ...and it is what the client dials: the hint must not send the user looking in the registry.
    expect(again.stdout).toContain('it dials 127.0.0.1:9101 (clients.users.endpoint of configs/config.yaml)');
    expect(again.stdout).not.toContain('it dials discovery:///users');
  });
});
