// The tsk command line: commander wiring only; each command's work lives elsewhere.
import { Argument, Command, Option } from 'commander';
import chalk from 'chalk';
import { CompileError, UsageError } from '../proto/diagnostics.js';
import { tskVersion } from '../proto/paths.js';
import type { NewFlags } from './commands/new.js';
import { PACKAGE_MANAGERS } from '../scaffold/package-manager.js';
import { CLIENT_TRANSPORTS } from '../scaffold/clients.js';
import { completionCandidates, completionScript, repeatable, SHELLS, type Shell, valuesOf } from './completion.js';

// Each command's module (and what it imports) loads only when that command runs:
// a warm `tsk proto client` should not pay for the scaffolder or the prompts.
const proto = () => import('./commands/proto.js');

const collect = repeatable((value: string, previous: string[] = []) => [...previous, value]);

// The flags of every command that writes generated files over earlier ones.
const forceOption = () => new Option('-f, --force', 'overwrite generated files even if changed locally');
const keepLocalOption = (files = 'generated') =>
  new Option(
    '--keep-local',
    `keep locally changed ${files} files and exit 0 (default: they are reported and the exit code is 1)`,
  ).conflicts('force');

export function buildProgram(): Command {
  const program = new Command('tsk')
    .description('Kratos-style services for TypeScript: scaffold a service, generate code from protos')
    .version(tskVersion(), '-v, --version', 'print the tsk version')
    .showHelpAfterError();

  program
    .command('new')
    .description(
      'create a new service project (HTTP :8000, gRPC :9000, tracing, metrics, registry, Docker, Kubernetes)',
    )
    .argument(
      '[name]',
      'service name: lower-case letters, digits and -, e.g. helloworld (it names the npm package and the Kubernetes Service); asked for on a terminal when left out',
    )
    .option('-d, --dir <dir>', 'directory to create the project in (default: ./<name>)')
    .addOption(new Option('--registry <kind>', 'service registry').choices(['etcd', 'consul', 'none']))
    .option('--http-port <port>', 'HTTP port', parsePort)
    .option('--grpc-port <port>', 'gRPC port', parsePort)
    .option('--otlp-endpoint <url>', 'OTLP collector endpoint (gRPC)')
    .addOption(new Option('--package-manager <pm>', 'package manager for the install step').choices(PACKAGE_MANAGERS))
    .option('--no-install', 'skip installing dependencies')
    .option('--no-git', 'skip git init and the first commit')
    .option('-f, --force', 'create the project even if the directory is not empty')
    .option('-y, --yes', 'take defaults for everything not given; never prompt')
    .action(async (name: string | undefined, flags: NewFlags) =>
      (await import('./commands/new.js')).newProject(name, flags),
    );

  const protoCmd = program.command('proto').description('work with .proto files');
  protoCmd
    .command('add')
    .description(
      'write a CRUD service proto with HTTP rules (package from its path: api/user/v1/user.proto -> user.v1)',
    )
    .argument('<file>', 'the .proto file to create, relative to the project root (e.g. api/user/v1/user.proto)')
    .option('-I, --proto_path <dir>', "import root (repeatable); default: the project's buf.yaml modules", collect)
    .action(async (file: string, opts: { proto_path?: string[] }) =>
      (await import('./commands/proto-add.js')).protoAdd(file, { protoPath: opts.proto_path }),
    );
  protoCmd
    .command('client')
    .description('generate messages, gRPC and HTTP servers/clients and error helpers next to each proto')
    .argument('<inputs...>', '.proto files or directories')
    .option(
      '-I, --proto_path <dir>',
      'import root (repeatable); default: the buf.yaml modules of the project holding the protos',
      collect,
    )
    .option('--runtime <dir>', "runtime directory generated code imports (default: the project's internal/pkg)")
    .option('--openapi', 'also write an OpenAPI 3.1 document per service (<file>.<Service>.openapi.json)')
    .option('--fetch', 'also write a browser fetch client per proto file (<file>_fetch.ts, no runtime imports)')
    .addOption(forceOption())
    .addOption(keepLocalOption())
    .action(
      async (
        inputs: string[],
        opts: {
          proto_path?: string[];
          runtime?: string;
          force?: boolean;
          keepLocal?: boolean;
          openapi?: boolean;
          fetch?: boolean;
        },
      ) =>
        (await proto()).protoClient(inputs, {
          protoPath: opts.proto_path,
          runtime: opts.runtime,
          force: opts.force,
          keepLocal: opts.keepLocal,
          openapi: opts.openapi,
          fetch: opts.fetch,
        }),
    );
  protoCmd
    .command('openapi')
    .description('write OpenAPI 3.1 documents of the HTTP API: one per service next to its proto, or one file with -o')
    .argument('<inputs...>', '.proto files or directories')
    .option(
      '-I, --proto_path <dir>',
      'import root (repeatable); default: the buf.yaml modules of the project holding the protos',
      collect,
    )
    .option(
      '-o, --output <file>',
      'one document for every service, written to this file (.json, .yaml, or .ts for a module exporting openApiDocument)',
    )
    .option('--title <text>', 'info.title (default: the service name)')
    .option('--api-version <text>', 'info.version (default: the package version suffix, e.g. v1)')
    .addOption(forceOption())
    .addOption(keepLocalOption())
    .action(
      async (
        inputs: string[],
        opts: {
          proto_path?: string[];
          output?: string;
          title?: string;
          apiVersion?: string;
          force?: boolean;
          keepLocal?: boolean;
        },
      ) =>
        (await import('./commands/proto-openapi.js')).protoOpenApi(inputs, {
          protoPath: opts.proto_path,
          output: opts.output,
          title: opts.title,
          version: opts.apiVersion,
          force: opts.force,
          keepLocal: opts.keepLocal,
        }),
    );
  protoCmd
    .command('server')
    .description('write a service implementation stub per service (existing files are never overwritten)')
    .argument('<file>', 'the .proto file')
    .requiredOption(
      '-t, --target <dir>',
      '(required) directory for the stubs, relative to the project root, e.g. internal/service',
    )
    .option('-I, --proto_path <dir>', 'import root (repeatable)', collect)
    .option('--runtime <dir>', "runtime directory the stub imports (default: the project's internal/pkg)")
    .action(async (file: string, opts: { target: string; proto_path?: string[]; runtime?: string }) =>
      (await import('./commands/proto-server.js')).protoServer(file, {
        target: opts.target,
        protoPath: opts.proto_path,
        runtime: opts.runtime,
      }),
    );

  program
    .command('errors')
    .description('error helpers from error-reason enums')
    .command('gen')
    .description('generate isX/errorX helpers for enums annotated with (errors.default_code) / (errors.code)')
    .argument('[inputs...]', '.proto files or directories (default: api/, else the current directory)')
    .option('-I, --proto_path <dir>', 'import root (repeatable)', collect)
    .option('--runtime <dir>', 'runtime directory generated code imports')
    .addOption(forceOption())
    .addOption(keepLocalOption())
    .action(
      async (
        inputs: string[],
        opts: { proto_path?: string[]; runtime?: string; force?: boolean; keepLocal?: boolean },
      ) =>
        (await proto()).errorsGen(inputs, {
          protoPath: opts.proto_path,
          runtime: opts.runtime,
          force: opts.force,
          keepLocal: opts.keepLocal,
        }),
    );

  program
    .command('generate')
    .description(
      "the project's whole generate step (what npm run generate runs): api/openapi.ts, api/services.ts and api/descriptors.ts, then the code of the protos in api/ and internal/conf/",
    )
    .addOption(forceOption())
    .addOption(keepLocalOption())
    .action(async (opts: { force?: boolean; keepLocal?: boolean }) =>
      (await import('./commands/generate.js')).generate(opts),
    );

  program
    .command('dev')
    .description(
      'watch protos, sources, tests and config: regenerate, typecheck, check the config and restart the service on each change; a failed step keeps the last good one running',
    )
    .option(
      '--conf <file|store>',
      "config for the service, repeatable, merged in order: files, directories, etcd:// or consul:// keys (default: the project's configs/config.yaml)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--inspect [host:port]',
      "open Node's inspector in the service, for a debugger to attach (default 127.0.0.1:9229); it opens again at each restart",
    )
    .action(async (opts: { conf?: string[]; inspect?: string | true }) =>
      (await import('./commands/dev.js')).dev(opts),
    );

  program
    .command('bundle')
    .description(
      "bundle the compiled service (dist/cmd/<name>/main.js) into dist/bundle/ for a faster start; the project's own dependencies stay in node_modules",
    )
    .option(
      '--external <package...>',
      'also keep these packages out of the bundle (e.g. to let an instrumentation patch them)',
    )
    .action(async (opts: { external?: string[] }) => (await import('./commands/bundle.js')).bundle(opts));

  program
    .command('upgrade')
    .description(
      "refresh the project's vendored runtime (internal/pkg), the npm packages it imports (package.json) and the vendored tsk to this tsk version; locally changed files are reported, not overwritten",
    )
    .option('-f, --force', 'overwrite locally changed runtime files too')
    .addOption(keepLocalOption('runtime'))
    .action(async (opts: { force?: boolean; keepLocal?: boolean }) =>
      (await import('./commands/upgrade.js')).upgrade(opts),
    );

  program
    .command('add')
    .description('add to the project')
    .command('client')
    .description(
      'call another service from the data layer: copy its API protos, generate its clients, wire a connection in internal/data',
    )
    .argument('<service>', 'the service to call, as it registers (e.g. user)')
    .requiredOption('--proto <path>', "the service's API: a .proto file or a directory of them (e.g. ../user/api/user)")
    .option('--proto-root <dir>', 'import root of those protos (default: the nearest directory named api above them)')
    .addOption(
      valuesOf(
        new Option('--transport <kind>', 'call it over grpc (default) or http (its google.api.http bindings)'),
        CLIENT_TRANSPORTS,
      ),
    )
    .addOption(forceOption())
    .addOption(keepLocalOption())
    .action(
      async (
        service: string,
        opts: { proto: string; protoRoot?: string; transport?: string; force?: boolean; keepLocal?: boolean },
      ) => (await import('./commands/client.js')).addClient(service, opts),
    );

  program
    .command('example')
    .description(
      'write an example system built with tsk: microservices (gateway -> order -> user over etcd, one trace, compose.yaml)',
    )
    .addArgument(valuesOf(new Argument('<kind>', 'the example'), ['microservices']))
    .argument('<dir>', 'directory to create (must not exist or be empty)')
    .action(async (kind: string, dir: string) => (await import('./commands/example.js')).example(kind, dir));

  program
    .command('registry')
    .description(
      "switch the project's service registry (dependency, vendored client, config, ConfigMap, Deployment, internal/server/registry.ts)",
    )
    .addArgument(valuesOf(new Argument('<kind>', 'the registry'), ['none', 'etcd', 'consul']))
    .option('-f, --force', 'replace registry files even if changed by hand')
    .action(async (kind: string, opts: { force?: boolean }) =>
      (await import('./commands/registry.js')).switchRegistry(kind, opts),
    );

  program
    .command('completion')
    .description('print a shell completion script (commands, flags, flag values; file names elsewhere)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .addHelpText(
      'after',
      '\nbash: source <(tsk completion bash)   zsh: source <(tsk completion zsh)\nfish: tsk completion fish > ~/.config/fish/completions/tsk.fish',
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell));
    });

  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`invalid port "${value}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  // What the completion scripts call: the words typed so far, the last one partial.
  if (argv[2] === '__complete') {
    for (const candidate of completionCandidates(buildProgram(), argv.slice(3))) console.log(candidate);
    return;
  }
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
