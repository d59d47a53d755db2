#!/usr/bin/env node
// The baseline of bench/inject.ts: the fastest simple nats.js publish loop of 56-byte payloads
// (batches of 1000, yielding to the event loop between batches so the socket drains), in a
// process of its own like inject. Subjects: one fixed subject, or with --meters LxTxP the same
// subject set as inject's (round-robin over every usage point, subjects built once). The server
// routes a few subjects from its cache and many more slowly, so the pairing must match.
// Prints {"published", "seconds", "rate"} (send phase) and "confirmedRate" (until the server
// answered a PING sent after the last message: it has them all).
// Usage: node bench/nats-bare-publish.ts <server> <count> [<prefix> <LxTxP>]
import { connect } from 'nats';

const [server = 'nats://127.0.0.1:4222', countText = '2000000', prefix, meters] = process.argv.slice(2);
const count = Number(countText);
const subjects: string[] = [];
if (meters) {
  const [lines = 0, transformers = 0, points = 0] = meters.split('x').map(Number);
  for (let l = 1; l <= lines; l += 1)
    for (let t = 1; t <= transformers; t += 1)
      for (let p = 1; p <= points; p += 1) subjects.push(Buffer.from(`${prefix}.voltage.data.${10 + l}.${t}.${p}`).toString());
} else {
  subjects.push('smartmeter.bench.voltage.data.11.1.1');
}
const nc = await connect({ servers: server });
const payload = new Uint8Array(56);
let next = 0;
const started = performance.now();
for (let sent = 0; sent < count; ) {
  const end = Math.min(count, sent + 1000);
  for (; sent < end; sent += 1) {
    nc.publish(subjects[next]!, payload);
    next = next + 1 === subjects.length ? 0 : next + 1;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
const seconds = (performance.now() - started) / 1000;
await nc.flush(); // the server has had everything once the PONG is back
const confirmedSeconds = (performance.now() - started) / 1000;
await nc.close();
process.stdout.write(`${JSON.stringify({ published: count, seconds, rate: count / seconds, confirmedRate: count / confirmedSeconds })}\n`);
