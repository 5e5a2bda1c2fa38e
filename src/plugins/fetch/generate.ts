// protoc-gen-tsk-fetch: for each file with services, `<file>_fetch.ts`, a typed
// client on the standard fetch API for browsers and edge runtimes. It imports
// nothing (not the runtime, not ts-proto's messages, which need Node): messages
// are declared in their proto3 JSON form, which the client sends and returns as
// it is, over each method's first google.api.http binding.
import type { DescField, DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';
import type { Diagnostic } from '../../proto/diagnostics.js';
import { methodBindings, servedOverHttp, type HttpBinding } from '../../gen/http-rules.js';
import { JsonTypeWriter } from '../../gen/json-types.js';
import { fileStem, methodKey } from '../../gen/names.js';
import { jsdoc, TsFile } from '../../gen/printer.js';
import { parseTemplate } from '../../runtime/transport/http/template.js';
import { methodDocText } from '../../gen/comments.js';
import type { GeneratedFile, Generator } from '../types.js';

const HELPER_NAMES = [
  'FetchHeaders',
  'FetchClientOptions',
  'FetchCallOptions',
  'FetchServiceError',
  'isFetchServiceError',
  'FetchRoute',
  'callJson',
  'prepare',
  'readEvents',
];

export const generateFetch: Generator = ({ files }) => {
  const out: GeneratedFile[] = [];
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const services = file.services.filter((s) => s.methods.some((m) => servedOverHttp(m)));
    if (services.length === 0) continue;
    const types = new JsonTypeWriter([
      ...HELPER_NAMES,
      ...services.flatMap((s) => [`${s.name}FetchClient`, `${s.name}FetchRoutes`]),
    ]);
    const clients = services.map((s) => renderClient(s, types, problems));
    const name = `${fileStem(file)}_fetch.ts`;
    const content = new TsFile(name, { source: file.proto.name }).print([
      '// A fetch client for browsers and edge runtimes: no imports, messages in their proto3 JSON form.',
      '',
      types.render(),
      '',
      clients.join('\n\n'),
      '',
      HELPERS,
      ...(services.some((s) => s.methods.some((m) => m.methodKind === 'server_streaming' && servedOverHttp(m)))
        ? ['', EVENT_HELPERS]
        : []),
    ]);
    out.push({ path: name, content });
  }
  return { files: out, problems };
};

function renderClient(service: DescService, types: JsonTypeWriter, problems: Diagnostic[]): string {
  const methods = service.methods
    .filter((m) => servedOverHttp(m))
    .map((m) => ({
      method: m,
      key: methodKey(m),
      input: types.message(m.input),
      output: types.message(m.output),
      binding: methodBindings(m, problems)[0],
    }))
    .filter((m): m is typeof m & { binding: HttpBinding } => m.binding !== undefined);
  return [
    `/** Each method's route: its first google.api.http binding. */`,
    `export const ${service.name}FetchRoutes = {`,
    ...methods.map(({ method, key, binding }) => `  ${key}: ${renderRoute(method, binding)},`),
    '} satisfies Record<string, FetchRoute>;',
    '',
    `/** Calls ${service.typeName} over HTTP with fetch. */`,
    `export class ${service.name}FetchClient {`,
    '  readonly #options: FetchClientOptions;',
    '',
    '  constructor(options: FetchClientOptions = {}) {',
    '    this.#options = options;',
    '  }',
    ...methods.flatMap(({ method, key, input, output, binding }) =>
      method.methodKind === 'server_streaming'
        ? [
            '',
            methodDoc(method, binding),
            `  ${key}(request: ${input}, options?: FetchCallOptions): AsyncGenerator<${output}> {`,
            `    return readEvents(this.#options, ${service.name}FetchRoutes.${key}, request, options);`,
            '  }',
          ]
        : [
            '',
            methodDoc(method, binding),
            `  ${key}(request: ${input}, options?: FetchCallOptions): Promise<${output}> {`,
            `    return callJson(this.#options, ${service.name}FetchRoutes.${key}, request, options);`,
            '  }',
          ],
    ),
    '}',
  ].join('\n');
}

/** The method's comment and its route, in one doc comment. */
function methodDoc(method: DescMethod, binding: HttpBinding): string {
  return jsdoc(methodDocText(method, `${binding.method} ${binding.path}`), '  ').trimEnd();
}

