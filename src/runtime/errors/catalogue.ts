// The errors the runtime itself answers with, each a named constructor with a fixed
// code and reason, so no transport or middleware spells a reason as a literal.
// Services define their own reasons in protos (error_reason.proto); these are tsk's.
import { fromError, isServiceError, ServiceError, type Metadata } from './errors.js';

/** Every reason the runtime produces. */
export const Reason = {
  /** A body, path or query value that does not decode. */
  CODEC: 'CODEC',
  /** A request message that breaks its validation rules. */
  VALIDATOR: 'VALIDATOR',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  BAD_REQUEST: 'BAD_REQUEST',
  /** A call without valid credentials (a missing, expired or forged token). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A call that ran past its deadline. */
  TIMEOUT: 'TIMEOUT',
  /** A call whose caller went away or cancelled it. */
  CANCELLED: 'CANCELLED',
  /** Anything thrown that is not a ServiceError; its message and stack stay in the logs. */
  UNKNOWN: 'UNKNOWN',
  RATELIMIT: 'RATELIMIT',
  CIRCUITBREAKER: 'CIRCUITBREAKER',
  /** A called service cannot be reached (no instance is registered, or none answers), or stopped before answering. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

const make = (code: number, reason: Reason) => (message: string, metadata?: Metadata) =>
  new ServiceError(code, reason, message, metadata);

export const ErrCodec = make(400, Reason.CODEC);
/** A called service's answer that does not decode: its fault, not the caller's (gRPC reports such as INTERNAL). */
export const ErrResponseCodec = make(500, Reason.CODEC);
export const ErrValidator = make(400, Reason.VALIDATOR);
export const ErrBadRequest = make(400, Reason.BAD_REQUEST);
export const ErrUnauthorized = make(401, Reason.UNAUTHORIZED);
export const ErrNotFound = make(404, Reason.NOT_FOUND);
export const ErrMethodNotAllowed = make(405, Reason.METHOD_NOT_ALLOWED);
export const ErrRequestTimeout = make(408, Reason.REQUEST_TIMEOUT);
export const ErrPayloadTooLarge = make(413, Reason.PAYLOAD_TOO_LARGE);
export const ErrUnsupportedMediaType = make(415, Reason.UNSUPPORTED_MEDIA_TYPE);
export const ErrHeadersTooLarge = make(431, Reason.HEADERS_TOO_LARGE);
export const ErrRateLimit = make(429, Reason.RATELIMIT);
export const ErrCancelled = make(499, Reason.CANCELLED);
export const ErrNotImplemented = make(501, Reason.NOT_IMPLEMENTED);
export const ErrCircuitBreaker = make(503, Reason.CIRCUITBREAKER);
export const ErrTimeout = make(504, Reason.TIMEOUT);

/** The service a client calls: the target it dials and, when known, the service's name. */
export interface Callee {
  target: string;
  service?: string | undefined;
}

/**
 * A client's error for a service it cannot reach (no instance registered, the instance
 * refused or dropped the connection). Its metadata names the service and target, so the
 * error still says whom it is about after further hops; `detail` says what went wrong.
 */
export function ErrServiceUnavailable(callee: Callee, detail: string): ServiceError {
  const metadata: Metadata = callee.service
    ? { service: callee.service, target: callee.target }
    : { target: callee.target };
  const who = callee.service ? `the ${callee.service} service` : callee.target;
  return new ServiceError(503, Reason.SERVICE_UNAVAILABLE, `${who} is unavailable: ${detail}`, metadata);
}

/** A call still running when its server's stop could wait no longer: another instance may take it. */
export const ErrServerStopping = () =>
  new ServiceError(503, Reason.SERVICE_UNAVAILABLE, 'the server stopped before the call finished');

/**
 * What a caller sees for anything thrown that is not a ServiceError: always the same
 * words, so no message or stack of an internal failure leaks out.
 */
export const ErrUnknownRequest = (cause?: unknown) =>
  new ServiceError(500, Reason.UNKNOWN, 'unknown request error', {}, cause === undefined ? undefined : { cause });

/**
 * The error a server answers a call's failure with: a ServiceError as it is, anything else
 * (a TypeError, a string thrown) as 500 UNKNOWN. Logs and metrics name it the same way.
 */
export function answeredError(err: unknown): ServiceError {
  return isServiceError(err) ? fromError(err) : ErrUnknownRequest(err);
}
