// `tsk generate` in a project that calls another service says when that service's API has
// changed since `tsk add client` copied it, and which command takes the change; it changes
// nothing itself, and says nothing once the copy matches again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsk } from '../helpers/cli.js';

let work = '';
const front = () => path.join(work, 'front');
const usersProto = () => path.join(work, 'users', 'api', 'users', 'v1', 'greeter.proto');

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-add-client-drift-'));
  for (const name of ['users', 'front']) {
    const r = tsk(['new', name, '--yes', '--no-git', '--no-install'], work);
    expect(r.status, r.stderr).toBe(0);
  }
  const added = tsk(['add', 'client', 'users', '--proto', '../users/api/users'], front());
  expect(added.status, added.stderr).toBe(0);
}, 120_000);

describe('tsk generate and the APIs a project calls', () => {
  it('is quiet while the copy matches where it came from', () => {
    const r = tsk(['generate'], front());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
  });

  it('names a changed or new proto of the called service and the command that takes it, changing nothing', () => {
    const copy = path.join(front(), 'api', 'users', 'v1', 'greeter.proto');
    const before = fs.readFileSync(copy, 'utf8');
    fs.writeFileSync(
      usersProto(),
      fs.readFileSync(usersProto(), 'utf8').replace('message HelloReply {', 'message HelloReply {\n  string mood = 9;'),
    );
    fs.writeFileSync(
      path.join(work, 'users', 'api', 'users', 'v1', 'extra.proto'),
      'syntax = "proto3";\npackage users.v1;\nmessage Extra {}\n',
    );
    const r = tsk(['generate'], front());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'warning: the users API in ../users/api/users differs from the copy under api/ (users/v1/extra.proto is new, users/v1/greeter.proto changed): run `tsk add client users --proto ../users/api/users` to take it',
    );
    expect(fs.readFileSync(copy, 'utf8')).toBe(before);

    const taken = tsk(['add', 'client', 'users', '--proto', '../users/api/users'], front());
    expect(taken.status, taken.stderr).toBe(0);
    expect(fs.readFileSync(copy, 'utf8')).toContain('string mood = 9;');
    const again = tsk(['generate'], front());
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('warning');
  });

  it('says nothing when the source is not there (another checkout)', () => {
    fs.renameSync(path.join(work, 'users'), path.join(work, 'users-moved'));
    try {
      const r = tsk(['generate'], front());
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('warning');
    } finally {
      fs.renameSync(path.join(work, 'users-moved'), path.join(work, 'users'));
    }
  });

  it('brings back a deleted internal/data/clients.ts from .tsk/clients.json, and reports one edited by hand', () => {
    const clients = path.join(front(), 'internal', 'data', 'clients.ts');
    const original = fs.readFileSync(clients, 'utf8');
    fs.rmSync(clients);
    const restored = tsk(['generate'], front());
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^wrote +internal\/data\/clients\.ts$/m);
    expect(fs.readFileSync(clients, 'utf8')).toBe(original);

    fs.appendFileSync(clients, '// mine\n');
    const kept = tsk(['generate'], front());
    expect(kept.status).toBe(1);
    expect(kept.stdout).toMatch(/skipped internal\/data\/clients\.ts: changed locally/);
    // tsk add client cannot wire the client in: it says so instead of naming one that is not there.
    const added = tsk(['add', 'client', 'users', '--proto', '../users/api/users', '--transport', 'http'], front());
    expect(added.status).toBe(1);
    expect(added.stdout).toContain(
      'warning: internal/data/clients.ts was not updated, so it has no client of users yet: --force rewrites it',
    );
    expect(added.stdout).not.toContain('next: call');
    expect(fs.readFileSync(clients, 'utf8')).toBe(`${original}// mine\n`);
    const forced = tsk(
      ['add', 'client', 'users', '--proto', '../users/api/users', '--transport', 'http', '--force'],
      front(),
    );
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('next: call data.clients.users.');
    expect(fs.readFileSync(clients, 'utf8')).toContain('GreeterHTTPClient');
  });
});