/** The route literal: path parts (literal segments and variables by JSON field path), verb, body. */
function renderRoute(method: DescMethod, binding: HttpBinding): string {
  const template = parseTemplate(binding.path);
  const parts: string[] = [];
  let last = -1;
  for (const atom of template.atoms) {
    if (atom.variable === undefined) {
      parts.push(`'${atom.kind === 'literal' ? atom.value : '*'}'`);
      continue;
    }
    if (atom.variable === last) continue;
    last = atom.variable;
    const own = template.atoms.filter((a) => a.variable === atom.variable);
    const multi = own.length > 1 || own.some((a) => a.kind === 'deep');
    const jsonPath = jsonNames(method.input, template.variables[atom.variable]!);
    parts.push(`{ field: [${jsonPath.map((n) => `'${n}'`).join(', ')}], multi: ${multi} }`);
  }
  const fields = [
    `method: '${binding.method}'`,
    `path: [${parts.join(', ')}]`,
    ...(template.verb !== undefined ? [`verb: '${template.verb}'`] : []),
    ...(binding.body ? [`body: '${binding.body === '*' ? '*' : jsonNames(method.input, [binding.body])[0]}'`] : []),
    ...(binding.responseBody ? [`responseBody: '${jsonNames(method.output, [binding.responseBody])[0]}'`] : []),
  ];
  const maps = binding.body === '*' ? [] : queryMaps(method.input);
  if (maps.length > 0)
    fields.push(`queryMaps: [${maps.map((p) => `[${p.map((n) => `'${n}'`).join(', ')}]`).join(', ')}]`);
  return `{ ${fields.join(', ')} }`;
}

/**
 * JSON-name paths of the map fields the query can carry (`labels`, `filter.labels`): maps
 * of scalars or enums, in the message or in single messages below it, as the server
 * binds them from `labels[key]=value`.
 */
function queryMaps(message: DescMessage, at: string[] = [], seen = new Set<string>()): string[][] {
  if (seen.has(message.typeName) || message.typeName.startsWith('google.protobuf.')) return [];
  seen.add(message.typeName);
  const out: string[][] = [];
  for (const field of message.fields) {
    if (field.fieldKind === 'map' && field.mapKind !== 'message') out.push([...at, field.jsonName]);
    if (field.fieldKind === 'message') out.push(...queryMaps(field.message, [...at, field.jsonName], seen));
  }
  seen.delete(message.typeName);
  return out;
}

function jsonNames(message: DescMessage, path: string[]): string[] {
  const out: string[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) throw new Error(`${message.typeName} has no field ${path.join('.')}`); // rules were validated before
    out.push(field.jsonName);
    current = field.fieldKind === 'message' ? field.message : undefined;
  }
  return out;
}

