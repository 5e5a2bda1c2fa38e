// How ts-proto names things, so our generated files import what it emits.
import type { DescEnum, DescFile, DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';
import { nestedTypes } from '@bufbuild/protobuf/reflect';
import type { Diagnostic } from '../proto/diagnostics.js';
import { sourcePosition } from './comments.js';

/** `helloworld/v1/greeter.proto` -> `helloworld/v1/greeter` */
export function fileStem(file: DescFile): string {
  return file.proto.name.replace(/\.proto$/, '');
}

/**
 * The name ts-proto gives a field's property or one name in a type's nesting (its
 * `snakeToCamel` rule): words split on `_`, all-caps names lowered first, every
 * word after the first capitalised.
 */
export function tsProtoLocalName(protoName: string): string {
  if (!protoName.includes('_')) return protoName;
  const lower = /[a-z]/.test(protoName);
  return protoName
    .split('_')
    .map((word, i) => {
      const w = lower ? word : word.toLowerCase();
      return i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join('');
}

/** Top-level type names ts-proto suffixes with `Message`, as they would hide globals its code uses. */
const TS_PROTO_SUFFIXED = new Set(['Date', 'Function']);

/**
 * ts-proto's export name for a message or enum: each name of its nesting as
 * tsProtoLocalName makes it, joined with `_` (`Outer_Inner`, `get_thing` -> `getThing`),
 * and `DateMessage` for a top-level `Date`.
 */
export function tsTypeName(desc: DescMessage | DescEnum): string {
  const name = localTypeName(desc).split('.').map(tsProtoLocalName).join('_');
  return TS_PROTO_SUFFIXED.has(name) ? `${name}Message` : name;
}

/** ts-proto's key for a method in the service definition: lower camel case. */
export function methodKey(method: DescMethod): string {
  return method.name.charAt(0).toLowerCase() + method.name.slice(1);
}

/**
 * Methods no generated class can have: `rpc Constructor` would be a method named
 * `constructor`, which TypeScript takes for the class's constructor, and two rpcs
 * whose names differ only in their first letter's case would be one method.
 */
export function methodNameProblems(services: readonly DescService[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const service of services) {
    const byKey = new Map<string, DescMethod>();
    for (const m of service.methods) {
      const key = methodKey(m);
      const first = byKey.get(key);
      if (key === 'constructor')
        problems.push({
          ...sourcePosition(m),
          message: `${service.name}.${m.name}: its TypeScript method would be named "constructor", which a class cannot have; rename the rpc`,
        });
      else if (first)
        problems.push({
          ...sourcePosition(m),
          message: `${service.name}.${m.name}: its TypeScript method would be named "${key}", as ${service.name}.${first.name}'s is; rename one of the rpcs`,
        });
      else byKey.set(key, m);
    }
  }
  return problems;
}

/** Names every JavaScript object inherits: `toString`, `constructor`, `valueOf`... */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Fields whose ts-proto property, JSON name or proto name is one every object inherits
 * (`to_string` becomes `toString`). ts-proto's code reads such a field without asking whether it is
 * the object's own, so an unset one reads as Object.prototype's function and is sent as
 * text; the message cannot carry the field faithfully, so it is refused.
 */
export function fieldNameProblems(file: DescFile): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const message of nestedTypes(file)) {
    if (message.kind !== 'message') continue;
    for (const field of message.fields) {
      const property = tsProtoLocalName(field.name);
      // ts-proto's JSON decoding also reads a field under its proto name (`__proto__`).
      const clash = INHERITED.has(property)
        ? `TypeScript property "${property}"`
        : INHERITED.has(field.jsonName)
          ? `JSON name "${field.jsonName}"`
          : INHERITED.has(field.name)
            ? `name "${field.name}"`
            : undefined;
      if (clash)
        problems.push({
          ...sourcePosition(field),
          message: `${localTypeName(message)}.${field.name}: its ${clash} is one every JavaScript object inherits (Object.prototype), so an unset field would read as what every object has under that name; rename the field (its number keeps the wire format)`,
        });
    }
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** What ts-proto declares in every message file, and globals its code uses unqualified. */
const TS_PROTO_DECLARED = new Set([
  'MessageFns',
  'DeepPartial',
  'Exact',
  'KeysOfUnion',
  'Builtin',
  'BinaryReader',
  'BinaryWriter',
  'isSet',
  'protobufPackage',
  'protobufFileName',
  'Buffer',
  'Uint8Array',
  'globalThis',
]);

/** What the generated files declare for a service: ts-proto's definition, server and client, and tsk's own. */
function serviceDeclared(service: DescService): string[] {
  const s = service.name;
  return [
    ...[
      'Service',
      'Server',
      'Client',
      'GRPCClient',
      'GRPCServer',
      'HTTPClient',
      'HTTPServer',
      'HTTPRoutes',
      'Rules',
    ].map((suffix) => `${s}${suffix}`),
    `register${s}HTTPServer`,
    `register${s}GRPCServer`,
  ];
}

/**
 * Messages and enums whose TypeScript name the generated code of their file declares
 * itself (`MessageFns`, `Buffer`, `GreeterGRPCClient` beside `service Greeter`): the
 * files would not compile, so the type is refused at its declaration.
 */
export function typeNameProblems(file: DescFile): Diagnostic[] {
  const services = new Map(file.services.flatMap((service) => serviceDeclared(service).map((n) => [n, service])));
  const problems: Diagnostic[] = [];
  for (const type of nestedTypes(file)) {
    if (type.kind !== 'message' && type.kind !== 'enum') continue;
    const name = tsTypeName(type);
    const service = services.get(name);
    const why = TS_PROTO_DECLARED.has(name)
      ? 'ts-proto declares or uses that name in every message file'
      : service
        ? `the code generated for service ${service.name} declares it`
        : undefined;
    if (why)
      problems.push({
        ...sourcePosition(type),
        message: `${localTypeName(type)}: its TypeScript name "${name}" cannot be used, as ${why}; rename the ${type.kind} (the wire format does not change, its JSON and gRPC type names do)`,
      });
  }
  return problems;
}

/** A type's name within its package: `Outer.Inner`. */
function localTypeName(desc: DescMessage | DescEnum): string {
  const pkg = desc.file.proto.package;
  return pkg ? desc.typeName.slice(pkg.length + 1) : desc.typeName;
}

/** gRPC full method name, the operation for both transports. */
export function operationName(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export function serviceConstName(service: DescService): string {
  return `${service.name}Service`;
}
