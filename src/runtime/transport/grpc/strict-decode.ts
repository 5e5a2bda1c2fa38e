// Requests decoded as proto3 requires: a string field holding bytes that are not
// valid UTF-8 is an error (as Go's protobuf, and so Kratos, treats it), not text with
// U+FFFD in it. ts-proto's readers decode strings leniently; while a server decodes a
// request, protobuf-es's text decoding is switched to its strict mode. A request that
// does not decode reaches the server as an UndecodableRequest, so it is answered
// INVALID_ARGUMENT through the middleware chain instead of grpc-js's bare INTERNAL.
import type { MethodDefinition } from '@grpc/grpc-js';
import { configureTextEncoding, getTextEncoding } from '@bufbuild/protobuf/wire';

let strictDepth = 0;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const base = getTextEncoding();
  configureTextEncoding({
    checkUtf8: (text) => base.checkUtf8(text),
    encodeUtf8: (text) => base.encodeUtf8(text),
    encodeUtf8Into: (text, dest) => base.encodeUtf8Into(text, dest),
    decodeUtf8: (bytes, strict) => base.decodeUtf8(bytes, strict || strictDepth > 0),
  });
}

/** A request whose bytes did not decode; `error` says why. */
export class UndecodableRequest {
  constructor(readonly error: Error) {}
}

/** The method with a request decoder that is strict about UTF-8 and never throws. */
export function strictRequests<Req, Res>(method: MethodDefinition<Req, Res>): MethodDefinition<Req, Res> {
  install();
  const decode = method.requestDeserialize;
  return {
    ...method,
    requestDeserialize: (bytes: Buffer): Req => {
      strictDepth++;
      try {
        return decode(bytes);
      } catch (err) {
        // The server's unary handler checks for this before anything reads the request.
        return new UndecodableRequest(err as Error) as Req;
      } finally {
        strictDepth--;
      }
    },
  };
}
