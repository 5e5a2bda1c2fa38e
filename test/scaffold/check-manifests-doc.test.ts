// docs/deploy.md gives users a script that validates their manifests offline. It is run
// here, as written there, on a new project's manifests: they pass, and a broken one fails.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderProject } from '../../src/scaffold/project.js';
import { repoRoot } from '../helpers/cli.js';

const doc = fs.readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8');
const script = /save this as\s+`scripts\/check-manifests\.mjs`[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];

describe("docs/deploy.md's manifest check", () => {
  it('passes a new project and names the field of a broken manifest, exit 1', () => {
    expect(script).toBeDefined();
    // Inside the repository, so the script's imports resolve from its node_modules.
    const dir = path.join(repoRoot, '.tmp', 'check-manifests');
    fs.rmSync(dir, { recursive: true, force: true });
    const files = renderProject({
      name: 'demo',
      registry: 'etcd',
      httpPort: 8000,
      grpcPort: 9000,
      otlpEndpoint: 'http://127.0.0.1:4317',
    });
    for (const f of files.filter((f) => f.path.startsWith('deploy/kubernetes/'))) {
      fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.writeFileSync(path.join(dir, 'scripts/check-manifests.mjs'), script!);
    const check = () => spawnSync(process.execPath, ['scripts/check-manifests.mjs'], { cwd: dir, encoding: 'utf8' });
    const ok = check();
    expect(ok.status, ok.stderr).toBe(0);
    // One line a manifest: service.yaml holds two (the Service and the headless Service).
    expect(ok.stdout.trim().split('\n')).toHaveLength(8);
    expect(ok.stdout).toContain('service.yaml: Service ok\nservice.yaml: Service ok');
    const deployment = path.join(dir, 'deploy/kubernetes/deployment.yaml');
    fs.writeFileSync(
      deployment,
      fs.readFileSync(deployment, 'utf8').replace('containerPort: 8000', 'containerPort: "8000"'),
    );
    const broken = check();
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain(
      'deployment.yaml: Deployment: data/spec/template/spec/containers/0/ports/0/containerPort must be integer',
    );
  });
});
