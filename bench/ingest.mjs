#!/usr/bin/env node
// Rows per second written by `smartmeter ingest --jetstream` from a pre-filled JetStream stream,
// against a bare cassandra-driver executeConcurrent loop inserting the same rows into the same
// Cassandra, in the same run; plus ingest's peak RSS. Needs the rig: npm run rig -- up nats cassandra.
// Targets: ≥ 0.8 × the bare loop, ≥ 20,000 rows/s if the bare loop allows it, RSS ≤ 250 MB.
// A bare load first warms Cassandra up, so neither side meets a cold server.
// Usage: node bench/ingest.mjs [--rows 100000] [--concurrency 256]
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
const concurrency = arg('--concurrency', 256);
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

// 1. Fill a stream.
const stream = `BENCH_${tag}`;
const prefix = stream.toLowerCase();
const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();
await jsm.streams.add({ name: stream, subjects: [`${prefix}.voltage.data.>`] });
const js = nc.jetstream();
for (let start = 0; start < rows; start += 2000) {
  await Promise.all(Array.from({ length: Math.min(2000, rows - start) }, (_, k) => {
    const r = reading(start + k);
    return js.publish(`${prefix}.voltage.data.${r.line}.${r.transformer}.${r.point}`, r.payload);
  }));
}

// 2. Warm Cassandra up (JIT, memtables) with a bare load first, so neither side gets a cold server.
const client = new driver.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'datacenter1' });
const insertInto = (ks) => `INSERT INTO ${ks}.raw_data (line, transformer, usagepoint, year, month, day, hour, minute, day_of_week, voltage, demand, val3, val4, val5, val6, val7, val8, val9, val10, val11, val12, epoch) VALUES (${Array(22).fill('?').join(', ')})`;
const params = Array.from({ length: rows }, (_, i) => {
  const r = reading(i);
  const view = new DataView(r.payload.buffer);
  const d = new Date((1_700_000_000 + 60 * i) * 1000);
  return [r.line, r.transformer, r.point, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCDay(),
    view.getFloat32(8), view.getFloat32(12), ...Array.from({ length: 10 }, (_, k) => view.getFloat32(16 + 4 * k)), 1_700_000_000 + 60 * i];
});
const bareLoop = async (ks) => {
  const started = process.hrtime.bigint();
  await driver.concurrent.executeConcurrent(client, insertInto(ks), params, { concurrencyLevel: concurrency, raiseOnFirstError: true });
  return rows / (Number(process.hrtime.bigint() - started) / 1e9);
};
const warmKs = `bench_warm_${tag}`;
init(warmKs);
await bareLoop(warmKs);

// 3. ingest drains the stream (peak RSS from GNU time).
const ingestKs = `bench_ingest_${tag}`;
init(ingestKs);
const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, smartmeter, 'ingest', '--json', '--keyspace', ingestKs,
  '--subject-prefix', prefix, '--jetstream', stream, '--count', String(rows), '--concurrency', String(concurrency)], { encoding: 'utf8' });
if (run.status !== 0) throw new Error(run.stderr);
const summary = JSON.parse(run.stdout);
const rssMb = Number(run.stderr.trim().split('\n').pop()) / 1024;

// 4. The bare loop: the same rows, the same statement, executeConcurrent, on a warm server.
const bareKs = `bench_bare_${tag}`;
init(bareKs);
const bareRate = await bareLoop(bareKs);
const count = async (ks) => Number((await client.execute(`SELECT COUNT(*) FROM ${ks}.raw_data`)).first().get('count'));
const [ingestRows, bareRows] = [await count(ingestKs), await count(bareKs)];
for (const ks of [ingestKs, bareKs, warmKs]) await client.execute(`DROP KEYSPACE ${ks}`);
await client.shutdown();
await jsm.streams.delete(stream);
await nc.close();

console.log(`rows: ${rows}, concurrency ${concurrency}, one 2-core machine (Cassandra, NATS and the client share it)`);
console.log(`bare executeConcurrent loop     ${bareRate.toFixed(0).padStart(7)} rows/s   (${bareRows} rows)`);
console.log(`smartmeter ingest --jetstream   ${summary.rowsPerSecond.toFixed(0).padStart(7)} rows/s   (${ingestRows} rows; whole run, consumer set-up included)`);
console.log(`ratio ${(summary.rowsPerSecond / bareRate).toFixed(2)} × the bare loop (target ≥ 0.80); ingest peak RSS ${rssMb.toFixed(0)} MB (target ≤ 250)`);
