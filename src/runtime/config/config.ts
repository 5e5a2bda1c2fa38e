// Configuration: YAML files merged in order, then environment overrides, checked
// once against the field layout generated from conf.proto (conf_schema.ts) and the
// service's own checks, then scanned into the typed config with ts-proto's fromJSON
// (which accepts snake_case and camelCase keys). Every problem is reported as one
// line naming the key and where its value came from (file:line or the variable).
// A directory stands for the YAML files in it, in name order, as Kratos's file
// source reads `-conf ../../configs`.
// Config stores (etcd, Consul KV: stores.ts) stand in the same list as files, read once
// before loading, so loading stays synchronous.
// `watchConfig` reloads when a file changes, is replaced, or is deleted and recreated,
// and when a store's key changes.
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Node } from 'yaml';
import type { FieldSchema, MessageSchema } from '../transport/http/route.js';
import { checkValue, describeValue, type Check } from './checks.js';

export { checks, type Check } from './checks.js';

export interface ConfigSchema<T> {
  fromJSON(object: unknown): T;
}

/** A YAML (or JSON) document and the name its error lines give (`etcd://etcd:2379/configs/app.yaml`). */
export interface ConfigDocument {
  name: string;
  text: string;
}

/** Config held outside the file system (etcd, Consul KV): its documents as last read, and a watch on them. */
export interface ConfigStore {
  readonly name: string;
  documents(): readonly ConfigDocument[];
  /**
   * Calls `changed` after each read that may hold a change, `failed` when the store cannot
   * be read, `recovered` when it can again; returns a stop.
   */
  watch(changed: () => void, failed: (err: Error) => void, recovered?: () => void): () => void;
}

/** A file, a directory of them, or a store. */
export type ConfigEntry = string | ConfigStore;

