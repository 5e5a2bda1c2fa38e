// A worker thread running ts-proto's protoc plugin script as it is, with its formatter
// (dprint-node, which ts-poet requires) replaced by splitFormatter over it: the same
// output, in a fraction of the time for large files. The plugin reads the request
// from this thread's stdin and writes the response to its stdout, as in a process.
import { createRequire } from 'node:module';
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import { fileMemo } from './format-memo.js';
import { splitFormatter, type Formatter } from './format-split.js';

export interface TsProtoWorkerData {
  /** ts-proto's plugin script (protoc-gen-ts_proto). */
  plugin: string;
  /** Texts shorter than this are formatted whole; by default splitFormatter's own threshold. */
  splitMinChars?: number | undefined;
  /** Where formatted statements are remembered across runs (the project's cache); none without. */
  formatMemoDir?: string | undefined;
}

const { plugin, splitMinChars, formatMemoDir } = workerData as TsProtoWorkerData;
const pluginRequire = createRequire(plugin);
// dprint-node as ts-poet resolves it (ts-poet is ts-proto's dependency).
const dprintPath = createRequire(pluginRequire.resolve('ts-poet')).resolve('dprint-node');
const dprint = pluginRequire(dprintPath) as Formatter;
const cached = pluginRequire.cache[dprintPath];
if (!cached) throw new Error(`dprint-node did not load from ${dprintPath}`);
const dprintVersion = (pluginRequire(path.join(path.dirname(dprintPath), 'package.json')) as { version: string })
  .version;
cached.exports = splitFormatter(dprint, {
  minChars: splitMinChars,
  memo: formatMemoDir ? fileMemo(formatMemoDir, `dprint-node ${dprintVersion}`) : undefined,
});
pluginRequire(plugin);
