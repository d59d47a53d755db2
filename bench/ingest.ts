#!/usr/bin/env node
// `smartmeter ingest` against its peers, in one run on the rig (npm run rig -- up nats cassandra):
//   1. Throughput, in alternating rounds so machine noise hits all alike: ingest --jetstream draining
//      a pre-filled stream, a bare cassandra-driver executeConcurrent loop (one insert per row), and
//      DataStax Bulk Loader (DSBulk, resolved from Maven Central) loading the same rows from a CSV
//      file, each into a fresh keyspace; plus ingest's peak RSS and CPU per row.
//      Targets: ingest ≥ 1.3 × the bare loop, RSS ≤ 250 MB.
//   2. Stepped rates: readings published on core NATS at 2k … 40k readings/s for 10 s each, stored
//      by the old Go bridge (bench/old-bridge: a goroutine and a synchronous insert per message,
//      panic on error) and by ingest in core mode, alternating, each into a fresh keyspace: readings
//      stored against those published, and whether the process survived.
// Usage: node bench/ingest.ts [--rows 100000] [--concurrency 512] [--rounds 3] [--no-dsbulk]
//          [--steps 2000,5000,10000,20000,40000 | --steps none] [--step-seconds 10]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import driver from 'cassandra-driver';
import { connect } from 'nats';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createOldKeyspace, dsbulkJars, dsbulkLoad, dsbulkVersion, oldBridgeBinary, pacedPublish, panicReason, startOldBridge, writeCsv } from './ingest-peers.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const option = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const rows = arg('--rows', 100_000);
const concurrency = arg('--concurrency', 512);
const smartmeter = join(root, 'bin', 'smartmeter');
const tag = Date.now() % 1_000_000;

function reading(i: number): { line: number; transformer: number; point: number; payload: Uint8Array } {
  const payload = new Uint8Array(56);
  const view = new DataView(payload.buffer);
  view.setBigInt64(0, BigInt(1_700_000_000 + 60 * i));
  view.setFloat32(8, 110 + (i % 100) / 10);
  view.setFloat32(12, 100.5);
  for (let k = 0; k < 10; k += 1) view.setFloat32(16 + 4 * k, 3 + k);
  return { line: 11 + (i % 5), transformer: 1 + (Math.floor(i / 5) % 10), point: 1 + i, payload };
}

