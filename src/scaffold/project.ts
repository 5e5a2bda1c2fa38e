// `tsk new`: the whole project as a list of files, rendered from templates/service,
// plus the vendored runtime and tsk's protos. Pure apart from reading tsk's own files.
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { templatesDir, tskProtoDir, tskVersion } from '../proto/paths.js';
import { TS_PROTO_OPTIONS } from '../gen/tsproto.js';
import type { FileKind, GeneratedFile } from '../gen/file.js';
import { REGISTRY_INSTALLERS, registryFiles, runtimeFileWanted, withRegistryDependencies, type RegistryKind } from './registry.js';
import { renderClients } from './clients.js';
import { vendoredTskPath } from '../cli/self-pack.js';
import { runtimeFiles } from './runtime.js';
import { SERVICE_VERSIONS } from './versions.js';

export type { RegistryKind } from './registry.js';

export interface ProjectOptions {
  name: string;
  registry: RegistryKind;
  httpPort: number;
  grpcPort: number;
  otlpEndpoint: string;
}

const NPM_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Why a name cannot be a service name, or undefined when it can. */
export function checkServiceName(name: string): string | undefined {
  if (name.includes('/') || name.includes('\\') || name.includes('..')) return 'it must not contain path separators or ".."';
  if (name.length > 64) return 'it must be at most 64 characters';
  if (!NPM_NAME.test(name)) return 'use lower-case letters, digits, "-", "_" and "."; start with a letter or digit (a valid npm package name)';
  if (!/^[a-z]/.test(name)) return 'it must start with a letter (it becomes a proto package)';
  return undefined;
}

/** Files the user owns: created once, never regenerated over. */
const OWNED = [/^api\/.*\.proto$/, /^cmd\//, /^internal\/(biz|data|service|server)\//, /^internal\/conf\/(conf\.proto|checks\.ts)$/, /^configs\//, /^test\//, /^deploy\//, /^README\.md$/, /^Dockerfile$/, /^package\.json$/, /^tsconfig/, /^buf\./, /^\.gitignore$/, /^\.dockerignore$/];

/** The proto package a project's own protos use, from its name. */
export function protoPackageFor(name: string): string {
  return name.replace(/[^a-z0-9]+/g, '_');
}

/** The prefix of the environment variables that override a project's config. */
export function envPrefixFor(name: string): string {
  return `${protoPackageFor(name).toUpperCase()}_`;
}

/** The project's files, by path relative to its root, each with its owner. */
export function renderProject(options: ProjectOptions): Required<GeneratedFile>[] {
  const { name } = options;
  const protoPackage = protoPackageFor(name);
  const pascalName = protoPackage.split('_').filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  const envPrefix = envPrefixFor(name);
  const registryEndpoint = REGISTRY_INSTALLERS[options.registry].endpoints.join(', ');
  const context: Record<string, unknown> = {
    ...options,
    protoPackage,
    pascalName,
    envPrefix,
    registryEndpoint,
    hasRegistry: options.registry !== 'none',
    registryClusterEndpoint: REGISTRY_INSTALLERS[options.registry].clusterEndpoint ?? '',
    tskVersion: tskVersion(),
    vendoredTsk: vendoredTskPath(),
    versions: SERVICE_VERSIONS,
    tsProtoOptions: TS_PROTO_OPTIONS,
  };
  const root = path.join(templatesDir, 'service');
  const render = (rel: string) => Handlebars.compile(fs.readFileSync(path.join(root, rel), 'utf8'), { noEscape: true, strict: true })(context);
  const config = render('configs/config.yaml.hbs');
  context['indentedConfig'] = config.trimEnd().split('\n').map((l) => (l ? `    ${l}` : l)).join('\n');

  const files: Required<GeneratedFile>[] = [];
  const add = (p: string, content: string, kind?: FileKind) =>
    files.push({ path: p, content, kind: kind ?? (OWNED.some((r) => r.test(p)) ? 'owned' : 'generated') });

  for (const rel of listTemplates(root)) {
    const out = targetPath(rel, name);
    if (out === 'configs/config.yaml') add(out, config);
    else if (out === 'package.json') add(out, withRegistryDependencies(render(rel), 'none', options.registry));
    else add(out, render(rel));
  }
  add('internal/data/clients.ts', renderClients([]), 'generated');
  // The registry feature's own files; the runtime, vendored, with only the registry client in use.
  for (const f of registryFiles(options.registry)) add(f.path, f.content);
  for (const f of runtimeFiles()) {
    if (runtimeFileWanted(f.path, options.registry)) add(`internal/pkg/${f.path}`, f.content, 'runtime');
  }
  for (const proto of ['google/api/annotations.proto', 'google/api/http.proto', 'errors/errors.proto', 'buf/validate/validate.proto']) {
    add(`third_party/${proto}`, fs.readFileSync(path.join(tskProtoDir, proto), 'utf8'), 'generated');
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

function listTemplates(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.hbs')) out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** Where a template lands in the project. */
function targetPath(template: string, name: string): string {
  const rel = template.replace(/\.hbs$/, '');
  if (rel === 'gitignore') return '.gitignore';
  if (rel === 'dockerignore') return '.dockerignore';
  if (rel.startsWith('api/')) return `api/${name}/v1/${rel.slice(4)}`;
  if (rel.startsWith('cmd/')) return `cmd/${name}/${rel.slice(4)}`;
  return rel;
}
