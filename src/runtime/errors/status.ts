// google.rpc.Status with a google.rpc.ErrorInfo detail: how a ServiceError's
// reason and metadata cross gRPC (the `grpc-status-details-bin` trailer). A second
// detail, errors.HttpStatus (third_party/errors/errors.proto), carries the HTTP code,
// so codes the HTTP<->gRPC table folds together (422, 409 vs 412...) survive any
// number of hops.
// Encoded by hand with the protobuf wire helpers: three tiny messages do not
// justify generated code inside the runtime.

import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { grpcToHttpCode, httpToGrpcCode } from './codes.js';
import { ServiceError } from './errors.js';
import { Reason } from './catalogue.js';

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
export const HTTP_STATUS_TYPE_URL = 'type.googleapis.com/errors.HttpStatus';
export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** google.rpc.BadRequest's field violations: which request field broke which rule. */
export interface FieldViolation {
  field: string;
  description: string;
  reason?: string;
}

export interface RpcStatus {
  code: number;
  message: string;
  errorInfo?: ErrorInfo | undefined;
  /** The error's HTTP status, when the sender is a tsk (or Kratos-compatible) service that sets it. */
  httpCode?: number | undefined;
  badRequest?: FieldViolation[] | undefined;
}

export function encodeStatus(status: RpcStatus): Uint8Array {
  const w = new BinaryWriter();
  if (status.code !== 0) w.tag(1, WireType.Varint).int32(status.code);
  if (status.message) w.tag(2, WireType.LengthDelimited).string(status.message);
  if (status.errorInfo) {
    // details: repeated google.protobuf.Any { type_url = 1; value = 2; }
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(ERROR_INFO_TYPE_URL);
    w.tag(2, WireType.LengthDelimited).bytes(encodeErrorInfo(status.errorInfo));
    w.join();
  }
  if (status.httpCode !== undefined) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(HTTP_STATUS_TYPE_URL);
    w.tag(2, WireType.LengthDelimited).bytes(
      new BinaryWriter().tag(1, WireType.Varint).int32(status.httpCode).finish(),
    );
    w.join();
  }
  if (status.badRequest?.length) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(BAD_REQUEST_TYPE_URL);
    w.tag(2, WireType.LengthDelimited).bytes(encodeBadRequest(status.badRequest));
    w.join();
  }
  return w.finish();
}

/** google.rpc.BadRequest { repeated FieldViolation field_violations = 1 { field = 1; description = 2; reason = 3; } } */
function encodeBadRequest(violations: FieldViolation[]): Uint8Array {
  const w = new BinaryWriter();
  for (const v of violations) {
    w.tag(1, WireType.LengthDelimited).fork();
    if (v.field) w.tag(1, WireType.LengthDelimited).string(v.field);
    if (v.description) w.tag(2, WireType.LengthDelimited).string(v.description);
    if (v.reason) w.tag(3, WireType.LengthDelimited).string(v.reason);
    w.join();
  }
  return w.finish();
}

function encodeErrorInfo(info: ErrorInfo): Uint8Array {
  const w = new BinaryWriter();
  if (info.reason) w.tag(1, WireType.LengthDelimited).string(info.reason);
  if (info.domain) w.tag(2, WireType.LengthDelimited).string(info.domain);
  for (const [key, value] of Object.entries(info.metadata)) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(key);
    w.tag(2, WireType.LengthDelimited).string(value);
    w.join();
  }
  return w.finish();
}

