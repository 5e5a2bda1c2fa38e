// Configuration: YAML files merged in order, then environment overrides, then
// scanned into the typed schema generated from conf.proto (ts-proto's fromJSON,
// which accepts snake_case and camelCase keys). `watch` reloads on file change.
import fs from 'node:fs';
import { parse } from 'yaml';

export interface ConfigSchema<T> {
  fromJSON(object: unknown): T;
}

export interface LoadOptions<T> {
  files: string[];
  schema: ConfigSchema<T>;
  /**
   * Environment prefix: with `HELLOWORLD_`, `HELLOWORLD_SERVER_HTTP_ADDR` overrides
   * `server.http.addr`. Every leaf of the YAML can be overridden this way.
   */
  envPrefix?: string;
  env?: NodeJS.ProcessEnv;
}

type Tree = Record<string, unknown>;

export function loadConfig<T>(options: LoadOptions<T>): T {
  return options.schema.fromJSON(loadTree(options));
}

export function loadTree(options: Pick<LoadOptions<unknown>, 'files' | 'envPrefix' | 'env'>): Tree {
  let tree: Tree = {};
  for (const file of options.files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`config: cannot read ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text) ?? {};
    } catch (err) {
      throw new Error(`config: ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`config: ${file} must hold a mapping at the top level`);
    tree = merge(tree, doc as Tree);
  }
  applyEnv(tree, options.envPrefix ?? '', options.env ?? process.env);
  return tree;
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

/** Overrides each leaf from `<PREFIX><PATH_IN_UPPER_SNAKE>`, keeping the leaf's type. */
function applyEnv(tree: Tree, prefix: string, env: NodeJS.ProcessEnv, path: string[] = []): void {
  for (const [key, value] of Object.entries(tree)) {
    const here = [...path, key];
    if (isTree(value)) {
      applyEnv(value, prefix, env, here);
      continue;
    }
    const name = prefix + here.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2')).join('_').toUpperCase();
    const raw = env[name];
    if (raw === undefined) continue;
    tree[key] = convert(raw, value, name);
  }
}

function convert(raw: string, current: unknown, name: string): unknown {
  if (typeof current === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) throw new Error(`config: ${name}=${raw} is not a number`);
    return n;
  }
  if (typeof current === 'boolean') {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new Error(`config: ${name}=${raw} is not a boolean`);
  }
  if (Array.isArray(current)) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return raw;
}

/**
 * Calls `onChange` with the reloaded config whenever a file changes. A file that
 * fails to parse keeps the previous config (the error goes to `onError`).
 */
export function watchConfig<T>(options: LoadOptions<T>, onChange: (config: T) => void, onError: (err: Error) => void = () => {}): () => void {
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    clearTimeout(timer);
    // Editors write in bursts (truncate, write, rename): settle before reading.
    timer = setTimeout(() => {
      try {
        onChange(loadConfig(options));
      } catch (err) {
        onError(err as Error);
      }
    }, 100);
  };
  // Kubernetes updates a mounted ConfigMap by swapping a symlink, which replaces the
  // file: on 'rename' the watch is re-established on whatever the path now points to.
  const watchers = new Map<string, fs.FSWatcher>();
  let closed = false;
  const watch = (file: string) => {
    try {
      const watcher = fs.watch(file, (event) => {
        reload();
        if (event === 'rename' && !closed) {
          watcher.close();
          setTimeout(() => !closed && watch(file), 50);
        }
      });
      watchers.set(file, watcher);
    } catch (err) {
      onError(err as Error);
    }
  };
  for (const f of options.files) watch(f);
  return () => {
    closed = true;
    clearTimeout(timer);
    for (const w of watchers.values()) w.close();
  };
}
