#!/usr/bin/env node
// `smartmeter inject` on the rig's NATS against the tools users would otherwise reach for, in one run:
//   1. flat-out, rounds alternating so machine noise hits every side alike:
//      (a) the realistic workload, about 100,000 distinct subjects: `nats bench pub --multisubject
//          --multisubjectmax 100000` (natscli, Go; 1 client and --clients 2) and a bare nats.js
//          publish loop over inject's own subjects (bench/nats-bare-publish.ts), against
//          `inject --rate max` (default topology 3 × 15 × 2222 points: 99,992 subjects);
//      (b) few subjects: `nats bench pub` on one subject against `inject --meters 1x1x100` (102);
//      inject runs with --workers 1 and with --workers 2 (SMARTMETER_INJECT_WORKERS), and its
//      peak RSS is taken;
//   2. rate accuracy with 2 workers: `inject --rate R --duration D` for R = 1k, 20k, 100k, counted
//      per second by a subscriber (the first and last partial seconds dropped).
// Targets (issue 15): inject ≥ 1.0 × nats bench (1 client) on (a), ≥ 0.6 × on (b); per-second
// median within 1 % of each target rate; RSS ≤ 150 MB flat-out.
//
// How each side is counted, until the server has every message. natscli v0.5.0 times each client
// from its first publish to the return of a Flush (a PING whose PONG comes back once the server
// has read everything before it) after its last; with several clients the rate is all messages
// over the longest client's time. inject: its run's span plus its drain, which ends when a PONG
// has confirmed every message (published / (durationSeconds + drainSeconds)). The bare loop: until
// the PONG of a PING sent after its last message. Same method for all three: no side gains by
// leaving messages in socket buffers. Connection set-up is outside every figure. The server's own
// count (varz in_msgs on the monitoring port, when it answers) is checked against each run.
// Same payload (56 bytes; inject's 2 temperature messages per cycle are 12), same server. natscli's
// subjects get as many tokens as inject's and about their length (smartmeter.nb.voltage.data.11.3.N,
// 7 tokens, 38 characters; inject's: smartmeter.bench.voltage.data.11.3.1234).
//
// natscli is built on demand, like the rig's Go tools: `go install github.com/nats-io/natscli/nats@v0.5.0`
// through the Go module proxy into the rig's cache (<rig>/cache/go/bin/nats), stamped with its version.
// Needs the rig (npm run rig -- up nats) and a build (npm run bench:inject builds first).
// Usage: node bench/inject.ts [--count 2000000] [--rounds 3] [--seconds 10] [--server nats://127.0.0.1:4222]
//                              [--monitor http://127.0.0.1:8222] [--skip-accuracy]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { ensureDebianPackages } from '../rig/src/install.ts';
import { run } from '../rig/src/process.ts';
import { cacheDir } from '../rig/src/state.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const option = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const server = option('--server', 'nats://127.0.0.1:4222');
const monitor = option('--monitor', 'http://127.0.0.1:8222');
const count = Number(option('--count', '2000000'));
const rounds = Number(option('--rounds', '3'));
const seconds = Number(option('--seconds', '10'));
const smartmeter = join(root, 'bin', 'smartmeter');

/** natscli's version: the peer of issue 15. */
const NATSCLI_VERSION = 'v0.5.0';

/**
 * The path of natscli's `nats` in the rig's Go cache, built on first use with go install through
 * the Go module proxy (GOPATH and build cache in the rig's cache, local toolchain, static, stripped),
 * as rig/src/nats-build.ts builds nats-server. A stamp file records the version; a change rebuilds.
 */
