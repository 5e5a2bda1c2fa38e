// Publishes a service's OpenAPI document at /openapi.json and, when asked, a docs
// page (Swagger UI) at /docs. The page's files come from the swagger-ui-dist
// package installed next to the service, never from a CDN; the page loads its
// script from a file rather than inline, so a strict Content-Security-Policy
// still allows it. Plain routes: no middleware, like /metrics.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { HttpServer } from './server.js';

export interface OpenApiRoutesOptions {
  /** The OpenAPI document (what `tsk proto openapi` wrote). */
  document: object;
  /** Also serve the docs page at /docs. Needs `swagger-ui-dist` installed. */
  docs?: boolean | undefined;
}

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** Registers GET /openapi.json and, with `docs`, the docs page and its assets under /docs/. */
export function registerOpenApiRoutes(server: HttpServer, options: OpenApiRoutesOptions): void {
  const json = JSON.stringify(options.document);
  server.handleRaw('GET', OPENAPI_PATH, (_request, reply) => reply.type('application/json; charset=utf-8').send(json));
  if (!options.docs) return;
  const files = docsFiles();
  // Relative asset URLs resolve under /docs/ only when the page's URL ends in a slash.
  server.handleRaw('GET', DOCS_PATH, (_request, reply) => reply.redirect(`${DOCS_PATH}/`, 301));
  for (const [name, file] of Object.entries(files)) {
    server.handleRaw('GET', `${DOCS_PATH}/${name}`, (_request, reply) =>
      reply.type(file.type).header('cache-control', 'no-cache').send(file.body),
    );
  }
}

interface StaticFile {
  type: string;
  body: string | Buffer;
}

/** The page, its start script and Swagger UI's own files, read once. */
function docsFiles(): Record<string, StaticFile> {
  const dist = swaggerUiDir();
  if (dist === undefined) throw new Error(NO_DOCS_PACKAGE);
  const read = (name: string) => fs.readFileSync(path.join(dist, name));
  return {
    '': { type: 'text/html; charset=utf-8', body: PAGE },
    'start.js': { type: 'text/javascript; charset=utf-8', body: START },
    'swagger-ui.css': { type: 'text/css; charset=utf-8', body: read('swagger-ui.css') },
    'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: read('swagger-ui-bundle.js') },
  };
}

const NO_DOCS_PACKAGE = 'the docs page needs the swagger-ui-dist package: npm install swagger-ui-dist';

/**
 * Why the docs page cannot be served from here (its package is not installed), or
 * undefined when it can: a config check, so `--check` refuses what a start would.
 */
export function docsPageProblem(): string | undefined {
  return swaggerUiDir() === undefined ? NO_DOCS_PACKAGE : undefined;
}

function swaggerUiDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return undefined;
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API docs</title>
<link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="swagger-ui-bundle.js"></script>
<script src="start.js"></script>
</body>
</html>
`;

const START = `window.ui = SwaggerUIBundle({ url: '${OPENAPI_PATH}', dom_id: '#docs', deepLinking: true });
`;
