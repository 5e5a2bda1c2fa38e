// `tsk add client` without a registry: the endpoint it configures is where the called
// project listens (its configs/config.yaml), on loopback for the config file and as its
// Kubernetes Service in the ConfigMap; an endpoint that would be the caller's own
// address is warned about. (Calls over the network: test/e2e/add-client.test.ts.)
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
  ].map((args) => tsk([...args, '--yes', '--no-git', '--no-install'], work));
  for (const r of made) expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('tsk add client endpoint', () => {
  it("is the called project's own port: loopback in the config, its Service in the ConfigMap", () => {
    const grpc = tsk(['add', 'client', 'users', '--proto', '../users/api/users'], path.join(work, 'front'));
    expect(grpc.status, grpc.stderr).toBe(0);
    expect(grpc.stdout).not.toContain('warning');
    expect(clientEndpoint('front', 'users')).toEqual({ local: '127.0.0.1:9101', cluster: 'users:9101' });

    const http = tsk(
      ['add', 'client', 'users', '--proto', '../users/api/users', '--transport', 'http'],
      path.join(work, 'admin'),
    );
    expect(http.status, http.stderr).toBe(0);
    expect(clientEndpoint('admin', 'users')).toEqual({ local: 'http://127.0.0.1:8101', cluster: 'http://users:8101' });
  });

  it("warns when that is the caller's own address (both on the default ports)", () => {
    const r = tsk(['add', 'client', 'front', '--proto', '../front/api/front'], path.join(work, 'admin'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "warning: clients.front.endpoint is 127.0.0.1:9000, where this service itself listens: set it to the front service's address",
    );
  });
});
