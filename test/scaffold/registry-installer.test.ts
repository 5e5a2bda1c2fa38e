// installRegistry is how both `tsk new` and `tsk registry` install a registry: switching a
// fresh project from one kind to another gives the files `tsk new` makes with the other kind.
import { describe, expect, it } from 'vitest';
import { parseDocument, type YAMLSeq } from 'yaml';
import { renderProject, type RegistryKind } from '../../src/scaffold/project.js';
import { installRegistry, withRegistryConfig, withRegistryDeployment } from '../../src/scaffold/registry.js';

const render = (registry: RegistryKind) =>
  renderProject({ name: 'demo', registry, httpPort: 8000, grpcPort: 9000, otlpEndpoint: 'http://127.0.0.1:4317' });
const kinds: RegistryKind[] = ['none', 'etcd', 'consul'];

describe('installRegistry', () => {
  for (const from of kinds) {
    for (const to of kinds.filter((k) => k !== from)) {
      it(`turns a ${from} project into the ${to} one`, () => {
        const files = new Map(render(from).map((f) => [f.path, f.content]));
        installRegistry(
          {
            read: (p) => files.get(p),
            write: (p, content) => files.set(p, content),
            remove: (p) => files.delete(p),
          },
          from,
          to,
          'DEMO_',
        );
        // The README describes the choice in prose; the installer leaves the user's README alone.
        const expected = new Map(render(to).map((f) => [f.path, f.content]));
        files.delete('README.md');
        expected.delete('README.md');
        expect([...files.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [p, content] of expected) expect(files.get(p), p).toBe(content);
      });
    }
  }

  it('keeps registry endpoints the user set, through a switch to none and back', () => {
    const etcd = render('etcd').find((f) => f.path === 'configs/config.yaml')!.content;
    const mine = etcd.replace(
      'endpoints: [http://127.0.0.1:2379]',
      'endpoints: [http://etcd-a:2379, http://etcd-b:2379] # my cluster',
    );
    expect(mine).not.toBe(etcd);
    const none = withRegistryConfig(mine, 'etcd', 'none');
    expect(none).toContain('kind: none');
    expect(none).toContain('endpoints: [http://etcd-a:2379, http://etcd-b:2379] # my cluster');
    const back = withRegistryConfig(none, 'none', 'etcd');
    expect(back).toContain('kind: etcd');
    expect(back).toContain('endpoints: [http://etcd-a:2379, http://etcd-b:2379] # my cluster');
    // The defaults tsk wrote are its own to replace.
    expect(withRegistryConfig(etcd, 'etcd', 'consul')).toContain('endpoints: [127.0.0.1:8500]');
  });

  it("keeps the Deployment's registry address the user set, through a switch to another registry and back", () => {
    const etcd = render('etcd').find((f) => f.path === 'deploy/kubernetes/deployment.yaml')!.content;
    const mine = etcd.replace('value: http://etcd:2379', 'value: http://etcd.infra:2379');
    expect(mine).not.toBe(etcd);
    const consul = withRegistryDeployment(mine, 'etcd', 'consul', 'DEMO_');
    expect(consul).toContain('value: http://etcd.infra:2379');
    expect(withRegistryDeployment(consul, 'consul', 'etcd', 'DEMO_')).toContain('value: http://etcd.infra:2379');
    // The address tsk wrote is its own to replace; with no registry the variable goes.
    expect(withRegistryDeployment(etcd, 'etcd', 'consul', 'DEMO_')).not.toContain('etcd:2379');
    expect(withRegistryDeployment(mine, 'etcd', 'none', 'DEMO_')).not.toContain('DEMO_REGISTRY_ENDPOINTS');
  });

  it("points a Consul project's pods at their node's agent, and takes that away on a switch", () => {
    const consul = render('consul').find((f) => f.path === 'deploy/kubernetes/deployment.yaml')!.content;
    const env = (yaml: string) =>
      (parseDocument(yaml).getIn(['spec', 'template', 'spec', 'containers', 0, 'env']) as YAMLSeq).toJSON() as {
        name: string;
      }[];
    const names = (yaml: string) => env(yaml).map((e) => e.name);
    expect(env(consul).slice(0, 2)).toEqual([
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'DEMO_REGISTRY_ENDPOINTS', value: '$(HOST_IP):8500' },
    ]);
    expect(consul).toContain("# The Consul agent of this pod's node");
    const etcd = withRegistryDeployment(consul, 'consul', 'etcd', 'DEMO_');
    expect(names(etcd)).not.toContain('HOST_IP');
    expect(env(etcd)[0]).toEqual({ name: 'DEMO_REGISTRY_ENDPOINTS', value: 'http://etcd:2379' });
    expect(etcd).toContain('# The registry, by its Service name in this namespace');
    expect(etcd).not.toContain('Consul agent');
    expect(withRegistryDeployment(etcd, 'etcd', 'consul', 'DEMO_')).toBe(consul);
    const none = withRegistryDeployment(consul, 'consul', 'none', 'DEMO_');
    expect(names(none)).not.toContain('HOST_IP');
    expect(names(none)).not.toContain('DEMO_REGISTRY_ENDPOINTS');
  });
});
