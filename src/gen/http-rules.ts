// Reads google.api.http rules off method options and checks them against the
// request and response messages, reporting mistakes at the rule's file:line:col.
import { METHODS } from 'node:http';
import {
  getExtension,
  hasExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from '@bufbuild/protobuf';
import { http } from './pb/google/api/annotations_pb.js';
import type { HttpRule } from './pb/google/api/http_pb.js';
import { parseTemplate, TemplateError, templateShape } from '../runtime/transport/http/template.js';
import type { Diagnostic } from '../proto/diagnostics.js';
import { operationName } from './names.js';
import { sourcePosition } from './comments.js';

export interface HttpBinding {
  method: string;
  path: string;
  body?: string | undefined;
  responseBody?: string | undefined;
}

/**
 * Whether a method is served over HTTP: unary methods always (by their rule or the
 * default binding), server-streaming ones when they have a rule (as Server-Sent
 * Events); client and bidi streams are gRPC only.
 */
export function servedOverHttp(method: DescMethod): boolean {
  if (method.methodKind === 'unary') return true;
  if (method.methodKind !== 'server_streaming') return false;
  const options = method.proto.options;
  return options !== undefined && hasExtension(options, http);
}

/** The bindings of a method: its rule and additional bindings, or the default `POST /pkg.Service/Method`. */
export function methodBindings(method: DescMethod, problems: Diagnostic[]): HttpBinding[] {
  const options = method.proto.options;
  if (!options || !hasExtension(options, http)) {
    return [{ method: 'POST', path: operationName(method), body: '*' }];
  }
  const rule = getExtension(options, http);
  const bindings: HttpBinding[] = [];
  const report = (message: string) =>
    problems.push({ ...ruleLocation(method), message: `${method.parent.name}.${method.name}: ${message}` });
  const add = (r: HttpRule, nested: boolean) => {
    const b = toBinding(r, report);
    if (b && validateBinding(b, method, report)) bindings.push(b);
    if (!nested)
      for (const extra of r.additionalBindings) {
        if (extra.additionalBindings.length > 0) report('additional_bindings must not nest');
        add(extra, true);
      }
  };
  add(rule, false);
  return bindings;
}

/**
 * Bindings that match the same requests as an earlier one of these services (the same
 * HTTP method, paths of the same shape): the server refuses to start with both, as one
 * would never be called, so it is reported here first.
 */
export function routeConflicts(services: readonly DescService[]): Diagnostic[] {
  const taken = new Map<string, { method: DescMethod; binding: HttpBinding }>();
  const problems: Diagnostic[] = [];
  for (const method of services.flatMap((s) => s.methods).filter(servedOverHttp)) {
    // Invalid rules are reported where the routes are rendered; only valid ones are compared.
    for (const binding of methodBindings(method, [])) {
      const key = `${binding.method} ${templateShape(parseTemplate(binding.path))}`;
      const earlier = taken.get(key);
      if (!earlier) {
        taken.set(key, { method, binding });
        continue;
      }
      // The other method in another file is named with its package: both may be OrderService.GetOrder (v1, v2).
      const other =
        earlier.method.parent.file === method.parent.file
          ? `${earlier.method.parent.name}.${earlier.method.name}`
          : `${earlier.method.parent.typeName}.${earlier.method.name}`;
      problems.push({
        ...ruleLocation(method),
        message: `${method.parent.name}.${method.name}: ${binding.method} ${binding.path} matches the same paths as ${earlier.binding.method} ${earlier.binding.path} of ${other}, so one of them would never be called; change one of the paths`,
      });
    }
  }
  return problems;
}

function toBinding(rule: HttpRule, report: (m: string) => void): HttpBinding | undefined {
  const { pattern } = rule;
  let method: string;
  let path: string;
  if (pattern.case === 'custom') {
    method = pattern.value.kind.toUpperCase();
    path = pattern.value.path;
    // Node's HTTP parser only accepts the methods it knows; CONNECT never reaches a request handler.
    if (!METHODS.includes(method) || method === 'CONNECT') {
      report(
        `custom method "${pattern.value.kind}" is not an HTTP method a server can receive (e.g. SEARCH, PROPFIND, QUERY)`,
      );
      return undefined;
    }
  } else if (pattern.case !== undefined) {
    method = pattern.case.toUpperCase();
    path = pattern.value;
  } else {
    report('google.api.http rule has no pattern (get, put, post, delete, patch or custom)');
    return undefined;
  }
  return { method, path, body: rule.body || undefined, responseBody: rule.responseBody || undefined };
}

function validateBinding(b: HttpBinding, method: DescMethod, report: (m: string) => void): boolean {
  let ok = true;
  try {
    const template = parseTemplate(b.path);
    const seen = new Set<string>();
    for (const variable of template.variables) {
      const name = variable.join('.');
      // The server would join the segments of both into one value.
      const problem = seen.has(name)
        ? `variable "${name}" appears twice; a field can be bound once`
        : checkFieldPath(method.input, variable, 'path');
      seen.add(name);
      if (problem) {
        report(`path "${b.path}": ${problem}`);
        ok = false;
      }
    }
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    report(err.message);
    return false;
  }
  if (b.body && b.body !== '*') {
    const field = method.input.fields.find((f) => f.name === b.body);
    if (!field) {
      report(`body "${b.body}": ${method.input.typeName} has no field "${b.body}"`);
      ok = false;
    } else if (field.fieldKind === 'list' || field.fieldKind === 'map') {
      // Allowed by google.api.http, but the binder fills a single message or scalar; say so early.
      if (field.fieldKind === 'map') {
        report(`body "${b.body}": a map field cannot be the body`);
        ok = false;
      }
    }
  }
  if (b.responseBody && !method.output.fields.some((f) => f.name === b.responseBody)) {
    report(`response_body "${b.responseBody}": ${method.output.typeName} has no field "${b.responseBody}"`);
    ok = false;
  }
  if ((b.method === 'GET' || b.method === 'DELETE') && b.body) {
    report(`${b.method} rules must not have a body`);
    ok = false;
  }
  return ok;
}

/** Returns a problem with a path variable's field path, or undefined when it names a usable field. */
function checkFieldPath(message: DescMessage, path: string[], what: string): string | undefined {
  let current: DescMessage | undefined = message;
  let field: DescField | undefined;
  for (const [i, name] of path.entries()) {
    field = current?.fields.find((f) => f.name === name);
    if (!field) return `${message.typeName} has no field "${path.slice(0, i + 1).join('.')}"`;
    if (i < path.length - 1) {
      if (field.fieldKind !== 'message')
        return `"${path.slice(0, i + 1).join('.')}" is not a message, cannot select "${path[i + 1]}"`;
      current = field.message;
    }
  }
  if (field?.fieldKind === 'list')
    return `${what} variable "${path.join('.')}" is a repeated field; one value cannot fill a list`;
  if (
    field &&
    (field.fieldKind === 'map' ||
      (field.fieldKind === 'message' && !field.message.typeName.startsWith('google.protobuf.')))
  ) {
    return `${what} variable "${path.join('.')}" must be a scalar, enum or well-known type field`;
  }
  return undefined;
}

/** The source position of a method's http option (or the method itself). */
export function ruleLocation(method: DescMethod): { file: string; line: number; column: number } {
  // Method options are field 4 of a MethodDescriptorProto; google.api.http is extension 72295728.
  return sourcePosition(method, [4, 72295728], [4]);
}
