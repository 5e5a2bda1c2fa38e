// `tsk example microservices <dir>`: the gateway -> order -> user system, built with tsk's own
// commands. Each service is a `tsk new` project (etcd registry, Dockerfile, Kubernetes);
// its greeter sample is replaced by the example's protos and layers; `tsk add client` wires
// the calls; `npm run generate` (`tsk generate`) writes the code.
// The root is an npm-workspaces repo with compose.yaml, a dev script and a README.
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { execa } from 'execa';
import { parseDocument } from 'yaml';
import { UsageError } from '../../proto/diagnostics.js';
import { packageRoot, templatesDir } from '../../proto/paths.js';
import { editConfigMapConfig } from '../../scaffold/config-map.js';
import { editPackageJson, TOOLCHAIN_INSTALL_SCRIPTS } from '../../scaffold/package-json.js';
import { gitInit } from '../git-init.js';
import { readManifest, refuseInsideProject } from '../manifest.js';
import { writeFiles, writeTree } from '../writer.js';

interface ExampleService {
  name: string;
  /** Class prefix of its API: User, Order, Gateway. */
  api: string;
  httpPort: number;
  grpcPort: number;
  /** The repository class in internal/data/<name>.ts and how cmd/<name>/services.ts constructs it. */
  repo: string;
  newRepo: string;
  /** The services it calls (tsk add client). */
  calls: string[];
}

/** Ports: the gateway is the public HTTP :8000; the others sit next to it. */
export const EXAMPLE_SERVICES: ExampleService[] = [
  {
    name: 'user',
    api: 'User',
    httpPort: 8002,
    grpcPort: 9002,
    repo: 'UserRepoInMemory',
    newRepo: 'new UserRepoInMemory()',
    calls: [],
  },
  {
    name: 'order',
    api: 'Order',
    httpPort: 8001,
    grpcPort: 9001,
    repo: 'OrderRepoData',
    newRepo: 'new OrderRepoData(deps.data)',
    calls: ['user'],
  },
  {
    name: 'gateway',
    api: 'Gateway',
    httpPort: 8000,
    grpcPort: 9000,
    repo: 'GatewayRepoClients',
    newRepo: 'new GatewayRepoClients(deps.data)',
    calls: ['user', 'order'],
  },
];

const EXAMPLES = ['microservices'];
const exampleDir = path.join(templatesDir, 'example');
const tskBin = path.join(packageRoot, 'bin', 'tsk.js');

export async function example(kind: string, dir: string): Promise<void> {
  if (!EXAMPLES.includes(kind)) throw new UsageError(`unknown example "${kind}"; there is: ${EXAMPLES.join(', ')}`);
  const cwd = process.cwd();
  const target = path.resolve(cwd, dir);
  refuseInsideProject(target, cwd, (outside) => `tsk example ${kind} ${outside}`);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new UsageError(`${dir} exists and is not an empty directory`);
  }
  const started = performance.now();
  // Built next to the target and moved into place at the end: a failure leaves nothing behind.
  await writeTree(target, async (staging) => {
    for (const s of EXAMPLE_SERVICES) {
      step(`tsk new ${s.name}`);
      await tsk(
        [
          'new',
          s.name,
          '--registry',
          'etcd',
          '--http-port',
          String(s.httpPort),
          '--grpc-port',
          String(s.grpcPort),
          '--yes',
          '--no-git',
          '--no-install',
        ],
        staging,
      );
      replaceSample(path.join(staging, s.name), s);
    }
    for (const s of EXAMPLE_SERVICES) {
      for (const callee of s.calls) {
        step(`tsk add client ${callee} (in ${s.name})`);
        await tsk(['add', 'client', callee, '--proto', `../${callee}/api/${callee}`], path.join(staging, s.name));
      }
    }
    for (const s of EXAMPLE_SERVICES) {
      step(`npm run generate (in ${s.name})`);
      const root = path.join(staging, s.name);
      await tsk(['generate'], root);
    }
    writeRoot(staging);
  });
  try {
    await gitInit(target, 'Initial commit from tsk example');
  } catch (err) {
    // The example itself is complete; say what failed and how to finish by hand.
    console.error(`${chalk.yellow('warning:')} ${(err as Error).message}`);
    process.exitCode = 1;
  }
  const rel = path.relative(cwd, target) || '.';
  console.log(`${chalk.green('created')} ${rel}: user, order and gateway (${((performance.now() - started) / 1000).toFixed(1)}s)

Next steps:
  cd ${rel}
  npm install && npm run build    # commit the package-lock.json it writes: the images build from it
  etcd &                # or: docker compose up -d etcd jaeger otel-collector
  npm run dev           # the gateway answers on http://localhost:8000
  (the README walks through creating a user, placing an order and finding its trace)`);
}

