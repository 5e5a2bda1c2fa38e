// Bindings of two proto files that take the same paths (one server serves every service)
// are refused by tsk generate at the second rule, before anything is written; so is a proto
// whose own code cannot be generated, though the whole-tree modules could be.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

const OTHER = `syntax = "proto3";

package svc.v1;

import "google/api/annotations.proto";

service Other {
  rpc Hello(HelloReq) returns (HelloReq) {
    option (google.api.http) = {get: "/helloworld/{who}"};
  }
}

message HelloReq {
  string who = 1;
}
`;

/** Every file under dir with its content, to tell that nothing changed (tsk's cache, .tsk/cache, aside). */
function snapshot(dir: string): Map<string, string> {
  const files = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.startsWith(path.join('.tsk', 'cache')))
    .sort();
  return new Map(
    files
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

it('tsk generate names the second of two bindings in different files that match the same paths', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-routes-')));
  expect(tsk(['new', 'svc', '--yes', '--no-install', '--no-git'], dir).status).toBe(0);
  const project = path.join(dir, 'svc');
  fs.writeFileSync(path.join(project, 'api/svc/v1/other.proto'), OTHER);
  const before = snapshot(project);
  const r = tsk(['generate'], project);
  expect(r.status).toBe(1);
  expect(r.stderr.trim()).toBe(
    'api/svc/v1/other.proto:9:12: Other.Hello: GET /helloworld/{who} matches the same paths as GET /helloworld/{name} of svc.v1.Greeter.SayHello, so one of them would never be called; change one of the paths',
  );
  expect(snapshot(project)).toEqual(before);
});

it('tsk generate writes nothing, api/ modules included, when one proto does not generate', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-routes-')));
  expect(tsk(['new', 'svc', '--yes', '--no-install', '--no-git'], dir).status).toBe(0);
  const project = path.join(dir, 'svc');
  // A new service in one file (api/services.ts would list it), and a field the other file cannot have.
  fs.writeFileSync(path.join(project, 'api/svc/v1/other.proto'), OTHER.replace('/helloworld/{who}', '/other/{who}'));
  const greeter = path.join(project, 'api/svc/v1/greeter.proto');
  fs.writeFileSync(
    greeter,
    fs.readFileSync(greeter, 'utf8').replace('string name = 1', 'string to_string = 9;\n  string name = 1'),
  );
  const before = snapshot(project);
  const r = tsk(['generate'], project);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^api\/svc\/v1\/greeter\.proto:\d+:\d+: HelloRequest\.to_string: /);
  expect(snapshot(project)).toEqual(before);
});
