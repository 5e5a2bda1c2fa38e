// The service registry as an optional feature: one installer per kind names the npm
// dependency, the vendored runtime client, the wiring file and the config it needs, and
// installRegistry puts them in place of another kind's. `tsk new` installs onto the base
// tree (which has none); `tsk registry <kind>` onto a project on disk.
// Edits are pure: current file contents in, new contents out.
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { editConfigMapConfig } from './config-map.js';
import type { GeneratedFile } from '../gen/file.js';
import { templatesDir } from '../proto/paths.js';
import type { FileKind } from '../gen/file.js';
import { addDependencies, editPackageJson, removeDependencies, type PackageJson } from './package-json.js';
import { runtimeFiles } from './runtime.js';
import { SERVICE_VERSIONS } from './versions.js';
import { readProjectPackage } from './project-package.js';

export type RegistryKind = 'etcd' | 'consul' | 'none';
export const REGISTRY_KINDS: readonly RegistryKind[] = ['none', 'etcd', 'consul'];

export interface RegistryInstaller {
  kind: RegistryKind;
  /** npm dependencies of the client, added to package.json (Consul's client needs none: it speaks HTTP with fetch). */
  dependencies: Record<string, string>;
  /**
   * Dependencies an older tsk added for this kind and this one no longer uses: they still
   * tell the kind apart, and go on `tsk upgrade` and a switch.
   */
  retiredDependencies?: readonly string[];
  /** Vendored runtime files (relative to internal/pkg) the client needs. */
  runtime: string[];
  /** registry.endpoints written to the config. */
  endpoints: string[];
  /** The registry in the cluster, set in the Deployment's env. */
  clusterEndpoint?: string;
  /** What the Deployment's comment above it says. */
  clusterComment?: string;
  /**
   * clusterEndpoint refers to `$(HOST_IP)`, the node's IP from the downward API, set just
   * before it: Consul's agent API is per node, so each pod talks to its node's agent.
   */
  hostIp?: boolean;
}

const SERVICE_COMMENT =
  ' The registry, by its Service name in this namespace; point it elsewhere here\n (comma-separated for several endpoints). Overrides registry.endpoints of the ConfigMap.';

export const REGISTRY_INSTALLERS: Record<RegistryKind, RegistryInstaller> = {
  none: { kind: 'none', dependencies: {}, runtime: [], endpoints: [] },
  etcd: {
    kind: 'etcd',
    dependencies: { etcd3: SERVICE_VERSIONS.etcd3 },
    runtime: ['registry/etcd.ts'],
    endpoints: ['http://127.0.0.1:2379'],
    clusterEndpoint: 'http://etcd:2379',
    clusterComment: SERVICE_COMMENT,
  },
  consul: {
    kind: 'consul',
    dependencies: {},
    retiredDependencies: ['consul'],
    runtime: ['registry/consul.ts'],
    endpoints: ['127.0.0.1:8500'],
    clusterEndpoint: '$(HOST_IP):8500',
    clusterComment:
      " The Consul agent of this pod's node (Consul's agent API is per node), at the node's IP;\n point it elsewhere here. Overrides registry.endpoints of the ConfigMap.",
    hostIp: true,
  },
};

/** A project's files as a feature installer reads and changes them. */
export interface ProjectFiles {
  read(path: string): string | undefined;
  write(path: string, content: string, kind: FileKind): void;
  remove(path: string): void;
}

/**
 * `to` installed in place of `from`: its npm dependency, vendored client and wiring file,
 * registry.* in the config and the ConfigMap, the registry address in the Deployment.
 * Files the project does not have are left out; a file that cannot be edited throws, naming it.
 */
