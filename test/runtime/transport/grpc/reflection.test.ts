// Server reflection and health on a server with two services from two proto trees:
// both are listed, with grpc.health.v1.Health and reflection itself, and each is
// described as buf compiled it (file names, imports, field names), so a strict
// descriptor loader takes what it serves. The reflection client is hand-encoded,
// sharing nothing with the server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, MethodOptionsSchema } from '@bufbuild/protobuf/wkt';
import { compileProtos } from '../../../../src/proto/compile.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcServer, HealthDefinition, ServingStatus } from '../../../../src/runtime/transport/grpc/index.js';
import { repoRoot } from '../../../helpers/cli.js';
import { generateFixture } from '../../../helpers/generated.js';

let server: GrpcServer;
let client: grpc.Client;
/** The files buf built, by name: what reflection must serve byte for byte. */
const files = new Map<string, ReturnType<typeof fromBinary<typeof FileDescriptorProtoSchema>>>();

beforeAll(async () => {
  const user = generateFixture('reflection', 'user');
  const hello = generateFixture('reflection', 'helloworld');
  const userGrpc = await import(path.join(user, 'user/v1/user_grpc.ts'));
  const helloGrpc = await import(path.join(hello, 'helloworld/v1/greeter_grpc.ts'));
  // What api/descriptors.ts holds in a project: the FileDescriptorSet buf builds.
  for (const [dir, proto] of [
    [user, 'user/v1/user.proto'],
    [hello, 'helloworld/v1/greeter.proto'],
  ] as const) {
    const compiled = await compileProtos({ inputs: [proto], importPaths: [dir], cwd: dir });
    for (const file of compiled.fileSet.file) files.set(file.name, file);
  }
  const descriptorSet = toBinary(
    FileDescriptorSetSchema,
    create(FileDescriptorSetSchema, { file: [...files.values()] }),
  );
  server = new GrpcServer({ address: '127.0.0.1:0', reflection: { descriptorSet: () => descriptorSet } });
  const fail = async () => {
    throw new Error('not called');
  };
  userGrpc.registerUserServiceGRPCServer(server, {
    getUser: fail,
    createUser: fail,
    updateUser: fail,
    deleteUser: fail,
    listUsers: fail,
  });
  helloGrpc.registerGreeterGRPCServer(server, { sayHello: fail });
  await server.start();
  client = new grpc.Client(`127.0.0.1:${server.listenPort}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await server?.stop({ timeoutMs: 500 });
});

/** One ServerReflectionInfo exchange: `field` is the request's oneof field (string-valued). */
async function reflect(field: number, value: string): Promise<BinaryReader> {
  const call = client.makeBidiStreamRequest(
    '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  const reply = new Promise<Buffer>((resolve, reject) => {
    call.once('data', resolve);
    call.once('error', reject);
  });
  call.write(Buffer.from(new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish()));
  const bytes = await reply;
  call.end();
  return new BinaryReader(bytes);
}

/** The messages in field `field` of each length-delimited occurrence of `outer`. */
function nested(r: BinaryReader, outer: number, field: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (r.pos < r.len) {
    const [f, w] = r.tag();
    if (f !== outer) {
      r.skip(w, f);
      continue;
    }
    const inner = new BinaryReader(r.bytes());
    while (inner.pos < inner.len) {
      const [g, v] = inner.tag();
      if (g === field) out.push(inner.bytes());
      else inner.skip(v, g);
    }
  }
  return out;
}

describe('server reflection', () => {
  it('lists every registered service, health and reflection included', async () => {
    // list_services = 7 -> list_services_response = 6 { repeated ServiceResponse service = 1 { name = 1 } }
    const names = nested(await reflect(7, '*'), 6, 1).map((b) => {
      const r = new BinaryReader(b);
      r.tag();
      return r.string();
    });
    expect(names.sort()).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'helloworld.v1.Greeter',
      'user.v1.UserService',
    ]);
  });

  it('describes the health service and the user services by symbol', async () => {
    // file_containing_symbol = 4 -> file_descriptor_response = 4 { repeated bytes file_descriptor_proto = 1 }
    const describe = async (symbol: string) =>
      nested(await reflect(4, symbol), 4, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const health = await describe('grpc.health.v1.Health');
    const file = health.find((f) => f.name === 'grpc/health/v1/health.proto')!;
    expect(file.service[0]!.method.map((m) => [m.name, m.serverStreaming])).toEqual([
      ['Check', false],
      ['List', false],
      ['Watch', true],
    ]);
    expect(file.messageType.map((m) => m.name)).toEqual([
      'HealthCheckRequest',
      'HealthCheckResponse',
      'HealthListRequest',
      'HealthListResponse',
    ]);
    expect((await describe('helloworld.v1.Greeter'))[0]!.name).toBe('helloworld/v1/greeter.proto');

    // The file that declares the symbol comes first, then everything it imports, as buf built them.
    const userFiles = await describe('user.v1.UserService');
    const userProto = userFiles[0]!;
    expect(userProto.name).toBe('user/v1/user.proto');
    expect(userProto.dependency).toEqual(['google/api/annotations.proto', 'google/protobuf/timestamp.proto']);
    expect(userFiles.map((f) => f.name).sort()).toEqual([
      'google/api/annotations.proto',
      'google/api/http.proto',
      'google/protobuf/descriptor.proto',
      'google/protobuf/timestamp.proto',
      'user/v1/user.proto',
    ]);
    // Custom options survive: GetUser's google.api.http rule (extension 72295728 of MethodOptions).
    expect(toBinary(FileDescriptorProtoSchema, userProto)).toEqual(
      toBinary(FileDescriptorProtoSchema, files.get('user/v1/user.proto')!),
    );
    const getUser = userProto.service[0]!.method.find((m) => m.name === 'GetUser')!;
    expect(Buffer.from(toBinary(MethodOptionsSchema, getUser.options!)).toString('latin1')).toContain('/v1/users/{id}');
    const userMessage = userProto.messageType.find((m) => m.name === 'User')!;
    expect(userMessage.field.map((f) => [f.name, f.jsonName, f.typeName])).toEqual([
      ['id', 'id', ''],
      ['name', 'name', ''],
      ['email', 'email', ''],
      ['create_time', 'createTime', '.google.protobuf.Timestamp'],
    ]);
    // What a client gathers as grpcurl does (an import not sent along is asked for by
    // name: file_by_filename = 3), loaded into a strict registry: every type name resolves.
    const gathered = new Map(userFiles.map((f) => [f.name, f]));
    for (let missing = userFiles.flatMap((f) => f.dependency); missing.length > 0; ) {
      const name = missing.pop()!;
      if (gathered.has(name)) continue;
      const found = nested(await reflect(3, name), 4, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b));
      expect(found[0]?.name, name).toBe(name);
      for (const f of found) if (!gathered.has(f.name)) gathered.set(f.name, f);
      missing.push(...found.flatMap((f) => f.dependency));
    }
    const ordered: typeof userFiles = [];
    const place = (name: string) => {
      const f = gathered.get(name)!;
      if (ordered.includes(f)) return;
      for (const d of f.dependency) place(d);
      ordered.push(f);
    };
    for (const name of gathered.keys()) place(name);
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    expect(registry.getService('user.v1.UserService')?.methods.map((m) => m.name)).toContain('GetUser');
    expect(registry.getMessage('user.v1.User')?.field['createTime']?.message?.typeName).toBe(
      'google.protobuf.Timestamp',
    );
  });
});

/** A server with reflection over `includeDirs`, a Greeter registered, and its log lines collected. */
async function lazyServer(includeDirs: string[]) {
  const lines: Array<{ level: number; msg: string; services?: string[] }> = [];
  const logger = pino(
    {},
    {
      write: (line: string) => {
        lines.push(JSON.parse(line));
      },
    },
  );
  const server = new GrpcServer({ address: '127.0.0.1:0', reflection: { includeDirs }, logger });
  const helloGrpc = await import(
    path.join(generateFixture('reflection', 'helloworld'), 'helloworld/v1/greeter_grpc.ts')
  );
  helloGrpc.registerGreeterGRPCServer(server, {
    sayHello: async () => {
      throw new Error('not called');
    },
  });
  await server.start();
  const client = new grpc.Client(`127.0.0.1:${server.listenPort}`, grpc.credentials.createInsecure());
  return {
    server,
    client,
    lines,
    close: async () => {
      client.close();
      await server.stop({ timeoutMs: 500 });
    },
  };
}

describe('reflection built on its first call', () => {
  it('answers, in order, requests sent on one v1alpha stream before the descriptors exist, and warns then about undescribed services', async () => {
    const s = await lazyServer([path.join(repoRoot, 'proto')]);
    try {
      expect(s.lines.some((l) => l.msg.includes('reflection'))).toBe(false);
      const call = s.client.makeBidiStreamRequest(
        '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      const replies: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (b: Buffer) => replies.push(b));
        call.on('end', resolve);
        call.on('error', reject);
      });
      // list_services = 7, then file_containing_symbol = 4; host = 1 tells the two answers apart.
      for (const [host, field, value] of [
        ['first', 7, '*'],
        ['second', 4, 'grpc.health.v1.Health'],
      ] as const) {
        call.write(
          Buffer.from(
            new BinaryWriter()
              .tag(1, WireType.LengthDelimited)
              .string(host)
              .tag(field, WireType.LengthDelimited)
              .string(value)
              .finish(),
          ),
        );
      }
      call.end();
      await done;
      // ServerReflectionResponse.valid_host = 1
      expect(
        replies.map((b) => {
          const r = new BinaryReader(b);
          r.tag();
          return r.string();
        }),
      ).toEqual(['first', 'second']);
      expect(
        nested(new BinaryReader(replies[1]!), 4, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b).name),
      ).toContain('grpc/health/v1/health.proto');
      // The Greeter's proto is not below the include dirs given.
      expect(s.lines.find((l) => l.msg === 'reflection found no .proto for these services')?.services).toEqual([
        'helloworld.v1.Greeter',
      ]);
    } finally {
      await s.close();
    }
  });

  it('a .proto that does not parse: the server starts and serves health, reflection fails with INTERNAL and the log says why', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-reflection-'));
    fs.writeFileSync(path.join(dir, 'broken.proto'), 'syntax = "proto3";\nmessage {\n');
    const s = await lazyServer([dir]);
    try {
      const health = await new Promise<{ status: number }>((resolve, reject) =>
        s.client.makeUnaryRequest(
          HealthDefinition.check.path,
          HealthDefinition.check.requestSerialize,
          HealthDefinition.check.responseDeserialize,
          { service: '' },
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
      expect(health.status).toBe(ServingStatus.SERVING);
      const call = s.client.makeBidiStreamRequest(
        '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      const failed = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => {});
      call.write(Buffer.from(new BinaryWriter().tag(7, WireType.LengthDelimited).string('*').finish()));
      expect((await failed).code).toBe(grpc.status.INTERNAL);
      expect(s.lines.filter((l) => l.msg === 'server reflection could not be built')).toHaveLength(1);
    } finally {
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('health', () => {
  it('answers for every registered service and for itself', async () => {
    const check = (service: string) =>
      new Promise<{ status: number }>((resolve, reject) =>
        client.makeUnaryRequest(
          HealthDefinition.check.path,
          HealthDefinition.check.requestSerialize,
          HealthDefinition.check.responseDeserialize,
          { service },
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
    for (const service of ['', 'user.v1.UserService', 'helloworld.v1.Greeter', 'grpc.health.v1.Health']) {
      expect((await check(service)).status, service).toBe(ServingStatus.SERVING);
    }
    await expect(check('nope.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
