// gRPC server reflection (grpcurl, Postman) for exactly the services a server has
// registered: the user's services from their .proto files (or a descriptor set), the
// health service from its built-in descriptor, and the reflection service itself from
// the protos @grpc/reflection ships.
//
// Reflection is a tool for people at a terminal, so its cost is paid by its first
// caller, not by every start: the server registers the reflection methods with
// pass-through (de)serializers, and the first call imports the proto parser and
// @grpc/reflection, builds the descriptors once, then hands that and every later
// stream to @grpc/reflection's own handlers, translating bytes at the boundary.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';

export type ReflectionOptions =
  /**
   * A FileDescriptorSet's bytes (api/descriptors.ts, which tsk generate writes): served
   * as buf built it, with the files' own names, imports and field names.
   */
  | { descriptorSet: () => Uint8Array | Promise<Uint8Array> }
  /** A FileDescriptorSet from `buf build -o`, served as it is. */
  | { descriptorSetPath: string }
  /**
   * The .proto files below these directories (or only `protoFiles`, relative to them),
   * parsed by @grpc/proto-loader: its descriptors merge each package's files into one.
   */
  | { includeDirs: string[]; protoFiles?: string[] };

export interface ReflectionEvents {
  /** Registered services no descriptor was found for (reflection cannot describe them); told once, when reflection is built. */
  undescribed?(services: string[]): void;
  /** Reflection could not be built (a .proto that does not parse, a missing descriptor set); each call then fails with INTERNAL. */
  failed?(err: unknown): void;
}

const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

type Bidi = grpc.handleBidiStreamingCall<unknown, unknown>;
interface BuiltMethod {
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: Bidi;
}

/**
 * Adds the reflection service to `server`, listing `services` and itself. Nothing is
 * parsed until the first reflection call.
 */
export function addReflection(
  server: grpc.Server,
  options: ReflectionOptions,
  services: Iterable<string>,
  events: ReflectionEvents = {},
): void {
  const listed = [...services, ...REFLECTION_SERVICES];
  let built: Promise<Map<string, BuiltMethod>> | undefined;
  const build = () => (built ??= buildReflection(options, listed, events));
  for (const name of REFLECTION_SERVICES) {
    const method = `/${name}/ServerReflectionInfo`;
    const passThrough = (bytes: Buffer) => bytes;
    const definition: grpc.ServiceDefinition = {
      ServerReflectionInfo: {
        path: method,
        requestStream: true,
        responseStream: true,
        requestSerialize: passThrough,
        requestDeserialize: passThrough,
        responseSerialize: passThrough,
        responseDeserialize: passThrough,
      },
    };
    const handler: grpc.handleBidiStreamingCall<Buffer, Buffer> = (stream) => {
      build().then(
        (methods) => {
          const real = methods.get(method)!;
          real.handler(translated(stream, real.definition) as unknown as Parameters<Bidi>[0]);
        },
        () =>
          stream.emit('error', {
            code: grpc.status.INTERNAL,
            details: 'server reflection is unavailable: see the server log',
          }),
      );
    };
    server.addService(definition, { ServerReflectionInfo: handler });
  }
}

async function buildReflection(
  options: ReflectionOptions,
  listed: string[],
  events: ReflectionEvents,
): Promise<Map<string, BuiltMethod>> {
  try {
    const [loader, { ReflectionService }, { healthDescriptorSet }, protobuf, wkt] = await Promise.all([
      import('@grpc/proto-loader'),
      import('@grpc/reflection'),
      import('./health-descriptor.js'),
      import('@bufbuild/protobuf'),
      import('@bufbuild/protobuf/wkt'),
    ]);
    const described = (bytes: Uint8Array) => describedServices(bytes, protobuf, wkt);
    const definition: PackageDefinition = {
      ...(await userDefinitions(loader, options, described)),
      ...described(healthDescriptorSet()),
      ...reflectionDefinitions(loader),
    };
    const undescribed = listed.filter((name) => !(name in definition));
    if (undescribed.length > 0) events.undescribed?.(undescribed);
    // @grpc/reflection registers its handlers on a server; they are collected here instead.
    const methods = new Map<string, BuiltMethod>();
    const collector = {
      addService(service: grpc.ServiceDefinition, implementation: Record<string, Bidi>) {
        for (const [name, method] of Object.entries(service))
          methods.set(method.path, { definition: method, handler: implementation[name]! });
      },
    };
    const service = new ReflectionService(definition, { services: listed });
    const versions = service as unknown as { v1: ReflectionIndex; v1Alpha: ReflectionIndex };
    const nameOf = (bytes: Uint8Array) => protobuf.fromBinary(wkt.FileDescriptorProtoSchema, bytes).name;
    for (const index of [versions.v1, versions.v1Alpha]) servedAsBuilt(index, definition, nameOf);
    service.addToServer(collector as unknown as grpc.Server);
    return methods;
  } catch (err) {
    events.failed?.(err);
    throw err;
  }
}

