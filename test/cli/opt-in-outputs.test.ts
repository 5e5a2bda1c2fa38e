// Browser clients (`tsk proto client --fetch`) and per-service OpenAPI documents
// (`--openapi`) are asked for once, per proto; after that they follow their proto
// like the rest of its generated files: `tsk generate` keeps them current, and
// protos nobody asked them for get none.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'opt-in-outputs');
const project = path.join(work, 'shop');
const api = path.join(project, 'api/shop/v1');

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const r = tsk(['new', 'shop', '--yes', '--no-git', '--no-install'], work);
  expect(r.status, r.stderr).toBe(0);
});

describe('tsk generate', () => {
  it('regenerates the fetch client and OpenAPI documents a proto was given, and adds none to others', () => {
    const made = tsk(['proto', 'client', 'api/shop/v1/greeter.proto', '--fetch', '--openapi'], project);
    expect(made.status, made.stderr).toBe(0);
    const documents = () => fs.readdirSync(api).filter((f) => f.endsWith('.openapi.json'));
    expect(documents()).toHaveLength(1);
    const document = path.join(api, documents()[0]!);
    const fetchClient = path.join(api, 'greeter_fetch.ts');
    expect(fs.readFileSync(fetchClient, 'utf8')).not.toContain('nickname');

    const proto = path.join(api, 'greeter.proto');
    fs.writeFileSync(
      proto,
      fs.readFileSync(proto, 'utf8').replace(/message HelloRequest \{\n/, '$&  string nickname = 2;\n'),
    );
    const r = tsk(['generate'], project);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(fetchClient, 'utf8')).toContain('nickname');
    expect(fs.readFileSync(document, 'utf8')).toContain('nickname');
    // The errors proto has no service; no proto gained a fetch client it was not given.
    expect(fs.readdirSync(api).filter((f) => f.endsWith('_fetch.ts'))).toEqual(['greeter_fetch.ts']);
  });
});
