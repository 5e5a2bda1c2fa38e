// ts-proto's worker threads (tsproto-worker.ts), apart from the rest of tsproto.ts so a
// run can start them before it loads the compiler and the protobuf runtime: loading
// ts-proto in a worker then overlaps everything else that comes before generating.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { tsProtoPlugin } from '../proto/paths.js';
import type { TsProtoWorkerData } from './tsproto-worker.js';

/** Below this many files per worker, another worker's start-up costs more than it saves. */
const MIN_FILES_PER_WORKER = 4;

/** How many workers `files` protos are split over. */
export function chunkCount(files: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(files / MIN_FILES_PER_WORKER)));
}

/**
 * ts-proto workers started before their requests exist (for `files` protos), so
 * loading the plugin overlaps compiling the protos. Pass them to runTsProto, or close them.
 */
export class TsProtoWorkers {
  private readonly idle: PluginWorker[];

  constructor(files: number, options: WorkerOptions = {}) {
    this.idle = Array.from({ length: chunkCount(files) }, () => startPluginWorker(options));
  }

  take(): PluginWorker | undefined {
    return this.idle.pop();
  }

  /** Stops the workers no request went to. */
  close(): void {
    for (const worker of this.idle.splice(0)) worker.cancel();
  }
}

/** How the worker formats: see TsProtoWorkerData. */
export type WorkerOptions = Omit<TsProtoWorkerData, 'plugin'>;

export interface PluginWorker {
  /** Sends the request as the plugin's stdin; resolves with its stdout once it exits. */
  run(input: Uint8Array): Promise<Buffer>;
  cancel(): void;
}

/** ts-proto's plugin started in a worker thread, waiting for its stdin as the plugin protocol wants it. */
export function startPluginWorker(options: WorkerOptions = {}): PluginWorker {
  const data: TsProtoWorkerData = { plugin: tsProtoPlugin(), ...options };
  const worker = new Worker(new URL('./tsproto-worker.js', import.meta.url), {
    stdin: true,
    stdout: true,
    stderr: true,
    argv: [],
    workerData: data,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  worker.stdout.on('data', (d: Buffer) => out.push(d));
  worker.stderr.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<Buffer>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ts-proto exited with ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
  });
  exited.catch(() => {}); // seen by run(); a cancelled worker's exit is no error
  return {
    run(input) {
      worker.stdin!.end(input);
      return exited;
    },
    cancel() {
      void worker.terminate();
    },
  };
}
