// Where `tsk proto server` tells a project to build a new service: cmd/<name>/services.ts,
// or internal/service/services.ts in a project an older tsk made.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { servicesBuilder } from '../../src/cli/commands/proto-server.js';

const roots: string[] = [];
function project(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-services-'));
  roots.push(root);
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '');
  }
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

describe('servicesBuilder', () => {
  it("names the project's cmd/<name>/services.ts", () => {
    expect(servicesBuilder(project(['cmd/shop/main.ts', 'cmd/shop/services.ts', 'internal/service/greeter.ts']))).toBe(
      'cmd/shop/services.ts',
    );
  });

  it('names internal/service/services.ts in a project made before services.ts moved to cmd/', () => {
    expect(servicesBuilder(project(['cmd/shop/main.ts', 'internal/service/services.ts']))).toBe(
      'internal/service/services.ts',
    );
  });

  it('says cmd/<name>/services.ts when neither is there', () => {
    expect(servicesBuilder(project(['cmd/shop/main.ts']))).toBe('cmd/<name>/services.ts');
  });
});
