// The tree `tsk new` renders, for each registry choice: snapshots, Kubernetes
// schema validation, Prometheus rules checked and unit-tested with promtool.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { SERVICE_NODE_COMMAND, SERVICE_NODE_MAJOR } from '../../src/scaffold/package-json.js';
import { renderProject, type RegistryKind } from '../../src/scaffold/project.js';
import { repoRoot } from '../helpers/cli.js';

const render = (registry: RegistryKind) =>
  renderProject({ name: 'demo', registry, httpPort: 8000, grpcPort: 9000, otlpEndpoint: 'http://127.0.0.1:4317' });
const file = (files: ReturnType<typeof render>, p: string) => files.find((f) => f.path === p)!.content;
/** The tsk version appears in headers and package.json; normalise it so snapshots survive releases. */
const normalise = (s: string) =>
  s.replaceAll(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version, '<tsk-version>');

describe('tsk new project tree', () => {
  for (const registry of ['none', 'etcd', 'consul'] as const) {
    it(`matches the snapshot with --registry ${registry}`, () => {
      const files = render(registry);
      expect(files.map((f) => `${f.path} (${f.kind})`)).toMatchSnapshot();
      // Runtime files are src/runtime verbatim (tested on their own); snapshot the project's own files.
      for (const f of files.filter((f) => f.kind !== 'runtime' && !f.path.startsWith('third_party/'))) {
        expect(normalise(f.content)).toMatchSnapshot(f.path);
      }
    });
  }

  it('vendors only the registry client the project uses', () => {
    expect(render('none').some((f) => f.path.includes('registry/etcd.ts'))).toBe(false);
    expect(render('etcd').some((f) => f.path === 'internal/pkg/registry/etcd.ts')).toBe(true);
    expect(render('consul').some((f) => f.path === 'internal/pkg/registry/consul.ts')).toBe(true);
    // Consul's client speaks HTTP with fetch: no npm client.
    expect(JSON.parse(file(render('consul'), 'package.json')).dependencies).toEqual(
      JSON.parse(file(render('none'), 'package.json')).dependencies,
    );
  });

  it('pins service dependencies to versions tsk itself is tested with', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')).packages as Record<
      string,
      { version: string }
    >;
    const deps = JSON.parse(file(render('etcd'), 'package.json')).dependencies as Record<string, string>;
    for (const [name, range] of Object.entries(deps)) {
      const installed = lock[`node_modules/${name}`]?.version;
      expect(installed, name).toBeDefined();
      expect(
        installed!.startsWith(
          range
            .replace(/^[\^~]/, '')
            .split('.')
            .slice(0, 2)
            .join('.'),
        ),
        `${name} ${range} vs ${installed}`,
      ).toBe(true);
    }
  });
});

