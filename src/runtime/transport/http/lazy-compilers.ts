// fastify's schema compilers (ajv for validation, fast-json-stringify for
// serialization) cost a service about 120 ms and 14 MB to load at start, and tsk's
// own routes carry no JSON schema. These builders load them the first time a route
// with a schema needs one, so only a service that registers such a route (through
// `server.engine`) pays, and it gets exactly fastify's own compilers and options.
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

type Builder = (externalSchemas: unknown, options: unknown) => unknown;

/** Resolved from fastify's own location: its compilers are its dependencies, not the service's. */
const fromFastify = () => createRequire(createRequire(import.meta.url).resolve('fastify'));

/** One lazy pair per fastify instance, as fastify makes one pair of selectors per instance. */
export function lazyCompilers(): NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
> {
  let validator: Builder | undefined;
  let serializer: Builder | undefined;
  return {
    buildValidator: ((externalSchemas: unknown, options: unknown) => {
      validator ??= (fromFastify()('@fastify/ajv-compiler') as () => Builder)();
      return validator(externalSchemas, options);
    }) as never,
    buildSerializer: ((externalSchemas: unknown, options: unknown) => {
      serializer ??= (fromFastify()('@fastify/fast-json-stringify-compiler') as () => Builder)();
      return serializer(externalSchemas, options);
    }) as never,
  };
}

/**
 * fastify treats compilers given in `compilersFactory` as a user's own (Joi, TypeBox)
 * and then hands header schemas over untouched instead of lower-casing their keys.
 * These are its defaults, loaded later: mark them so, on the root instance before any
 * route or plugin copies the flags, and header schemas are handled as fastify does.
 */
export function treatAsDefaultCompilers(app: FastifyInstance): void {
  const key = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.schemaController');
  const controller = key ? (app as unknown as Record<symbol, Record<string, unknown>>)[key] : undefined;
  if (!controller || !('isCustomValidatorCompiler' in controller) || !('isCustomSerializerCompiler' in controller))
    throw new Error('fastify changed how it records its schema compilers; tsk cannot load them lazily');
  controller.isCustomValidatorCompiler = false;
  controller.isCustomSerializerCompiler = false;
}
