// `tsk add client <service> --proto <file|dir>`: depend on another service, Kratos-style,
// from the data layer. Its API protos are copied under api/ (refreshed on every run),
// their messages and clients generated, and internal/data/clients.ts regenerated with a
// connection per called service (discovery:///<service>, or clients.<service>.endpoint).
// Owned files are never rewritten; config gains clients.<service> only when missing (or,
// when the transport switches, the endpoint tsk wrote for the other one is moved).
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { parseAllDocuments, parseDocument } from 'yaml';
import { planClientFiles } from '../../gen/client.js';
import { servedOverHttp } from '../../gen/http-rules.js';
import { compileProtos } from '../../proto/compile.js';
import { UsageError } from '../../proto/diagnostics.js';
import {
  apiProperty,
  CLIENT_TRANSPORTS,
  clientClassName,
  clientModuleSuffix,
  clientProperty,
  renderClients,
  type ClientSpec,
  type ClientTransport,
} from '../../scaffold/clients.js';
import { configMapConfig, editConfigMapConfig } from '../../scaffold/config-map.js';
import { checkServiceName } from '../../scaffold/project.js';
import { installedRegistry } from '../../scaffold/registry.js';
import { CLIENTS_PATH, findProjectRoot, readManifest } from '../manifest.js';
import { failOnStale, printReport } from '../output.js';
import type { GeneratedFile } from '../../gen/file.js';
import { writeFiles, type WriteReport } from '../writer.js';
import { readProjectPackage } from '../../scaffold/project-package.js';

type ClientsRecord = Record<
  string,
  {
    protos: string[];
    transport?: ClientTransport;
    apis: ClientSpec['apis'];
    /** Where the protos were copied from (`--proto`) and their import root, relative to the project. */
    source?: string;
    sourceRoot?: string;
  }
>;

export interface AddClientFlags {
  proto: string;
  /** Import root of the protos; default: the nearest directory named api above them. */
  protoRoot?: string;
  /** Call the service over gRPC (default) or over its HTTP API. */
  transport?: string;
  /** Overwrite generated files (and copied protos) changed locally. */
  force?: boolean;
  /** Keep them, and exit 0. */
  keepLocal?: boolean;
}

