// The protovalidate path of RequestRules, for requests with rules that generated plain
// checks do not cover (CEL, formats, ...). ts-proto messages are not protobuf-es messages,
// so a request crosses over as its binary encoding. This module, and with it the
// validator, its CEL interpreter and RE2 engine and protobuf-es's registry, is imported
// only by RequestRules that have such a request: after the app has started, or with the
// first call that needs it.
import { createFileRegistry, fromBinary, type DescFile, type DescMessage, type FileRegistry } from '@bufbuild/protobuf';
import { pathToString } from '@bufbuild/protobuf/reflect';
import { base64Decode } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorSetSchema,
  file_google_protobuf_any,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import { createValidator, RuntimeError } from '@bufbuild/protovalidate';
import { file_buf_validate_validate } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import type { RuleViolation } from './request-rules.js';

/** Files a rules file's descriptors may import without carrying them: the WKTs and protovalidate's own. */
const PROVIDED: Record<string, DescFile> = Object.fromEntries(
  [
    file_buf_validate_validate,
    file_google_protobuf_descriptor,
    file_google_protobuf_duration,
    file_google_protobuf_timestamp,
    file_google_protobuf_field_mask,
    file_google_protobuf_any,
    file_google_protobuf_empty,
    file_google_protobuf_struct,
    file_google_protobuf_wrappers,
  ].map((f) => [`${f.name}.proto`, f]),
);

const validator = createValidator();

/** The path of a field's CEL rule inside its FieldRules: `cel[0]`, `repeated.items.cel[1]`. */
const CEL_RULE = /(^|\.)cel\[\d+\]$/;

/** protovalidate over the messages of one descriptor set. */
export class Protovalidate {
  private registry?: FileRegistry;
  private readonly schemas = new Map<string, DescMessage>();

  /** `descriptors`: base64 of a google.protobuf.FileDescriptorSet, dependencies first. */
  constructor(private readonly descriptors: string) {}

  /** Has the validator build its checks for `typeName` (it does so on a message's first validation). */
  prepare(typeName: string): void {
    const schema = this.schema(typeName);
    validator.validate(schema, fromBinary(schema, new Uint8Array()));
  }

  /** The rules the message encoded in `bytes` breaks; undefined when it keeps them all. */
  violations(typeName: string, bytes: Uint8Array): RuleViolation[] | undefined {
    const schema = this.schema(typeName);
    const result = validator.validate(schema, fromBinary(schema, bytes));
    if (result.kind === 'valid') return undefined;
    if (result.kind === 'error') {
      // A rule that fails on this request's values (a CEL division by zero, a pattern over
      // bytes that are not UTF-8) refuses the request, as Kratos's validate middleware answers
      // any validator error with 400 VALIDATOR. One that cannot compile is the proto's fault.
      if (!(result.error instanceof RuntimeError)) throw result.error;
      return [{ field: '', rule: '', message: `a rule could not be checked on this request: ${result.error.message}` }];
    }
    return result.violations.map((v) => {
      const rule = pathToString(v.rule);
      // A field's CEL rule is named by the id its author gave it, not its place in the list (`cel[0]`).
      return {
        field: pathToString(v.field),
        rule: rule === '' || (CEL_RULE.test(rule) && v.ruleId !== '') ? v.ruleId : rule,
        message: v.message,
      };
    });
  }

  private schema(typeName: string): DescMessage {
    let schema = this.schemas.get(typeName);
    if (!schema) {
      schema = this.files().getMessage(typeName);
      if (!schema) throw new Error(`protovalidate: ${typeName} is not in the generated descriptors`);
      this.schemas.set(typeName, schema);
    }
    return schema;
  }

  /** The descriptors, read on first use. */
  private files(): FileRegistry {
    if (!this.registry) {
      const set = fromBinary(FileDescriptorSetSchema, base64Decode(this.descriptors));
      const built = new Map<string, DescFile>();
      for (const proto of set.file) {
        const registry = createFileRegistry(proto, (name) => built.get(name) ?? PROVIDED[name]);
        built.set(proto.name, registry.getFile(proto.name)!);
        this.registry = this.registry ? createFileRegistry(this.registry, registry) : registry;
      }
    }
    return this.registry!;
  }
}
