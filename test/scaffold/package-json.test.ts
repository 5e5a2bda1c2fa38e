// package.json as an object: what `tsk new` builds and how features edit a user's file.
import { describe, expect, it } from 'vitest';
import { editPackageJson, pinRuntimeDependencies, servicePackageJson } from '../../src/scaffold/package-json.js';
import { swapRegistryDependencies } from '../../src/scaffold/registry.js';
import { SERVICE_VERSIONS } from '../../src/scaffold/versions.js';

describe('package.json', () => {
  it('builds a service package with pinned versions, sorted dependencies and tsk as a devDependency', () => {
    const pkg = servicePackageJson({ name: 'shop', tskVersion: '1.2.3', vendoredTsk: '.tsk/tsk.tgz' });
    expect(pkg.scripts!['start']).toBe(
      'node --no-allocation-site-pretenuring dist/bundle/main.js --conf configs/config.yaml',
    );
    expect(pkg.scripts!['build']).toBe('tsc -p tsconfig.build.json && tsk bundle');
    expect(pkg.dependencies!['fastify']).toBe(SERVICE_VERSIONS.fastify);
    expect(pkg.devDependencies!['tsk']).toBe('file:.tsk/tsk.tgz');
    const names = Object.keys(pkg.dependencies!);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('edits a user file as JSON: only the registry dependencies change', () => {
    const user = `${JSON.stringify({ name: 'shop', custom: { keep: true }, dependencies: { zod: '^3.0.0', consul: '^2.0.1', fastify: '^5.0.0' } }, null, 2)}\n`;
    // A Consul project an older tsk made lists the npm client its registry no longer uses: it goes.
    const next = JSON.parse(editPackageJson(user, (pkg) => swapRegistryDependencies(pkg, 'consul', 'etcd')));
    expect(next.custom).toEqual({ keep: true });
    expect(next.dependencies).toEqual({ etcd3: SERVICE_VERSIONS.etcd3, fastify: '^5.0.0', zod: '^3.0.0' });
    expect(Object.keys(next.dependencies)).toEqual(['etcd3', 'fastify', 'zod']);
    const back = JSON.parse(
      editPackageJson(JSON.stringify(next), (pkg) => swapRegistryDependencies(pkg, 'etcd', 'consul')),
    );
    expect(back.dependencies).toEqual({ fastify: '^5.0.0', zod: '^3.0.0' });
  });

  it('re-pins older runtime dependencies on upgrade, and keeps a newer version the user chose on the same line', () => {
    const pkg = {
      dependencies: {
        fastify: '^5.20.0',
        yaml: '2.9.5',
        pino: '^9.0.0',
        etcd3: '^0.9.0',
        pkgA: 'github:me/a',
        '@opentelemetry/api': '^1.11.0',
      },
    };
    const changes = pinRuntimeDependencies(pkg, {
      fastify: '^5.12.8',
      yaml: '^2.9.1',
      pino: '^10.1.0',
      etcd3: '^0.10.0',
      pkgA: '^1.0.0',
      added: '^1.2.3',
      // A tilde pin keeps its minor: a caret range past it is taken back.
      '@opentelemetry/api': '~1.10.0',
    });
    expect(changes).toEqual([
      'pino: ^9.0.0 -> ^10.1.0',
      'etcd3: ^0.9.0 -> ^0.10.0',
      'pkgA: github:me/a -> ^1.0.0',
      'added: not listed -> ^1.2.3',
      '@opentelemetry/api: ^1.11.0 -> ~1.10.0',
    ]);
    expect(pkg.dependencies).toMatchObject({ fastify: '^5.20.0', yaml: '2.9.5', pino: '^10.1.0', etcd3: '^0.10.0' });
  });
});
