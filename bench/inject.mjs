#!/usr/bin/env node
// `smartmeter inject` on the rig's NATS, in one run:
//   1. flat-out: `inject --rate max` against a bare nats.js publish loop (bench/nats-bare-publish.mjs),
//      rounds alternating so machine noise hits both alike; inject's peak RSS;
//   2. rate accuracy: `inject --rate R --duration D` for R = 1k, 20k, 100k, counted per second by a
//      subscriber (the first and last partial seconds dropped).
// Targets (issue 4): flat-out ≥ 85 % of the bare loop; per-second median within 1 % of each
// target; RSS ≤ 150 MB flat-out. Needs the rig: npm run rig -- up nats.
// Usage: node bench/inject.mjs [--count 2000000] [--rounds 3] [--seconds 10] [--server nats://127.0.0.1:4222]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const option = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const server = option('--server', 'nats://127.0.0.1:4222');
const count = Number(option('--count', '2000000'));
const rounds = Number(option('--rounds', '3'));
const seconds = Number(option('--seconds', '10'));
const smartmeter = join(root, 'bin', 'smartmeter');

/** Runs a node script; resolves with its stdout as JSON and its peak RSS (VmHWM, MB). */
function runNode(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0 && code !== 3) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ result: JSON.parse(out), peakMb: peakKb / 1024, code });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en');

// 1. Flat-out. Rates count until the server has every message (inject: send + drain; bare: send +
// the final PING's answer), so neither gains by leaving messages in socket buffers.
const pairings = [
  // The target pairing: inject's default flat-out traffic (3 × 15 × 2222 points) and a bare loop over those subjects.
  { name: 'same subjects (3x15x2222)', bare: ['smartmeter.bench', '3x15x2222'], inject: [] },
  // For information: one fixed subject, which the server routes from its cache, against a 100-point inject.
  { name: 'few subjects (bare: 1, inject: 1x1x100)', bare: [], inject: ['--meters', '1x1x100'] },
];
const results = [];
const rss = [];
await runNode([join(root, 'bench', 'nats-bare-publish.mjs'), server, String(count / 4)]); // warm-up
for (const pairing of pairings) {
  const bare = [];
  const flat = [];
  for (let round = 1; round <= rounds; round += 1) {
    const b = await runNode([join(root, 'bench', 'nats-bare-publish.mjs'), server, String(count), ...pairing.bare]);
    const i = await runNode([smartmeter, 'inject', '--rate', 'max', '--count', String(count), '--json', '-s', server, '--subject-prefix', 'smartmeter.bench', ...pairing.inject]);
    const injectRate = i.result.published / (i.result.durationSeconds + i.result.drainSeconds);
    bare.push(b.result.confirmedRate);
    flat.push(injectRate);
    rss.push(i.peakMb);
    console.log(`${pairing.name}, round ${round}: bare ${fmt(b.result.confirmedRate)} msgs/s, inject --rate max ${fmt(injectRate)} msgs/s (${((100 * injectRate) / b.result.confirmedRate).toFixed(1)} %), inject peak RSS ${i.peakMb.toFixed(0)} MB`);
  }
  results.push({ name: pairing.name, bare: median(bare), inject: median(flat), ratio: median(flat) / median(bare) });
}
for (const r of results) console.log(`flat-out, ${r.name}: median inject ${fmt(r.inject)} vs bare ${fmt(r.bare)} msgs/s → ${(100 * r.ratio).toFixed(1)} %`);
console.log(`inject peak RSS flat-out: max ${Math.max(...rss).toFixed(0)} MB (target ≤ 150)`);

// 2. Rate accuracy, counted by a subscriber.
const nc = await connect({ servers: server });
const rows = [];
for (const rate of [1000, 20_000, 100_000]) {
  const prefix = `smartmeter.accuracy${rate}`;
  const arrivals = [];
  const sub = nc.subscribe(`${prefix}.>`, { callback: () => arrivals.push(performance.now()) });
  await nc.flush();
  const run = await runNode([smartmeter, 'inject', '--rate', String(rate), '--duration', `${seconds}s`, '--json', '-s', server, '--subject-prefix', prefix]);
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  sub.unsubscribe();
  const t0 = arrivals[0];
  const perSecond = new Array(Math.ceil((arrivals.at(-1) - t0) / 1000) + 1).fill(0);
  for (const t of arrivals) perSecond[Math.floor((t - t0) / 1000)] += 1;
  const whole = perSecond.slice(1, seconds - 1); // whole seconds of the run; the first may be partial
  const med = median(whole);
  const error = (100 * (med - rate)) / rate;
  rows.push({ rate, med, min: Math.min(...whole), max: Math.max(...whole), error, received: arrivals.length, published: run.result.published, missed: run.result.missedSlots });
  console.log(`rate ${fmt(rate)}: per-second median ${fmt(med)} (${error >= 0 ? '+' : ''}${error.toFixed(2)} %), min ${fmt(Math.min(...whole))}, max ${fmt(Math.max(...whole))}; received ${fmt(arrivals.length)} of ${fmt(run.result.published)} published; missed slots ${run.result.missedSlots}`);
}
await nc.close();

console.log('\n| measure | figure | target |\n|---|---|---|');
for (const r of results) {
  console.log(`| flat-out, ${r.name}: bare nats.js loop (baseline, median of ${rounds}) | ${fmt(r.bare)} msgs/s | – |`);
  console.log(`| flat-out, ${r.name}: inject --rate max (median of ${rounds}) | ${fmt(r.inject)} msgs/s = ${(100 * r.ratio).toFixed(1)} % of bare | ≥ 85 % |`);
}
console.log(`| inject peak RSS flat-out | ${Math.max(...rss).toFixed(0)} MB | ≤ 150 MB |`);
for (const r of rows) console.log(`| rate ${fmt(r.rate)}/s, per-second median | ${fmt(r.med)} (${r.error >= 0 ? '+' : ''}${r.error.toFixed(2)} %) | within 1 % |`);
