// Checks an OpenAPI 3.1 document with real validators: swagger-parser for the
// document's structure, Ajv's JSON Schema 2020-12 meta-schema for every schema in
// it (swagger-parser does not look inside 3.1 schemas), and path templating.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';

type Json = Record<string, unknown>;

export async function checkOpenApi(doc: Json): Promise<void> {
  await SwaggerParser.validate(structuredClone(doc) as never);
  const ajv = new Ajv2020({ strict: false });
  const problems: string[] = [];
  const check = (where: string, schema: unknown) => {
    if (!ajv.validateSchema(schema as Json)) problems.push(`${where}: ${ajv.errorsText(ajv.errors)}`);
  };
  // Paths that differ only in variable names are the same path to OpenAPI, which forbids them.
  const shapes = new Map<string, string>();
  for (const pathKey of Object.keys(doc['paths'] as Json)) {
    const shape = pathKey.replace(/\{[^}]*\}/g, '{}');
    const other = shapes.get(shape);
    if (other) problems.push(`${pathKey} and ${other} are the same templated path`);
    shapes.set(shape, pathKey);
  }
  const components = ((doc['components'] as Json | undefined)?.['schemas'] ?? {}) as Json;
  for (const [name, schema] of Object.entries(components)) check(`components.schemas.${name}`, schema);
  for (const [pathKey, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
    const operations = Object.entries(item).filter(([k]) => !k.startsWith('x-'));
    for (const [method, raw] of operations) {
      const op = raw as {
        parameters?: { name: string; in: string; schema: unknown }[];
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      };
      const where = `${method.toUpperCase()} ${pathKey}`;
      for (const p of op.parameters ?? []) check(`${where} parameter ${p.name}`, p.schema);
      for (const c of Object.values(op.requestBody?.content ?? {})) check(`${where} body`, c.schema);
      for (const [status, r] of Object.entries(op.responses))
        for (const c of Object.values(r.content ?? {})) check(`${where} ${status}`, c.schema);
      const declared = new Set((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      const templated = [...pathKey.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      if (templated.length !== declared.size || !templated.every((t) => declared.has(t))) {
        problems.push(`${where}: path variables ${templated.join(',')} but path parameters ${[...declared].join(',')}`);
      }
    }
  }
  if (problems.length > 0) throw new Error(`invalid OpenAPI document:\n${problems.join('\n')}`);
}
