// Inside a generated project: regeneration and `tsk upgrade` rewrite only what
// tsk wrote and still owns, and report (never overwrite) files the user changed.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'regen');
const project = path.join(work, 'shop');

/** Every file under dir (but .tsk and node_modules) with its content. */
function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === '.tsk') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const r = tsk(['new', 'shop', '--yes', '--no-git', '--no-install'], work);
  expect(r.status, r.stderr).toBe(0);
});

describe('in a generated project', () => {
  it('tsk upgrade restores a deleted runtime file and keeps an edited one, exiting 1 unless --keep-local', () => {
    const edited = path.join(project, 'internal/pkg/errors/codes.ts');
    const deleted = path.join(project, 'internal/pkg/middleware/selector.ts');
    const original = fs.readFileSync(deleted, 'utf8');
    fs.appendFileSync(edited, '// local patch\n');
    fs.rmSync(deleted);
    const r = tsk(['upgrade'], project);
    // The kept file may not match the rest of the runtime: a script must be able to tell.
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/skipped internal\/pkg\/errors\/codes\.ts: changed locally/);
    expect(r.stdout).toMatch(/wrote {3}internal\/pkg\/middleware\/selector\.ts/);
    expect(r.stderr).toMatch(/1 runtime file was not updated and may not match the rest of tsk .*'s runtime/);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// local patch');
    expect(fs.readFileSync(deleted, 'utf8')).toBe(original);
    const kept = tsk(['upgrade', '--keep-local'], project);
    expect(kept.status, kept.stderr).toBe(0);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// local patch');
  });

  it('tsk proto client regenerates untouched files, reports edited ones', () => {
    const edited = path.join(project, 'api/shop/v1/greeter_http.ts');
    fs.appendFileSync(edited, '// hand edit\n');
    const r = tsk(['proto', 'client', 'api'], project);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/skipped api\/shop\/v1\/greeter_http\.ts: changed locally/);
    expect(r.stderr).toMatch(/not updated and may not match the protos; run again with --force .* or --keep-local/);
    expect(tsk(['proto', 'client', 'api', '--keep-local'], project).status).toBe(0);
    expect(fs.readFileSync(edited, 'utf8')).toContain('// hand edit');
    const forced = tsk(['proto', 'client', 'api', '--force'], project);
    expect(forced.status).toBe(0);
    expect(fs.readFileSync(edited, 'utf8')).not.toContain('// hand edit');
  });

  it('tsk generate runs the whole generate step from anywhere in the project; --force and --keep-local reach every step', () => {
    const sub = path.join(project, 'internal', 'biz');
    const fresh = tsk(['generate'], sub);
    expect(fresh.status, fresh.stderr).toBe(0);
    const openapi = path.join(project, 'api/openapi.ts');
    const http = path.join(project, 'api/shop/v1/greeter_http.ts');
    const originals = [openapi, http].map((f) => fs.readFileSync(f, 'utf8'));
    for (const f of [openapi, http]) fs.appendFileSync(f, '// hand edit\n');
    const refused = tsk(['generate'], sub);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/skipped .*api\/openapi\.ts: changed locally/);
    expect(refused.stdout).toMatch(/skipped .*api\/shop\/v1\/greeter_http\.ts: changed locally/);
    expect(tsk(['generate', '--keep-local'], sub).status).toBe(0);
    for (const f of [openapi, http]) expect(fs.readFileSync(f, 'utf8')).toContain('// hand edit');
    const forced = tsk(['generate', '--force'], sub);
    expect(forced.status, forced.stderr).toBe(0);
    expect([openapi, http].map((f) => fs.readFileSync(f, 'utf8'))).toEqual(originals);
    const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
    expect(pkg.scripts.generate).toBe('tsk generate');
    const outside = tsk(['generate'], work);
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/not inside a tsk project/);
  });

  it('tsk generate says it wrote the manifest when that was all it changed, and is up to date after', () => {
    const manifestPath = path.join(project, '.tsk/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    manifest.files['api/shop/v1/greeter_http.ts'].sha256 = '0'.repeat(64); // a stale record of an unchanged file
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    expect(tsk(['generate'], project).stdout).toMatch(/^wrote {3}\.tsk\/manifest\.json$/m);
    expect(tsk(['generate'], project).stdout).toMatch(/^up to date/);
  });

  it('a broken or lost manifest stops every command before it writes; one emptied keeps and lists what differs', () => {
    const manifestPath = path.join(project, '.tsk/manifest.json');
    const saved = fs.readFileSync(manifestPath, 'utf8');
    const edited = path.join(project, 'api/shop/v1/greeter_http.ts');
    const original = fs.readFileSync(edited, 'utf8');
    fs.appendFileSync(edited, '// hand edit\n');
    try {
      fs.writeFileSync(manifestPath, '{ "tsk": "0.1.0", "files": {');
      const broken = tsk(['generate'], project);
      expect(broken.status).toBe(1);
      expect(broken.stderr).toMatch(
        /manifest\.json is not valid JSON \(.*\); restore it \(git checkout -- \.tsk\/manifest\.json\)/,
      );
      fs.writeFileSync(manifestPath, '{}');
      expect(tsk(['upgrade'], project).stderr).toMatch(/is not a tsk manifest \(it has no "files" object\)/);
      // Deleted, as an earlier message advised: the project is not taken for a plain buf one.
      fs.rmSync(manifestPath);
      for (const args of [['generate'], ['proto', 'client', 'api'], ['upgrade'], ['errors', 'gen']]) {
        const lost = tsk(args, project);
        expect(lost.status, args.join(' ')).toBe(1);
        expect(lost.stderr).toMatch(/manifest\.json is missing, and without it tsk cannot tell files you changed/);
      }
      expect(fs.readFileSync(edited, 'utf8')).toContain('// hand edit');
      // The way back the message gives when no copy is left.
      fs.writeFileSync(manifestPath, '{"files": {}}\n');
      const recovered = tsk(['generate'], project);
      expect(recovered.status).toBe(1);
      expect(recovered.stdout).toMatch(
        /skipped api\/shop\/v1\/greeter_http\.ts: exists, and \.tsk\/manifest\.json has no record of tsk writing it/,
      );
      expect(fs.readFileSync(edited, 'utf8')).toContain('// hand edit');
      // Every step recorded files in it, and it is named once.
      expect(recovered.stdout.match(/^wrote +\.tsk\/manifest\.json$/gm)).toHaveLength(1);
      // What matches tsk's output is recorded again, though the codegen cache had it as up to date.
      const files = JSON.parse(fs.readFileSync(manifestPath, 'utf8')).files;
      expect(files['api/shop/v1/greeter.ts']).toMatchObject({ kind: 'generated' });
      expect(files['api/shop/v1/greeter_http.ts']).toBeUndefined();
    } finally {
      fs.writeFileSync(manifestPath, saved);
      fs.writeFileSync(edited, original);
    }
  });

  it('tsk proto add + client + server extend the project with a new service', () => {
    expect(tsk(['proto', 'add', 'api/shop/v1/order.proto'], project).status).toBe(0);
    const gen = tsk(['proto', 'client', 'api/shop/v1/order.proto'], project);
    expect(gen.status, gen.stderr).toBe(0);
    expect(fs.readFileSync(path.join(project, 'api/shop/v1/order_http.ts'), 'utf8')).toContain(
      "from '../../../internal/pkg/transport/http/index.js'",
    );
    // What the servers serve and document follows at once, without a tsk generate.
    expect(gen.stdout).toMatch(/^wrote +api\/services\.ts$/m);
    expect(fs.readFileSync(path.join(project, 'api/services.ts'), 'utf8')).toContain(
      'order: OrderServiceHTTPServer & OrderServiceGRPCServer;',
    );
    const document = fs.readFileSync(path.join(project, 'api/openapi.ts'), 'utf8');
    expect(document).toContain('"shop.v1.OrderService"');
    // Titled after the service, not after one of its proto services; each operation has a summary.
    expect(document).toContain('"title": "shop"');
    expect(document).toContain('"summary": "Creates an order."');
    const stub = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(stub.status, stub.stderr).toBe(0);
    const content = fs.readFileSync(path.join(project, 'internal/service/order.ts'), 'utf8');
    expect(content).toContain("from '../pkg/errors/errors.js'");
    expect(content).toContain("from '../../api/shop/v1/order_grpc.js'");
    const manifest = JSON.parse(fs.readFileSync(path.join(project, '.tsk/manifest.json'), 'utf8'));
    expect(manifest.files['internal/service/order.ts'].kind).toBe('owned');
    expect(manifest.files['api/shop/v1/order_http.ts'].kind).toBe('generated');
    // An rpc added later: the stub is the user's now and stays as it is, and the command
    // prints the method the class lacks.
    const protoPath = path.join(project, 'api/shop/v1/order.proto');
    const proto = fs.readFileSync(protoPath, 'utf8');
    const [, request, reply] = /rpc \w+\((\w+)\) returns \((\w+)\)/.exec(proto)!;
    fs.writeFileSync(
      protoPath,
      proto.replace(/service (\w+) \{/, `service $1 {\n  rpc Archive(${request}) returns (${reply});`),
    );
    const again = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(again.status, again.stderr).toBe(0);
    expect(fs.readFileSync(path.join(project, 'internal/service/order.ts'), 'utf8')).toBe(content);
    expect(again.stdout).toContain('internal/service/order.ts has no archive; add it to OrderService');
    expect(again.stdout).toContain(`  async archive(_ctx: Context, _request: ${request}): Promise<${reply}> {`);
    expect(again.stdout).not.toContain('no longer declares');
    // With messages of its own, the hint names the imports the pasted method needs.
    fs.writeFileSync(
      protoPath,
      `${proto.replace(/service (\w+) \{/, 'service $1 {\n  rpc Restore(RestoreRequest) returns (RestoreReply);')}\nmessage RestoreRequest {}\nmessage RestoreReply {}\n`,
    );
    const restore = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(restore.status, restore.stderr).toBe(0);
    expect(restore.stdout).toContain(
      "add it to OrderService, and import what it uses:\nimport type { RestoreReply, RestoreRequest } from '../../api/shop/v1/order.js';\n",
    );
    // An rpc removed later: its handler is named, since TypeScript accepts the method more.
    const [, first] = /rpc (\w+)\(/.exec(proto)!;
    const handler = first!.charAt(0).toLowerCase() + first!.slice(1);
    fs.writeFileSync(protoPath, proto.replace(/\n {2}rpc \w+\([\s\S]*?\n {2}\}\n/, '\n'));
    const removed = tsk(['proto', 'server', 'api/shop/v1/order.proto', '-t', 'internal/service'], project);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(
      `internal/service/order.ts has ${handler}, which shop.v1.OrderService no longer declares; nothing serves it now, so remove it`,
    );
    fs.writeFileSync(protoPath, proto);
  });

  it("tsk proto server for a second version of a service: refuses the first version's file, names the keys services.ts needs", () => {
    const v2 = path.join(project, 'api/shop/v2');
    fs.mkdirSync(v2, { recursive: true });
    const v1 = fs.readFileSync(path.join(project, 'api/shop/v1/order.proto'), 'utf8');
    fs.writeFileSync(
      path.join(v2, 'order.proto'),
      v1.replace('package shop.v1;', 'package shop.v2;').replaceAll('"/v1/', '"/v2/'),
    );
    try {
      expect(tsk(['proto', 'client', 'api/shop/v2/order.proto'], project).status).toBe(0);
      const kept = fs.readFileSync(path.join(project, 'internal/service/order.ts'), 'utf8');
      const clash = tsk(['proto', 'server', 'api/shop/v2/order.proto', '-t', 'internal/service'], project);
      expect(clash.status).toBe(1);
      expect(clash.stderr).toContain(
        'internal/service/order.ts exists and implements another service (it does not import api/shop/v2/order); give shop.v2.OrderService a directory of its own: tsk proto server api/shop/v2/order.proto -t internal/service/v2',
      );
      expect(fs.readFileSync(path.join(project, 'internal/service/order.ts'), 'utf8')).toBe(kept);
      const own = tsk(['proto', 'server', 'api/shop/v2/order.proto', '-t', 'internal/service/v2'], project);
      expect(own.status, own.stderr).toBe(0);
      expect(own.stdout).toContain('in what newServices returns: shopV2Order: new OrderService()');
      expect(own.stdout).toContain('shop.v1.OrderService is shopV1Order there now');
      // The project's document covers both versions, and says so.
      expect(tsk(['generate'], project).status).toBe(0);
      expect(fs.readFileSync(path.join(project, 'api/openapi.ts'), 'utf8')).toContain('"version": "v1, v2"');
    } finally {
      fs.rmSync(v2, { recursive: true, force: true });
      fs.rmSync(path.join(project, 'internal/service/v2'), { recursive: true, force: true });
      expect(tsk(['generate'], project).status).toBe(0);
    }
  });

  it('generates the same files from any directory: paths and imports come from the project root', () => {
    const before = snapshotTree(project);
    // From outside the project, with an absolute path: nothing to change.
    const outside = tsk(['proto', 'client', path.join(project, 'api'), path.join(project, 'internal', 'conf')], work);
    expect(outside.status, outside.stderr).toBe(0);
    expect(outside.stdout).toContain('up to date');
    // From a subdirectory, after deleting a generated file: it comes back identical.
    const http = path.join(project, 'api/shop/v1/greeter_http.ts');
    const content = fs.readFileSync(http, 'utf8');
    fs.rmSync(http);
    const inside = tsk(
      ['proto', 'client', '../../api/shop/v1/greeter.proto'],
      path.join(project, 'internal', 'service'),
    );
    expect(inside.status, inside.stderr).toBe(0);
    expect(fs.readFileSync(http, 'utf8')).toBe(content);
    expect(snapshotTree(project)).toEqual(before);
  });

  it('tsk proto add says what to write instead of a path it cannot use, and writes nothing', () => {
    const before = snapshotTree(project);
    const notProto = tsk(['proto', 'add', 'api/shop/v1/notes.txt'], project);
    expect(notProto.status).toBe(1);
    expect(notProto.stderr).toContain('api/shop/v1/notes.txt: the file name must end in .proto');
    const outsideApi = tsk(['proto', 'add', 'billing.proto'], project);
    expect(outsideApi.status).toBe(1);
    expect(outsideApi.stderr).toContain(
      'billing.proto is not under api/ or another import root: write e.g. api/billing/v1/billing.proto',
    );
    // The greeter of package shop.v1 already declares User and GetUserRequest; a second would not compile.
    const clash = tsk(['proto', 'add', 'api/shop/v1/user.proto'], project);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toContain(
      "api/shop/v1/greeter.proto already declares GetUserRequest, User in this directory's package, which api/shop/v1/user.proto would declare again: name it after another resource or put it in another package, or delete the greeter sample first (tsk's README, Quick start, says how)",
    );
    expect(snapshotTree(project)).toEqual(before);
  });

  it('tsk proto add and server from a subdirectory write relative to the project root', () => {
    const sub = path.join(project, 'internal', 'biz');
    const add = tsk(['proto', 'add', 'api/shop/v1/invoice.proto'], sub);
    expect(add.status, add.stderr).toBe(0);
    expect(fs.existsSync(path.join(project, 'api/shop/v1/invoice.proto'))).toBe(true);
    expect(fs.existsSync(path.join(sub, 'api'))).toBe(false);
    const server = tsk(
      ['proto', 'server', path.join(project, 'api/shop/v1/invoice.proto'), '-t', 'internal/service'],
      sub,
    );
    expect(server.status, server.stderr).toBe(0);
    expect(fs.existsSync(path.join(project, 'internal/service/invoice.ts'))).toBe(true);
  });
});