export async function addClient(service: string, flags: AddClientFlags): Promise<void> {
  const problem = checkServiceName(service);
  if (problem) throw new UsageError(`invalid service name "${service}": ${problem}`);
  if (flags.transport !== undefined && !CLIENT_TRANSPORTS.includes(flags.transport as ClientTransport)) {
    throw new UsageError(`invalid --transport "${flags.transport}": expected ${CLIENT_TRANSPORTS.join(' or ')}`);
  }
  const cwd = process.cwd();
  const root = findProjectRoot(cwd);
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const own = readProjectPackage(root).name;
  if (own === service)
    throw new UsageError(`${service} is this project; it calls its own code directly, not through a client`);
  const source = path.resolve(cwd, flags.proto);
  if (!fs.existsSync(source)) throw new UsageError(`${flags.proto} does not exist`);
  const sourceRoot = importRootOf(source, flags.protoRoot ? path.resolve(cwd, flags.protoRoot) : undefined);
  const protos = listProtos(source).map((p) => posixRelative(sourceRoot, p));
  if (protos.length === 0) throw new UsageError(`no .proto files in ${flags.proto}`);

  const record = readClientsRecord(root);
  // A re-run without --transport keeps the one recorded for the service.
  const recorded = record[service] ? (record[service].transport ?? 'grpc') : undefined;
  const transport = (flags.transport ?? recorded ?? 'grpc') as ClientTransport;

  const apiDir = path.join(root, 'api');
  const manifest = readManifest(root);
  for (const p of protos) {
    const rel = `api/${p}`;
    if (manifest.files[rel]?.kind === 'owned')
      throw new UsageError(
        `${rel} is this project's own proto; a client's protos cannot replace it (is ${service} this service?)`,
      );
  }

  // Compile the other service's protos where they are, then generate as if they lived under api/.
  const compiled = await compileProtos({
    inputs: protos.map((p) => path.join(sourceRoot, p)),
    importPaths: [sourceRoot, path.join(root, 'third_party')],
    cwd: root,
  });
  const generated = await planClientFiles(compiled, { cwd: root, runtimeFor: () => '../internal/pkg' });
  const relocate = (p: string) => {
    const rel = path.relative(sourceRoot, p);
    if (rel.startsWith('..')) throw new Error(`generated ${p} lies outside ${sourceRoot}`);
    return path.join(apiDir, rel);
  };
  const files: GeneratedFile[] = [
    ...protos.map((p) => ({
      path: path.join(apiDir, p),
      content: fs.readFileSync(path.join(sourceRoot, p), 'utf8'),
      kind: 'generated' as const,
    })),
    ...generated.map((g) => ({ path: relocate(g.path), content: g.content, kind: 'generated' as const })),
  ];

  // Over HTTP only services with HTTP bindings have a client (`*_http.ts`).
  const callable = (file: (typeof compiled.targets)[number]) =>
    transport === 'grpc' || generated.some((g) => relocate(g.path) === path.join(apiDir, `${file.name}_http.ts`));
  const apis = compiled.targets.filter(callable).flatMap((file) =>
    file.services.map((s) => ({
      fullName: s.typeName,
      className: clientClassName(s.name, transport),
      module: `../../api/${file.name}${clientModuleSuffix(transport)}`,
    })),
  );
  if (apis.length === 0)
    throw new UsageError(
      `${flags.proto} defines no service to call${transport === 'http' ? ' over HTTP (no google.api.http bindings)' : ''}`,
    );

  const fromRoot = (p: string) => posixRelative(root, p) || '.';
  record[service] = {
    protos,
    ...(transport === 'http' ? { transport } : {}),
    apis,
    source: fromRoot(source),
    sourceRoot: fromRoot(sourceRoot),
  };
  const clientsFile = clientsModule(root, record);
  files.push(clientsFile);
  files.push({
    path: path.join(root, CLIENTS_PATH),
    content: `${JSON.stringify(sortKeys(record), null, 2)}\n`,
    kind: 'generated',
  });

  // clients.<service> in the config, unless the user has set it already.
  const hasRegistry = installedRegistry(root, Object.keys(manifest.files)) !== 'none';
  const calledRoot = findProjectRoot(path.dirname(source));
  const endpointsFor = (t: ClientTransport) => {
    const port = listenPort(calledRoot, t) ?? (t === 'http' ? 8000 : 9000);
    const address = (host: string) => (t === 'http' ? `http://${host}:${port}` : `${host}:${port}`);
    const local = hasRegistry ? `discovery:///${service}` : address('127.0.0.1');
    // In Kubernetes the called service is its Service, named after it, on the same port; a gRPC
    // client dials its headless Service when it has one, to balance calls over the pods.
    const headless = t === 'grpc' ? headlessService(calledRoot) : undefined;
    const cluster = hasRegistry ? local : headless ? `dns:///${headless}:${port}` : address(service);
    return { port, local, cluster };
  };
  const { port, local: endpoint, cluster: clusterEndpoint } = endpointsFor(transport);
  // Switching transports: the endpoint written for the other one is replaced, since it names the other port.
  const before = recorded !== undefined && recorded !== transport ? endpointsFor(recorded) : undefined;
  const ownPort = listenPort(root, transport);
  const kept: string[] = [];
  /** clients.<service>.endpoint of configs/config.yaml once this run is done: what the client dials. */
  let configured: string | undefined;
  for (const rel of ['configs/config.yaml', 'deploy/kubernetes/configmap.yaml']) {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) continue;
    const current = fs.readFileSync(file, 'utf8');
    const configMap = rel.endsWith('configmap.yaml');
    const next = configMap
      ? (editConfigMapConfig(current, (config) =>
          withClientConfig(config, service, clusterEndpoint, before?.cluster),
        ) ?? current)
      : withClientConfig(current, service, endpoint, before?.local);
    if (next !== current) files.push({ path: file, content: next, kind: 'owned' });
    const now = clientEndpoint(configMap ? configMapConfig(next) : next, service);
    if (!configMap) configured = now;
    if (before && now && now !== (configMap ? clusterEndpoint : endpoint) && !now.startsWith('discovery:///'))
      kept.push(
        `warning: clients.${service}.endpoint is ${now} in ${rel}, set for ${TRANSPORT_NAMES[recorded!]}: set it to the ${service} service's ${TRANSPORT_NAMES[transport]} address`,
      );
  }

  // Owned config files are edited in place (one key added); everything else follows the writer's rules.
  const owned = files.filter((f) => f.kind === 'owned');
  const report = writeFiles(
    files.filter((f) => f.kind !== 'owned'),
    { projectRoot: root, force: flags.force },
  );
  if (owned.length > 0) {
    const edited = writeFiles(owned, { projectRoot: root, force: true });
    report.written.push(...edited.written);
  }
  printReport(report, cwd);
  // Without its clients.ts the service has no client of this one: the next step would not build.
  const clientsKept = report.skipped.some((f) => f.path === clientsFile.path);
  if (clientsKept)
    console.log(
      chalk.yellow(
        `warning: internal/data/clients.ts was not updated, so it has no client of ${service} yet: --force rewrites it (your edits to it go), or add the client to it by hand`,
      ),
    );
  failOnStale(report, flags.keepLocal);
  if (!hasRegistry && port === ownPort && edited(files))
    console.log(
      chalk.yellow(
        `warning: clients.${service}.endpoint is ${endpoint}, where this service itself listens: set it to the ${service} service's address`,
      ),
    );
  for (const warning of kept) console.log(chalk.yellow(warning));
  if (transport === 'http') {
    const grpcOnly = compiled.targets
      .filter(callable)
      .flatMap((file) =>
        file.services.flatMap((s) => s.methods.filter((m) => !servedOverHttp(m)).map((m) => `${s.name}.${m.name}`)),
      );
    if (grpcOnly.length > 0)
      console.log(
        chalk.yellow(
          `warning: the HTTP client has no ${grpcOnly.join(', ')}: client and bidi streams, and server streams without a google.api.http rule, are served over gRPC only (--transport grpc calls them)`,
        ),
      );
  }
  const names = apis.map((a) => `data.clients.${clientProperty(service)}.${apiProperty(a.className)}`);
  // The configured endpoint wins over discovery (clients.ts), so name it when there is one.
  const dials = configured
    ? `it dials ${configured} (clients.${service}.endpoint of configs/config.yaml)`
    : hasRegistry
      ? `it dials discovery:///${service}`
      : `it dials clients.${service}.endpoint of configs/config.yaml`;
  if (!clientsKept) console.log(chalk.dim(`next: call ${names.join(', ')} from a repo in internal/data; ${dials}`));
}

