// Versions of the packages a generated service depends on: the ones this tsk
// release is tested with (test/scaffold checks them against tsk's own lockfile).
export const SERVICE_VERSIONS = {
  bufProtobuf: '2.17.0',
  protovalidate: '1.3.0',
  grpcJs: '^1.14.7',
  protoLoader: '^0.8.1',
  grpcReflection: '^1.0.4',
  // The range the pinned OpenTelemetry packages accept as a peer (>=1.10.0 <1.11.0).
  otelApi: '~1.10.0',
  otelSdk: '0.301.2',
  // The SDK's stable packages, released together (core, sdk-trace, resources, exporter-zipkin...):
  // each pins the others' exact version, so they share one.
  otelCore: '3.1.1',
  etcd3: '^1.1.2',
  fastify: '^5.12.8',
  pino: '^9.14.0',
  sonicBoom: '^4.2.1',
  yaml: '^2.9.1',
  typesNode: '^24.10.0',
  tsx: '^4.20.0',
  typescript: '~5.9.3',
  biome: '2.6.8',
} as const;
