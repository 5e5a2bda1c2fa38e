// Codegen benchmark: tsk proto client (cold, warm, one proto changed) against raw
// `buf generate` + ts-proto on the same synthetic tree, in the same run.
// Tree: 50 protos, 1,500 messages, 500 RPCs with google.api.http rules.
// Usage: npm run build && node bench/codegen.js [--files 50] [--rounds 1]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TS_PROTO_OPTIONS } from '../dist/gen/tsproto.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FILES = arg('files', 50);
const ROUNDS = arg('rounds', 1);
const MESSAGES_PER_FILE = 30;
const RPCS_PER_FILE = 10;

/** One package per file, as services usually are: api/bench/s<i>/v1/s<i>.proto. */
export function syntheticProto(i, extraField = false) {
  const lines = ['syntax = "proto3";', '', `package bench.s${i}.v1;`, '', 'import "google/api/annotations.proto";', ''];
  lines.push(`service Service${i} {`);
  for (let r = 0; r < RPCS_PER_FILE; r++) {
    const verb = ['get', 'post', 'put', 'delete', 'patch'][r % 5];
    const body = verb === 'get' || verb === 'delete' ? '' : ' body: "*"';
    lines.push(`  rpc Call${r}(Msg${r * 2}) returns (Msg${r * 2 + 1}) {`);
    lines.push(`    option (google.api.http) = { ${verb}: "/v1/s${i}/things/{id}/call${r}"${body} };`);
    lines.push('  }');
  }
  lines.push('}', '');
  for (let m = 0; m < MESSAGES_PER_FILE; m++) {
    lines.push(
      `message Msg${m} {`,
      '  string id = 1;',
      '  int64 count = 2;',
      '  repeated string tags = 3;',
      '  bool enabled = 4;',
    );
    lines.push(`  Kind kind = 5;`, `  map<string, string> labels = 6;`, `  double score = 7;`);
    if (m + 1 < MESSAGES_PER_FILE) lines.push(`  Msg${m + 1} next = 8;`);
    if (extraField && m === 0) lines.push('  string added = 9;');
    lines.push('}', '');
  }
  lines.push('enum Kind {', '  KIND_UNSPECIFIED = 0;', '  KIND_A = 1;', '  KIND_B = 2;', '}', '');
  return lines.join('\n');
}

export function makeTree(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < FILES; i++) {
    const file = path.join(dir, 'api', 'bench', `s${i}`, 'v1', `s${i}.proto`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, syntheticProto(i));
  }
  fs.cpSync(path.join(repo, 'proto', 'google'), path.join(dir, 'third_party', 'google'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n  - path: third_party\n');
  fs.writeFileSync(
    path.join(dir, 'buf.gen.yaml'),
    `version: v2\nplugins:\n  - local: ["${process.execPath}", "${path.join(repo, 'node_modules', 'ts-proto', 'protoc-gen-ts_proto')}"]\n    out: gen\n    opt:\n      - ${TS_PROTO_OPTIONS}\n`,
  );
}

function timed(cmd, args, cwd) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

async function main() {
  const dir = path.join(os.tmpdir(), `tsk-bench-codegen-${process.pid}`);
  const tsk = path.join(repo, 'bin', 'tsk.js');
  const buf = path.join(repo, 'node_modules', '.bin', 'buf');
  const results = { raw: [], cold: [], warm: [], changed: [] };
  const load = () => os.loadavg()[0].toFixed(1);
  const loadAtStart = load();
  try {
    makeTree(dir);
    for (let round = 0; round < ROUNDS; round++) {
      fs.rmSync(path.join(dir, 'gen'), { recursive: true, force: true });
      results.raw.push(timed(buf, ['generate', '--template', 'buf.gen.yaml', '--path', 'api/bench'], dir));

      fs.rmSync(path.join(dir, '.tsk'), { recursive: true, force: true });
      for (const f of fs.readdirSync(path.join(dir, 'api'), { recursive: true }))
        if (String(f).endsWith('.ts')) fs.rmSync(path.join(dir, 'api', String(f)));
      results.cold.push(timed(process.execPath, [tsk, 'proto', 'client', 'api'], dir));
      results.warm.push(timed(process.execPath, [tsk, 'proto', 'client', 'api'], dir));
      const changedIndex = Math.min(7, FILES - 1);
      const changed = path.join(dir, 'api', 'bench', `s${changedIndex}`, 'v1', `s${changedIndex}.proto`);
      fs.writeFileSync(changed, syntheticProto(changedIndex, round % 2 === 0));
      results.changed.push(timed(process.execPath, [tsk, 'proto', 'client', 'api'], dir));
    }
    const raw = median(results.raw);
    console.log(
      `codegen: ${FILES} protos, ${FILES * MESSAGES_PER_FILE} messages, ${FILES * RPCS_PER_FILE} RPCs with HTTP rules; ${ROUNDS} round(s), medians; ${os.availableParallelism()} cores; load average ${loadAtStart} at the start, ${load()} at the end`,
    );
    console.log('case                                   ms   x raw');
    const row = (name, ms) => console.log(`${name.padEnd(34)} ${ms.toFixed(0).padStart(7)}   ${(ms / raw).toFixed(2)}`);
    row('raw buf generate + ts-proto', raw);
    row('tsk proto client, cold', median(results.cold));
    row('tsk proto client, warm (unchanged)', median(results.warm));
    row('tsk proto client, one proto changed', median(results.changed));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