function step(what: string): void {
  console.log(chalk.dim(what));
}

async function tsk(args: string[], cwd: string): Promise<void> {
  const r = await execa(process.execPath, [tskBin, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
  if (r.exitCode !== 0) throw new Error(`tsk ${args.join(' ')} failed in ${cwd}:\n${r.stderr || r.stdout}`);
}

/** The greeter sample out, the example's API and layers in; the manifest follows. */
function replaceSample(root: string, s: ExampleService): void {
  const sample = Object.keys(readManifest(root).files).filter(
    (f) => /(^|\/)greeter[._]/.test(f) || /^test\/.*\.test\.ts$/.test(f),
  );
  const fill = (text: string) =>
    text
      .replaceAll('__Svc__', s.api)
      .replaceAll('__svc__', s.name)
      .replaceAll('__REPO_IMPORT__', s.repo)
      .replaceAll('__REPO_NEW__', s.newRepo);
  const own: Record<string, string> = {
    Dockerfile: exampleDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'), s),
    [`cmd/${s.name}/services.ts`]: fill(read('common/services.ts')),
    'internal/data/data.ts': read('common/data.ts'),
    'internal/conf/conf.proto': withoutSampleDataMessage(
      fs.readFileSync(path.join(root, 'internal/conf/conf.proto'), 'utf8'),
    ),
    'deploy/kubernetes/configmap.yaml': withoutSampleDataInConfigMap(
      fs.readFileSync(path.join(root, 'deploy/kubernetes/configmap.yaml'), 'utf8'),
    ),
  };
  const serviceDir = path.join(exampleDir, s.name);
  for (const f of fs.readdirSync(serviceDir, { recursive: true, encoding: 'utf8' }) as string[]) {
    if (fs.statSync(path.join(serviceDir, f)).isFile())
      own[f.split(path.sep).join('/')] = fs.readFileSync(path.join(serviceDir, f), 'utf8');
  }
  // The README's calls were the greeter's; the example's are in the root README.
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  const sampleCalls = readme.filter((line) => /helloworld|\/users\/world|Greeter\/SayHello/.test(line));
  if (sampleCalls.length > 0) {
    const at = readme.indexOf(sampleCalls[0]!);
    own['README.md'] = [
      ...readme.slice(0, at),
      '# what to call: ../README.md walks through the example',
      ...readme.slice(at).filter((line) => !sampleCalls.includes(line)),
    ].join('\n');
  }
  own['configs/config.yaml'] = exampleConfig(fs.readFileSync(path.join(root, 'configs/config.yaml'), 'utf8'));
  // The service's own tests were about the greeter; the example is tested end to end from the root.
  own['package.json'] = editPackageJson(fs.readFileSync(path.join(root, 'package.json'), 'utf8'), (pkg) => {
    delete pkg.scripts?.['test'];
    // npm reads allowScripts from the workspaces' root (writeRoot) and warns about a member's.
    delete pkg['allowScripts'];
  });
  const files = Object.entries(own).map(([rel, content]) => ({ path: rel, content, kind: 'owned' as const }));
  writeFiles(files, { projectRoot: root, force: true, remove: sample });
  const tests = path.join(root, 'test');
  if (fs.existsSync(tests) && fs.readdirSync(tests).length === 0) fs.rmdirSync(tests);
}

/**
 * The service's image built from the repository root, from the workspaces' lockfile
 * (templates/example/common/Dockerfile), on the Node.js line its own Dockerfile names.
 */
function exampleDockerfile(serviceDockerfile: string, s: ExampleService): string {
  const nodeVersion = /^ARG NODE_VERSION=(\S+)$/m.exec(serviceDockerfile)?.[1];
  if (!nodeVersion) throw new Error(`${s.name}/Dockerfile names no NODE_VERSION`);
  // The service's own health check (its port, its environment prefix), continuation line
  // included, and its own start command.
  const healthcheck = /^HEALTHCHECK .*\\\n.*$/m.exec(serviceDockerfile)?.[0];
  if (!healthcheck) throw new Error(`${s.name}/Dockerfile has no HEALTHCHECK`);
  const cmd = /^CMD .*$/m.exec(serviceDockerfile)?.[0];
  if (!cmd) throw new Error(`${s.name}/Dockerfile has no CMD`);
  const manifests = EXAMPLE_SERVICES.map(
    (w) => `COPY ${w.name}/package.json ${w.name}/\nCOPY ${w.name}/.tsk/*.tgz ${w.name}/.tsk/`,
  ).join('\n');
  return read('common/Dockerfile')
    .replaceAll('__WORKSPACE_MANIFESTS__', manifests)
    .replaceAll('__NODE_VERSION__', nodeVersion)
    .replaceAll('__HEALTHCHECK__', () => healthcheck)
    .replaceAll('__CMD__', () => cmd)
    .replaceAll('__HTTP_PORT__', String(s.httpPort))
    .replaceAll('__GRPC_PORT__', String(s.grpcPort))
    .replaceAll('__svc__', s.name);
}

/** Every request traced: the example is there to show the trace. */
function exampleConfig(configYaml: string): string {
  const doc = parseDocument(withoutSampleDataConfig(configYaml));
  doc.setIn(['telemetry', 'sampling_ratio'], 1);
  return doc.toString({ flowCollectionPadding: false });
}

// The greeter's in-memory store had settings (seed_users, max_users) none of the example's
// services reads: they go from conf.proto's Data, the config and the ConfigMap's copy of it.
// Data stays, empty, where a database's settings would go.

function withoutSampleDataMessage(confProto: string): string {
  return confProto.replace(
    /^message Data \{[\s\S]*?^\}/m,
    "message Data {\n  // The service's data sources (a database, a cache) are configured here.\n}",
  );
}

function withoutSampleDataConfig(configYaml: string): string {
  const doc = parseDocument(configYaml);
  if (!doc.hasIn(['data'])) return configYaml;
  doc.setIn(['data'], doc.createNode({}));
  return doc.toString({ flowCollectionPadding: false });
}

function withoutSampleDataInConfigMap(configMapYaml: string): string {
  const next = editConfigMapConfig(configMapYaml, withoutSampleDataConfig);
  if (next === undefined) throw new Error('the ConfigMap holds no config.yaml');
  return next;
}

function read(rel: string): string {
  return fs.readFileSync(path.join(exampleDir, rel), 'utf8');
}

/** Root files stored without their leading dot (npm would drop .gitignore from tsk's package). */
const DOTFILES = new Set(['gitignore', 'dockerignore']);

function writeRoot(root: string): void {
  const rootDir = path.join(exampleDir, 'root');
  const files = (fs.readdirSync(rootDir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => fs.statSync(path.join(rootDir, f)).isFile())
    .map((f) => {
      const content = fs.readFileSync(path.join(rootDir, f), 'utf8');
      return {
        path: DOTFILES.has(f) ? `.${f}` : f,
        // npm reads the install-scripts policy from the workspaces' root only.
        content:
          f === 'package.json'
            ? editPackageJson(content, (pkg) => {
                pkg['allowScripts'] = { ...TOOLCHAIN_INSTALL_SCRIPTS };
              })
            : content,
        kind: 'owned' as const,
      };
    });
  writeFiles(files, { root });
}
