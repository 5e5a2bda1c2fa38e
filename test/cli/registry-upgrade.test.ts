// `tsk upgrade` and `tsk registry` inside generated projects: an upgrade of a fresh
// project changes nothing; one of a project an earlier tsk made brings the runtime's
// npm dependencies along; switching the registry none -> etcd -> none touches only
// the registry's files, builds at each step and comes back to the same tree.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listFiles, repoRoot, tskBin } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'registry-upgrade');

/** path -> sha256 and mtime of every file in the project. */
function snapshot(dir: string): Map<string, string> {
  return new Map(
    listFiles(dir)
      .filter((f) => !f.startsWith('dist/'))
      .map((f) => {
        const abs = path.join(dir, f);
        return [f, `${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')} ${fs.statSync(abs).mtimeMs}`];
      }),
  );
}

/** Files whose content differs (mtimes ignored), added or removed. */
function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const hash = (v?: string) => v?.split(' ')[0];
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((f) => hash(before.get(f)) !== hash(after.get(f)))
    .sort();
}

/** Runs node without blocking the test worker (builds take a while on a busy machine). */
async function node(args: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const tsk = (args: string[], cwd: string) => node([tskBin, ...args], cwd);

/** The project's own build (tsc -p tsconfig.build.json); dependencies resolve from tsk's node_modules. */
async function build(dir: string): Promise<void> {
  const r = await node(
    [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    dir,
  );
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
}

async function create(name: string, registry: string): Promise<string> {
  const r = await tsk(['new', name, '--yes', '--no-git', '--no-install', '--registry', registry], work);
  expect(r.status, r.stderr).toBe(0);
  return path.join(work, name);
}

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
});

