#!/usr/bin/env node
// Wall time of `smartmeter combine` of the full stack against `node -e 0` (the floor for any
// Node CLI), measured in the same run, interleaved, so machine noise hits both alike; on one or
// more Node binaries (each line is its own baseline). The code caches (bin/smartmeter) are warm
// after the first run, as they are for a user; the same combine without them
// (NODE_DISABLE_COMPILE_CACHE=1, as on a first run) is printed for reference, not the target.
// Target: combine ≤ 2.5 × node -e 0 on each line.
// Usage: npm run bench:combine [-- --runs 40] [-- --node /path/to/node ...]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const runsArg = argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : 30;
const nodes = argv.flatMap((arg, i) => (arg === '--node' && argv[i + 1] ? [argv[i + 1]!] : []));
if (nodes.length === 0) nodes.push(process.execPath);
const FULL_STACK = ['root_metrics', 'inject', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'monitoring'];
const COMBINE = [join(root, 'bin', 'smartmeter'), 'combine', 'local', 'single', 'secrets', ...FULL_STACK];

interface Subject {
  args: string[];
  env?: Record<string, string>;
}
const subjects: Record<string, Subject> = {
  'node -e 0': { args: ['-e', '0'] },
  'smartmeter combine (full stack)': { args: COMBINE },
  '  same, no code caches': { args: COMBINE, env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
};

function timeOnce(node: string, { args, env }: Subject): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(node, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${node} ${args.join(' ')} exited with ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let over = false;
for (const node of nodes) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  for (const subject of Object.values(subjects)) timeOnce(node, subject); // warm the file and compile caches
  for (let i = 0; i < runs; i += 1) {
    for (const [name, subject] of Object.entries(subjects)) samples[name]!.push(timeOnce(node, subject));
  }
  const baseline = median(samples['node -e 0']!);
  console.log(`\nnode ${version} (${node}); runs: ${runs} each, interleaved`);
  console.log('subject                              median ms   min ms   × node -e 0');
  for (const [name, xs] of Object.entries(samples)) {
    console.log(`${name.padEnd(36)} ${median(xs).toFixed(1).padStart(9)} ${Math.min(...xs).toFixed(1).padStart(8)} ${(median(xs) / baseline).toFixed(2).padStart(13)}`);
  }
  const ratio = median(samples['smartmeter combine (full stack)']!) / baseline;
  over ||= ratio > 2.5;
  console.log(`ratio (median): ${ratio.toFixed(2)} × node -e 0   target ≤ 2.50   ${ratio <= 2.5 ? 'OK' : 'OVER'}`);
}
process.exitCode = over ? 1 : 0;
