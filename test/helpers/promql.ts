// Reading the PromQL of the generated dashboard and alert rules: the queries, the
// metric names they select and the labels they group by, to check them against the
// series a running service exports.

export interface DashboardTarget {
  panel: string;
  expr: string;
}

/** Every query of a Grafana dashboard, with the title of its panel. */
export function dashboardTargets(dashboard: {
  panels: { title: string; targets?: { expr: string }[] }[];
}): DashboardTarget[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Metric names in vector selectors: `name{...}` (every query here filters by job). */
export function selectedMetrics(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1]!);
}

/** Labels of `by (...)` clauses. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Grafana's `$var` references, including built-ins such as `$__rate_interval`. */
export function variables(expr: string): string[] {
  return [...expr.matchAll(/\$(\w+)/g)].map((m) => m[1]!);
}

/** Label names of each series in a Prometheus text exposition, by metric name. */
export function exportedSeries(exposition: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = series.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1]!);
    series.set(m[1]!, labels);
  }
  return series;
}
