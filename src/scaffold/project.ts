// `tsk new`: the whole project as a list of files, rendered from templates/service,
// plus the vendored runtime and tsk's protos. Pure apart from reading tsk's own files.
import fs from 'node:fs';
import path from 'node:path';
import { templatesDir, tskProtoDir, tskVersion } from '../proto/paths.js';
import { TS_PROTO_OPTIONS } from '../gen/tsproto.js';
import type { FileKind, GeneratedFile } from '../gen/file.js';
import {
  installRegistry,
  REGISTRY_INSTALLERS,
  registryFiles,
  runtimeFileWanted,
  type ProjectFiles,
  type RegistryKind,
} from './registry.js';
import { renderClients } from './clients.js';
import { healthcheckScript } from './healthcheck.js';
import { vendoredTskPath } from '../cli/self-pack.js';
import {
  SERVICE_NODE_COMMAND,
  SERVICE_NODE_MAJOR,
  serializePackageJson,
  servicePackageJson,
  TOOLCHAIN_INSTALL_SCRIPTS,
} from './package-json.js';
import { DEFAULT_PACKAGE_MANAGER, packageManagerCommands, type PackageManager } from './package-manager.js';
import { runtimeFiles } from './runtime.js';
import { readTemplate, templateTree } from './templates.js';

export type { RegistryKind } from './registry.js';

export interface ProjectOptions {
  name: string;
  registry: RegistryKind;
  httpPort: number;
  grpcPort: number;
  otlpEndpoint: string;
  /** What installs the project; default npm. */
  packageManager?: PackageManager;
}

/** Why a name cannot be a service name, or undefined when it can. */
export function checkServiceName(name: string): string | undefined {
  if (name.includes('/') || name.includes('\\') || name.includes('..'))
    return 'it must not contain path separators or ".."';
  // The name is also the npm package's, the proto package's (with "-" as "_"), and the
  // Kubernetes Deployment's and Service's, which must be an RFC 1035 label.
  if (name.length > 63) return 'it must be at most 63 characters (it names the Kubernetes Service)';
  if (!/^[a-z0-9-]+$/.test(name))
    return 'use lower-case letters, digits and "-" (it names the npm package and the Kubernetes Service)';
  if (!/^[a-z]/.test(name)) return 'it must start with a letter (it becomes a proto package)';
  if (name.endsWith('-')) return 'it must end with a letter or digit (it names the Kubernetes Service)';
  // grpc-js loads packages into plain objects by name, where these two are taken.
  if (name === 'constructor' || name === 'prototype')
    return 'JavaScript objects reserve it, so the gRPC package a client loads by that name could not be found';
  return undefined;
}

/** Files the user owns: created once, never regenerated over. */
const OWNED = [
  /^api\/.*\.proto$/,
  /^cmd\//,
  /^internal\/(biz|data|service|server)\//,
  /^internal\/conf\/(conf\.proto|checks\.ts)$/,
  /^configs\//,
  /^test\//,
  /^deploy\//,
  /^README\.md$/,
  /^Dockerfile$/,
  /^package\.json$/,
  /^tsconfig/,
  /^biome\.jsonc$/,
  /^buf\./,
  /^\.gitignore$/,
  /^\.dockerignore$/,
];

/** The proto package a project's own protos use, from its name. */
export function protoPackageFor(name: string): string {
  return name.replace(/[^a-z0-9]+/g, '_');
}

/** The prefix of the environment variables that override a project's config. */
export function envPrefixFor(name: string): string {
  return `${protoPackageFor(name).toUpperCase()}_`;
}

/** The OpenTelemetry collector a new project's Kubernetes manifests send to. */
const CLUSTER_OTLP_ENDPOINT = 'http://otel-collector.observability:4317';