function init(keyspace: string): void {
  const r = spawnSync(process.execPath, [smartmeter, 'cassandra', 'init', '--keyspace', keyspace], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

const rounds = arg('--rounds', 3);
const steps = option('--steps', '2000,5000,10000,20000,40000') === 'none' ? [] : option('--steps', '2000,5000,10000,20000,40000').split(',').map(Number);
const stepSeconds = arg('--step-seconds', 10);
const client = new driver.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'datacenter1' });
const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();
const columns = ['line', 'transformer', 'usagepoint', 'year', 'month', 'day', 'hour', 'minute', 'day_of_week', 'voltage', 'demand', 'val3', 'val4', 'val5', 'val6', 'val7', 'val8', 'val9', 'val10', 'val11', 'val12', 'epoch'];
const insertInto = (ks: string): string => `INSERT INTO ${ks}.raw_data (${columns.join(', ')}) VALUES (${Array(columns.length).fill('?').join(', ')})`;
const params = Array.from({ length: rows }, (_, i) => {
  const r = reading(i);
  const view = new DataView(r.payload.buffer);
  const d = new Date((1_700_000_000 + 60 * i) * 1000);
  return [r.line, r.transformer, r.point, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCDay(),
    view.getFloat32(8), view.getFloat32(12), ...Array.from({ length: 10 }, (_, k) => view.getFloat32(16 + 4 * k)), 1_700_000_000 + 60 * i];
});
// The bare loop's rate, and its CPU per row (this process does nothing else meanwhile).
const bareLoop = async (ks: string): Promise<{ rate: number; cpuUs: number }> => {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await driver.concurrent.executeConcurrent(client, insertInto(ks), params, { concurrencyLevel: concurrency, raiseOnFirstError: true });
  const used = process.cpuUsage(cpu);
  return { rate: rows / (Number(process.hrtime.bigint() - started) / 1e9), cpuUs: (used.user + used.system) / rows };
};
// count(*) over a few hundred thousand rows outlasts Cassandra's range timeout on a busy machine:
// counted in 32 token ranges, each tried again on a timeout.
const count = async (ks: string): Promise<number> => {
  const parts = 32n;
  const min = -(2n ** 63n);
  const width = 2n ** 64n / parts;
  let total = 0;
  for (let p = 0n; p < parts; p += 1n) {
    const lo = min + p * width;
    const range = p === parts - 1n ? 'token(line, transformer, usagepoint) >= ?' : 'token(line, transformer, usagepoint) >= ? AND token(line, transformer, usagepoint) < ?';
    const values = p === parts - 1n ? [driver.types.Long.fromString(String(lo))] : [lo, lo + width].map((t) => driver.types.Long.fromString(String(t)));
    for (let attempt = 1; ; attempt += 1) {
      try {
        total += Number((await client.execute(`SELECT COUNT(*) FROM ${ks}.raw_data WHERE ${range}`, values, { prepare: true, readTimeout: 120_000 })).first().get('count'));
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }
  return total;
};
const drop = (ks: string) => client.execute(`DROP KEYSPACE IF EXISTS ${ks}`, [], { readTimeout: 120_000 });
const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// DSBulk, when it resolves: the same rows as a CSV file, loaded with its defaults (a batch per
// partition key: here every row has its own, so no batching; concurrency AUTO, at most 8 × cores),
// and grouped into unlogged batches per replica set with more queries in flight, as ingest is to be.
const dsbulkVariants = [
  { name: 'default', extra: [] },
  { name: 'replica-set batches, 64 queries', extra: ['--batch.mode', 'REPLICA_SET', '--engine.maxConcurrentQueries', '64'] },
];
const work = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
let dsbulk: { lib: string; csv: string } | undefined;
if (rounds > 0 && !process.argv.includes('--no-dsbulk')) {
  try {
    dsbulk = { lib: dsbulkJars(), csv: join(work, 'rows.csv') };
    await writeCsv(dsbulk.csv, columns, params);
  } catch (error) {
    dsbulk = undefined;
    console.log(`DSBulk: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}; the bare loop stays the top anchor`);
  }
}

// 1. Throughput.
if (rounds > 0) {
  // A bare load first warms Cassandra up (JIT, memtables).
  const warmKs = `bench_warm_${tag}`;
  init(warmKs);
  await bareLoop(warmKs);
  await drop(warmKs);
}
interface RoundResult {
  ingest: number;
  bare: number;
  bulk: { rate: number; processRate: number }[];
  rssMb: number;
  cpuUs: number;
  bareCpuUs: number;
  rows: number[];
}
const results: RoundResult[] = [];
for (let round = 0; round < rounds; round += 1) {
  // Fill a stream, let ingest drain it (peak RSS from GNU time), then the bare loop, then DSBulk: same rows, same table.
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
  const dsbulkKs = dsbulk ? dsbulkVariants.map((_, v) => `bench_dsbulk${v}_${tag}_${round}`) : [];
  init(ingestKs);
  init(bareKs);
  dsbulkKs.forEach(init);
  const run = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, smartmeter, 'ingest', '--json', '--keyspace', ingestKs,
    '--subject-prefix', prefix, '--jetstream', stream, '--count', String(rows), '--concurrency', String(concurrency)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const summary = JSON.parse(run.stdout);
  const { rate: bare, cpuUs: bareCpuUs } = await bareLoop(bareKs);
  const bulk = dsbulkKs.map((ks, v) => dsbulkLoad(dsbulk!.lib, { csv: dsbulk!.csv, ks, logDir: join(work, 'dsbulk-logs'), extra: dsbulkVariants[v]!.extra }));
  const [rssKb = NaN, user = NaN, sys = NaN] = (run.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  results.push({
    ingest: summary.rowsPerSecond, bare, bulk, rssMb: rssKb / 1024, cpuUs: ((user + sys) * 1e6) / rows, bareCpuUs,
    rows: [await count(ingestKs), await count(bareKs), ...(await Promise.all(dsbulkKs.map(count)))],
  });
  for (const ks of [ingestKs, bareKs, ...dsbulkKs]) await drop(ks);
  await jsm.streams.delete(stream);
}

if (rounds > 0) {
  console.log(`rows: ${rows} per round, ${rounds} rounds, concurrency ${concurrency}; one 2-core machine (Cassandra, NATS and the client share it)`);
  console.log(`round   bare loop rows/s   ingest rows/s   ratio   ${dsbulk ? 'DSBulk rows/s (whole process): default   batched   ' : ''}ingest RSS   CPU/row: ingest   bare loop   rows stored (ingest, bare${dsbulk ? ', DSBulk ×2' : ''})`);
  const bulkCells = (r: RoundResult): string => r.bulk.map((b) => `${b.rate.toFixed(0)} (${b.processRate.toFixed(0)})`.padStart(15)).join(' ');
  results.forEach((r, i) => console.log(`${String(i + 1).padStart(5)} ${r.bare.toFixed(0).padStart(18)} ${r.ingest.toFixed(0).padStart(15)} ${(r.ingest / r.bare).toFixed(2).padStart(7)}   ${dsbulk ? `${bulkCells(r).padStart(38)}   ` : ''}${r.rssMb.toFixed(0).padStart(7)} MB ${r.cpuUs.toFixed(1).padStart(14)} µs ${r.bareCpuUs.toFixed(1).padStart(8)} µs   ${r.rows.join(', ')}`));
  const ratio = median(results.map((r) => r.ingest / r.bare));
  console.log(`median: bare ${median(results.map((r) => r.bare)).toFixed(0)} rows/s, ingest ${median(results.map((r) => r.ingest)).toFixed(0)} rows/s, ratio ${ratio.toFixed(2)} (target ≥ 1.30: ${ratio >= 1.3 ? 'met' : 'not met'}); peak RSS ${Math.max(...results.map((r) => r.rssMb)).toFixed(0)} MB (target ≤ 250); ingest CPU ${median(results.map((r) => r.cpuUs)).toFixed(1)} µs/row (process start included), bare loop ${median(results.map((r) => r.bareCpuUs)).toFixed(1)} µs/row`);
  if (dsbulk) {
    dsbulkVariants.forEach(({ name }, v) => console.log(`DSBulk ${dsbulkVersion} (${name}; CSV of the same rows): median ${median(results.map((r) => r.bulk[v]!.rate)).toFixed(0)} rows/s as DSBulk counts its load (JVM start and connection excluded), ${median(results.map((r) => r.bulk[v]!.processRate)).toFixed(0)} rows/s over the whole process; bare loop / DSBulk ${median(results.map((r) => r.bare / r.bulk[v]!.rate)).toFixed(2)}, ingest / DSBulk ${median(results.map((r) => r.ingest / r.bulk[v]!.rate)).toFixed(2)}`));
  } else {
    console.log('DSBulk: not run; the bare loop is the top anchor.');
  }
  console.log('ingest rows/s are counted from its first row written to its last, as the bare loop is timed.');
}

// 2. Stepped rates on core NATS. 100,000 meters (as inject's default topology, roughly) each
// send one reading a minute of data time, so every reading has a key of its own; the distinct
// keys are counted anyway, since raw_data keeps one row per usage point and minute.
const METERS = 100_000;
const stepSubject = (prefix: string) => (i: number): string => {
  const m = i % METERS;
  return `${prefix}.voltage.data.${11 + (m % 5)}.${1 + (Math.floor(m / 5) % 15)}.${1 + m}`;
};
const stepEpoch = (i: number): number => 1_700_000_000 + 60 * Math.floor(i / METERS);
const stepPayload = (i: number): Uint8Array => {
  const payload = new Uint8Array(56);
  const view = new DataView(payload.buffer);
  view.setBigInt64(0, BigInt(stepEpoch(i)));
  view.setFloat32(8, 110 + (i % 100) / 10);
  view.setFloat32(12, 100.5);
  for (let k = 0; k < 10; k += 1) view.setFloat32(16 + 4 * k, 3 + k);
  return payload;
};
const distinctKeys = (n: number): number => {
  const keys = new Set<string>();
  const subject = stepSubject('');
  for (let i = 0; i < n; i += 1) keys.add(`${subject(i)}.${Math.floor(stepEpoch(i) / 60)}`);
  return keys.size;
};
const freePort = () => new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    server.close(() => resolve(port));
  });
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Peak RSS (VmHWM) of a child, polled until it exits.
const watchRss = (pid: number | undefined) => {
  const peak = { mb: 0 };
  const timer = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) peak.mb = Math.max(peak.mb, Number(hwm[1]) / 1024);
    } catch {
      // exited
    }
  }, 100);
  return { peak, stop: () => clearInterval(timer) };
};

