// A status without ErrorInfo in one of the codes grpc-js gives its own verdicts in is named
// (TIMEOUT, CANCELLED) whoever sent it; grpc-js's wording of a deadline is replaced, since it
// names the peer's address and timings, while a server's own message is kept.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromGrpcError } from '../../../../src/runtime/transport/grpc/client.js';

function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new grpc.Metadata() });
}

describe('a gRPC status without ErrorInfo', () => {
  it("reads grpc-js's deadline as TIMEOUT in tsk's words, and a server's DEADLINE_EXCEEDED with its own message", () => {
    const own = 'Deadline exceeded after 0.301s,LB pick: 0.001s,remote_addr=127.0.0.1:9000';
    expect(fromGrpcError(status(grpc.status.DEADLINE_EXCEEDED, own)).toJSON()).toMatchObject({
      code: 504,
      reason: 'TIMEOUT',
      message: 'the call exceeded its deadline',
    });
    expect(fromGrpcError(status(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded')).message).toBe(
      'the call exceeded its deadline',
    );
    expect(fromGrpcError(status(grpc.status.DEADLINE_EXCEEDED, 'the ledger took too long')).toJSON()).toMatchObject({
      code: 504,
      reason: 'TIMEOUT',
      message: 'the ledger took too long',
    });
  });

  it('reads CANCELLED with its message, and any other code by the table with no reason', () => {
    expect(fromGrpcError(status(grpc.status.CANCELLED, 'stopped by the caller')).toJSON()).toMatchObject({
      code: 499,
      reason: 'CANCELLED',
      message: 'stopped by the caller',
    });
    expect(fromGrpcError(status(grpc.status.NOT_FOUND, 'no such row')).toJSON()).toMatchObject({
      code: 404,
      reason: '',
      message: 'no such row',
    });
  });
});