describe('tsk upgrade', () => {
  it('changes nothing on a fresh project, twice, and vendors only the registry client in use', async () => {
    const dir = await create('fresh', 'etcd');
    const before = snapshot(dir);
    for (let i = 0; i < 2; i++) {
      const r = await tsk(['upgrade'], dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^up to date/);
      // Every start runs node with the service's flags: nothing to name.
      expect(r.stdout).not.toContain('pretenuring');
      expect(r.stdout).not.toContain('reflection');
      expect(snapshot(dir)).toEqual(before); // content and mtime
    }
    expect(fs.existsSync(path.join(dir, 'internal/pkg/registry/etcd.ts'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'internal/pkg/registry/consul.ts'))).toBe(false);
    await build(dir);
  }, 120_000);

  it('refreshes the vendored tsk tarball when the project was made by another tsk version, then changes nothing', async () => {
    const dir = await create('older', 'none');
    const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
    const current = `.tsk/tsk-${version}.tgz`;
    // As an older tsk left it: its own tarball and the devDependency pointing at it.
    fs.renameSync(path.join(dir, current), path.join(dir, '.tsk/tsk-0.0.1.tgz'));
    const pkgPath = path.join(dir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    expect(pkg.devDependencies.tsk).toBe(`file:${current}`);
    pkg.devDependencies.tsk = 'file:.tsk/tsk-0.0.1.tgz';
    fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);

    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote   ${current}`);
    expect(r.stdout).toContain('wrote   package.json');
    expect(r.stdout).toContain('removed .tsk/tsk-0.0.1.tgz');
    // The generated code stays the old tsk's until the new one, once installed, writes it.
    expect(r.stdout).toContain("is now the project's devDependency: run npm install, then npm run generate");
    expect(fs.readdirSync(path.join(dir, '.tsk')).filter((f) => f.endsWith('.tgz'))).toEqual([`tsk-${version}.tgz`]);
    const after = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    expect(after.devDependencies.tsk).toBe(`file:${current}`);
    expect({ ...after, devDependencies: { ...after.devDependencies, tsk: 'x' } }).toEqual({
      ...pkg,
      devDependencies: { ...pkg.devDependencies, tsk: 'x' },
    });
    // The tarball is a real pack of this tsk.
    const list = await promisify(execFile)('tar', ['-tzf', path.join(dir, current)]);
    expect(list.stdout).toContain('package/bin/tsk.js');

    const before = snapshot(dir);
    const again = await tsk(['upgrade'], dir);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date/);
    expect(snapshot(dir)).toEqual(before);
  }, 120_000);

  it('names the service starts an earlier tsk wrote without the Node flag, and leaves them as they are', async () => {
    const dir = await create('unflagged', 'none');
    const flag = '--no-allocation-site-pretenuring';
    // As a tsk before the flag wrote them: the start script, the image's CMD, the Deployment's command.
    const strip = (rel: string) => {
      const file = path.join(dir, rel);
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toContain(flag);
      fs.writeFileSync(file, text.replaceAll(` ${flag}`, '').replaceAll(` "${flag}",`, ''));
    };
    for (const rel of ['package.json', 'Dockerfile', 'deploy/kubernetes/deployment.yaml']) strip(rel);
    const before = snapshot(dir);
    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up to date/);
    expect(r.stdout).toContain(
      `the service starts without ${flag} in package.json (scripts.start), Dockerfile (CMD), deploy/kubernetes/deployment.yaml (command): add it there`,
    );
    expect(snapshot(dir)).toEqual(before);

    // Added back to the start script by hand: only the other two are named.
    const pkgPath = path.join(dir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    pkg.scripts.start = pkg.scripts.start.replace(/^node /, `node ${flag} `);
    fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    const again = await tsk(['upgrade'], dir);
    expect(again.stdout).toContain(`without ${flag} in Dockerfile (CMD), deploy/kubernetes/deployment.yaml (command):`);
  }, 120_000);

  it('names a gRPC server that builds reflection from .proto files, as earlier tsk versions wrote it', async () => {
    const dir = await create('protofiles', 'none');
    const file = path.join(dir, 'internal/server/grpc.ts');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(
      file,
      text.replace(/reflection: \{ descriptorSet: .*\},$/m, "reflection: { includeDirs: ['api', 'third_party'] },"),
    );
    expect(fs.readFileSync(file, 'utf8')).not.toBe(text);
    const before = snapshot(dir);
    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "internal/server/grpc.ts describes the services for gRPC reflection from the .proto files, which @grpc/proto-loader merges into one file per package: after npm run generate, pass reflection: { descriptorSet: async () => (await import('../../api/descriptors.js')).descriptorSet() } instead",
    );
    expect(snapshot(dir)).toEqual(before);
  }, 120_000);

  it('leaves a tsk dependency that is not a vendored tarball alone', async () => {
    const dir = await create('published', 'none');
    const pkgPath = path.join(dir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    pkg.devDependencies.tsk = '^0.1.0';
    fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    fs.rmSync(path.join(dir, '.tsk', fs.readdirSync(path.join(dir, '.tsk')).find((f) => f.endsWith('.tgz'))!));
    const before = snapshot(dir);
    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up to date/);
    expect(snapshot(dir)).toEqual(before);
  }, 120_000);
});

describe('tsk upgrade on a project made by a tsk on OpenTelemetry SDK 2', () => {
  it("sets the runtime's dependencies to this tsk's versions, removes the retired ones, keeps the user's", async () => {
    const dir = await create('sdk2', 'etcd');
    const pkgPath = path.join(dir, 'package.json');
    const fresh = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    const older = structuredClone(fresh);
    Object.assign(older.dependencies, {
      '@opentelemetry/api': '~1.9.0',
      '@opentelemetry/core': '2.12.0',
      '@opentelemetry/propagator-jaeger': '2.12.0',
      '@opentelemetry/sdk-trace-base': '2.12.0',
      'left-pad': '^1.3.0',
    });
    delete older.dependencies['@opentelemetry/sdk-trace'];
    fs.writeFileSync(pkgPath, `${JSON.stringify(older, null, 4)}\n`);

    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('wrote   package.json');
    for (const line of [
      '@opentelemetry/api: ~1.9.0 -> ~1.10.0',
      `@opentelemetry/core: 2.12.0 -> ${fresh.dependencies['@opentelemetry/core']}`,
      `@opentelemetry/sdk-trace: not listed -> ${fresh.dependencies['@opentelemetry/sdk-trace']}`,
      '@opentelemetry/sdk-trace-base: 2.12.0 -> removed (no longer used)',
      '@opentelemetry/propagator-jaeger: 2.12.0 -> removed (no longer used)',
    ])
      expect(r.stdout).toContain(line);
    expect(r.stdout).toMatch(/run npm install/);
    const text = fs.readFileSync(pkgPath, 'utf8');
    expect(text).toMatch(/^\{\n {4}"name"/); // the file's own indentation
    const after = JSON.parse(text);
    expect(after.dependencies).toEqual({ ...fresh.dependencies, 'left-pad': '^1.3.0' });
    expect(Object.keys(after.dependencies)).toEqual(Object.keys(after.dependencies).sort());
    expect({ ...after, dependencies: {} }).toEqual({ ...fresh, dependencies: {} });

    const again = await tsk(['upgrade'], dir);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date/);
  }, 120_000);
});

describe('tsk upgrade on a project an older tsk gave every registry client', () => {
  it('removes the clients the project does not use, unless edited', async () => {
    const dir = await create('stale', 'none');
    const manifestPath = path.join(dir, '.tsk/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    for (const name of ['etcd', 'consul']) {
      const rel = `internal/pkg/registry/${name}.ts`;
      const content = `// Code generated by tsk. DO NOT EDIT.\n// an older runtime\n`;
      fs.writeFileSync(path.join(dir, rel), name === 'consul' ? `${content}// edited\n` : content);
      manifest.files[rel] = { kind: 'runtime', sha256: createHash('sha256').update(content).digest('hex') };
    }
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed internal/pkg/registry/etcd.ts');
    expect(fs.existsSync(path.join(dir, 'internal/pkg/registry/etcd.ts'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'internal/pkg/registry/consul.ts'))).toBe(true); // edited: kept
    expect(JSON.parse(fs.readFileSync(manifestPath, 'utf8')).files['internal/pkg/registry/etcd.ts']).toBeUndefined();
  });
});

