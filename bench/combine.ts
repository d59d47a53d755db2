#!/usr/bin/env node
// Wall time of `smartmeter combine` of the full stack against `node -e 0` (the floor for any
// Node CLI), measured in the same run, interleaved, so machine noise hits both alike.
// Target: combine ≤ 2.5 × node -e 0. Usage: npm run bench:combine [-- --runs 40]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
const FULL_STACK = ['root_metrics', 'inject', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'monitoring'];

const subjects: Record<string, [command: string, args: string[]]> = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'smartmeter combine (full stack)': [process.execPath, [join(root, 'bin', 'smartmeter'), 'combine', 'local', 'single', 'secrets', ...FULL_STACK]],
};

function timeOnce([command, args]: [string, string[]]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
for (const subject of Object.values(subjects)) timeOnce(subject); // warm the file cache
for (let i = 0; i < runs; i += 1) {
  for (const [name, subject] of Object.entries(subjects)) samples[name]!.push(timeOnce(subject));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]): number => Math.min(...xs);
const [baseline, combine] = Object.keys(subjects) as [string, string];
console.log(`runs: ${runs} each, interleaved; node ${process.version}`);
console.log('subject                              median ms   min ms');
for (const [name, xs] of Object.entries(samples)) {
  console.log(`${name.padEnd(36)} ${median(xs).toFixed(1).padStart(9)} ${min(xs).toFixed(1).padStart(8)}`);
}
const ratio = median(samples[combine]!) / median(samples[baseline]!);
console.log(`ratio (median): ${ratio.toFixed(2)} × node -e 0   target ≤ 2.50   ${ratio <= 2.5 ? 'OK' : 'OVER'}`);