export function installRegistry(project: ProjectFiles, from: RegistryKind, to: RegistryKind, envPrefix: string): void {
  const edit = (rel: string, change: (text: string) => string) => {
    const current = project.read(rel);
    if (current === undefined) return;
    let next: string;
    try {
      next = change(current);
    } catch (err) {
      throw new Error(`${rel}: ${(err as Error).message}`);
    }
    if (next !== current) project.write(rel, next, 'owned');
  };
  edit('package.json', (t) => editPackageJson(t, (pkg) => swapRegistryDependencies(pkg, from, to)));
  edit('configs/config.yaml', (t) => withRegistryConfig(t, from, to));
  edit('deploy/kubernetes/configmap.yaml', (t) => withRegistryConfigMap(t, from, to));
  edit('deploy/kubernetes/deployment.yaml', (t) => withRegistryDeployment(t, from, to, envPrefix));
  for (const f of registryFiles(to)) project.write(f.path, f.content, 'owned');
  for (const name of REGISTRY_INSTALLERS[from].runtime) project.remove(`internal/pkg/${name}`);
  const wanted = new Set(REGISTRY_INSTALLERS[to].runtime);
  for (const f of runtimeFiles()) if (wanted.has(f.path)) project.write(`internal/pkg/${f.path}`, f.content, 'runtime');
}

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
 * The registry a project has installed: the client its wiring (internal/server/registry.ts)
 * imports; without that file, the kind whose npm dependency package.json lists (a project
 * an older tsk made may name `consul`, which its client once used), else the vendored
 * client tsk recorded, else none. A vendored client alone may be a leftover the wiring
 * no longer uses.
 */
export function installedRegistry(root: string, vendored: Iterable<string>): RegistryKind {
  const optional = REGISTRY_KINDS.filter((k) => k !== 'none');
  const wiring = path.join(root, WIRING_PATH);
  if (fs.existsSync(wiring)) {
    const source = fs.readFileSync(wiring, 'utf8');
    return optional.find((k) => REGISTRY_INSTALLERS[k].runtime.some((f) => source.includes(clientImport(f)))) ?? 'none';
  }
  if (fs.existsSync(path.join(root, 'package.json'))) {
    const deps = readProjectPackage<{ dependencies?: Record<string, string> }>(root).dependencies ?? {};
    return optional.find((k) => dependencyNames(k).some((d) => d in deps)) ?? 'none';
  }
  const names = new Set(vendored);
  return optional.find((k) => REGISTRY_INSTALLERS[k].runtime.some((f) => names.has(`internal/pkg/${f}`))) ?? 'none';
}

/** The npm packages a kind's projects list, now or as an older tsk made them. */
function dependencyNames(kind: RegistryKind): string[] {
  const installer = REGISTRY_INSTALLERS[kind];
  return [...Object.keys(installer.dependencies), ...(installer.retiredDependencies ?? [])];
}

/** The wiring file each registry kind writes. */
const WIRING_PATH = 'internal/server/registry.ts';

/** How the wiring imports a vendored client (relative to internal/pkg): `../pkg/registry/etcd.js`. */
function clientImport(runtimeFile: string): string {
  return `'../pkg/${runtimeFile.replace(/\.ts$/, '.js')}'`;
}

/** `from`'s npm dependencies swapped for `to`'s; the rest of package.json stays as it was. */
export function swapRegistryDependencies(pkg: PackageJson, from: RegistryKind, to: RegistryKind): void {
  removeDependencies(pkg, 'dependencies', dependencyNames(from));
  addDependencies(pkg, 'dependencies', REGISTRY_INSTALLERS[to].dependencies);
}

/**
 * registry.endpoints of a config.yaml when they are the user's: set, and not what tsk
 * writes for the registry `from` (undefined otherwise).
 */
export function userRegistryEndpoints(configYaml: string, from: RegistryKind): string[] | undefined {
  const endpoints = parseDocument(configYaml).getIn(['registry', 'endpoints']) as YAMLSeq | undefined;
  const values = (endpoints?.toJSON?.() ?? []) as unknown[];
  if (values.length === 0 || JSON.stringify(values) === JSON.stringify(REGISTRY_INSTALLERS[from].endpoints))
    return undefined;
  return values.map(String);
}

/**
 * A config.yaml with registry.kind set to `to`, and registry.endpoints to its defaults
 * unless the user set them (userRegistryEndpoints): those stay, for a switch back or to be
 * checked. Comments and other keys are kept.
 */
export function withRegistryConfig(configYaml: string, from: RegistryKind, to: RegistryKind): string {
  const doc = parseDocument(configYaml);
  doc.setIn(['registry', 'kind'], to);
  if (!userRegistryEndpoints(configYaml, from)) {
    const endpoints = doc.createNode(REGISTRY_INSTALLERS[to].endpoints);
    endpoints.flow = true;
    doc.setIn(['registry', 'endpoints'], endpoints);
  }
  return doc.toString({ flowCollectionPadding: false });
}

/**
 * The Deployment's `<PREFIX>REGISTRY_ENDPOINTS` when the user set it: present, and not
 * the Service name tsk writes for the registry `from` (undefined otherwise).
 */
