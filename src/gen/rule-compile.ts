// The buf.validate rules of each request, compiled at generate time by protovalidate
// itself: a rule that cannot run (a string rule on an int32 field, a pattern RE2
// refuses) is reported at file:line:col here, where it would otherwise fail every call
// to the method with a 500 once the service runs.
import { create, type DescFile, type DescMessage } from '@bufbuild/protobuf';
import { usedTypes } from '@bufbuild/protobuf/reflect';
import type { Diagnostic } from '../proto/diagnostics.js';
import { hasRules } from '../plugins/http/rule-checks.js';
import { sourcePosition } from './comments.js';

export async function uncompilableRules(file: DescFile): Promise<Diagnostic[]> {
  const requests = file.services.flatMap((s) => s.methods.map((m) => m.input)).filter((m) => hasRules(m));
  if (requests.length === 0) return [];
  // Loaded only for protos with rules: protovalidate brings CEL and RE2.
  const { createValidator, RuntimeError } = await import('@bufbuild/protovalidate');
  const validator = createValidator();
  const problems: Diagnostic[] = [];
  for (const message of reachable(requests)) {
    // An empty message: every field's rules are planned, and a rule that cannot be is an error.
    const result = validator.validate(message, create(message));
    // A rule that fails on the empty message's values (a CEL `a / b` with b zero) compiles:
    // on a request it is answered as a violation, so it is no mistake in the proto.
    if (result.kind !== 'error' || result.error instanceof RuntimeError) continue;
    const text = result.error.message;
    const field = message.fields.find((f) => text.endsWith(`on field ${f.parent.typeName}.${f.name}`));
    problems.push({
      ...sourcePosition(field ?? message),
      message: `${message.typeName}: a buf.validate rule cannot be compiled: ${text}`,
    });
  }
  return problems;
}

/** The messages `roots` hold, themselves included, each once: nested ones are validated only when set. */
function reachable(roots: DescMessage[]): DescMessage[] {
  const held = roots.flatMap((root) => [root, ...usedTypes(root)]);
  return [...new Set(held.filter((t): t is DescMessage => t.kind === 'message'))];
}
