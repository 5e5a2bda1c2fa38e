// The json fixture's Kinds service (every proto3 JSON kind) served over HTTP on
// loopback, with its generated Node and fetch clients, each handler echoing the
// request it bound and keeping it for the test to look at.
import path from 'node:path';
import { HttpServer } from '../../src/runtime/transport/http/index.js';
import { repoRoot, scratchFixture, tsk } from './cli.js';

export interface KindsService {
  server: HttpServer;
  base: string;
  /** The generated kinds_http.ts and kinds_fetch.ts modules. */
  gen: any;
  fetchGen: any;
  /** Every request the handlers received, in order. */
  seen: any[];
}

/** Generates the fixture into .tmp/<group> and starts its server on a free port. */
export async function serveKinds(group: string): Promise<KindsService> {
  const dir = scratchFixture(group, 'json');
  const r = tsk(
    ['proto', 'client', '.', '-I', '.', '--fetch', '--runtime', path.join(repoRoot, 'src', 'runtime')],
    dir,
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const gen = await import(path.join(dir, 'kinds/v1/kinds_http.ts'));
  const fetchGen = await import(path.join(dir, 'kinds/v1/kinds_fetch.ts'));
  const server = new HttpServer({ address: '127.0.0.1:0' });
  const seen: any[] = [];
  const echo = async (_ctx: unknown, request: any) => {
    seen.push(request);
    return request;
  };
  gen.registerKindsHTTPServer(server, { echo, put: echo, get: echo, note: echo });
  await server.start();
  return { server, base: `http://127.0.0.1:${server.listenPort}`, gen, fetchGen, seen };
}