function natsCli() {
  const go = cacheDir('go');
  const bin = join(go, 'bin');
  const binary = join(bin, 'nats');
  const stampFile = join(go, 'natscli.build');
  const stamp = `${NATSCLI_VERSION} CGO_ENABLED=0 -s -w`;
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return binary;
  ensureDebianPackages({ go: 'golang-go' }, console.log);
  console.log(`natscli: go install github.com/nats-io/natscli/nats@${NATSCLI_VERSION} (a few minutes the first time)`);
  run('go', ['install', '-ldflags', '-s -w', `github.com/nats-io/natscli/nats@${NATSCLI_VERSION}`], {
    env: { GOPATH: join(go, 'path'), GOBIN: bin, GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
  });
  writeFileSync(stampFile, `${stamp}\n`);
  return binary;
}

/** Runs a command; resolves with its stdout and peak RSS (VmHWM, MB, all its threads). */
interface ProcessResult {
  out: string;
  err: string;
  peakMb: number;
  code: number | null;
}

function runProcess(executable: string, args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // exited
      }
    }, 20);
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0 && code !== 3) reject(new Error(`${executable} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ out, err, peakMb: peakKb / 1024, code });
    });
  });
}

/** The server's count of messages received (varz in_msgs), or undefined without a monitoring port. */
async function serverInMsgs(): Promise<number | undefined> {
  try {
    const response = await fetch(`${monitor}/varz`, { signal: AbortSignal.timeout(1000) });
    return ((await response.json()) as { in_msgs?: number }).in_msgs;
  } catch {
    return undefined;
  }
}

/** Runs `measure` and checks that the server received `expected` messages meanwhile (when it can tell). */
/** One measured run: messages a second, and the peak RSS (MB) where the side is a process of ours. */
interface Measured {
  rate: number;
  peakMb?: number;
  workers?: number;
}

async function counted(expected: number, measure: () => Promise<Measured>): Promise<Measured & { serverReceived: number | undefined }> {
  const before = await serverInMsgs();
  const result = await measure();
  const after = await serverInMsgs();
  // Other clients of the rig's server can add a few (a test, a PING's reply is not counted).
  const received = before === undefined || after === undefined ? undefined : after - before;
  if (received !== undefined && received < expected) throw new Error(`the server received ${received} messages, not ${expected}`);
  return { ...result, serverReceived: received };
}

const nats = natsCli();
const natsHome = mkdtempSync(join(tmpdir(), 'natscli-')); // no user context of natscli applies

/** `nats bench pub`: msgs/s (all messages over the longest client's time, from its CSV). */
async function natsBench(subject: string, clients: number, multisubject: boolean) {
  const csv = join(natsHome, `run-${Date.now()}.csv`);
  const args = ['bench', 'pub', subject, '--size', '56', '--msgs', String(count), '--clients', String(clients), '--no-progress', '--csv', csv, '-s', server];
  if (multisubject) args.push('--multisubject', '--multisubjectmax', '100000');
  return counted(count, async () => {
    await runProcess(nats, args, { XDG_CONFIG_HOME: natsHome, HOME: natsHome });
    const rows = readFileSync(csv, 'utf8').trim().split('\n').filter((l) => !l.startsWith('#')).map((l) => l.split(','));
    // #RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs,…
    const messages = rows.reduce((n, r) => n + Number(r[2]), 0);
    const longest = Math.max(...rows.map((r) => Number(r[6])));
    return { rate: messages / longest };
  });
}

/** `inject --rate max`: msgs/s until every message is confirmed, and peak RSS. */
async function inject(workers: number, extra: string[]) {
  return counted(count, async () => {
    const r = await runProcess(process.execPath, [smartmeter, 'inject', '--rate', 'max', '--count', String(count), '--json', '-s', server, '--subject-prefix', 'smartmeter.bench', ...extra], { SMARTMETER_INJECT_WORKERS: String(workers) });
    const result = JSON.parse(r.out);
    if (result.confirmed !== count || result.lost !== 0) throw new Error(`inject confirmed ${result.confirmed} of ${count}, lost ${result.lost}`);
    return { rate: result.published / (result.durationSeconds + result.drainSeconds), peakMb: r.peakMb, workers: result.workers };
  });
}

async function bareLoop(meters?: string) {
  return counted(count, async () => {
    const r = await runProcess(process.execPath, [join(root, 'bench', 'nats-bare-publish.ts'), server, String(count), ...(meters ? ['smartmeter.bench', meters] : [])]);
    return { rate: JSON.parse(r.out).confirmedRate };
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)} ×`;

console.log(`machine: ${availableParallelism()} cores, Node ${process.version}; ${count.toLocaleString('en')} messages a run, ${rounds} rounds; natscli ${NATSCLI_VERSION} (${nats})`);
// Warm-up: the server's and the page cache's, not counted.
await natsBench('smartmeter.nb.voltage.data.11.3', 1, true);
await inject(1, []);

const workloads: { name: string; sides: [name: string, measure: () => Promise<Measured>][] }[] = [
  {
    name: '(a) ~100,000 subjects',
    sides: [
      ['nats bench, 1 client', () => natsBench('smartmeter.nb.voltage.data.11.3', 1, true)],
      ['inject, 1 worker', () => inject(1, [])],
      ['nats bench, 2 clients', () => natsBench('smartmeter.nb.voltage.data.11.3', 2, true)],
      ['inject, 2 workers', () => inject(2, [])],
      ['bare nats.js loop', () => bareLoop('3x15x2222')],
    ],
  },
  {
    name: '(b) few subjects',
    sides: [
      ['nats bench, 1 client', () => natsBench('smartmeter.nb.voltage.data.11.3.1', 1, false)],
      ['inject, 1 worker', () => inject(1, ['--meters', '1x1x100'])],
      ['nats bench, 2 clients', () => natsBench('smartmeter.nb.voltage.data.11.3.1', 2, false)],
      ['inject, 2 workers', () => inject(2, ['--meters', '1x1x100'])],
    ],
  },
];
const rss: { name: string; mb: number }[] = [];
const summary: { name: string; medians: Record<string, number>; rates: Map<string, number[]> }[] = [];
for (const workload of workloads) {
  const rates = new Map<string, number[]>(workload.sides.map(([name]) => [name, []]));
  for (let round = 1; round <= rounds; round += 1) {
    // Alternating: each round starts one side later, so no side always runs first.
    const order = workload.sides.map((_, i) => workload.sides[(i + round - 1) % workload.sides.length]!);
    const line = [];
    for (const [name, measure] of order) {
      const r = await measure();
      rates.get(name)!.push(r.rate);
      if (r.peakMb) rss.push({ name: `${workload.name}, ${name}`, mb: r.peakMb });
      line.push(`${name} ${fmt(r.rate)}`);
    }
    const byName: Record<string, number> = Object.fromEntries(workload.sides.map(([name]) => [name, rates.get(name)!.at(-1)!]));
    console.log(`${workload.name}, round ${round}: ${line.join(', ')} msgs/s; inject 1 worker / nats 1 client ${ratio(byName['inject, 1 worker']!, byName['nats bench, 1 client']!)}, inject 2 workers / nats 1 client ${ratio(byName['inject, 2 workers']!, byName['nats bench, 1 client']!)}`);
  }
  summary.push({ name: workload.name, medians: Object.fromEntries([...rates].map(([name, xs]) => [name, median(xs)])), rates });
}

// 2. Rate accuracy with workers on, counted by a subscriber.
const accuracy: { rate: number; med: number; error: number; workers: number; peakMb: number }[] = [];
if (!process.argv.includes('--skip-accuracy')) {
  const nc = await connect({ servers: server });
  for (const rate of [1000, 20_000, 100_000]) {
    const prefix = `smartmeter.accuracy${rate}`;
    const arrivals: number[] = [];
    const sub = nc.subscribe(`${prefix}.>`, { callback: () => arrivals.push(performance.now()) });
    await nc.flush();
    const r = await runProcess(process.execPath, [smartmeter, 'inject', '--rate', String(rate), '--duration', `${seconds}s`, '--json', '-s', server, '--subject-prefix', prefix], { SMARTMETER_INJECT_WORKERS: '2' });
    const result = JSON.parse(r.out) as { workers: number; published: number; missedSlots: number };
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 200));
    sub.unsubscribe();
    const t0 = arrivals[0] ?? 0;
    const perSecond: number[] = new Array(Math.ceil(((arrivals.at(-1) ?? t0) - t0) / 1000) + 1).fill(0);
    for (const t of arrivals) perSecond[Math.floor((t - t0) / 1000)]! += 1;
    const whole = perSecond.slice(1, seconds - 1); // whole seconds of the run; the first may be partial
    const med = median(whole);
    const error = (100 * (med - rate)) / rate;
    accuracy.push({ rate, med, error, workers: result.workers, peakMb: r.peakMb });
    console.log(`rate ${fmt(rate)} (${result.workers} workers): per-second median ${fmt(med)} (${error >= 0 ? '+' : ''}${error.toFixed(2)} %), min ${fmt(Math.min(...whole))}, max ${fmt(Math.max(...whole))}; received ${fmt(arrivals.length)} of ${fmt(result.published)} published; missed slots ${result.missedSlots}; peak RSS ${r.peakMb.toFixed(0)} MB`);
  }
  await nc.close();
}

console.log('\n| workload | side | median msgs/s | vs nats bench 1 client | vs nats bench 2 clients |\n|---|---|---|---|---|');
for (const s of summary) {
  const one = s.medians['nats bench, 1 client']!;
  const two = s.medians['nats bench, 2 clients']!;
  for (const [name, value] of Object.entries(s.medians)) console.log(`| ${s.name} | ${name} | ${fmt(value)} | ${ratio(value, one)} | ${ratio(value, two)} |`);
}
const peak = rss.reduce((a, b) => (b.mb > a.mb ? b : a), { name: 'none', mb: 0 });
console.log(`\ninject peak RSS flat-out: max ${peak.mb.toFixed(0)} MB (${peak.name}; target ≤ 150)`);
for (const a of accuracy) console.log(`rate ${fmt(a.rate)}/s with ${a.workers} workers: per-second median ${fmt(a.med)} (${a.error >= 0 ? '+' : ''}${a.error.toFixed(2)} %; target within 1 %)`);
console.log('targets: (a) inject ≥ 1.0 × nats bench 1 client; (b) ≥ 0.6 ×.');
