// `discovery:///name` as a grpc-js name resolver: the channel is fed the gRPC
// endpoints of the service's registered instances and follows the registry as
// they come and go. grpc-js then balances calls round-robin over its subchannels
// and skips an instance it cannot reach, which the registry only notices once
// that instance's lease or health check runs out.
//
// grpc-js resolvers are registered per URI scheme for the whole process, so the
// Discovery a channel should use, and its instance filter, travel to its resolver as
// a channel option (an id into the table below).
import * as grpc from '@grpc/grpc-js';
import { ErrServiceUnavailable } from '../../errors/catalogue.js';
import { encodeStatus, STATUS_DETAILS_KEY, toRpcStatus } from '../../errors/status.js';
import type { Discovery } from '../../registry/registry.js';
import { DiscoveryTarget, noInstanceDetail, type InstanceFilter } from '../../registry/target.js';

type ResolverListener = grpc.experimental.ResolverListener;
type GrpcUri = grpc.experimental.GrpcUri;

const DISCOVERY_OPTION = 'tsk.discovery_id';
/** Calls spread over every address a target resolves to, one after the other. */
export const ROUND_ROBIN = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] };

const discoveries = new Map<number, { discovery: Discovery; filter: InstanceFilter | undefined }>();
let nextId = 1;
let registered = false;

/**
 * Channel options that make a `discovery:///name` channel resolve through this
 * Discovery; call release() once the channel is closed.
 */
export function discoveryChannelOptions(
  discovery: Discovery,
  filter: InstanceFilter | undefined,
): { options: grpc.ChannelOptions; release: () => void } {
  if (!registered) {
    grpc.experimental.registerResolver('discovery', DiscoveryResolver);
    registered = true;
  }
  const id = nextId++;
  discoveries.set(id, { discovery, filter });
  return { options: { [DISCOVERY_OPTION]: id }, release: () => discoveries.delete(id) };
}

class DiscoveryResolver implements grpc.experimental.Resolver {
  private readonly discovery?: Discovery | undefined;
  private readonly filter?: InstanceFilter | undefined;
  private target?: DiscoveryTarget | undefined;
  private opening = false;
  private active = false;
  private unsubscribe?: () => void;
  /** The addresses last handed to grpc-js, joined; undefined before the first. */
  private reported?: string | undefined;

  constructor(
    private readonly uri: GrpcUri,
    private readonly listener: ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    const attached = discoveries.get(options[DISCOVERY_OPTION] as number);
    this.discovery = attached?.discovery;
    this.filter = attached?.filter;
  }

  static getDefaultAuthority(uri: GrpcUri): string {
    return uri.path;
  }

  updateResolution(): void {
    this.active = true;
    if (this.target) {
      // grpc-js asks again each time a connection to an instance fails. The registry's
      // watch reports every change, so an unchanged list is not handed over again:
      // each answer resets grpc-js's re-resolution backoff, and while a registered
      // instance refuses, answering every request kept the process busy asking.
      const addresses = this.target.addresses();
      if (addresses.join(',') !== this.reported) setImmediate(() => this.report(addresses)); // never synchronously, as grpc-js requires
      return;
    }
    if (this.opening) return;
    if (!this.discovery) {
      setImmediate(() => this.fail('no Discovery is attached to the channel'));
      return;
    }
    this.opening = true;
    DiscoveryTarget.open(this.discovery, `discovery:///${this.uri.path}`, 'grpc', this.filter).then(
      (target) => {
        this.opening = false;
        if (!this.active) return void target.close();
        this.target = target;
        this.unsubscribe = target.onChange((addresses) => this.report(addresses));
        this.report(target.addresses());
      },
      (err: Error) => {
        this.opening = false;
        this.fail(`the registry did not answer: ${err.message}`);
      },
    );
  }

  destroy(): void {
    this.active = false;
    this.unsubscribe?.();
    void this.target?.close();
    this.target = undefined;
    this.reported = undefined;
  }

  private report(addresses: string[]): void {
    if (!this.active) return;
    this.reported = addresses.join(',');
    if (addresses.length === 0) return this.fail(noInstanceDetail('grpc', this.filter));
    const endpoints = addresses.map((address) => {
      const hostPort = grpc.experimental.splitHostPort(address);
      return { addresses: [{ host: hostPort?.host ?? address, port: hostPort?.port ?? 443 }] };
    });
    this.listener(
      grpc.experimental.statusOrFromValue(endpoints),
      {},
      grpc.experimental.statusOrFromValue(ROUND_ROBIN),
      '',
    );
  }

  /** Calls fail with 503 SERVICE_UNAVAILABLE naming the service, carried as ErrorInfo like any server error. */
  private fail(detail: string): void {
    if (!this.active) return;
    const error = ErrServiceUnavailable({ service: this.uri.path, target: `discovery:///${this.uri.path}` }, detail);
    const metadata = new grpc.Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatus(toRpcStatus(error))));
    this.listener(
      grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: error.message, metadata }),
      {},
      null,
      '',
    );
  }
}