/** The same in every generated client: building a call from a route, and errors. */
const HELPERS = `/** Header values, in any form the Headers constructor takes. */
export type FetchHeaders = ConstructorParameters<typeof Headers>[0];

/** Settings for every call of a client. */
export interface FetchClientOptions {
  /** Where the service is, e.g. "https://api.example.com"; default: this page's origin. */
  baseUrl?: string | undefined;
  /** Headers sent with every call (an Authorization header, say). */
  headers?: FetchHeaders | undefined;
  /** A fetch to use instead of the global one. */
  fetch?: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
}

/** Settings for one call. */
export interface FetchCallOptions {
  /** Aborts the call; the promise then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Headers for this call, over the client's. */
  headers?: FetchHeaders | undefined;
}

/** An error answer from the service: {code, reason, message, metadata}. */
export class FetchServiceError extends Error {
  override readonly name = 'FetchServiceError';
  /** The HTTP status. */
  readonly code: number;
  /** The machine-readable reason, e.g. USER_NOT_FOUND; empty when the service gave none. */
  readonly reason: string;
  readonly metadata: { [key: string]: string };

  constructor(code: number, reason: string, message: string, metadata: { [key: string]: string } = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.metadata = metadata;
  }
}

/** Whether err is an error answer, from this client or another generated one. */
export function isFetchServiceError(err: unknown): err is FetchServiceError {
  return err instanceof Error && err.name === 'FetchServiceError' && typeof (err as FetchServiceError).code === 'number';
}

interface FetchRoute {
  method: string;
  path: (string | { field: string[]; multi: boolean })[];
  verb?: string;
  body?: string;
  responseBody?: string;
  /** Map fields the query carries as \`labels[key]=value\`. */
  queryMaps?: string[][];
}

type JsonObject = { [key: string]: unknown };

async function callJson<Res>(client: FetchClientOptions, route: FetchRoute, request: object, options: FetchCallOptions = {}): Promise<Res> {
  const response = await prepare(client, route, request, options, 'application/json');
  const text = await response.text();
  if (!response.ok) throw errorFrom(response.status, text);
  const parsed: unknown = text === '' ? {} : JSON.parse(text);
  return (route.responseBody !== undefined ? { [route.responseBody]: parsed } : parsed) as Res;
}

/** Sends the request a route makes of \`request\`: path, query and body as the server binds them. */
function prepare(client: FetchClientOptions, route: FetchRoute, request: object, options: FetchCallOptions, accept: string): Promise<Response> {
  const json = request as JsonObject;
  const bound: string[][] = [];
  let url = '';
  for (const part of route.path) {
    if (typeof part === 'string') {
      url += \`/\${part}\`;
      continue;
    }
    bound.push(part.field);
    let value: unknown = json;
    for (const name of part.field) value = (value as JsonObject | undefined)?.[name];
    if (value === undefined || value === null || value === '') {
      throw new FetchServiceError(400, 'CODEC', \`path field "\${part.field.join('.')}" is empty\`);
    }
    const text = String(value);
    url += \`/\${part.multi ? text.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text)}\`;
  }
  if (route.verb !== undefined) url += \`:\${route.verb}\`;
  let body: string | undefined;
  if (route.body === '*') {
    const rest = { ...json };
    for (const field of bound) if (field.length === 1) delete rest[field[0]!];
    body = JSON.stringify(rest);
  } else {
    if (route.body !== undefined) {
      bound.push([route.body]);
      // An unset body field sends no body: the server leaves the field unset.
      const value = json[route.body];
      if (value !== undefined && value !== null) body = JSON.stringify(value);
    }
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(json)) appendQuery(query, [key], value, bound, route.queryMaps ?? []);
    const qs = query.toString();
    if (qs) url += \`?\${qs}\`;
  }
  const headers = new Headers(client.headers);
  new Headers(options.headers).forEach((value, key) => headers.set(key, value));
  if (!headers.has('accept')) headers.set('accept', accept);
  if (body !== undefined) headers.set('content-type', 'application/json');
  const send = client.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  const init: RequestInit = { method: route.method, headers };
  if (body !== undefined) init.body = body;
  if (options.signal !== undefined) init.signal = options.signal;
  return send(\`\${client.baseUrl ?? ''}\${url}\`, init);
}

/** Fields the path or body carries are not repeated in the query; nested messages become a.b=, map entries m[key]=. */
function appendQuery(query: URLSearchParams, path: string[], value: unknown, bound: string[][], maps: string[][]): void {
  if (value === undefined || value === null) return;
  const at = (paths: string[][]) => paths.some((b) => b.length === path.length && b.every((p, i) => p === path[i]));
  if (at(bound)) return;
  if (Array.isArray(value)) for (const item of value) appendQuery(query, path, item, bound, maps);
  else if (typeof value === 'object' && at(maps))
    for (const [key, item] of Object.entries(value)) query.append(\`\${path.join('.')}[\${key}]\`, String(item));
  else if (typeof value === 'object')
    for (const [key, item] of Object.entries(value)) appendQuery(query, [...path, key], item, bound, maps);
  else query.append(path.join('.'), String(value));
}

/**
 * An error answer, or an \`event: error\` (no status), as the FetchServiceError the server raised:
 * an answer's code is its status (a proxy may have rewritten it), an event's the body's when it is
 * an HTTP error code, else 500; metadata values that are not strings are left out.
 */
function errorFrom(status: number | undefined, text: string): FetchServiceError {
  try {
    const body = JSON.parse(text) as { code?: unknown; reason?: unknown; message?: unknown; metadata?: unknown };
    if (body && typeof body === 'object' && typeof body.message === 'string') {
      const metadata: { [key: string]: string } = {};
      if (body.metadata && typeof body.metadata === 'object' && !Array.isArray(body.metadata))
        for (const [key, value] of Object.entries(body.metadata)) if (typeof value === 'string') metadata[key] = value;
      const code = typeof body.code === 'number' && Number.isInteger(body.code) && body.code >= 400 && body.code <= 599 ? body.code : 500;
      return new FetchServiceError(status ?? code, typeof body.reason === 'string' ? body.reason : '', body.message, metadata);
    }
  } catch {
    // not our error JSON (a proxy's page, say): the status and text below tell what happened
  }
  return new FetchServiceError(status ?? 500, '', text.slice(0, 200) || \`HTTP \${status ?? 500}\`);
}`;

/** Reading Server-Sent Events: only in files with server-streaming methods. */
const EVENT_HELPERS = `/**
 * The messages of a Server-Sent Events answer, one per \`data:\` event. An \`event: error\`
 * is thrown as a FetchServiceError; leaving the loop early cancels the response.
 */
async function* readEvents<Res>(client: FetchClientOptions, route: FetchRoute, request: object, options: FetchCallOptions = {}): AsyncGenerator<Res> {
  const response = await prepare(client, route, request, options, 'text/event-stream');
  if (!response.ok) throw errorFrom(response.status, await response.text());
  // Anything else (a method that is unary on the server, a proxy's page) would read as no events at all.
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\\/event-stream\\b/i.test(type)) {
    await response.body?.cancel();
    throw new FetchServiceError(500, 'CODEC', \`the answer is not an event stream (content-type \${type || 'none'})\`);
  }
  if (response.body === null) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // A lone CR ends a line too; one at the end of a chunk waits for a possible LF.
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\\r\\n|\\r(?!$)/g, '\\n');
      let end: number;
      while ((end = buffer.indexOf('\\n\\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        if (data.length === 0) continue;
        if (event === 'error') throw errorFrom(undefined, data.join('\\n'));
        const parsed: unknown = JSON.parse(data.join('\\n'));
        yield (route.responseBody !== undefined ? { [route.responseBody]: parsed } : parsed) as Res;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}`;
