// protovalidate rules on request messages. Generated `*_rules.ts` files hold, for the
// methods whose request carries buf.validate rules, the descriptors of their protos
// and the ts-proto type of each request; @bufbuild/protovalidate checks the request
// against those descriptors. ts-proto messages are not protobuf-es messages, so a
// request crosses over as its binary encoding (exact, and only paid where rules exist).
// The validator, and protobuf-es's registry and descriptor types with it, load only for
// a validate middleware made with rules: in the background once the app has started, or
// with the first call that needs it.
import type { DescFile, DescMessage, FileRegistry } from '@bufbuild/protobuf';
import { pathToString } from '@bufbuild/protobuf/reflect';
import { base64Decode } from '@bufbuild/protobuf/wire';
import type { Validator } from '@bufbuild/protovalidate';

/** One broken rule, as reported in the error metadata and google.rpc.BadRequest. */
export interface RuleViolation {
  /** Path of the field in the request, in proto names: `book.page_count`, `tags[2]`. */
  field: string;
  /** The rule that failed: `string.min_len`, or a CEL rule's id. */
  rule: string;
  message: string;
}

export interface RuleMethod {
  /** Fully qualified name of the request message. */
  message: string;
  /** ts-proto's message type, to encode the request. */
  type: { encode(message: unknown): { finish(): Uint8Array } };
}

interface Loaded {
  validator: Validator;
  protobuf: Pick<typeof import('@bufbuild/protobuf'), 'createFileRegistry' | 'fromBinary'>;
  /** Files a rules file's descriptors may import without carrying them: the WKTs and protovalidate's own. */
  provided: Record<string, DescFile>;
  fileDescriptorSet: typeof import('@bufbuild/protobuf/wkt').FileDescriptorSetSchema;
}

let loading: Promise<Loaded> | undefined;

function load(): Promise<Loaded> {
  loading ??= (async () => {
    const [protobuf, wkt, pv, rules] = await Promise.all([
      import('@bufbuild/protobuf'),
      import('@bufbuild/protobuf/wkt'),
      import('@bufbuild/protovalidate'),
      import('@bufbuild/protovalidate/gen/buf/validate/validate_pb.js'),
    ]);
    const files = [
      rules.file_buf_validate_validate,
      wkt.file_google_protobuf_descriptor,
      wkt.file_google_protobuf_duration,
      wkt.file_google_protobuf_timestamp,
      wkt.file_google_protobuf_field_mask,
      wkt.file_google_protobuf_any,
      wkt.file_google_protobuf_empty,
      wkt.file_google_protobuf_struct,
      wkt.file_google_protobuf_wrappers,
    ];
    return {
      validator: pv.createValidator(),
      protobuf,
      provided: Object.fromEntries(files.map((f) => [`${f.name}.proto`, f])),
      fileDescriptorSet: wkt.FileDescriptorSetSchema,
    };
  })();
  return loading;
}

export class RequestRules {
  private registry?: FileRegistry;
  private readonly schemas = new Map<string, DescMessage>();

  /**
   * `descriptors`: base64 of a google.protobuf.FileDescriptorSet with the protos the
   * requests are declared in (dependencies first). `methods`: by operation
   * (`/pkg.Service/Method`), the methods whose request has rules.
   */
  constructor(
    private readonly descriptors: string,
    readonly methods: Readonly<Record<string, RuleMethod>>,
  ) {}

  /**
   * Loads the validator, reads the descriptors and has the validator build its checks for
   * each request message (it does so on a message's first validation), so the first calls
   * do not pay for it. Calls wait for this only if it is not done.
   */
  prepare(): Promise<void> {
    return load()
      .then((loaded) => {
        for (const method of Object.values(this.methods)) {
          const schema = this.schema(method.message, loaded);
          loaded.validator.validate(schema, loaded.protobuf.fromBinary(schema, new Uint8Array()));
        }
      })
      .catch(() => {}); // a failure shows on the first call that needs it
  }

  /** Whether `operation`'s request has rules to check. */
  covers(operation: string): boolean {
    return Object.hasOwn(this.methods, operation);
  }

  /** The rules `request` breaks (`operation` must be covered); undefined when it keeps them all. */
  async violations(operation: string, request: unknown): Promise<RuleViolation[] | undefined> {
    const method = this.methods[operation]!;
    const loaded = await load();
    const schema = this.schema(method.message, loaded);
    const message = loaded.protobuf.fromBinary(schema, method.type.encode(request).finish());
    const result = loaded.validator.validate(schema, message);
    if (result.kind === 'valid') return undefined;
    if (result.kind === 'error') throw result.error; // a rule that cannot run is a bug in the proto, not a bad request
    return result.violations.map((v) => ({
      field: pathToString(v.field),
      rule: v.rule.length > 0 ? pathToString(v.rule) : v.ruleId,
      message: v.message,
    }));
  }

  private schema(typeName: string, loaded: Loaded): DescMessage {
    let schema = this.schemas.get(typeName);
    if (!schema) {
      schema = this.files(loaded).getMessage(typeName);
      if (!schema) throw new Error(`protovalidate: ${typeName} is not in the generated descriptors`);
      this.schemas.set(typeName, schema);
    }
    return schema;
  }

  /** The descriptors, read on first use. */
  private files(loaded: Loaded): FileRegistry {
    if (!this.registry) {
      const { createFileRegistry, fromBinary } = loaded.protobuf;
      const set = fromBinary(loaded.fileDescriptorSet, base64Decode(this.descriptors));
      const built = new Map<string, DescFile>();
      for (const proto of set.file) {
        const registry = createFileRegistry(proto, (name) => built.get(name) ?? loaded.provided[name]);
        built.set(proto.name, registry.getFile(proto.name)!);
        this.registry = this.registry ? createFileRegistry(this.registry, registry) : registry;
      }
    }
    return this.registry!;
  }
}
