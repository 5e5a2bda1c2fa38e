// The generated Grafana dashboard (deploy/grafana/dashboard.json): valid JSON in
// Grafana's dashboard model, every query's variables defined and its PromQL accepted by
// promtool. That its metric and label names are the ones a running service exports is
// checked against a live /metrics in test/e2e/new.test.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderProject } from '../../src/scaffold/project.js';
import { repoRoot } from '../helpers/cli.js';
import { dashboardTargets, groupingLabels, variables } from '../helpers/promql.js';

const dashboardOf = (name: string) => {
  const files = renderProject({ name, registry: 'none', httpPort: 8000, grpcPort: 9000, otlpEndpoint: '' });
  return JSON.parse(files.find((f) => f.path === 'deploy/grafana/dashboard.json')!.content);
};
const dashboard = dashboardOf('demo');
const GRAFANA_BUILTINS = ['__rate_interval', '__interval', '__range', '__all'];

describe('deploy/grafana/dashboard.json', () => {
  it('is a Grafana dashboard named after the service', () => {
    expect(dashboard.title).toBe('demo');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(
      dashboardOf('orders-api').templating.list.find((v: { name: string }) => v.name === 'job').current.value,
    ).toBe('orders-api');
  });

  it('lays out panels with unique ids on the 24-column grid without overlaps', () => {
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { title, type, gridPos: g, targets } of dashboard.panels) {
      expect(['timeseries', 'stat'], title).toContain(type);
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      expect(targets.length, title).toBeGreaterThan(0);
      const refIds = targets.map((t: { refId: string }) => t.refId);
      expect(new Set(refIds).size, title).toBe(refIds.length);
    }
  });

  it('queries the Prometheus data source variable, with every variable defined', () => {
    const defined = dashboard.templating.list.map((v: { name: string }) => v.name);
    expect(dashboard.templating.list.find((v: { name: string }) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    for (const panel of dashboard.panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of panel.targets) {
        for (const v of variables(t.expr))
          expect([...defined, ...GRAFANA_BUILTINS], `${panel.title}: $${v}`).toContain(v);
        // A legend names only labels the query keeps.
        for (const m of (t.legendFormat as string).matchAll(/\{\{(\w+)\}\}/g))
          expect(groupingLabels(t.expr), `${panel.title}: ${t.legendFormat}`).toContain(m[1]);
      }
    }
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  it.skipIf(!promtool && !process.env['CI'])('has PromQL that promtool accepts', () => {
    const dir = path.join(repoRoot, '.tmp', 'dashboard');
    fs.mkdirSync(dir, { recursive: true });
    // Grafana's variables as it substitutes them; each query becomes a recording rule to be parsed.
    const substitute = (expr: string) =>
      expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'demo').replaceAll('$kind', 'http|grpc');
    const rules = dashboardTargets(dashboard).map((t, i) => ({
      record: `dashboard:query${i}`,
      expr: substitute(t.expr),
    }));
    fs.writeFileSync(path.join(dir, 'rules.yaml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }, null, 2));
    const r = spawnSync('promtool', ['check', 'rules', path.join(dir, 'rules.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