/** What @grpc/reflection 1.x keeps of each file it serves (its implementations' fields). */
interface ReflectionIndex {
  files: Record<string, { dependency?: string[] }>;
  fileEncodings: Map<object, Uint8Array>;
  fileDependencies: Map<object, object[]>;
}

/**
 * @grpc/reflection decodes each file and encodes it again with protobufjs, which drops
 * what it does not know: every custom option (`google.api.http`, `errors.code`). It
 * also sends along only the files whose types a file uses, not those it imports for
 * options. Each file is served here as the definition gave it, with everything it imports.
 */
function servedAsBuilt(
  index: ReflectionIndex,
  definition: PackageDefinition,
  nameOf: (file: Uint8Array) => string,
): void {
  if (!(index.fileEncodings instanceof Map) || !(index.fileDependencies instanceof Map) || !index.files)
    throw new Error('@grpc/reflection no longer keeps the files it serves where tsk expects them');
  const given = new Map<string, Uint8Array>();
  for (const entry of Object.values(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Uint8Array[] }).fileDescriptorProtos ?? [];
    for (const bytes of protos) {
      const name = nameOf(bytes);
      if (!given.has(name)) given.set(name, bytes);
    }
  }
  for (const [name, file] of Object.entries(index.files)) {
    const bytes = given.get(name);
    if (bytes) index.fileEncodings.set(file, bytes);
    const imports = (file.dependency ?? []).map((d) => index.files[d]).filter((f) => f !== undefined);
    index.fileDependencies.set(file, imports);
  }
}

/** The byte stream seen as the decoded message stream @grpc/reflection's handlers read and write. */
function translated(stream: grpc.ServerDuplexStream<Buffer, Buffer>, method: grpc.MethodDefinition<unknown, unknown>) {
  const view = {
    on(event: string, listener: (...args: unknown[]) => void) {
      if (event === 'data') stream.on('data', (bytes: Buffer) => listener(method.requestDeserialize(bytes)));
      else stream.on(event, listener);
      return view;
    },
    write: (message: unknown) => stream.write(method.responseSerialize(message)),
    end: () => stream.end(),
  };
  return view;
}

type Loader = typeof import('@grpc/proto-loader');

async function userDefinitions(
  loader: Loader,
  options: ReflectionOptions,
  described: (bytes: Uint8Array) => PackageDefinition,
): Promise<PackageDefinition> {
  if ('descriptorSet' in options) return described(await options.descriptorSet());
  if ('descriptorSetPath' in options) return described(fs.readFileSync(options.descriptorSetPath));
  const files = options.protoFiles ?? options.includeDirs.flatMap((dir) => protoFilesUnder(dir));
  return files.length === 0 ? {} : loader.loadSync(files, { includeDirs: options.includeDirs, keepCase: true });
}

/**
 * A FileDescriptorSet in the shape @grpc/reflection reads a package definition: an entry
 * per service, the set's files (each as buf encoded it) on the first, so reflection serves
 * them as they are rather than as proto-loader would rebuild them.
 */
function describedServices(
  bytes: Uint8Array,
  protobuf: typeof import('@bufbuild/protobuf'),
  wkt: typeof import('@bufbuild/protobuf/wkt'),
): PackageDefinition {
  const set = protobuf.fromBinary(wkt.FileDescriptorSetSchema, bytes);
  const encoded = set.file.map((file) => Buffer.from(protobuf.toBinary(wkt.FileDescriptorProtoSchema, file)));
  const services = set.file.flatMap((file) =>
    file.service.map((service) => (file.package ? `${file.package}.${service.name}` : service.name)),
  );
  return Object.fromEntries(
    services.map((name, i) => [name, { fileDescriptorProtos: i === 0 ? encoded : [] }]),
  ) as unknown as PackageDefinition;
}

/** Every .proto below `dir`, relative to it; none when it does not exist. */
function protoFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.proto'))
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

function reflectionDefinitions(loader: Loader): PackageDefinition {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
  const protoDir = path.join(packageDir, 'build', 'proto');
  return loader.loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], {
    includeDirs: [protoDir],
  });
}
