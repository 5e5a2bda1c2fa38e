// buf.validate (protovalidate) rules on request messages. A generated `*_rules.ts` file
// gives, per method whose request carries rules, either a plain check function (written
// by the generator when every rule is one it checks exactly as protovalidate does) or
// the request's message name and ts-proto type, checked by @bufbuild/protovalidate
// against the descriptors the file embeds. protovalidate is imported only when some
// method needs it, so a service whose rules are all plain never loads it.
import type { Protovalidate } from './protovalidate.js';

/** One broken rule, as reported in the error metadata and google.rpc.BadRequest. */
export interface RuleViolation {
  /** Path of the field in the request, in proto names: `book.page_count`, `tags[2]`. */
  field: string;
  /** The rule that failed: `string.min_len`, or a CEL rule's id. */
  rule: string;
  message: string;
}

/** A request checked by generated code: the rules it breaks, in protovalidate's order (empty when none). */
export interface CheckedMethod {
  check(request: never): RuleViolation[];
}

/** A request checked by protovalidate. */
export interface ProtovalidateMethod {
  /** Fully qualified name of the request message. */
  message: string;
  /** ts-proto's message type, to encode the request. */
  type: { encode(message: unknown): { finish(): Uint8Array } };
}

/**
 * A method's rules; `stream` when its requests come as a stream (client streaming, bidi),
 * each message then checked as the handler reads it.
 */
export type RuleMethod = (CheckedMethod | ProtovalidateMethod) & { stream?: boolean };

export class RequestRules {
  private protovalidate?: Promise<Protovalidate>;
  private prepared?: Promise<void>;

  /**
   * `methods`: by operation (`/pkg.Service/Method`), the methods whose request has rules.
   * `descriptors`: base64 of a google.protobuf.FileDescriptorSet with the protos the
   * requests are declared in (dependencies first), when some method uses protovalidate.
   */
  constructor(
    readonly methods: Readonly<Record<string, RuleMethod>>,
    private readonly descriptors?: string,
  ) {}

  /** Whether some method is checked by protovalidate (which then loads after the start). */
  get usesProtovalidate(): boolean {
    return Object.values(this.methods).some((m) => !('check' in m));
  }

  /**
   * Loads protovalidate, reads the descriptors and has the validator build its checks for
   * each request it covers, so the first calls do not pay for it; nothing when every
   * method has plain checks. Calls wait for this only if it is not done. Done once.
   */
  prepare(): Promise<void> {
    if (!this.usesProtovalidate) return Promise.resolve();
    this.prepared ??= this.validator()
      .then((pv) => {
        for (const method of Object.values(this.methods)) if (!('check' in method)) pv.prepare(method.message);
      })
      .catch(() => {}); // a failure shows on the first call that needs it
    return this.prepared;
  }

  /** Whether `operation`'s request has rules to check. */
  covers(operation: string): boolean {
    return Object.hasOwn(this.methods, operation);
  }

  /** Whether `operation` (covered) takes a stream of requests, each checked as it is read. */
  streams(operation: string): boolean {
    return this.methods[operation]?.stream === true;
  }

  /** The rules `request` breaks (`operation` must be covered); undefined when it keeps them all. */
  async violations(operation: string, request: unknown): Promise<RuleViolation[] | undefined> {
    const method = this.methods[operation]!;
    if ('check' in method) {
      const found = method.check(request as never);
      return found.length > 0 ? found : undefined;
    }
    const pv = await this.validator();
    return pv.violations(method.message, method.type.encode(request).finish());
  }

  private validator(): Promise<Protovalidate> {
    this.protovalidate ??= import('./protovalidate.js').then((m) => {
      if (this.descriptors === undefined) throw new Error('protovalidate: the rules carry no descriptors');
      return new m.Protovalidate(this.descriptors);
    });
    return this.protovalidate;
  }
}

// Operation names are unique in a process (`/pkg.Service/Method`), so one catalogue serves
// every server: a service registered on HTTP and gRPC hands over the same rules twice.
const registered = new Map<string, RequestRules>();

/**
 * Makes a service's rules known to the validate middleware. The generated register
 * functions call it, so registering a service is all it takes to have its requests checked.
 */
export function registerRules(rules: RequestRules): void {
  for (const operation of Object.keys(rules.methods)) if (!registered.has(operation)) registered.set(operation, rules);
}

/** The registered rules for `operation`'s request, if it has any. */
export function registeredRules(operation: string): RequestRules | undefined {
  return registered.get(operation);
}

/** Every registered RequestRules, once each. */
export function allRegisteredRules(): RequestRules[] {
  return [...new Set(registered.values())];
}
