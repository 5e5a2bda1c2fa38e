// The contract between generated `*_http.ts` files and the runtime's HTTP server/client.
// Generated code only declares routes and message schemas; matching, binding and
// encoding live in the runtime (binding.ts, server.ts, client.ts).

/** What ts-proto emits for every message (`export const HelloRequest = { fromJSON, toJSON, ... }`). */
export interface MessageType<T> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
  /** ts-proto's completion of a partial object; used so clients accept partial requests safely. */
  fromPartial?(object: unknown): T;
  /** ts-proto's binary encoder and decoder; used to pack and unpack a google.protobuf.Any. */
  encode?(message: T): { finish(): Uint8Array };
  decode?(input: Uint8Array): T;
}

export type ScalarKind =
  | 'double'
  | 'float'
  | 'int32'
  | 'uint32'
  | 'sint32'
  | 'fixed32'
  | 'sfixed32'
  | 'int64'
  | 'uint64'
  | 'sint64'
  | 'fixed64'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** A proto field as the binder needs it to turn path/query strings into proto3 JSON values. */
export type FieldSchema = {
  /** Field name as written in the .proto (snake_case). */
  name: string;
  /** proto3 JSON name (lowerCamelCase unless json_name says otherwise). */
  jsonName: string;
  /** The property ts-proto gives the field, when it is not the JSON name. */
  localName?: string;
  repeated?: boolean;
  /** The oneof group the field belongs to: at most one member of a group may be set. */
  oneof?: string;
  /** A scalar or enum that tracks whether it is set (proto3 `optional`): unset, answers leave it out. */
  optional?: boolean;
} & (
  | { kind: 'scalar'; scalar: ScalarKind }
  | { kind: 'enum'; enumName: string; values: Record<string, number> }
  /** Well-known types keep their full name (e.g. `google.protobuf.Timestamp`) so the binder can apply their JSON form. */
  | { kind: 'message'; typeName: string; schema: () => MessageSchema }
  | { kind: 'map'; key: ScalarKind; value: FieldSchema }
);

export interface MessageSchema {
  /** Fully qualified name, e.g. `helloworld.v1.HelloRequest`. */
  typeName: string;
  fields: readonly FieldSchema[];
  /** The ts-proto message type, so the message can be packed into a google.protobuf.Any. */
  type?: () => MessageType<unknown>;
}

/** One HTTP binding of one method (a method with additional_bindings has several). */
export interface HttpRoute<Req = unknown, Res = unknown> {
  /** GET, POST, PUT, PATCH, DELETE, or a custom verb name from `custom { kind }`. */
  method: string;
  /** google.api.http path template: `/v1/{name=shelves/*}/books/{book_id}:publish`. */
  path: string;
  /** `/package.Service/Method`, identical to the gRPC full method name. */
  operation: string;
  /** undefined: no body; '*': the whole request; otherwise the request field (proto name) the body fills. */
  body?: string;
  /** The response field (proto name) written as the body instead of the whole response. */
  responseBody?: string;
  request: MessageType<Req>;
  requestSchema: MessageSchema;
  response: MessageType<Res>;
  /** Needed by the client to decode `response_body` replies back into the full message. */
  responseSchema: MessageSchema;
}
