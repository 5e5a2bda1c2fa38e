// A unary method's HTTP answer with another status than 200 (201 Created, 204 No Content,
// a redirect), chosen by its handler, as a Kratos service chooses it in a ResponseEncoder.
import type { Context } from '../context.js';

/** Statuses whose answer has no body (RFC 9110): the message the handler returns is not sent. */
export function bodilessStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

/**
 * The framing headers of a bodiless answer: none for 204 and 304 (RFC 9110 forbids a 204's
 * Content-Length, and a 304's would describe the cached representation); a 205 says it
 * has no content, which Node would otherwise send as an empty chunked body.
 */
export function bodilessHeaders(status: number): Record<string, number> | undefined {
  return status === 205 ? { 'content-length': 0 } : undefined;
}

/**
 * Answers this call with `status` (200-399) when it came over HTTP; returns whether it
 * did. A gRPC call has no HTTP status, so a handler both servers share calls this
 * unconditionally. Errors keep their own status: throw one (errors.md) for 4xx and 5xx.
 * Headers such as `Location` go in `ctx.transport.replyHeader`.
 */
export function setHttpStatus(ctx: Context, status: number): boolean {
  if (!Number.isInteger(status) || status < 200 || status > 399)
    throw new RangeError(
      `setHttpStatus: ${status} is not a success or redirect status (200-399); throw an error for 4xx and 5xx`,
    );
  if (ctx.transport.kind !== 'http') return false;
  if (ctx.transport.stream) throw new TypeError('setHttpStatus: an event stream is answered 200 as it opens');
  ctx.responseStatus = status === 200 ? undefined : status;
  return true;
}