describe('the Node.js line', () => {
  it("package.json's engines asks for the line the Dockerfile runs (the one tsk new names)", () => {
    const files = render('none');
    const imageLine = /^ARG NODE_VERSION=(\d+)\./m.exec(file(files, 'Dockerfile'))?.[1];
    expect(Number(imageLine)).toBe(SERVICE_NODE_MAJOR);
    expect(JSON.parse(file(files, 'package.json')).engines.node).toBe(`>=${SERVICE_NODE_MAJOR}`);
  });

  it('npm start and the image run node with the same flags, which Node accepts', () => {
    const files = render('none');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(file(files, 'Dockerfile'))![1]!) as string[];
    expect(cmd).toEqual([...SERVICE_NODE_COMMAND, 'dist/bundle/main.js', '--conf', 'configs/config.yaml']);
    expect(JSON.parse(file(files, 'package.json')).scripts.start).toBe(cmd.join(' '));
    // Node refuses an unknown flag ("bad option"); V8 flags are not allowed in NODE_OPTIONS.
    const check = spawnSync(process.execPath, [...SERVICE_NODE_COMMAND.slice(1), '-e', '0'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });
});

describe('service dependency ranges', () => {
  it('stay within the peer ranges of the other dependencies, so no package manager installs a version they do not accept', () => {
    // pnpm and yarn take a range's newest version whatever the peers say; npm weighs the peers.
    const pkg = JSON.parse(file(render('consul'), 'package.json')) as { dependencies: Record<string, string> };
    const deps = pkg.dependencies;
    const checked: string[] = [];
    for (const name of Object.keys(deps)) {
      const manifest = JSON.parse(
        fs.readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'),
      ) as {
        peerDependencies?: Record<string, string>;
      };
      for (const [peer, accepted] of Object.entries(manifest.peerDependencies ?? {})) {
        if (!deps[peer]) continue;
        checked.push(`${name} -> ${peer}`);
        expect(semver.subset(deps[peer], accepted), `${peer} ${deps[peer]}, which ${name} accepts as ${accepted}`).toBe(
          true,
        );
      }
    }
    expect(checked).toContain('@opentelemetry/sdk-trace -> @opentelemetry/api');
  });
});

describe('deploy/kubernetes', () => {
  const files = render('etcd');
  const docs = (name: string, from = files) =>
    parseAllDocuments(file(from, `deploy/kubernetes/${name}`)).map((d) => d.toJSON());
  const pod = (from = files) => docs('deployment.yaml', from)[0].spec.template.spec;

  for (const registry of ['none', 'etcd', 'consul'] as const) {
    it(`validates against the Kubernetes schemas with --registry ${registry}`, () => {
      const kinds: Record<string, new (o: any) => { validate(): void }> = {
        Deployment,
        Service,
        ConfigMap,
        HorizontalPodAutoscaler,
        PodDisruptionBudget,
        // The Prometheus Operator's kinds, against its CRD schemas.
        ServiceMonitor,
        PrometheusRule,
      };
      const rendered = render(registry);
      const manifests = rendered
        .filter((f) => f.path.startsWith('deploy/kubernetes/'))
        .map((f) => path.basename(f.path));
      // Every manifest is schema-checked here; promtool checks the PrometheusRule's rules below.
      expect(manifests.sort()).toEqual([
        'configmap.yaml',
        'deployment.yaml',
        'hpa.yaml',
        'pdb.yaml',
        'prometheusrule.yaml',
        'service.yaml',
        'servicemonitor.yaml',
      ]);
      for (const name of manifests) {
        for (const doc of docs(name, rendered)) {
          const Kind = kinds[doc.kind];
          expect(Kind, `${name}: ${doc.kind}`).toBeDefined();
          expect(() => new Kind!(doc).validate(), name).not.toThrow();
        }
      }
    });
  }

  it('scrapes /metrics through the Service under the job the alerts select', () => {
    const [service, headless] = docs('service.yaml');
    const [monitor] = docs('servicemonitor.yaml');
    // The headless Service's pods would be scraped twice, under a second job, were it selected too.
    const selects = (s: { metadata: { labels: Record<string, string> } }) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v);
    expect(selects(headless)).toBe(false);
    const [rule] = docs('prometheusrule.yaml');
    for (const [label, value] of Object.entries(monitor.spec.selector.matchLabels))
      expect(service.metadata.labels[label], label).toBe(value);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    expect(monitor.spec.endpoints[0].path).toBe('/metrics');
    // Without a jobLabel, the Prometheus Operator names the job after the Service.
    expect(monitor.spec.jobLabel).toBeUndefined();
    const exprs = rule.spec.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr));
    for (const expr of exprs) expect(expr).toContain(`job="${service.metadata.name}"`);
  });

  it('runs at least 3 hardened replicas with probes, ports and telemetry settings', () => {
    const [deployment] = docs('deployment.yaml');
    // The HorizontalPodAutoscaler owns the count: a spec.replicas in the Deployment would set
    // it back on every `kubectl apply` (a new image under load drops to that many pods).
    expect(deployment.spec.replicas).toBeUndefined();
    const [hpa] = docs('hpa.yaml');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBe(3);
    const spec = pod();
    const c = spec.containers[0];
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.automountServiceAccountToken).toBe(false);
    // Service links would put <NAME>_PORT=tcp://... into the config's environment namespace.
    expect(spec.enableServiceLinks).toBe(false);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits).toBeDefined();
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES']),
    );
    // The ConfigMap's config is the local one but for what the Deployment's environment says.
    const [configMap] = docs('configmap.yaml');
    const collector = c.env.find((e: { name: string }) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT').value;
    const attributes = c.env.find((e: { name: string }) => e.name === 'OTEL_RESOURCE_ATTRIBUTES').value;
    expect(attributes).toContain('deployment.environment.name=production');
    expect(configMap.data['config.yaml']).toBe(
      file(files, 'configs/config.yaml')
        .replace('"http://127.0.0.1:4317"', `"${collector}"`)
        .replace('environment: development', 'environment: production'),
    );
  });

  it('declares each container port once, and the Service targets them by name', () => {
    const c = pod().containers[0];
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8000, protocol: 'TCP' },
      { name: 'grpc', containerPort: 9000, protocol: 'TCP' },
    ]);
    const [service, headless] = docs('service.yaml');
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http', 'grpc']);
    // The pods by their own addresses, for gRPC callers without a registry to balance over.
    expect(headless.metadata.name).toBe(`${service.metadata.name}-headless`);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(service.spec.selector);
    expect(headless.spec.ports).toEqual([{ name: 'grpc', port: 9000, targetPort: 'grpc', protocol: 'TCP' }]);
  });

  it('starts the service itself (command and args), not through the node image entrypoint', () => {
    const c = pod().containers[0];
    // The Dockerfile's CMD names the same entry point, relative to WORKDIR /app.
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(file(files, 'Dockerfile'))![1]!) as string[];
    const entry = cmd[SERVICE_NODE_COMMAND.length]!;
    expect(c.command).toEqual([...SERVICE_NODE_COMMAND, `/app/${entry}`]);
    expect(c.args).toEqual(['--conf', '/app/configs/config.yaml']);
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/app/configs', readOnly: true });
  });

  it('rolls without losing requests: preStop delay within the grace period, replicas spread', () => {
    const spec = pod();
    const c = spec.containers[0];
    const preStop = c.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const stopTimeoutS = Number(/stop_timeout_ms: (\d+)/.exec(file(files, 'configs/config.yaml'))![1]) / 1000;
    expect(Number(preStop[1]) + stopTimeoutS).toBeLessThan(spec.terminationGracePeriodSeconds);
    const labels = docs('deployment.yaml')[0].spec.template.metadata.labels;
    expect(spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    for (const t of spec.topologySpreadConstraints) expect(t.labelSelector.matchLabels).toEqual(labels);
    const [pdb] = docs('pdb.yaml');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(docs('hpa.yaml')[0].spec.minReplicas).toBeGreaterThan(1);
  });

  it("points the registry at etcd's Service name or the node's Consul agent through an env override", () => {
    const env = (registry: RegistryKind) =>
      pod(render(registry)).containers[0].env.find((e: { name: string }) => e.name === 'DEMO_REGISTRY_ENDPOINTS')
        ?.value;
    expect(env('etcd')).toBe('http://etcd:2379');
    // Consul's agent API is per node: the pod's node IP, defined before the variable using it.
    expect(env('consul')).toBe('$(HOST_IP):8500');
    const names = pod(render('consul')).containers[0].env.map((e: { name: string }) => e.name);
    expect(names.indexOf('HOST_IP')).toBeLessThan(names.indexOf('DEMO_REGISTRY_ENDPOINTS'));
    expect(env('none')).toBeUndefined();
  });
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe.skipIf(!promtool && !process.env['CI'])('PrometheusRule (promtool)', () => {
  const dir = path.join(repoRoot, '.tmp', 'promtool');
  const rule = parseAllDocuments(file(render('none'), 'deploy/kubernetes/prometheusrule.yaml'))[0]!.toJSON();

  it('has rules promtool accepts', () => {
    expect(rule.kind).toBe('PrometheusRule');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'rules.yaml'), JSON.stringify({ groups: rule.spec.groups }, null, 2));
    const r = spawnSync('promtool', ['check', 'rules', path.join(dir, 'rules.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 5 rules found');
  });

  it('fires the error-rate, dependency and absence alerts from series named as the service exports them', () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'rules.yaml'), JSON.stringify({ groups: rule.spec.groups }, null, 2));
    const labels = 'job="demo",kind="http",operation="/demo.v1.Greeter/SayHello"';
    const test = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: `server_requests_code_total{${labels},code="200",reason=""}`, values: '0+60x20' },
            { series: `server_requests_code_total{${labels},code="500",reason="UNKNOWN"}`, values: '0+30x20' },
            // A scanner's 404s, a hundred times the service's own calls, do not hide its failures.
            {
              series:
                'server_requests_code_total{job="demo",kind="http",operation="<unmatched>",code="404",reason="NOT_FOUND"}',
              values: '0+9000x20',
            },
            {
              series:
                'client_requests_code_total{job="demo",kind="grpc",operation="/user.v1.User/Get",code="200",reason=""}',
              values: '0+60x20',
            },
            {
              series:
                'client_requests_code_total{job="demo",kind="grpc",operation="/user.v1.User/Get",code="503",reason="SERVICE_UNAVAILABLE"}',
              values: '0+20x20',
            },
            { series: 'up{job="demo",instance="a"}', values: '1x20' },
          ],
          alert_rule_test: [
            {
              eval_time: '15m',
              alertname: 'DemoHighErrorRate',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', job: 'demo' },
                  exp_annotations: {
                    summary: 'demo: more than 5% of requests fail with 5xx',
                    description: '33.33% of requests failed over the last 5 minutes.',
                  },
                },
              ],
            },
            {
              eval_time: '15m',
              alertname: 'DemoDependencyErrors',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', job: 'demo', operation: '/user.v1.User/Get' },
                  exp_annotations: {
                    summary: 'demo: more than 5% of its calls to another service fail with 5xx',
                    description: '25% of calls to /user.v1.User/Get failed over the last 5 minutes.',
                  },
                },
              ],
            },
            { eval_time: '15m', alertname: 'DemoDown', exp_alerts: [] },
            { eval_time: '15m', alertname: 'DemoAbsent', exp_alerts: [] },
          ],
        },
        {
          // Nothing scraped at all: scaled to zero, or a ServiceMonitor that selects nothing.
          interval: '1m',
          input_series: [{ series: 'up{job="other",instance="b"}', values: '1x20' }],
          alert_rule_test: [
            {
              eval_time: '10m',
              alertname: 'DemoAbsent',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', job: 'demo' },
                  exp_annotations: {
                    summary: 'demo: no instance is scraped',
                    description:
                      'Prometheus has no target for job demo: scaled to zero, or the ServiceMonitor selects no Service.',
                  },
                },
              ],
            },
            { eval_time: '10m', alertname: 'DemoHighErrorRate', exp_alerts: [] },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'test.yaml'), JSON.stringify(test, null, 2));
    const r = spawnSync('promtool', ['test', 'rules', path.join(dir, 'test.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