describe('tsk upgrade by an older tsk than the one that last wrote the project', () => {
  it('refuses to put its runtime back over the newer one, naming both versions; nothing is written', async () => {
    const dir = await create('newer', 'none');
    const manifestPath = path.join(dir, '.tsk/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    manifest.tsk = '99.0.0';
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const before = snapshot(dir);
    const r = await tsk(['upgrade'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the project was last written by tsk 99\.0\.0, newer than this tsk \S+: not downgrading/);
    expect(snapshot(dir)).toEqual(before);
    // Nor does it regenerate the project's code over the newer generator's.
    fs.appendFileSync(path.join(dir, 'api/newer/v1/greeter.proto'), '\nmessage Added {}\n');
    const generate = await tsk(['generate'], dir);
    expect(generate.status).toBe(1);
    expect(generate.stderr).toMatch(
      /last written by tsk 99\.0\.0, newer than this tsk \S+: not writing over what it generated \(run npm install first/,
    );
    expect(fs.readFileSync(path.join(dir, 'api/newer/v1/greeter.ts'), 'utf8')).not.toContain('Added');
  });
});

describe('tsk upgrade on a Consul project an older tsk made', () => {
  it('drops the npm client Consul no longer uses, keeps the registry, and the project still builds', async () => {
    const dir = await create('consul-old', 'consul');
    const pkgPath = path.join(dir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    expect(pkg.dependencies.consul).toBeUndefined();
    pkg.dependencies.consul = '^2.0.1';
    fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('consul: ^2.0.1 -> removed (no longer used)');
    expect(JSON.parse(fs.readFileSync(pkgPath, 'utf8')).dependencies.consul).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'internal/pkg/registry/consul.ts'))).toBe(true);
    const same = await tsk(['registry', 'consul'], dir);
    expect(same.stdout).toContain('already uses registry consul');
    await build(dir);
  }, 120_000);
});

describe('tsk upgrade on a project holding runtime files this tsk no longer has', () => {
  it('removes them so the project still builds, keeps an edited one and names it', async () => {
    const dir = await create('obsolete', 'none');
    const manifestPath = path.join(dir, '.tsk/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    // As an older runtime left them: a module since merged away, importing what no longer exists.
    const content =
      "// Code generated by tsk. DO NOT EDIT.\nimport { hookMiddleware } from '../transport/context.js';\nexport const observe = hookMiddleware;\n";
    for (const name of ['observe', 'recovery']) {
      const rel = `internal/pkg/middleware/${name}.ts`;
      fs.writeFileSync(path.join(dir, rel), name === 'recovery' ? `${content}// edited\n` : content);
      manifest.files[rel] = { kind: 'runtime', sha256: createHash('sha256').update(content).digest('hex') };
    }
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));

    const r = await tsk(['upgrade'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed internal/pkg/middleware/observe.ts');
    expect(fs.existsSync(path.join(dir, 'internal/pkg/middleware/observe.ts'))).toBe(false);
    expect(
      JSON.parse(fs.readFileSync(manifestPath, 'utf8')).files['internal/pkg/middleware/observe.ts'],
    ).toBeUndefined();
    expect(r.stdout).toMatch(/skipped internal\/pkg\/middleware\/recovery\.ts: no longer part of tsk [\d.]+'s runtime/);
    expect(fs.existsSync(path.join(dir, 'internal/pkg/middleware/recovery.ts'))).toBe(true);

    const forced = await tsk(['upgrade', '--force'], dir);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('removed internal/pkg/middleware/recovery.ts');
    await build(dir);
    const again = await tsk(['upgrade'], dir);
    expect(again.stdout).toMatch(/^up to date/);
  }, 120_000);
});

describe('tsk registry', () => {
  it('switches none -> etcd -> none touching only the registry files, building at each step', async () => {
    const dir = await create('aaa', 'none');
    // The user's own edits elsewhere must survive.
    const reasons = path.join(dir, 'api/aaa/v1/error_reason.proto');
    fs.writeFileSync(
      reasons,
      fs
        .readFileSync(reasons, 'utf8')
        .replace(/}\s*$/, '  // Added by hand.\n  ORDER_LATE = 7 [(errors.code) = 409];\n}\n'),
    );
    fs.appendFileSync(path.join(dir, 'cmd/aaa/wire.ts'), '// my wiring note\n');
    const start = snapshot(dir);

    const toEtcd = await tsk(['registry', 'etcd'], dir);
    expect(toEtcd.status, toEtcd.stderr).toBe(0);
    const etcd = snapshot(dir);
    expect(changed(start, etcd)).toEqual([
      '.tsk/manifest.json',
      'configs/config.yaml',
      'deploy/kubernetes/configmap.yaml',
      'deploy/kubernetes/deployment.yaml',
      'internal/pkg/registry/etcd.ts',
      'internal/server/registry.ts',
      'package.json',
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies.etcd3).toBeDefined();
    const config = fs.readFileSync(path.join(dir, 'configs/config.yaml'), 'utf8');
    expect(config).toMatch(/registry:\n {2}kind: etcd\n {2}endpoints: \[http:\/\/127\.0\.0\.1:2379\]/);
    expect(config).toMatch(/^# aaa configuration/); // comments kept
    expect(fs.readFileSync(path.join(dir, 'deploy/kubernetes/configmap.yaml'), 'utf8')).toContain('kind: etcd');
    // In the cluster the registry is reached by its Service name.
    expect(fs.readFileSync(path.join(dir, 'deploy/kubernetes/deployment.yaml'), 'utf8')).toMatch(
      /- name: AAA_REGISTRY_ENDPOINTS\n\s+value: http:\/\/etcd:2379/,
    );
    await build(dir);
    // Same files as a project created with etcd (the README's prose aside).
    const fresh = await create('bbb', 'etcd');
    const named = (file: string, name: string) =>
      fs.readFileSync(file, 'utf8').replaceAll(name, 'X').replaceAll(name.toUpperCase(), 'X');
    for (const f of [
      'configs/config.yaml',
      'deploy/kubernetes/configmap.yaml',
      'internal/server/registry.ts',
      'internal/pkg/registry/etcd.ts',
      'package.json',
    ]) {
      expect(named(path.join(dir, f), 'aaa'), f).toBe(named(path.join(fresh, f), 'bbb'));
    }

    const back = await tsk(['registry', 'none'], dir);
    expect(back.status, back.stderr).toBe(0);
    expect(back.stdout).toContain('removed internal/pkg/registry/etcd.ts');
    expect(changed(start, snapshot(dir))).toEqual([]);
    await build(dir);
  }, 180_000);

  it('refuses, writing nothing, when the wiring was changed by hand; says which file', async () => {
    const dir = await create('edited', 'none');
    fs.appendFileSync(path.join(dir, 'internal/server/registry.ts'), '// mine\n');
    const before = snapshot(dir);
    const r = await tsk(['registry', 'consul'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('internal/server/registry.ts');
    expect(snapshot(dir)).toEqual(before);
    expect((await tsk(['registry', 'mongo'], dir)).stderr).toMatch(/unknown registry "mongo"/);
  });
});

describe('tsk new --force over a project', () => {
  it('refuses to replace owned files and names them; nothing is written', async () => {
    const dir = await create('forced', 'none');
    fs.appendFileSync(path.join(dir, 'cmd/forced/wire.ts'), '// mine\n');
    const before = snapshot(dir);
    const r = await tsk(['new', 'forced', '--yes', '--no-git', '--no-install', '--registry', 'etcd', '--force'], work);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not overwriting files you own: .*cmd\/forced\/wire\.ts/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('over a directory that is not a tsk project, refuses to replace the files there and names them', async () => {
    const dir = path.join(work, 'cloned');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'README.md'), '# my notes\n');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'secrets/\n');
    fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT\n');
    const before = snapshot(dir);
    const r = await tsk(['new', 'cloned', '--yes', '--no-git', '--no-install', '--force'], work);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not overwriting files already there: .*\.gitignore, README\.md/);
    expect(snapshot(dir)).toEqual(before);

    // Files tsk does not write stay, and the project is made around them.
    fs.rmSync(path.join(dir, 'README.md'));
    fs.rmSync(path.join(dir, '.gitignore'));
    const made = await tsk(['new', 'cloned', '--yes', '--no-git', '--no-install', '--force'], work);
    expect(made.status, made.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toBe('MIT\n');
    expect(fs.existsSync(path.join(dir, '.tsk/manifest.json'))).toBe(true);
  });
});
