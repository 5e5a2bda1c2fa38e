// gRPC server reflection (grpcurl, Postman) for exactly the services a server has
// registered, worked out when it starts: the user's services from their .proto
// files (or a descriptor set), the health service from its built-in descriptor,
// and the reflection service itself from the protos @grpc/reflection ships.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { healthDescriptorSet } from './health.js';

export type ReflectionOptions =
  /** The .proto files below these directories (or only `protoFiles`, relative to them). */
  | { includeDirs: string[]; protoFiles?: string[] }
  /** A FileDescriptorSet from `buf build -o`. */
  | { descriptorSetPath: string };

const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/**
 * Adds the reflection service to `server`, listing `services` and itself. Returns the
 * registered services no descriptor was found for (reflection cannot describe them).
 */
export function addReflection(server: grpc.Server, options: ReflectionOptions, services: Iterable<string>): string[] {
  const definition: PackageDefinition = {
    ...userDefinitions(options),
    ...loadFileDescriptorSetFromBuffer(Buffer.from(healthDescriptorSet())),
    ...reflectionDefinitions(),
  };
  const listed = [...services, ...REFLECTION_SERVICES];
  new ReflectionService(definition, { services: listed }).addToServer(server);
  return listed.filter((name) => !(name in definition));
}

function userDefinitions(options: ReflectionOptions): PackageDefinition {
  if ('descriptorSetPath' in options) return loadFileDescriptorSetFromBuffer(fs.readFileSync(options.descriptorSetPath));
  const files = options.protoFiles ?? options.includeDirs.flatMap((dir) => protoFilesUnder(dir));
  return files.length === 0 ? {} : loadSync(files, { includeDirs: options.includeDirs });
}

/** Every .proto below `dir`, relative to it; none when it does not exist. */
function protoFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.proto'))
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

function reflectionDefinitions(): PackageDefinition {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
  const protoDir = path.join(packageDir, 'build', 'proto');
  return loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], { includeDirs: [protoDir] });
}
