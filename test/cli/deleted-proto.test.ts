// A proto deleted from a project takes its generated code with it on the next generate:
// the files tsk recorded as that proto's output, still as tsk wrote them, are removed and
// named. A generated file changed since is kept and named; the user's own files (the
// service stub `tsk proto server` wrote) are never touched.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'deleted-proto');
const project = path.join(work, 'shop');
const at = (rel: string) => path.join(project, rel);

function run(args: string[], status = 0): string {
  const r = tsk(args, project);
  expect(r.status, r.stderr).toBe(status);
  return r.stdout;
}

const manifestFiles = () => Object.keys(JSON.parse(fs.readFileSync(at('.tsk/manifest.json'), 'utf8')).files);

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  expect(tsk(['new', 'shop', '--yes', '--no-git', '--no-install'], work).status).toBe(0);
  run(['proto', 'add', 'api/foo/v1/foo.proto']);
  run(['proto', 'add', 'api/bar/v1/bar.proto']);
  run(['proto', 'server', 'api/foo/v1/foo.proto', '-t', 'internal/service']);
  run(['generate']);
});

describe('a deleted proto', () => {
  it("loses its generated files on the next tsk generate; changed ones and the user's stay", () => {
    const generated = ['api/foo/v1/foo.ts', 'api/foo/v1/foo_http.ts', 'api/foo/v1/foo_grpc.ts'];
    for (const f of generated) expect(fs.existsSync(at(f)), f).toBe(true);
    expect(fs.existsSync(at('internal/service/foo.ts'))).toBe(true);
    expect(fs.readFileSync(at('api/openapi.ts'), 'utf8')).toContain('FooService');
    expect(fs.readFileSync(at('api/services.ts'), 'utf8')).toContain(
      'foo: FooServiceHTTPServer & FooServiceGRPCServer;',
    );
    fs.appendFileSync(at('api/bar/v1/bar_http.ts'), '// mine\n');
    fs.writeFileSync(at('api/foo/v1/notes.ts'), 'export const notes = 1;\n');

    fs.rmSync(at('api/foo/v1/foo.proto'));
    fs.rmSync(at('api/bar/v1/bar.proto'));
    // The kept file still imports the removed ones, so the run fails as a skipped generated file does.
    const out = run(['generate'], 1);
    for (const f of [...generated, 'api/bar/v1/bar.ts', 'api/bar/v1/bar_grpc.ts']) {
      expect(out).toContain(`removed ${f}\n`);
      expect(fs.existsSync(at(f)), f).toBe(false);
      expect(manifestFiles()).not.toContain(f);
    }
    expect(out).toContain(
      'skipped api/bar/v1/bar_http.ts: no longer generated, but changed locally since tsk wrote it; not removed (delete it, or --force)\n',
    );
    expect(fs.readFileSync(at('api/bar/v1/bar_http.ts'), 'utf8')).toContain('// mine');
    expect(fs.existsSync(at('internal/service/foo.ts'))).toBe(true);
    expect(fs.existsSync(at('api/foo/v1/notes.ts'))).toBe(true);
    expect(fs.readFileSync(at('api/openapi.ts'), 'utf8')).not.toContain('FooService');
    // The servers no longer serve it: the project builds without the deleted proto's code.
    expect(fs.readFileSync(at('api/services.ts'), 'utf8')).not.toMatch(/foo|bar/i);

    // The changed file is named, and fails the run, until it is dealt with; --force removes it.
    expect(run(['generate'], 1)).toContain('skipped api/bar/v1/bar_http.ts: no longer generated');
    expect(run(['generate', '--keep-local'])).toContain('skipped api/bar/v1/bar_http.ts: no longer generated');
    expect(run(['generate', '--force'])).toContain('removed api/bar/v1/bar_http.ts\n');
    expect(fs.existsSync(at('api/bar/v1/bar_http.ts'))).toBe(false);
    // The package directory the removals emptied goes too; one holding a file of the user's stays.
    expect(fs.existsSync(at('api/bar'))).toBe(false);
    expect(fs.existsSync(at('api/foo/v1/notes.ts'))).toBe(true);
    expect(run(['generate'])).toMatch(/^up to date \(\d+ files unchanged\)\n$/);
  });

  it('loses them on a fresh clone too, where no codegen cache remembers what it generated', () => {
    run(['proto', 'add', 'api/baz/v1/baz.proto']);
    run(['generate']);
    const generated = ['api/baz/v1/baz.ts', 'api/baz/v1/baz_http.ts', 'api/baz/v1/baz_grpc.ts'];
    for (const f of generated) expect(fs.existsSync(at(f)), f).toBe(true);
    fs.rmSync(at('.tsk/cache'), { recursive: true, force: true });
    fs.rmSync(at('api/baz/v1/baz.proto'));
    // A file of tsk's look that tsk has no record of is not its to remove.
    fs.copyFileSync(at('api/baz/v1/baz_http.ts'), at('api/baz/v1/baz_extra.ts'));

    const out = run(['generate']);
    for (const f of generated) {
      expect(out).toContain(`removed ${f}\n`);
      expect(fs.existsSync(at(f)), f).toBe(false);
    }
    expect(fs.existsSync(at('api/baz/v1/baz_extra.ts'))).toBe(true);
    // The service's own protos and everything generated from them are untouched.
    for (const f of ['api/shop/v1/greeter.ts', 'api/shop/v1/greeter_http.ts', 'internal/conf/conf.ts'])
      expect(fs.existsSync(at(f)), f).toBe(true);
    expect(run(['generate'])).not.toContain('removed');
  });

  it("loses what a proto that stays no longer generates: a dropped import's messages", () => {
    fs.mkdirSync(at('api/qux/v1'), { recursive: true });
    const proto = [
      'syntax = "proto3";',
      'package qux.v1;',
      'import "google/api/annotations.proto";',
      'import "google/protobuf/timestamp.proto";',
      'service Ones { rpc GetOne(Req) returns (Req) { option (google.api.http) = { get: "/v1/ones/{id}" }; } }',
      'message Req { string id = 1; google.protobuf.Timestamp at = 2; }',
      '',
    ].join('\n');
    fs.writeFileSync(at('api/qux/v1/qux.proto'), proto);
    run(['generate']);
    const timestamp = 'api/google/protobuf/timestamp.ts';
    expect(fs.existsSync(at(timestamp))).toBe(true);

    fs.writeFileSync(
      at('api/qux/v1/qux.proto'),
      proto
        .replace('import "google/protobuf/timestamp.proto";\n', '')
        .replace(' google.protobuf.Timestamp at = 2;', ''),
    );
    const out = run(['generate']);
    expect(out).toContain(`removed ${timestamp}\n`);
    expect(fs.existsSync(at(timestamp))).toBe(false);
    expect(manifestFiles()).not.toContain(timestamp);
    expect(fs.existsSync(at('api/qux/v1/qux.ts'))).toBe(true);
    fs.rmSync(at('api/qux'), { recursive: true });
    run(['generate']);
  });

  it("loses a removed service's OpenAPI document, written by tsk proto client --openapi and kept current by tsk generate", () => {
    fs.mkdirSync(at('api/qux/v1'), { recursive: true });
    const proto = [
      'syntax = "proto3";',
      'package qux.v1;',
      'import "google/api/annotations.proto";',
      'service Ones { rpc GetOne(Req) returns (Req) { option (google.api.http) = { get: "/v1/ones/{id}" }; } }',
      'service Twos { rpc GetTwo(Req) returns (Req) { option (google.api.http) = { get: "/v1/twos/{id}" }; } }',
      'message Req { string id = 1; }',
      '',
    ];
    fs.writeFileSync(at('api/qux/v1/qux.proto'), proto.join('\n'));
    run(['proto', 'client', 'api/qux/v1/qux.proto', '--openapi']);
    const ones = 'api/qux/v1/qux.Ones.openapi.json';
    const twos = 'api/qux/v1/qux.Twos.openapi.json';
    for (const f of [ones, twos]) expect(fs.existsSync(at(f)), f).toBe(true);
    run(['generate']);

    fs.writeFileSync(at('api/qux/v1/qux.proto'), proto.filter((l) => !l.startsWith('service Twos')).join('\n'));
    const out = run(['generate']);
    expect(out).toContain(`removed ${twos}\n`);
    expect(fs.existsSync(at(twos))).toBe(false);
    expect(manifestFiles()).not.toContain(twos);
    expect(fs.existsSync(at(ones))).toBe(true);
    fs.rmSync(at('api/qux'), { recursive: true });
    run(['generate']);
  });

  it("loses a deleted proto's OpenAPI documents on a fresh clone, found by their names", () => {
    fs.mkdirSync(at('api/quux/v1'), { recursive: true });
    fs.writeFileSync(
      at('api/quux/v1/quux.proto'),
      [
        'syntax = "proto3";',
        'package quux.v1;',
        'import "google/api/annotations.proto";',
        'service Threes { rpc GetThree(Req) returns (Req) { option (google.api.http) = { get: "/v1/threes/{id}" }; } }',
        'message Req { string id = 1; }',
        '',
      ].join('\n'),
    );
    run(['proto', 'client', 'api/quux/v1/quux.proto', '--openapi']);
    const threes = 'api/quux/v1/quux.Threes.openapi.json';
    expect(fs.existsSync(at(threes))).toBe(true);
    // A document of the same name's shape whose proto is still there stays.
    fs.rmSync(at('.tsk/cache'), { recursive: true, force: true });
    expect(run(['generate'])).not.toContain('removed');

    fs.rmSync(at('.tsk/cache'), { recursive: true, force: true });
    fs.rmSync(at('api/quux/v1/quux.proto'));
    const out = run(['generate']);
    expect(out).toContain(`removed ${threes}\n`);
    expect(fs.existsSync(at('api/quux'))).toBe(false);
    expect(manifestFiles()).not.toContain(threes);
  });

  it('leaves api/services.ts serving nothing when the last service goes', () => {
    fs.rmSync(at('api/shop/v1/greeter.proto'));
    run(['generate']);
    const services = fs.readFileSync(at('api/services.ts'), 'utf8');
    expect(services).toContain('export type Services = Record<string, never>;');
    expect(services).not.toMatch(/greeter/i);
    expect(fs.readFileSync(at('api/openapi.ts'), 'utf8')).not.toContain('Greeter');
  });
});
