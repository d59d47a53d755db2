#!/usr/bin/env node
// Wall time of `smartmeter cassandra init` of the full smart-meter schema into a fresh keyspace
// on the rig's Cassandra (npm run rig -- up cassandra), and of the second, no-op run.
// Target: ≤ 10 s for the fresh init. Usage: node bench/cassandra-init.ts [--runs 5]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

function init(keyspace: string): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [join(root, 'bin', 'smartmeter'), 'cassandra', 'init', '--keyspace', keyspace, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const fresh: number[] = [];
const again: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const keyspace = `bench_init_${Date.now()}_${i}`;
  fresh.push(init(keyspace));
  again.push(init(keyspace));
  spawnSync(process.execPath, ['-e', `const d=require('cassandra-driver');const c=new d.Client({contactPoints:['127.0.0.1'],localDataCenter:'datacenter1'});c.execute('DROP KEYSPACE ${keyspace}').finally(()=>c.shutdown())`], { cwd: root });
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`runs: ${runs}; whole command, process start included`);
console.log(`fresh keyspace, full schema   median ${median(fresh).toFixed(0)} ms   max ${Math.max(...fresh).toFixed(0)} ms   target ≤ 10000 ms`);
console.log(`second run (nothing to apply)  median ${median(again).toFixed(0)} ms`);
