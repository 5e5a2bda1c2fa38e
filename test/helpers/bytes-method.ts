// A unary gRPC method whose messages are plain bytes, for tests that stand up grpc-js
// servers of their own without a proto.
import type * as grpc from '@grpc/grpc-js';
import { asBytes } from '../../src/runtime/transport/grpc/client.js';

export function bytesMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: asBytes,
    requestDeserialize: asBytes,
    responseSerialize: asBytes,
    responseDeserialize: asBytes,
  };
}
