import { describe, expect, it } from 'vitest';
import {
  ServiceError,
  code,
  fromError,
  isServiceError,
  newError,
  notFound,
  reason,
  UNKNOWN_CODE,
} from '../../../src/runtime/errors/errors.js';
import { GrpcCode, grpcToHttpCode, httpToGrpcCode } from '../../../src/runtime/errors/codes.js';

describe('ServiceError', () => {
  it('serialises to the {code, reason, message, metadata} body', () => {
    const err = newError(404, 'USER_NOT_FOUND', 'no such user', { id: '7' });
    expect(err.toJSON()).toEqual({
      code: 404,
      reason: 'USER_NOT_FOUND',
      message: 'no such user',
      metadata: { id: '7' },
    });
    expect(JSON.parse(JSON.stringify(err))).toEqual(err.toJSON());
  });

  it('copies on withMetadata and withCause instead of mutating', () => {
    const base = notFound('USER_NOT_FOUND', 'gone');
    const withMd = base.withMetadata({ a: '1' });
    const cause = new Error('db down');
    const withCause = withMd.withCause(cause);
    expect(base.metadata).toEqual({});
    expect(withMd.metadata).toEqual({ a: '1' });
    expect(withCause.cause).toBe(cause);
    expect(withCause.metadata).toEqual({ a: '1' });
  });

  it('matches by code and reason like errors.Is', () => {
    const a = notFound('USER_NOT_FOUND', 'x');
    expect(a.is(notFound('USER_NOT_FOUND', 'other message'))).toBe(true);
    expect(a.is(notFound('OTHER', 'x'))).toBe(false);
    expect(a.is(new Error('x'))).toBe(false);
  });

  it('fromError keeps ServiceErrors and wraps anything else as 500 with an empty reason', () => {
    const se = newError(409, 'CONFLICT', 'dup');
    expect(fromError(se)).toBe(se);
    const plain = fromError(new TypeError('boom'));
    expect(plain).toBeInstanceOf(ServiceError);
    expect([plain.code, plain.reason, plain.message]).toEqual([UNKNOWN_CODE, '', 'boom']);
    expect(fromError('text').message).toBe('text');
    expect(code(undefined)).toBe(200);
    expect(code(se)).toBe(409);
    expect(reason(se)).toBe('CONFLICT');
    expect(reason(new Error('x'))).toBe('');
  });

  it('recognises a ServiceError from another copy of the runtime by shape', () => {
    const foreign = Object.assign(new Error('m'), {
      name: 'ServiceError',
      code: 403,
      reason: 'NOPE',
      metadata: { k: 'v' },
    });
    expect(isServiceError(foreign)).toBe(true);
    const converted = fromError(foreign);
    expect(converted).toBeInstanceOf(ServiceError);
    expect(converted.toJSON()).toEqual({ code: 403, reason: 'NOPE', message: 'm', metadata: { k: 'v' } });
  });
});

describe('HTTP <-> gRPC code mapping (Kratos)', () => {
  it.each([
    [400, GrpcCode.INVALID_ARGUMENT],
    [401, GrpcCode.UNAUTHENTICATED],
    [403, GrpcCode.PERMISSION_DENIED],
    [404, GrpcCode.NOT_FOUND],
    [409, GrpcCode.ABORTED],
    [429, GrpcCode.RESOURCE_EXHAUSTED],
    [499, GrpcCode.CANCELLED],
    [500, GrpcCode.INTERNAL],
    [501, GrpcCode.UNIMPLEMENTED],
    [503, GrpcCode.UNAVAILABLE],
    [504, GrpcCode.DEADLINE_EXCEEDED],
    [418, GrpcCode.UNKNOWN],
  ])('HTTP %i -> gRPC %i', (http, grpc) => {
    expect(httpToGrpcCode(http)).toBe(grpc);
  });

  it.each([
    [GrpcCode.ALREADY_EXISTS, 409],
    [GrpcCode.ABORTED, 409],
    [GrpcCode.FAILED_PRECONDITION, 400],
    [GrpcCode.OUT_OF_RANGE, 400],
    [GrpcCode.UNKNOWN, 500],
    [GrpcCode.DATA_LOSS, 500],
    [99, 500],
  ])('gRPC %i -> HTTP %i', (grpc, http) => {
    expect(grpcToHttpCode(grpc)).toBe(http);
  });

  it('round-trips every code Kratos maps one-to-one', () => {
    for (const http of [400, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504]) {
      expect(grpcToHttpCode(httpToGrpcCode(http))).toBe(http);
    }
  });
});
