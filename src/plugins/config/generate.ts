// The config schema: for a proto file with a top-level `Bootstrap` message (the
// configuration root, internal/conf/conf.proto), `<file>_schema.ts` exporting the
// field layout of Bootstrap and everything it holds, which the runtime's config
// loader validates YAML files and environment overrides against.
import { fileStem } from '../../gen/names.js';
import { TsFile } from '../../gen/printer.js';
import { SchemaWriter } from '../../gen/schema.js';
import type { GeneratedFile, Generator } from '../types.js';

/** The message a config proto must declare for its schema to be emitted. */
export const CONFIG_ROOT = 'Bootstrap';

export const generateConfigSchema: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  for (const file of files) {
    const root = file.messages.find((m) => m.name === CONFIG_ROOT);
    if (!root) continue;
    const name = `${fileStem(file)}_schema.ts`;
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime });
    ts.runtime('transport/http/route.js', 'MessageSchema', { type: true });
    const schemas = new SchemaWriter(ts);
    const rootName = schemas.ref(root);
    const content = ts.print([
      `// Field layouts of ${root.typeName}, for validating configuration before it is read.`,
      schemas.render(),
      '',
      `export { ${rootName} };`,
    ]);
    out.push({ path: name, content });
  }
  return { files: out, problems: [] };
};