export function userDeploymentEndpoints(
  deploymentYaml: string,
  from: RegistryKind,
  envPrefix: string,
): string | undefined {
  const env = parseDocument(deploymentYaml).getIn(['spec', 'template', 'spec', 'containers', 0, 'env']) as
    | YAMLSeq<YAMLMap>
    | undefined;
  const entry = env?.items?.find((item) => item.get?.('name') === `${envPrefix}REGISTRY_ENDPOINTS`);
  const value = entry?.get('value');
  return typeof value === 'string' && value !== REGISTRY_INSTALLERS[from].clusterEndpoint ? value : undefined;
}

/** The Kubernetes ConfigMap with its embedded config.yaml edited like the file itself. */
export function withRegistryConfigMap(configMapYaml: string, from: RegistryKind, to: RegistryKind): string {
  const next = editConfigMapConfig(configMapYaml, (config) => withRegistryConfig(config, from, to));
  if (next === undefined) throw new Error('the ConfigMap has no data."config.yaml"');
  return next;
}

/**
 * The Kubernetes Deployment with its `<PREFIX>REGISTRY_ENDPOINTS` variable pointing at
 * the new registry's Service name, or gone when there is no registry. A value the user
 * set (userDeploymentEndpoints) stays, as registry.endpoints of the config does.
 */
export function withRegistryDeployment(
  deploymentYaml: string,
  from: RegistryKind,
  to: RegistryKind,
  envPrefix: string,
): string {
  const doc = parseDocument(deploymentYaml);
  const env = doc.getIn(['spec', 'template', 'spec', 'containers', 0, 'env'], true) as YAMLSeq<YAMLMap> | undefined;
  if (!env || !Array.isArray(env.items)) throw new Error("the Deployment's first container has no env list");
  const name = `${envPrefix}REGISTRY_ENDPOINTS`;
  const at = env.items.findIndex((item) => item.get('name') === name);
  const endpoint = REGISTRY_INSTALLERS[to].clusterEndpoint;
  if (endpoint !== undefined && userDeploymentEndpoints(deploymentYaml, from, envPrefix) !== undefined)
    return deploymentYaml;
  // A comment above the first entry is parsed onto the list itself; it goes and comes with that entry.
  if (endpoint === undefined) {
    if (at === 0 || env.commentBefore === REGISTRY_INSTALLERS[from].clusterComment) env.commentBefore = null;
    if (at >= 0) env.items.splice(at, 1);
  } else if (at >= 0) {
    env.items[at]!.set('value', endpoint);
    // The comment tsk wrote says where the old registry was; a comment above the first entry is the list's.
    for (const node of [env, env.items[at]!])
      if (node.commentBefore === REGISTRY_INSTALLERS[from].clusterComment)
        node.commentBefore = REGISTRY_INSTALLERS[to].clusterComment ?? null;
  } else {
    if (env.commentBefore && env.items[0]) {
      env.items[0].commentBefore = env.commentBefore;
      env.commentBefore = null;
    }
    const item = doc.createNode({ name, value: endpoint }) as YAMLMap;
    item.commentBefore = REGISTRY_INSTALLERS[to].clusterComment ?? null;
    env.items.unshift(item);
  }
  withHostIp(doc, env, name, REGISTRY_INSTALLERS[to].hostIp === true);
  return doc.toString({ flowCollectionPadding: false });
}

/** The node's IP as HOST_IP, just before the registry variable that refers to it, or gone. */
function withHostIp(
  doc: ReturnType<typeof parseDocument>,
  env: YAMLSeq<YAMLMap>,
  before: string,
  wanted: boolean,
): void {
  const at = env.items.findIndex(
    (item) => item.get('name') === 'HOST_IP' && item.getIn(['valueFrom', 'fieldRef', 'fieldPath']) === 'status.hostIP',
  );
  if (at >= 0) env.items.splice(at, 1);
  if (!wanted) return;
  const registry = env.items.findIndex((item) => item.get('name') === before);
  const item = doc.createNode({ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }) as YAMLMap;
  // The comment above the registry variable now goes above the pair.
  const first = env.items[registry];
  if (first?.commentBefore) {
    item.commentBefore = first.commentBefore;
    first.commentBefore = null;
  }
  env.items.splice(Math.max(registry, 0), 0, item);
}