/** Starts a peer on a fresh keyspace, publishes rate × stepSeconds readings, waits for it to finish. */
type Exit = { code: number | null; signal: NodeJS.Signals | null; at: number };

async function step(side: 'old' | 'ingest', rate: number, bridge: string) {
  const n = rate * stepSeconds;
  const prefix = `step_${tag}_${side}_${rate}`;
  const ks = `bench_step_${side}_${tag}_${rate}`;
  let peer: { child: ChildProcess; exit: Promise<Exit>; note: () => string | undefined };
  if (side === 'old') {
    await createOldKeyspace(client, ks);
    const b = startOldBridge(bridge, { ks, subject: `${prefix}.voltage.data.>` });
    await b.ready;
    peer = { child: b.child, exit: b.exit, note: () => panicReason(b.stderr()) };
  } else {
    init(ks);
    const port = await freePort();
    const child = spawn(process.execPath, [smartmeter, 'ingest', '--json', '--keyspace', ks, '--subject-prefix', prefix, '--count', String(n),
      '--concurrency', String(concurrency), '--metrics-port', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const exit = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })));
    let exited = false;
    exit.then(() => (exited = true));
    // Ready once its subscription has reached the server (its /ready).
    for (;;) {
      if (exited) throw new Error(`ingest exited before it was ready: ${err}`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(100);
    }
    peer = {
      child,
      exit,
      note: () => {
        try {
          const s = JSON.parse(out);
          return s.lost ? `lost ${s.lost}: ${s.lostReason}` : undefined;
        } catch {
          return err.trim().split('\n').pop();
        }
      },
    };
  }
  const rss = watchRss(peer.child.pid);
  let died: Exit | undefined;
  peer.exit.then((e) => (died = e));
  const started = Date.now();
  const publishSeconds = await pacedPublish(nc, rate, n, stepSubject(prefix), stepPayload);
  // Done when ingest exits after its --count; the old bridge never exits by itself: done when its
  // counter row stops moving for 5 s, or it has died. At most 120 s after the last reading.
  const deadline = Date.now() + 120_000;
  if (side === 'old') {
    let last = -1;
    let still = 0;
    while (!died && still < 5 && Date.now() < deadline) {
      await sleep(1000);
      const row = (await client.execute(`SELECT count FROM ${ks}.raw_data_count WHERE slot = '1'`)).first();
      const now = row ? Number(row.get('count')) : 0;
      still = now === last ? still + 1 : 0;
      last = now;
    }
  } else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([peer.exit, new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
    clearTimeout(timer);
  }
  const survived = side === 'old' ? !died : !died || died.code === 0;
  if (!died) {
    peer.child.kill('SIGTERM');
    await peer.exit;
  }
  rss.stop();
  const stored = await count(ks);
  await drop(ks);
  return { side, rate, published: n, distinct: distinctKeys(n), stored, survived, diedAfter: died && died.code !== 0 ? (died.at - started) / 1000 : undefined,
    note: peer.note(), peakMb: rss.peak.mb, publishSeconds };
}

