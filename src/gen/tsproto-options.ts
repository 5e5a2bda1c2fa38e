/**
 * The options tsk always runs ts-proto with (also written into generated buf.gen.yaml
 * files). useOptionals=all: every field may be omitted when building a message, as
 * proto3 allows on the wire, so adding a field never breaks code that builds one.
 */
export const TS_PROTO_OPTIONS =
  'useOptionals=all,outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,forceLong=string,env=node';
