// The health service's descriptor, for server reflection only: it needs protobuf-es's
// descriptor types (about 8 MB and a tenth of a second to load), so reflection imports
// this module with its first call instead of every start paying for it.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';
import { ServingStatus } from './health.js';

/**
 * grpc/health/v1/health.proto as a serialized FileDescriptorSet, so server reflection
 * can describe the health service without the .proto file on disk.
 */
export function healthDescriptorSet(): Uint8Array {
  const { STRING: TYPE_STRING, ENUM: TYPE_ENUM, MESSAGE: TYPE_MESSAGE } = FieldDescriptorProto_Type;
  const optional = FieldDescriptorProto_Label.OPTIONAL;
  const file = create(FileDescriptorProtoSchema, {
    name: 'grpc/health/v1/health.proto',
    package: 'grpc.health.v1',
    syntax: 'proto3',
    messageType: [
      {
        name: 'HealthCheckRequest',
        field: [{ name: 'service', number: 1, type: TYPE_STRING, label: optional, jsonName: 'service' }],
      },
      {
        name: 'HealthCheckResponse',
        field: [
          {
            name: 'status',
            number: 1,
            type: TYPE_ENUM,
            label: optional,
            typeName: '.grpc.health.v1.HealthCheckResponse.ServingStatus',
            jsonName: 'status',
          },
        ],
        enumType: [
          { name: 'ServingStatus', value: Object.entries(ServingStatus).map(([name, number]) => ({ name, number })) },
        ],
      },
      { name: 'HealthListRequest' },
      {
        name: 'HealthListResponse',
        field: [
          {
            name: 'statuses',
            number: 1,
            type: TYPE_MESSAGE,
            label: FieldDescriptorProto_Label.REPEATED,
            typeName: '.grpc.health.v1.HealthListResponse.StatusesEntry',
            jsonName: 'statuses',
          },
        ],
        nestedType: [
          {
            name: 'StatusesEntry',
            options: { mapEntry: true },
            field: [
              { name: 'key', number: 1, type: TYPE_STRING, label: optional, jsonName: 'key' },
              {
                name: 'value',
                number: 2,
                type: TYPE_MESSAGE,
                label: optional,
                typeName: '.grpc.health.v1.HealthCheckResponse',
                jsonName: 'value',
              },
            ],
          },
        ],
      },
    ],
    service: [
      {
        name: 'Health',
        method: [
          {
            name: 'Check',
            inputType: '.grpc.health.v1.HealthCheckRequest',
            outputType: '.grpc.health.v1.HealthCheckResponse',
          },
          {
            name: 'List',
            inputType: '.grpc.health.v1.HealthListRequest',
            outputType: '.grpc.health.v1.HealthListResponse',
          },
          {
            name: 'Watch',
            inputType: '.grpc.health.v1.HealthCheckRequest',
            outputType: '.grpc.health.v1.HealthCheckResponse',
            serverStreaming: true,
          },
        ],
      },
    ],
  });
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [file] }));
}