if (steps.length) {
  const bridge = oldBridgeBinary();
  console.log('');
  console.log(`stepped rates on core NATS, ${stepSeconds} s each (56-byte readings, ${fmt(METERS)} meters): old Go bridge (bench/old-bridge: nats.go, gocql, a goroutine and a synchronous insert + counter update per reading, panic on error) and ingest core mode, alternating`);
  console.log('  rate/s  peer        published  distinct keys     stored   stored %  survived  peak RSS  publish s  note');
  for (const [index, rate] of steps.entries()) {
    // Alternate which goes first, so neither always meets the Cassandra the other has just loaded.
    for (const side of index % 2 ? (['ingest', 'old'] as const) : (['old', 'ingest'] as const)) {
      const r = await step(side, rate, bridge);
      const survived = r.survived ? 'yes' : `no (${r.diedAfter?.toFixed(1)} s)`;
      console.log(`${fmt(r.rate).padStart(8)}  ${(r.side === 'old' ? 'old bridge' : 'ingest').padEnd(10)} ${fmt(r.published).padStart(10)} ${fmt(r.distinct).padStart(14)} ${fmt(r.stored).padStart(10)} ${((100 * r.stored) / r.distinct).toFixed(1).padStart(9)} ${survived.padStart(9)} ${r.peakMb.toFixed(0).padStart(6)} MB ${r.publishSeconds.toFixed(1).padStart(10)}  ${r.note ?? ''}`);
    }
  }
  console.log('stored % = count(*) of raw_data / distinct keys published (raw_data keeps one row per usage point and minute); survived = the process was alive (old bridge) or exited 0 (ingest) at the end; the "survived" time is from the first reading published to the crash.');
}

await client.shutdown();
await nc.close();
rmSync(work, { recursive: true, force: true });
// The driver has been seen to keep a socket to Cassandra open after shutdown() following the old
// bridge's overload, which would keep this process waiting.
process.exit(0);