/** The project's files, by path relative to its root, each with its owner. */
export function renderProject(options: ProjectOptions): Required<GeneratedFile>[] {
  const { name } = options;
  const protoPackage = protoPackageFor(name);
  const pascalName = protoPackage
    .split('_')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  const envPrefix = envPrefixFor(name);
  const pm = packageManagerCommands(options.packageManager ?? DEFAULT_PACKAGE_MANAGER);
  const context: Record<string, unknown> = {
    ...options,
    pm,
    isNpm: pm.name === 'npm',
    isPnpm: pm.name === 'pnpm',
    isYarn: pm.name === 'yarn',
    protoPackage,
    pascalName,
    envPrefix,
    hasRegistry: options.registry !== 'none',
    registryClusterEndpoint: REGISTRY_INSTALLERS[options.registry].clusterEndpoint ?? '',
    registryHostIp: REGISTRY_INSTALLERS[options.registry].hostIp === true,
    tskVersion: tskVersion(),
    nodeMajor: SERVICE_NODE_MAJOR,
    tsProtoOptions: TS_PROTO_OPTIONS,
    // The start command's first words as JSON array items, for the image's CMD and the Deployment.
    nodeCommand: SERVICE_NODE_COMMAND.map((word) => JSON.stringify(word)).join(', '),
    // As a JSON string, for the exec form of the image's HEALTHCHECK.
    healthcheck: JSON.stringify(healthcheckScript(envPrefix, options.httpPort)),
  };
  const root = path.join(templatesDir, 'service');
  const config = readTemplate(root, 'configs/config.yaml.hbs', { ...context, environment: 'development' });
  // The ConfigMap's copy says what the Deployment's environment says: the cluster's collector, production.
  const clusterConfig = readTemplate(root, 'configs/config.yaml.hbs', {
    ...context,
    otlpEndpoint: CLUSTER_OTLP_ENDPOINT,
    environment: 'production',
  });
  context['clusterOtlpEndpoint'] = CLUSTER_OTLP_ENDPOINT;
  context['indentedConfig'] = clusterConfig
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');

  const files: Required<GeneratedFile>[] = [];
  const add = (p: string, content: string, kind?: FileKind) =>
    files.push({ path: p, content, kind: kind ?? (OWNED.some((r) => r.test(p)) ? 'owned' : 'generated') });

  for (const t of templateTree(root, name)) {
    if (t.path === 'configs/config.yaml') add(t.path, config);
    else add(t.path, readTemplate(root, t.template, context));
  }
  const pkg = servicePackageJson({ name, tskVersion: tskVersion(), vendoredTsk: vendoredTskPath() });
  if (pm.packageManagerField) pkg['packageManager'] = pm.packageManagerField;
  add('package.json', serializePackageJson(pkg));
  if (pm.name === 'pnpm') add('pnpm-workspace.yaml', pnpmWorkspace(), 'owned');
  add('internal/data/clients.ts', renderClients([]), 'generated');
  // The runtime, vendored, without optional clients; then the registry feature, installed.
  for (const f of runtimeFiles()) {
    if (runtimeFileWanted(f.path, 'none')) add(`internal/pkg/${f.path}`, f.content, 'runtime');
  }
  for (const f of registryFiles('none')) add(f.path, f.content);
  installRegistry(treeOf(files), 'none', options.registry, envPrefix);
  for (const proto of [
    'google/api/annotations.proto',
    'google/api/http.proto',
    'errors/errors.proto',
    'buf/validate/validate.proto',
  ]) {
    add(`third_party/${proto}`, fs.readFileSync(path.join(tskProtoDir, proto), 'utf8'), 'generated');
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * pnpm's settings: the toolchain's install scripts denied, as allowScripts denies them
 * to npm. pnpm 12 stops an install on a build script nobody decided on.
 */
function pnpmWorkspace(): string {
  const decisions = Object.entries(TOOLCHAIN_INSTALL_SCRIPTS).map(
    // Double quotes, as the project's formatter writes YAML strings.
    ([name, allowed]) => `  ${name.startsWith('@') ? `"${name}"` : name}: ${allowed}`,
  );
  return `# pnpm settings. The install scripts of tsk's toolchain are not needed (package.json's
# allowScripts says the same to npm): denied, so pnpm neither runs them nor stops on them.
allowBuilds:
${decisions.join('\n')}
`;
}

/** The tree being rendered, as a feature installer edits it. */
function treeOf(files: Required<GeneratedFile>[]): ProjectFiles {
  const at = (p: string) => files.findIndex((f) => f.path === p);
  return {
    read: (p) => files[at(p)]?.content,
    write: (p, content, kind) => {
      const i = at(p);
      if (i >= 0) files[i] = { ...files[i]!, content };
      else files.push({ path: p, content, kind });
    },
    remove: (p) => {
      const i = at(p);
      if (i >= 0) files.splice(i, 1);
    },
  };
}
