// HTTP status <-> gRPC status code mapping, as Kratos's internal/httputil defines it.
// The mapping is lossy on purpose (409 <- Aborted and AlreadyExists, 400 <- several):
// a caller sees the same code Kratos would give it.

/** gRPC status codes (numerically identical to @grpc/grpc-js's `status` enum). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const httpToGrpc = new Map<number, GrpcCode>([
  [200, GrpcCode.OK],
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
]);

const grpcToHttp = new Map<number, number>([
  [GrpcCode.OK, 200],
  [GrpcCode.CANCELLED, 499],
  [GrpcCode.UNKNOWN, 500],
  [GrpcCode.INVALID_ARGUMENT, 400],
  [GrpcCode.DEADLINE_EXCEEDED, 504],
  [GrpcCode.NOT_FOUND, 404],
  [GrpcCode.ALREADY_EXISTS, 409],
  [GrpcCode.PERMISSION_DENIED, 403],
  [GrpcCode.RESOURCE_EXHAUSTED, 429],
  [GrpcCode.FAILED_PRECONDITION, 400],
  [GrpcCode.ABORTED, 409],
  [GrpcCode.OUT_OF_RANGE, 400],
  [GrpcCode.UNIMPLEMENTED, 501],
  [GrpcCode.INTERNAL, 500],
  [GrpcCode.UNAVAILABLE, 503],
  [GrpcCode.DATA_LOSS, 500],
  [GrpcCode.UNAUTHENTICATED, 401],
]);

/** HTTP status -> gRPC code; anything unmapped is Unknown. */
export function httpToGrpcCode(httpStatus: number): GrpcCode {
  return httpToGrpc.get(httpStatus) ?? GrpcCode.UNKNOWN;
}

/** gRPC code -> HTTP status; anything unmapped is 500. */
export function grpcToHttpCode(grpcCode: number): number {
  return grpcToHttp.get(grpcCode) ?? 500;
}
