// The service registry as an optional feature: one installer per kind names the npm
// dependency, the vendored runtime client, the wiring file and the config it needs.
// `tsk new` installs one; `tsk registry <kind>` swaps one for another in a project.
// Edits are pure: current file contents in, new contents out.
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { GeneratedFile } from '../gen/file.js';
import { templatesDir } from '../proto/paths.js';
import { SERVICE_VERSIONS } from './versions.js';

export type RegistryKind = 'etcd' | 'consul' | 'none';
export const REGISTRY_KINDS: readonly RegistryKind[] = ['none', 'etcd', 'consul'];

export interface RegistryInstaller {
  kind: RegistryKind;
  /** npm dependencies of the client, added to package.json. */
  dependencies: Record<string, string>;
  /** Vendored runtime files (relative to internal/pkg) the client needs. */
  runtime: string[];
  /** registry.endpoints written to the config. */
  endpoints: string[];
  /** The registry by its Service name in the cluster, set in the Deployment's env. */
  clusterEndpoint?: string;
}

export const REGISTRY_INSTALLERS: Record<RegistryKind, RegistryInstaller> = {
  none: { kind: 'none', dependencies: {}, runtime: [], endpoints: [] },
  etcd: { kind: 'etcd', dependencies: { etcd3: SERVICE_VERSIONS.etcd3 }, runtime: ['registry/etcd.ts'], endpoints: ['http://127.0.0.1:2379'], clusterEndpoint: 'http://etcd:2379' },
  consul: { kind: 'consul', dependencies: { consul: SERVICE_VERSIONS.consul }, runtime: ['registry/consul.ts'], endpoints: ['127.0.0.1:8500'], clusterEndpoint: 'consul:8500' },
};

/** Project files the registry feature writes (from templates/features/registry/<kind>/), by project path. */
export function registryFiles(kind: RegistryKind): GeneratedFile[] {
  const root = path.join(templatesDir, 'features', 'registry', kind);
  return (fs.readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((rel) => fs.statSync(path.join(root, rel)).isFile())
    .map((rel) => ({ path: rel.split(path.sep).join('/'), content: fs.readFileSync(path.join(root, rel), 'utf8') }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Whether a vendored runtime file (relative to internal/pkg) belongs in a project with this registry. */
export function runtimeFileWanted(name: string, kind: RegistryKind): boolean {
  const optional = Object.values(REGISTRY_INSTALLERS).flatMap((i) => i.runtime);
  return !optional.includes(name) || REGISTRY_INSTALLERS[kind].runtime.includes(name);
}

/**
 * The registry a project has installed: the kind whose npm dependency its package.json
 * lists (the vendored client alone may be a leftover), else the vendored client tsk
 * recorded, else none.
 */
export function installedRegistry(root: string, vendored: Iterable<string>): RegistryKind {
  const optional = REGISTRY_KINDS.filter((k) => k !== 'none');
  const packageJson = path.join(root, 'package.json');
  if (fs.existsSync(packageJson)) {
    const deps = (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
    return optional.find((k) => Object.keys(REGISTRY_INSTALLERS[k].dependencies).every((d) => d in deps)) ?? 'none';
  }
  const names = new Set(vendored);
  return optional.find((k) => REGISTRY_INSTALLERS[k].runtime.some((f) => names.has(`internal/pkg/${f}`))) ?? 'none';
}

/** package.json with `from`'s dependencies swapped for `to`'s; the rest stays as it was. */
export function withRegistryDependencies(packageJson: string, from: RegistryKind, to: RegistryKind): string {
  const pkg = JSON.parse(packageJson) as { dependencies?: Record<string, string> };
  const deps = { ...pkg.dependencies };
  for (const name of Object.keys(REGISTRY_INSTALLERS[from].dependencies)) delete deps[name];
  Object.assign(deps, REGISTRY_INSTALLERS[to].dependencies);
  pkg.dependencies = Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** A config.yaml with registry.kind and registry.endpoints set; comments and other keys kept. */
export function withRegistryConfig(configYaml: string, to: RegistryKind): string {
  const doc = parseDocument(configYaml);
  doc.setIn(['registry', 'kind'], to);
  const endpoints = doc.createNode(REGISTRY_INSTALLERS[to].endpoints);
  endpoints.flow = true;
  doc.setIn(['registry', 'endpoints'], endpoints);
  return doc.toString({ flowCollectionPadding: false });
}

/** The Kubernetes ConfigMap with its embedded config.yaml edited like the file itself. */
export function withRegistryConfigMap(configMapYaml: string, to: RegistryKind): string {
  const doc = parseDocument(configMapYaml);
  const node = doc.getIn(['data', 'config.yaml'], true) as Scalar<string> | undefined;
  if (!node || typeof node.value !== 'string') throw new Error('the ConfigMap has no data."config.yaml"');
  node.value = withRegistryConfig(node.value, to);
  return doc.toString({ flowCollectionPadding: false });
}

/**
 * The Kubernetes Deployment with its `<PREFIX>REGISTRY_ENDPOINTS` variable pointing at
 * the new registry's Service name, or gone when there is no registry.
 */
export function withRegistryDeployment(deploymentYaml: string, to: RegistryKind, envPrefix: string): string {
  const doc = parseDocument(deploymentYaml);
  const env = doc.getIn(['spec', 'template', 'spec', 'containers', 0, 'env'], true) as YAMLSeq<YAMLMap> | undefined;
  if (!env || !Array.isArray(env.items)) throw new Error('the Deployment\'s first container has no env list');
  const name = `${envPrefix}REGISTRY_ENDPOINTS`;
  const at = env.items.findIndex((item) => item.get('name') === name);
  const endpoint = REGISTRY_INSTALLERS[to].clusterEndpoint;
  if (endpoint === undefined) {
    if (at >= 0) env.items.splice(at, 1);
  } else if (at >= 0) {
    env.items[at]!.set('value', endpoint);
  } else {
    env.items.unshift(doc.createNode({ name, value: endpoint }) as YAMLMap);
  }
  return doc.toString({ flowCollectionPadding: false });
}
