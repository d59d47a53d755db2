#!/usr/bin/env node
// Rows per second written by `smartmeter ingest --jetstream` from a pre-filled JetStream stream,
// against a bare cassandra-driver executeConcurrent loop inserting the same rows into the same
// Cassandra, in the same run; plus ingest's peak RSS. Needs the rig: npm run rig -- up nats cassandra.
// Targets: ≥ 0.8 × the bare loop, ≥ 20,000 rows/s if the bare loop allows it, RSS ≤ 250 MB.
// Rounds alternate ingest and the bare loop, so machine noise hits both alike.
// Usage: node bench/ingest.mjs [--rows 100000] [--concurrency 512] [--rounds 3]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import driver from 'cassandra-driver';
import { connect } from 'nats';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rows = arg('--rows', 100_000);
const concurrency = arg('--concurrency', 512);
const smartmeter = join(root, 'bin', 'smartmeter');
const tag = Date.now() % 1_000_000;

function reading(i) {
  const payload = new Uint8Array(56);
  const view = new DataView(payload.buffer);
  view.setBigInt64(0, BigInt(1_700_000_000 + 60 * i));
  view.setFloat32(8, 110 + (i % 100) / 10);
  view.setFloat32(12, 100.5);
  for (let k = 0; k < 10; k += 1) view.setFloat32(16 + 4 * k, 3 + k);
  return { line: 11 + (i % 5), transformer: 1 + (Math.floor(i / 5) % 10), point: 1 + i, payload };
}

function init(keyspace) {
  const r = spawnSync(process.execPath, [smartmeter, 'cassandra', 'init', '--keyspace', keyspace], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

const rounds = arg('--rounds', 3);
const client = new driver.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'datacenter1' });
const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();
const insertInto = (ks) => `INSERT INTO ${ks}.raw_data (line, transformer, usagepoint, year, month, day, hour, minute, day_of_week, voltage, demand, val3, val4, val5, val6, val7, val8, val9, val10, val11, val12, epoch) VALUES (${Array(22).fill('?').join(', ')})`;
const params = Array.from({ length: rows }, (_, i) => {
  const r = reading(i);
  const view = new DataView(r.payload.buffer);
  const d = new Date((1_700_000_000 + 60 * i) * 1000);
  return [r.line, r.transformer, r.point, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCDay(),
    view.getFloat32(8), view.getFloat32(12), ...Array.from({ length: 10 }, (_, k) => view.getFloat32(16 + 4 * k)), 1_700_000_000 + 60 * i];
});
// The bare loop's rate, and its CPU per row (this process does nothing else meanwhile).
const bareLoop = async (ks) => {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await driver.concurrent.executeConcurrent(client, insertInto(ks), params, { concurrencyLevel: concurrency, raiseOnFirstError: true });
  const used = process.cpuUsage(cpu);
  return { rate: rows / (Number(process.hrtime.bigint() - started) / 1e9), cpuUs: (used.user + used.system) / rows };
};
const count = async (ks) => Number((await client.execute(`SELECT COUNT(*) FROM ${ks}.raw_data`)).first().get('count'));

// A bare load first warms Cassandra up (JIT, memtables).
const warmKs = `bench_warm_${tag}`;
init(warmKs);
await bareLoop(warmKs);
await client.execute(`DROP KEYSPACE ${warmKs}`);

const results = [];
for (let round = 0; round < rounds; round += 1) {
  // Fill a stream, let ingest drain it (peak RSS from GNU time), then the bare loop: same rows, same statement.
  const stream = `BENCH_${tag}_${round}`;
  const prefix = stream.toLowerCase();
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.voltage.data.>`] });
  for (let start = 0; start < rows; start += 2000) {
    await Promise.all(Array.from({ length: Math.min(2000, rows - start) }, (_, k) => {
      const r = reading(start + k);
      return js.publish(`${prefix}.voltage.data.${r.line}.${r.transformer}.${r.point}`, r.payload);
    }));
  }
  const ingestKs = `bench_ingest_${tag}_${round}`;
  const bareKs = `bench_bare_${tag}_${round}`;
  init(ingestKs);
  init(bareKs);
  const run = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, smartmeter, 'ingest', '--json', '--keyspace', ingestKs,
    '--subject-prefix', prefix, '--jetstream', stream, '--count', String(rows), '--concurrency', String(concurrency)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const summary = JSON.parse(run.stdout);
  const { rate: bare, cpuUs: bareCpuUs } = await bareLoop(bareKs);
  const [rssKb, user, sys] = run.stderr.trim().split('\n').pop().split(' ').map(Number);
  results.push({ ingest: summary.rowsPerSecond, bare, rssMb: rssKb / 1024, cpuUs: ((user + sys) * 1e6) / rows, bareCpuUs, rows: [await count(ingestKs), await count(bareKs)] });
  for (const ks of [ingestKs, bareKs]) await client.execute(`DROP KEYSPACE ${ks}`);
  await jsm.streams.delete(stream);
}
await client.shutdown();
await nc.close();

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(`rows: ${rows} per round, ${rounds} rounds, concurrency ${concurrency}; one 2-core machine (Cassandra, NATS and the client share it)`);
console.log('round   bare loop rows/s   ingest rows/s   ratio   ingest RSS   CPU/row: ingest   bare loop   rows stored (ingest, bare)');
results.forEach((r, i) => console.log(`${String(i + 1).padStart(5)} ${r.bare.toFixed(0).padStart(18)} ${r.ingest.toFixed(0).padStart(15)} ${(r.ingest / r.bare).toFixed(2).padStart(7)} ${r.rssMb.toFixed(0).padStart(9)} MB ${r.cpuUs.toFixed(1).padStart(14)} µs ${r.bareCpuUs.toFixed(1).padStart(8)} µs   ${r.rows.join(', ')}`));
console.log(`median: bare ${median(results.map((r) => r.bare)).toFixed(0)} rows/s, ingest ${median(results.map((r) => r.ingest)).toFixed(0)} rows/s, ratio ${median(results.map((r) => r.ingest / r.bare)).toFixed(2)} (target ≥ 0.80, and ≥ 20,000 rows/s); peak RSS ${Math.max(...results.map((r) => r.rssMb)).toFixed(0)} MB (target ≤ 250); ingest CPU ${median(results.map((r) => r.cpuUs)).toFixed(1)} µs/row (process start included), bare loop ${median(results.map((r) => r.bareCpuUs)).toFixed(1)} µs/row`);
console.log('ingest rows/s are counted from its first row written to its last, as the bare loop is timed.');
