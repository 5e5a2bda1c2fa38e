// The error model shared by both transports: {code, reason, message, metadata}.
// `code` is an HTTP status; over gRPC it is mapped to a status code (see ./codes.ts)
// and reason/metadata travel as google.rpc.ErrorInfo in the status details.

/** Reason used when an error carries none (Kratos: UnknownReason). */
export const UNKNOWN_REASON = '';
/** Code used for errors that are not ServiceErrors (Kratos: UnknownCode). */
export const UNKNOWN_CODE = 500;
/** Metadata values are strings, as in google.rpc.ErrorInfo. */
export type Metadata = Record<string, string>;

/** The JSON body an HTTP error response carries, and what clients decode back. */
export interface ErrorBody {
  code: number;
  reason: string;
  message: string;
  metadata: Metadata;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: number;
  readonly reason: string;
  readonly metadata: Metadata;
  /**
   * The `ErrorInfo.domain` of the service that first raised this error, when it came
   * from a called service over gRPC. A gRPC server answering with it sends this domain
   * rather than its own, so the error names its origin across any number of hops.
   * Never part of the HTTP error JSON.
   */
  readonly domain: string | undefined;

  constructor(
    code: number,
    reason: string,
    message: string,
    metadata: Metadata = {},
    options?: { cause?: unknown; domain?: string | undefined },
  ) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.reason = reason;
    this.metadata = { ...metadata };
    this.domain = options?.domain || undefined;
  }

  /** A copy carrying extra metadata; errors are values, never mutated in place. */
  withMetadata(metadata: Metadata): ServiceError {
    return new ServiceError(
      this.code,
      this.reason,
      this.message,
      { ...this.metadata, ...metadata },
      { cause: this.cause, domain: this.domain },
    );
  }

  /** A copy that records the underlying cause (kept for logs, never sent to clients). */
  withCause(cause: unknown): ServiceError {
    return new ServiceError(this.code, this.reason, this.message, this.metadata, { cause, domain: this.domain });
  }

  /** Errors match when code and reason match, like Kratos's errors.Is. */
  is(err: unknown): boolean {
    return err instanceof ServiceError && err.code === this.code && err.reason === this.reason;
  }

  toJSON(): ErrorBody {
    return { code: this.code, reason: this.reason, message: this.message, metadata: { ...this.metadata } };
  }

  override toString(): string {
    return `error: code = ${this.code} reason = ${this.reason} message = ${this.message} metadata = ${JSON.stringify(this.metadata)}`;
  }
}

export function newError(code: number, reason: string, message: string, metadata?: Metadata): ServiceError {
  return new ServiceError(code, reason, message, metadata);
}

/** Brand check that also accepts errors from another copy of the runtime (same shape). */
export function isServiceError(err: unknown): err is ServiceError {
  if (err instanceof ServiceError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return e['name'] === 'ServiceError' && typeof e['code'] === 'number' && typeof e['reason'] === 'string';
}

/**
 * Converts anything thrown into a ServiceError. ServiceErrors pass through; other
 * errors become 500 with an empty reason and their message (Kratos's FromError).
 * Decoders for gRPC statuses and HTTP error bodies live with their transports.
 */
export function fromError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (isServiceError(err)) {
    const e = err as ServiceError;
    const domain = typeof e.domain === 'string' ? e.domain : undefined;
    return new ServiceError(e.code, e.reason, e.message, e.metadata ?? {}, { domain });
  }
  if (err instanceof Error) return new ServiceError(UNKNOWN_CODE, UNKNOWN_REASON, err.message, {}, { cause: err });
  return new ServiceError(UNKNOWN_CODE, UNKNOWN_REASON, String(err));
}

/** The HTTP status of any error; 200 for no error. */
export function code(err: unknown): number {
  if (err === undefined || err === null) return 200;
  return fromError(err).code;
}

/** The reason of any error; '' for non-ServiceErrors. */
export function reason(err: unknown): string {
  if (err === undefined || err === null) return UNKNOWN_REASON;
  return fromError(err).reason;
}

// Constructors named after the status they produce, as Kratos's errors package has them.
export const badRequest = (reason: string, message: string) => newError(400, reason, message);
export const unauthorized = (reason: string, message: string) => newError(401, reason, message);
export const forbidden = (reason: string, message: string) => newError(403, reason, message);
export const notFound = (reason: string, message: string) => newError(404, reason, message);
export const conflict = (reason: string, message: string) => newError(409, reason, message);
export const clientClosed = (reason: string, message: string) => newError(499, reason, message);
export const tooManyRequests = (reason: string, message: string) => newError(429, reason, message);
export const internalServer = (reason: string, message: string) => newError(500, reason, message);
export const notImplemented = (reason: string, message: string) => newError(501, reason, message);
export const serviceUnavailable = (reason: string, message: string) => newError(503, reason, message);
export const gatewayTimeout = (reason: string, message: string) => newError(504, reason, message);

export const isBadRequest = (err: unknown) => code(err) === 400;
export const isUnauthorized = (err: unknown) => code(err) === 401;
export const isForbidden = (err: unknown) => code(err) === 403;
export const isNotFound = (err: unknown) => code(err) === 404;
export const isConflict = (err: unknown) => code(err) === 409;
export const isClientClosed = (err: unknown) => code(err) === 499;
export const isTooManyRequests = (err: unknown) => code(err) === 429;
export const isInternalServer = (err: unknown) => code(err) === 500;
export const isNotImplemented = (err: unknown) => code(err) === 501;
export const isServiceUnavailable = (err: unknown) => code(err) === 503;
export const isGatewayTimeout = (err: unknown) => code(err) === 504;
