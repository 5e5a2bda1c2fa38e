// The standard gRPC health service (grpc.health.v1.Health), so Kubernetes gRPC
// probes, grpc_health_probe and load balancers can ask whether we serve.
// Messages are encoded by hand: each has a single field.

import {
  status,
  type ServiceDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** The health service's own name, which a health check may ask about like any other. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

function decodeRequest(bytes: Buffer): HealthCheckRequest {
  const r = new BinaryReader(bytes);
  let service = '';
  while (r.pos < r.len) {
    const [f, t] = r.tag();
    if (f === 1 && t === WireType.LengthDelimited) service = r.string();
    else r.skip(t, f);
  }
  return { service };
}

function encodeResponse(res: HealthCheckResponse): Buffer {
  const w = new BinaryWriter();
  if (res.status !== 0) w.tag(1, WireType.Varint).int32(res.status);
  return Buffer.from(w.finish());
}

function decodeResponse(bytes: Buffer): HealthCheckResponse {
  const r = new BinaryReader(bytes);
  let value = 0;
  while (r.pos < r.len) {
    const [f, t] = r.tag();
    if (f === 1 && t === WireType.Varint) value = r.int32();
    else r.skip(t, f);
  }
  return { status: value as ServingStatus };
}

function encodeRequest(req: HealthCheckRequest): Buffer {
  const w = new BinaryWriter();
  if (req.service) w.tag(1, WireType.LengthDelimited).string(req.service);
  return Buffer.from(w.finish());
}

/** List's answer: every service the server answers for ("" being the whole server), with its status. */
interface HealthListResponse {
  statuses: Map<string, ServingStatus>;
}

function encodeListResponse(res: HealthListResponse): Buffer {
  const w = new BinaryWriter();
  for (const [service, s] of res.statuses) {
    // A map entry: key = 1, value = 2 (a HealthCheckResponse).
    w.tag(1, WireType.LengthDelimited).fork();
    if (service) w.tag(1, WireType.LengthDelimited).string(service);
    w.tag(2, WireType.LengthDelimited).bytes(encodeResponse({ status: s }));
    w.join();
  }
  return Buffer.from(w.finish());
}

function decodeListResponse(bytes: Buffer): HealthListResponse {
  const statuses = new Map<string, ServingStatus>();
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [f, t] = r.tag();
    if (f !== 1 || t !== WireType.LengthDelimited) {
      r.skip(t, f);
      continue;
    }
    const entry = new BinaryReader(r.bytes());
    let service = '';
    let s: ServingStatus = ServingStatus.UNKNOWN;
    while (entry.pos < entry.len) {
      const [g, u] = entry.tag();
      if (g === 1 && u === WireType.LengthDelimited) service = entry.string();
      else if (g === 2 && u === WireType.LengthDelimited) s = decodeResponse(Buffer.from(entry.bytes())).status;
      else entry.skip(u, g);
    }
    statuses.set(service, s);
  }
  return { statuses };
}

/** HealthListRequest has no fields. */
const emptyMessage = {
  serialize: (): Buffer => Buffer.alloc(0),
  deserialize: (): Record<string, never> => ({}),
};

export const HealthDefinition = {
  check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  list: {
    path: '/grpc.health.v1.Health/List',
    requestStream: false,
    responseStream: false,
    requestSerialize: emptyMessage.serialize,
    requestDeserialize: emptyMessage.deserialize,
    responseSerialize: encodeListResponse,
    responseDeserialize: decodeListResponse,
  },
} satisfies ServiceDefinition;

/**
 * Answers for the whole server ("") and for each registered service name; List names them all.
 * `isServing` is read on every call, so readiness changes show at once; Watch
 * streams read it each second, and at once on `recheck()`. `endWatches()` sends each
 * stream its last status and ends it UNAVAILABLE: a Watch lasts as long as its caller
 * stays, and would otherwise hold the server's stop until its timeout.
 */
export function healthService(isServing: () => boolean, services: () => Set<string>) {
  const statusOf = (service: string): ServingStatus | undefined => {
    if (service !== '' && !services().has(service)) return undefined;
    return isServing() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  const watches = new Set<{ tick(): void; end(): void }>();
  const implementation = {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) {
      const s = statusOf(call.request.service);
      if (s === undefined)
        return callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      callback(null, { status: s });
    },
    list(_call: ServerUnaryCall<unknown, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) {
      const statuses = new Map<string, ServingStatus>();
      for (const service of ['', ...services()]) statuses.set(service, statusOf(service)!);
      callback(null, { statuses });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      // Sends the current status, then any change, until the caller hangs up or the server stops.
      let last: ServingStatus | undefined;
      const watch = {
        tick: () => {
          const s = statusOf(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (s !== last) call.write({ status: (last = s) });
        },
        end: () => {
          watch.tick();
          call.emit('error', { code: status.UNAVAILABLE, details: 'the server is stopping' });
        },
      };
      watch.tick();
      const timer = setInterval(watch.tick, 1000);
      const done = () => {
        clearInterval(timer);
        watches.delete(watch);
      };
      watches.add(watch);
      call.on('cancelled', done);
      call.on('close', done);
      call.on('finish', done);
    },
  };
  return {
    implementation,
    recheck: () => {
      for (const watch of watches) watch.tick();
    },
    endWatches: () => {
      for (const watch of [...watches]) watch.end();
    },
  };
}