/** Decodes a Status; unknown detail types are skipped. Throws on malformed bytes. */
export function decodeStatus(bytes: Uint8Array): RpcStatus {
  const r = new BinaryReader(bytes);
  const status: RpcStatus = { code: 0, message: '' };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) status.code = r.int32();
    else if (field === 2 && wire === WireType.LengthDelimited) status.message = r.string();
    else if (field === 3 && wire === WireType.LengthDelimited) {
      const any = new BinaryReader(r.bytes());
      let typeUrl = '';
      let value: Uint8Array | undefined;
      while (any.pos < any.len) {
        const [f, t] = any.tag();
        if (f === 1 && t === WireType.LengthDelimited) typeUrl = any.string();
        else if (f === 2 && t === WireType.LengthDelimited) value = any.bytes();
        else any.skip(t, f);
      }
      if (typeUrl === ERROR_INFO_TYPE_URL && value) status.errorInfo = decodeErrorInfo(value);
      else if (typeUrl === HTTP_STATUS_TYPE_URL && value) status.httpCode = decodeHttpStatus(value);
    } else r.skip(wire, field);
  }
  return status;
}

function decodeHttpStatus(bytes: Uint8Array): number {
  const r = new BinaryReader(bytes);
  let code = 0;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) code = r.int32();
    else r.skip(wire, field);
  }
  return code;
}

function decodeErrorInfo(bytes: Uint8Array): ErrorInfo {
  const r = new BinaryReader(bytes);
  const info: ErrorInfo = { reason: '', domain: '', metadata: {} };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) info.reason = r.string();
    else if (field === 2 && wire === WireType.LengthDelimited) info.domain = r.string();
    else if (field === 3 && wire === WireType.LengthDelimited) {
      const entry = new BinaryReader(r.bytes());
      let key = '';
      let value = '';
      while (entry.pos < entry.len) {
        const [f, t] = entry.tag();
        if (f === 1) key = entry.string();
        else if (f === 2) value = entry.string();
        else entry.skip(t, f);
      }
      info.metadata[key] = value;
    } else r.skip(wire, field);
  }
  return info;
}

/**
 * A ServiceError as a gRPC status: mapped code, message, ErrorInfo with reason and metadata, and the HTTP code.
 * The ErrorInfo's domain is the error's own (that of the service that first raised it, for an
 * error a gRPC client passed on), else `domain`, the sender's name.
 */
export function toRpcStatus(err: ServiceError, domain = ''): RpcStatus {
  return {
    code: httpToGrpcCode(err.code),
    message: err.message,
    errorInfo: { reason: err.reason, domain: err.domain || domain, metadata: err.metadata },
    httpCode: err.code,
    badRequest: err.reason === Reason.VALIDATOR ? fieldViolations(err.metadata.violations) : undefined,
  };
}

/** The protovalidate violations a VALIDATOR error lists in metadata.violations, as BadRequest field violations. */
function fieldViolations(json: string | undefined): FieldViolation[] | undefined {
  if (!json) return undefined;
  try {
    const list = JSON.parse(json) as { field?: string; rule?: string; message?: string }[];
    return list.map((v) => ({ field: v.field ?? '', description: v.message ?? '', reason: v.rule ?? '' }));
  } catch {
    return undefined;
  }
}

/**
 * Rebuilds the ServiceError from a gRPC status: reason, metadata and domain from the
 * ErrorInfo, the HTTP code from the HttpStatus detail when it agrees with the gRPC
 * code (a proxy that rewrote the status wins), else mapped from the gRPC code as
 * Kratos does.
 */
export function fromRpcStatus(code: number, message: string, details?: Uint8Array): ServiceError {
  let info: ErrorInfo | undefined;
  let httpCode = grpcToHttpCode(code);
  if (details && details.length > 0) {
    try {
      const status = decodeStatus(details);
      info = status.errorInfo;
      if (status.message) message = status.message;
      if (
        status.httpCode !== undefined &&
        status.httpCode >= 400 &&
        status.httpCode <= 599 &&
        httpToGrpcCode(status.httpCode) === code
      ) {
        httpCode = status.httpCode;
      }
    } catch {
      // Corrupt details: keep the plain status rather than failing the caller twice.
    }
  }
  return new ServiceError(httpCode, info?.reason ?? '', message, info?.metadata ?? {}, { domain: info?.domain });
}
