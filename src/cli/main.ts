// The tsk command line: commander wiring only; each command's work lives elsewhere.
import { Command, Option } from 'commander';
import chalk from 'chalk';
import { CompileError, UsageError } from '../proto/diagnostics.js';
import { tskVersion } from '../proto/paths.js';
import { errorsGen, protoAdd, protoClient, protoOpenApi, protoServer } from './commands/proto.js';
import { newProject } from './commands/new.js';
import { upgrade } from './commands/upgrade.js';
import { switchRegistry } from './commands/registry.js';
import { addClient } from './commands/client.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(): Command {
  const program = new Command('tsk')
    .description('Kratos-style services for TypeScript: scaffold a service, generate code from protos')
    .version(tskVersion(), '-v, --version', 'print the tsk version')
    .showHelpAfterError();

  program
    .command('new')
    .description('create a new service project (HTTP :8000, gRPC :9000, tracing, metrics, registry, Docker, Kubernetes)')
    .argument('<name>', 'service name: a valid npm package name, e.g. helloworld')
    .option('-d, --dir <dir>', 'directory to create the project in (default: ./<name>)')
    .addOption(new Option('--registry <kind>', 'service registry').choices(['etcd', 'consul', 'none']))
    .option('--http-port <port>', 'HTTP port', parsePort)
    .option('--grpc-port <port>', 'gRPC port', parsePort)
    .option('--otlp-endpoint <url>', 'OTLP collector endpoint (gRPC)')
    .addOption(new Option('--package-manager <pm>', 'package manager for the install step').choices(['npm', 'pnpm', 'yarn']))
    .option('--no-install', 'skip installing dependencies')
    .option('--no-git', 'skip git init and the first commit')
    .option('-f, --force', 'create the project even if the directory is not empty')
    .option('-y, --yes', 'take defaults for everything not given; never prompt')
    .action(newProject);

  const proto = program.command('proto').description('work with .proto files');
  proto
    .command('add')
    .description('write a CRUD service proto with HTTP rules (package from its path: api/user/v1/user.proto -> user.v1)')
    .argument('<file>', 'the .proto file to create')
    .option('-I, --proto_path <dir>', 'import root (repeatable); default: buf.yaml modules, else the current directory', collect)
    .action((file: string, opts: { proto_path?: string[] }) => protoAdd(file, { protoPath: opts.proto_path }));
  proto
    .command('client')
    .description('generate messages, gRPC and HTTP servers/clients and error helpers next to each proto')
    .argument('<inputs...>', '.proto files or directories')
    .option('-I, --proto_path <dir>', 'import root (repeatable); default: buf.yaml modules, else the current directory', collect)
    .option('--runtime <dir>', 'runtime directory generated code imports (default: the project\'s internal/pkg)')
    .option('--openapi', 'also write an OpenAPI 3.1 document per service (<file>.<Service>.openapi.json)')
    .option('--fetch', 'also write a browser fetch client per proto file (<file>_fetch.ts, no runtime imports)')
    .option('-f, --force', 'overwrite generated files even if changed locally')
    .action((inputs: string[], opts: { proto_path?: string[]; runtime?: string; force?: boolean; openapi?: boolean; fetch?: boolean }) =>
      protoClient(inputs, { protoPath: opts.proto_path, runtime: opts.runtime, force: opts.force, openapi: opts.openapi, fetch: opts.fetch }));
  proto
    .command('openapi')
    .description('write OpenAPI 3.1 documents of the HTTP API: one per service next to its proto, or one file with -o')
    .argument('<inputs...>', '.proto files or directories')
    .option('-I, --proto_path <dir>', 'import root (repeatable); default: buf.yaml modules, else the current directory', collect)
    .option('-o, --output <file>', 'one document for every service, written to this file (.json, or .ts for a module exporting openApiDocument)')
    .option('--title <text>', 'info.title (default: the service name)')
    .option('--api-version <text>', 'info.version (default: the package version suffix, e.g. v1)')
    .option('-f, --force', 'overwrite generated files even if changed locally')
    .action((inputs: string[], opts: { proto_path?: string[]; output?: string; title?: string; apiVersion?: string; force?: boolean }) =>
      protoOpenApi(inputs, { protoPath: opts.proto_path, output: opts.output, title: opts.title, version: opts.apiVersion, force: opts.force }));
  proto
    .command('server')
    .description('write a service implementation stub per service (existing files are never overwritten)')
    .argument('<file>', 'the .proto file')
    .requiredOption('-t, --target <dir>', 'directory for the stubs, e.g. internal/service')
    .option('-I, --proto_path <dir>', 'import root (repeatable)', collect)
    .option('--runtime <dir>', 'runtime directory the stub imports (default: the project\'s internal/pkg)')
    .action((file: string, opts: { target: string; proto_path?: string[]; runtime?: string }) =>
      protoServer(file, { target: opts.target, protoPath: opts.proto_path, runtime: opts.runtime }));

  program
    .command('errors')
    .description('error helpers from error-reason enums')
    .command('gen')
    .description('generate isX/errorX helpers for enums annotated with (errors.default_code) / (errors.code)')
    .argument('[inputs...]', '.proto files or directories (default: api/, else the current directory)')
    .option('-I, --proto_path <dir>', 'import root (repeatable)', collect)
    .option('--runtime <dir>', 'runtime directory generated code imports')
    .option('-f, --force', 'overwrite generated files even if changed locally')
    .action((inputs: string[], opts: { proto_path?: string[]; runtime?: string; force?: boolean }) =>
      errorsGen(inputs, { protoPath: opts.proto_path, runtime: opts.runtime, force: opts.force }));

  program
    .command('upgrade')
    .description("refresh the project's vendored runtime (internal/pkg) to this tsk version; locally changed files are reported, not overwritten")
    .option('-f, --force', 'overwrite locally changed runtime files too')
    .action(upgrade);

  program
    .command('add')
    .description('add to the project')
    .command('client')
    .description("call another service from the data layer: copy its API protos, generate its clients, wire a connection in internal/data")
    .argument('<service>', 'the service to call, as it registers (e.g. user)')
    .requiredOption('--proto <path>', "the service's API: a .proto file or a directory of them (e.g. ../user/api/user)")
    .option('--proto-root <dir>', 'import root of those protos (default: the nearest directory named api above them)')
    .action((service: string, opts: { proto: string; protoRoot?: string }) => addClient(service, opts));

  program
    .command('registry')
    .description("switch the project's service registry (dependency, vendored client, config, ConfigMap, internal/server/registry.ts)")
    .argument('<kind>', 'none, etcd or consul')
    .option('-f, --force', 'replace registry files even if changed by hand')
    .action(switchRegistry);

  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`invalid port "${value}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = 1;
    if (err instanceof CompileError) console.error(err.message);
    else if (err instanceof UsageError) console.error(`${chalk.red('error:')} ${err.message}`);
    else if (err instanceof Error && err.name === 'CommanderError') console.error(err.message);
    else console.error(`${chalk.red('error:')} ${err instanceof Error ? err.message : String(err)}`);
  }
}