/** internal/data/clients.ts: a connection and client per service `record` (.tsk/clients.json) names. */
function clientsModule(root: string, record: ClientsRecord): GeneratedFile {
  const specs = Object.entries(record).map(([name, r]) => ({ service: name, transport: r.transport, apis: r.apis }));
  return { path: path.join(root, 'internal', 'data', 'clients.ts'), content: renderClients(specs), kind: 'generated' };
}

/**
 * Writes internal/data/clients.ts again from .tsk/clients.json, for `tsk generate`: a
 * deleted one comes back, and one edited by hand is reported like any generated file.
 * Nothing in a project that calls no service.
 */
export function writeClientsModule(root: string, flags: { force?: boolean | undefined }): WriteReport | undefined {
  const record = readClientsRecord(root);
  if (Object.keys(record).length === 0) return undefined;
  return writeFiles([clientsModule(root, record)], { projectRoot: root, force: flags.force });
}

/**
 * The port a tsk project's config listens on for `transport` (server.http.addr or
 * server.grpc.addr), or undefined when `root` is not a tsk project or says none.
 */
function listenPort(root: string | undefined, transport: ClientTransport): number | undefined {
  if (!root) return undefined;
  const file = path.join(root, 'configs', 'config.yaml');
  if (!fs.existsSync(file)) return undefined;
  const addr = parseDocument(fs.readFileSync(file, 'utf8')).getIn(['server', transport, 'addr']);
  const port = typeof addr === 'string' ? Number(/:(\d+)$/.exec(addr)?.[1]) : Number.NaN;
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** The headless Service (no cluster IP) in a called project's deploy/kubernetes/service.yaml, by name. */
function headlessService(root: string | undefined): string | undefined {
  const file = root && path.join(root, 'deploy', 'kubernetes', 'service.yaml');
  if (!file || !fs.existsSync(file)) return undefined;
  for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    if (!('toJS' in doc)) continue;
    const s = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: { clusterIP?: unknown } } | null;
    if (s?.kind === 'Service' && s.spec?.clusterIP === 'None' && typeof s.metadata?.name === 'string')
      return s.metadata.name;
  }
  return undefined;
}

/** Whether the config files were given a client endpoint (not when the user had set one). */
function edited(files: GeneratedFile[]): boolean {
  return files.some((f) => f.kind === 'owned' && f.path.endsWith(path.join('configs', 'config.yaml')));
}

/** The protos copied for the services this project calls (their import paths under api/): APIs it calls, not serves. */
export function calledApiProtos(root: string): Set<string> {
  return new Set(Object.values(readClientsRecord(root)).flatMap((r) => r.protos));
}