export interface LoadOptions<T> {
  /**
   * Merged in order, later ones winning: YAML files, directories (their `*.yaml`, `*.yml`
   * and `*.json` files by name) and stores (openConfigEntries in stores.ts opens them).
   */
  files: readonly ConfigEntry[];
  schema: ConfigSchema<T>;
  /**
   * The root message's field layout generated from conf.proto (`BootstrapSchema` in
   * conf_schema.ts). With it, unknown keys and values of the wrong type are errors,
   * and every leaf of the schema can be set from the environment.
   */
  layout?: MessageSchema | undefined;
  /** Checks beyond types, by proto field path: `{ 'telemetry.sampling_ratio': checks.range(0, 1) }`. */
  checks?: Record<string, Check> | undefined;
  /**
   * Environment prefix: with `HELLOWORLD_`, `HELLOWORLD_SERVER_HTTP_ADDR` overrides
   * `server.http.addr`. Without a layout only leaves present in the YAML can be overridden.
   */
  envPrefix?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

type Tree = Record<string, unknown>;

/** Bad configuration: one line per problem, `config: <source>: <key>: <problem>`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadConfig<T>(options: LoadOptions<T>): T {
  // A variable that does not convert is reported with the file's problems, not instead of them.
  const { tree, sources, problems } = readSources(options);
  if (options.layout) {
    validate(tree, options.layout, [], sources, problems);
    // A value of the wrong type has been reported already; its checks would only repeat it.
    const mistyped = (key: string) => problems.some((p) => p.includes(` ${key}: `) || p.includes(` ${key}[`));
    for (const [key, check] of Object.entries(options.checks ?? {}))
      for (const at of valuesAt(tree, key.split('.'))) if (!mistyped(at.key)) runCheck(at, check, sources, problems);
  }
  if (problems.length > 0) throw new ConfigError(inLineOrder(problems));
  return options.schema.fromJSON(tree);
}

/**
 * The problems of each source in its line order, whichever pass found them (types are
 * checked before values); sources keep the order they were first named in.
 */
function inLineOrder(problems: string[]): string[] {
  const placed = problems.map((p, i) => {
    const [, source = p, line = '0'] = /^config: (.+?)(?::(\d+))?(?::\d+)?: /.exec(p) ?? [];
    return { p, source, line: Number(line), i };
  });
  const first = new Map<string, number>();
  for (const x of placed) if (!first.has(x.source)) first.set(x.source, x.i);
  return placed
    .sort((a, b) => first.get(a.source)! - first.get(b.source)! || a.line - b.line || a.i - b.i)
    .map((x) => x.p);
}

/**
 * Loads the config, or prints each problem on its own line to stderr and exits 1:
 * what a service's main wants, since nothing can run on a config that is wrong.
 */
export function loadConfigOrExit<T>(options: LoadOptions<T>): T {
  try {
    return loadConfig(options);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `config: ${(err as Error).message ?? String(err)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

export function loadTree(options: Pick<LoadOptions<unknown>, 'files' | 'envPrefix' | 'env' | 'layout'>): Tree {
  const { tree, problems } = readSources(options);
  if (problems.length > 0) throw new ConfigError(inLineOrder(problems));
  return tree;
}

/** Where each value came from, by dotted proto path: `configs/config.yaml:6` or `HELLO_SERVER_HTTP_ADDR`. */
type Sources = Map<string, string>;

/** The files merged and the environment applied; `problems` holds the variables that did not convert. */
function readSources(options: Pick<LoadOptions<unknown>, 'files' | 'envPrefix' | 'env' | 'layout'>): {
  tree: Tree;
  sources: Sources;
  problems: string[];
} {
  let tree: Tree = {};
  const sources: Sources = new Map();
  for (const entry of options.files) {
    if (typeof entry === 'string')
      for (const file of configFiles([entry])) tree = merge(tree, parseYaml(file, readFile(file), sources));
    else for (const doc of entry.documents()) tree = merge(tree, parseYaml(doc.name, doc.text, sources));
  }
  const env = options.env ?? process.env;
  const prefix = options.envPrefix ?? '';
  const problems: string[] = [];
  if (options.layout) applyEnvBySchema(tree, options.layout, prefix, env, [], sources, problems);
  else applyEnvByTree(tree, prefix, env, [], sources, problems);
  return { tree, sources, problems };
}

const CONFIG_FILE = /\.(ya?ml|json)$/;

/**
 * The files `files` names, a directory replaced by the config files in it in name
 * order. Names starting with a dot are left out: a Kubernetes ConfigMap volume keeps
 * its versions in `..data` and `..<timestamp>` next to the links named after its keys.
 */
export function configFiles(files: readonly string[]): string[] {
  return files.flatMap((entry) => {
    // A file, or a path that cannot be read, which reading then reports.
    if (!isDirectory(entry)) return [entry];
    const names = fs
      .readdirSync(entry)
      .filter((name) => !name.startsWith('.') && CONFIG_FILE.test(name))
      .sort();
    if (names.length === 0)
      throw new ConfigError([`config: ${entry}: the directory holds no .yaml, .yml or .json file`]);
    return names.map((name) => path.join(entry, name));
  });
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([
      `config: ${file}: cannot read the file (${e.code === 'ENOENT' ? 'it does not exist' : (e.code ?? e.message)})`,
    ]);
  }
}

/** One document's mapping, each value's line recorded under `file` (a path, or a store's key). */
function parseYaml(file: string, text: string, sources: Sources): Tree {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new ConfigError([`config: ${file}:${at.line}:${at.col}: not valid YAML: ${first.message.split('\n')[0]}`]);
  }
  const value: unknown = doc.toJS() ?? {};
  if (!isTree(value))
    throw new ConfigError([`config: ${file}: must hold a mapping at the top level, found ${describeValue(value)}`]);
  if (doc.contents) recordLines(doc.contents, [], file, lines, sources);
  return value;
}

/** Records the line of every value in a YAML document under its dotted path. */
function recordLines(node: Node, at: string[], file: string, lines: LineCounter, sources: Sources): void {
  if (at.length > 0 && node.range) sources.set(at.join('.'), `${file}:${lines.linePos(node.range[0]).line}`);
  if (!isMap(node)) return;
  for (const item of node.items) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const here = [...at, String(item.key.value)];
    const value = item.value as Node | null;
    if (value) recordLines(value, here, file, lines, sources);
    else if (item.key.range) sources.set(here.join('.'), `${file}:${lines.linePos(item.key.range[0]).line}`);
  }
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTree(b) && isTree(v) ? merge(b, v) : v;
  }
  return out;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The variable that sets a key: `server.http.addr` (as ['server', 'http', 'addr']) ->
 * `<PREFIX>SERVER_HTTP_ADDR` (camelCase keys are split too; other characters of map keys,
 * such as `-`, become `_`: `clients.order-svc` -> `CLIENTS_ORDER_SVC`).
 */
export function envName(prefix: string, at: string[]): string {
  return (
    prefix +
    at
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9_]/g, '_'))
      .join('_')
      .toUpperCase()
  );
}

/** Every scalar leaf (and list of scalars) of the schema can be set from `<PREFIX><PATH>`. */
function applyEnvBySchema(
  tree: Tree,
  schema: MessageSchema,
  prefix: string,
  env: NodeJS.ProcessEnv,
  at: string[],
  sources: Sources,
  problems: string[],
): void {
  for (const field of schema.fields) {
    const here = [...at, field.name];
    if (field.kind === 'message' && !field.repeated) {
      const sub = field.schema();
      if (sub.typeName.startsWith('google.protobuf.')) continue;
      const key = keyIn(tree, field);
      const child = isTree(tree[key]) ? (tree[key] as Tree) : {};
      applyEnvBySchema(child, sub, prefix, env, here, sources, problems);
      if (Object.keys(child).length > 0) tree[key] = child;
      continue;
    }
    if (field.kind === 'map') {
      // The entries the file has (a map's keys cannot be listed from the schema), each as
      // a field named by its key: `<PREFIX>CLIENTS_USER_ENDPOINT` sets clients.user.endpoint.
      const entries = tree[keyIn(tree, field)];
      if (!isTree(entries)) continue;
      const asFields: MessageSchema = {
        typeName: `${schema.typeName}.${field.name}`,
        fields: Object.keys(entries).map((key) => ({ ...field.value, name: key, jsonName: key })),
      };
      applyEnvBySchema(entries, asFields, prefix, env, here, sources, problems);
      continue;
    }
    if (field.kind === 'message') continue;
    const name = envName(prefix, here);
    const raw = env[name];
    if (raw === undefined) continue;
    const path = here.join('.');
    const values = field.repeated
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [raw];
    const converted: unknown[] = [];
    const before = problems.length;
    for (const v of values) {
      const c = fromEnvString(field, v);
      if (c.problem) problems.push(`config: ${name}: ${path}: ${c.problem}`);
      converted.push(c.value);
    }
    // Reported once, here: the key keeps the files' value for the checks that follow.
    if (problems.length > before) continue;
    delete tree[field.jsonName];
    tree[field.name] = field.repeated ? converted : converted[0];
    sources.set(path, name);
  }
}

/** The key a field is written under in the YAML: its proto name unless only the JSON name is there. */
function keyIn(tree: Tree, field: FieldSchema): string {
  return field.name in tree || !(field.jsonName in tree) ? field.name : field.jsonName;
}

/** A boolean as environment variables spell it: true/false, 1/0 or yes/no, in any case. */
function envBoolean(raw: string): boolean | { problem: string } {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  return { problem: `expected true or false (or 1/0, yes/no), got ${JSON.stringify(raw)}` };
}

function fromEnvString(field: FieldSchema, raw: string): { value: unknown; problem?: string } {
  if (field.kind === 'enum') return { value: raw };
  if (field.kind !== 'scalar') return { value: raw };
  switch (field.scalar) {
    case 'string':
    case 'bytes':
      return { value: raw };
    case 'bool': {
      const flag = envBoolean(raw);
      return typeof flag === 'boolean' ? { value: flag } : { value: raw, problem: flag.problem };
    }
    case 'double':
    case 'float': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n)
        ? { value: n }
        : { value: raw, problem: `expected a number, got ${JSON.stringify(raw)}` };
    }
    default:
      // Integers: digits only, so "1e3", "0x10" and "12abc" are refused rather than reinterpreted.
      if (!/^-?\d+$/.test(raw.trim()))
        return { value: raw, problem: `expected an integer, got ${JSON.stringify(raw)}` };
      return { value: field.scalar.endsWith('64') ? raw.trim() : Number(raw) };
  }
}

/** Without a layout: overrides each leaf present in the YAML, keeping the leaf's type. */
function applyEnvByTree(
  tree: Tree,
  prefix: string,
  env: NodeJS.ProcessEnv,
  at: string[],
  sources: Sources,
  problems: string[],
): void {
  for (const [key, value] of Object.entries(tree)) {
    const here = [...at, key];
    if (isTree(value)) {
      applyEnvByTree(value, prefix, env, here, sources, problems);
      continue;
    }
    const name = envName(prefix, here);
    const raw = env[name];
    if (raw === undefined) continue;
    const path = here.join('.');
    if (typeof value === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n))
        problems.push(`config: ${name}: ${path}: expected a number, got ${JSON.stringify(raw)}`);
      tree[key] = n;
    } else if (typeof value === 'boolean') {
      const flag = envBoolean(raw);
      if (typeof flag === 'boolean') tree[key] = flag;
      else problems.push(`config: ${name}: ${path}: ${flag.problem}`);
    } else if (Array.isArray(value))
      tree[key] = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else tree[key] = raw;
    sources.set(path, name);
  }
}

/** Type-checks a mapping against a message layout, collecting one line per problem. */
function validate(tree: Tree, schema: MessageSchema, at: string[], sources: Sources, problems: string[]): void {
  const byKey = new Map<string, FieldSchema>();
  for (const f of schema.fields) byKey.set(f.name, f).set(f.jsonName, f);
  for (const [key, value] of Object.entries(tree)) {
    const path = [...at, key].join('.');
    const field = byKey.get(key);
    if (!field) {
      const known = schema.fields.map((f) => f.name).join(', ');
      problems.push(
        `config: ${sourceOf(sources, path)}: ${path}: unknown key (${schema.typeName} has ${known || 'no fields'})`,
      );
      continue;
    }
    const fieldPath = [...at, field.name].join('.');
    if (value === null || value === undefined) continue; // `key:` with nothing after it leaves the default
    if (field.repeated) {
      if (!Array.isArray(value)) {
        problems.push(`config: ${sourceOf(sources, path)}: ${fieldPath}: expected a list, got ${describeValue(value)}`);
        continue;
      }
      value.forEach((v, i) =>
        validateValue(field, v, `${fieldPath}[${i}]`, sourceOf(sources, path), at, sources, problems),
      );
      continue;
    }
    validateValue(field, value, fieldPath, sourceOf(sources, path), [...at, key], sources, problems);
  }
}

function validateValue(
  field: FieldSchema,
  value: unknown,
  fieldPath: string,
  source: string,
  at: string[],
  sources: Sources,
  problems: string[],
): void {
  const fail = (problem: string) => problems.push(`config: ${source}: ${fieldPath}: ${problem}`);
  switch (field.kind) {
    case 'message': {
      if (field.schema().typeName.startsWith('google.protobuf.')) return; // well-known JSON forms: left to fromJSON
      if (!isTree(value)) return void fail(`expected a mapping, got ${describeValue(value)}`);
      validate(value, field.schema(), at, sources, problems);
      return;
    }
    case 'map': {
      if (!isTree(value)) return void fail(`expected a mapping, got ${describeValue(value)}`);
      for (const [k, v] of Object.entries(value))
        validateValue(field.value, v, `${fieldPath}.${k}`, source, [...at, k], sources, problems);
      return;
    }
    case 'enum': {
      const names = Object.keys(field.values);
      const known =
        typeof value === 'string' ? names.includes(value) : Object.values(field.values).includes(value as number);
      if (!known) fail(`expected one of ${names.join(', ')}, got ${describeValue(value)}`);
      return;
    }
    case 'scalar': {
      const problem = checkValue(field.scalar, value);
      if (problem) fail(problem);
    }
  }
}

/** A value a check's key reaches: its concrete dotted key and the mapping holding it. */
interface Reached {
  key: string;
  value: unknown;
  siblings: Tree;
}

/**
 * The values at a dotted key (proto or JSON names), `*` standing for every entry of a map
 * (`clients.*.version`), each under its concrete key (`clients.user.version`).
 */
function valuesAt(node: unknown, parts: string[], at: string[] = [], siblings: Tree = {}): Reached[] {
  if (parts.length === 0) return [{ key: at.join('.'), value: node, siblings }];
  if (!isTree(node)) return [];
  const [part, ...rest] = parts as [string, ...string[]];
  if (part === '*') return Object.keys(node).flatMap((k) => valuesAt(node[k], rest, [...at, k], node));
  const camel = part.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return valuesAt(part in node ? node[part] : node[camel], rest, [...at, part], node);
}

function runCheck({ key, value, siblings }: Reached, check: Check, sources: Sources, problems: string[]): void {
  if (value === undefined || value === null) return;
  for (const item of Array.isArray(value) && !check.wholeList ? value : [value]) {
    const problem = check(item, siblings);
    if (problem) problems.push(`config: ${sourceOf(sources, key)}: ${key}: ${problem}`);
  }
}

function sourceOf(sources: Sources, key: string): string {
  for (let at = key; at; at = at.includes('.') ? at.slice(0, at.lastIndexOf('.')) : '') {
    const s = sources.get(at);
    if (s) return s;
  }
  return 'config';
}

/**
 * The keys whose values differ between two loaded configs, as dotted proto field names
 * (`server.grpc.addr`): for saying which edits a running service has not applied.
 */
export function changedConfigKeys(before: unknown, after: unknown, at: string[] = []): string[] {
  if (isTree(before) && isTree(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) =>
      changedConfigKeys(before[k], after[k], [...at, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
    );
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [at.join('.')];
}

/**
 * Calls `onChange` with the reloaded config whenever a file's or a store's content
 * changes. A file or key that is missing or wrong, or a store that does not answer,
 * keeps the previous config (the error goes to `onError`), and a later fix is picked up.
 */
export function watchConfig<T>(
  options: LoadOptions<T>,
  onChange: (config: T) => void,
  onError: (err: Error) => void = () => {},
  /** A store that could not be read answers again (its name). */
  onRecover: (store: string) => void = () => {},
): () => void {
  const paths = options.files.filter((e): e is string => typeof e === 'string');
  const stores = options.files.filter((e): e is ConfigStore => typeof e !== 'string');
  const listed = () => {
    try {
      return configFiles(paths);
    } catch {
      return paths; // an emptied directory: loading reports it
    }
  };
  const snapshot = () =>
    [
      ...listed().map((f) => {
        try {
          return fs.readFileSync(f, 'utf8');
        } catch {
          return '\u0000missing';
        }
      }),
      ...stores.flatMap((s) => s.documents().map((d) => `${d.name}\u0000${d.text}`)),
    ].join('\u0000');
  let last = snapshot();
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    clearTimeout(timer);
    // Editors write in bursts (truncate, write, rename): settle before reading.
    timer = setTimeout(() => {
      const now = snapshot();
      if (now === last) return;
      last = now;
      try {
        onChange(loadConfig(options));
      } catch (err) {
        onError(err as Error);
      }
    }, 100);
  };
  // The directories are watched, not the files: that survives a file deleted and
  // created again, a rename over it, and Kubernetes' ConfigMap updates (a symlink
  // swap next to the file, which never touches the file's own inode).
  const watchers: fs.FSWatcher[] = [];
  const watched = paths.map((f) => path.resolve(f));
  for (const dir of new Set(watched.map((f) => (isDirectory(f) ? f : path.dirname(f))))) {
    try {
      watchers.push(fs.watch(dir, reload));
    } catch (err) {
      onError(err as Error);
    }
  }
  const unwatch = stores.map((s) => s.watch(reload, onError, () => onRecover(s.name)));
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
    for (const stop of unwatch) stop();
  };
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}