/**
 * What has changed in the APIs this project calls since `tsk add client` copied them: one
 * line per called service whose protos where they were copied from now differ from the
 * copies under api/ (a file changed, added or removed), saying the command that takes the
 * change. Sources that are not there (another checkout, an image build) are not checked.
 */
export function clientApiDrift(root: string): string[] {
  const lines: string[] = [];
  for (const [service, r] of Object.entries(readClientsRecord(root))) {
    if (r.source === undefined || r.sourceRoot === undefined) continue;
    const source = path.resolve(root, r.source);
    const sourceRoot = path.resolve(root, r.sourceRoot);
    if (!fs.existsSync(source)) continue;
    const now = listProtos(source).map((p) => posixRelative(sourceRoot, p));
    const copy = (p: string) => path.join(root, 'api', p);
    const differ = [
      ...now.filter((p) => !r.protos.includes(p)).map((p) => `${p} is new`),
      ...r.protos.filter((p) => !now.includes(p)).map((p) => `${p} is gone`),
      ...now
        .filter((p) => r.protos.includes(p))
        .filter(
          (p) => !fs.existsSync(copy(p)) || !fs.readFileSync(copy(p)).equals(fs.readFileSync(path.join(sourceRoot, p))),
        )
        .map((p) => `${p} changed`),
    ];
    if (differ.length === 0) continue;
    const defaultRoot = (() => {
      try {
        return importRootOf(source);
      } catch {
        return undefined;
      }
    })();
    const command = `tsk add client ${service} --proto ${r.source}${defaultRoot === sourceRoot ? '' : ` --proto-root ${r.sourceRoot}`}`;
    const shown = differ.length > 3 ? [...differ.slice(0, 3), `${differ.length - 3} more`] : differ;
    lines.push(
      `the ${service} API in ${r.source} differs from the copy under api/ (${shown.join(', ')}): run \`${command}\` to take it`,
    );
  }
  return lines;
}

/** What `tsk add client` recorded in .tsk/clients.json, by called service ({} before the first). */
function readClientsRecord(root: string): ClientsRecord {
  const file = path.join(root, CLIENTS_PATH);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ClientsRecord) : {};
}

/** `to` relative to `from`, with / separators as proto import paths and the record use. */
function posixRelative(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}

function importRootOf(source: string, given?: string): string {
  if (given) {
    if (!source.startsWith(given + path.sep) && source !== given)
      throw new UsageError(`${source} is not under --proto-root ${given}`);
    return given;
  }
  const marker = `${path.sep}api${path.sep}`;
  const at = (source + path.sep).lastIndexOf(marker);
  if (at < 0)
    throw new UsageError(
      `cannot tell the import root of ${source}: it is not under a directory named api; pass --proto-root <dir>`,
    );
  return source.slice(0, at + marker.length - 1);
}

function listProtos(source: string): string[] {
  if (fs.statSync(source).isFile()) return source.endsWith('.proto') ? [source] : [];
  return (fs.readdirSync(source, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.proto'))
    .map((f) => path.join(source, f))
    .sort();
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

const TRANSPORT_NAMES: Record<ClientTransport, string> = { grpc: 'gRPC', http: 'HTTP' };

/**
 * config.yaml with clients.<service> added when it is not there; an endpoint that is
 * `replacing` (what tsk wrote for the other transport) becomes `endpoint`; otherwise unchanged.
 */
export function withClientConfig(configYaml: string, service: string, endpoint: string, replacing?: string): string {
  const doc = parseDocument(configYaml);
  if (doc.hasIn(['clients', service])) {
    if (replacing === undefined || doc.getIn(['clients', service, 'endpoint']) !== replacing) return configYaml;
    doc.setIn(['clients', service, 'endpoint'], endpoint);
    return doc.toString({ flowCollectionPadding: false });
  }
  if (!doc.hasIn(['clients']) || doc.getIn(['clients']) === null) doc.setIn(['clients'], doc.createNode({}));
  doc.setIn(['clients', service], doc.createNode({ endpoint, timeout_ms: 2000 }));
  return doc.toString({ flowCollectionPadding: false });
}

/** clients.<service>.endpoint of a config.yaml, when it is a string. */
function clientEndpoint(configYaml: string, service: string): string | undefined {
  const value = parseDocument(configYaml).getIn(['clients', service, 'endpoint']);
  return typeof value === 'string' ? value : undefined;
}
