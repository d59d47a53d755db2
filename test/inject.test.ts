// `smartmeter inject` against real NATS servers: the rig's (plain, user/password, mutual TLS)
// and, for the restart faults, a nats-server of the test's own that is killed mid-run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTemperaturePayload, decodeVoltage } from '../src/wire/voltage.js';
import type { InjectionReport } from '../src/inject/injection.js';
import type { Topology } from '../src/inject/model.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';
import { freePort } from './helpers/net.js';
import { OwnNatsServer } from './helpers/nats-server.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('nats');

/** What `inject --json` prints. */
type Report = InjectionReport & { seed: number; topology: Topology; slot: number };

let unique = 0;
/** A subject prefix no other test publishes on. */
const freshPrefix = () => `t${process.pid}x${Date.now() % 100_000}x${(unique += 1)}.raw`;

interface Captured {
  subject: string;
  payload: Uint8Array;
}

async function capture(nc: NatsConnection, prefix: string): Promise<{ sub: Subscription; messages: Captured[] }> {
  const messages: Captured[] = [];
  const sub = nc.subscribe(`${prefix}.>`, { callback: (_err, msg) => messages.push({ subject: msg.subject, payload: msg.data }) });
  await nc.flush();
  return { sub, messages };
}

/** Runs inject in the background (so a test can act on the server meanwhile). */
function injectAsync(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; report?: Report; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'inject', '--json', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, report: out ? (JSON.parse(out) as Report) : undefined, stderr }));
  });
}

function inject(args: string[], env: Record<string, string> = {}): { status: number | null; report?: Report; stderr: string; stdout: string } {
  const r = runCli(['inject', ...args], { env });
  let report: Report | undefined;
  try {
    report = args.includes('--json') && r.stdout ? (JSON.parse(r.stdout) as Report) : undefined;
  } catch {
    report = undefined;
  }
  return { ...r, report };
}

const settle = () => new Promise((r) => setTimeout(r, 300));

describe.runIf(rig)('inject on the rig NATS', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: rig!.NATS_URL! });
  });
  afterAll(async () => {
    await nc?.close();
  });

  it('publishes exactly --count messages, in the old layout, and counts them by kind', async () => {
    const prefix = freshPrefix();
    const { messages } = await capture(nc, prefix);
    const r = inject(['--rate', '5000', '--slack', '2s', '--count', '3000', '--subject-prefix', prefix, '--json', '-s', rig!.NATS_URL!]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no live line when stderr is not a terminal
    await settle();
    const report = r.report!;
    expect(report).toMatchObject({ mode: 'core', scheduled: 3000, published: 3000, confirmed: 3000, lost: 0, rateHeld: true });
    expect(messages.length).toBe(3000);
    const byKind = { temperature: 0, forecast: 0, voltage: 0 };
    for (const m of messages) {
      if (m.subject === `${prefix}.temperature.data`) {
        byKind.temperature += 1;
        expect(decodeTemperaturePayload(m.payload)).not.toBe('bad-length');
      } else if (m.subject === `${prefix}.temperature.forecast.12`) {
        byKind.forecast += 1;
        expect(m.payload.length).toBe(12);
      } else {
        byKind.voltage += 1;
        const reading = decodeVoltage(m.subject, m.payload);
        expect(typeof reading, m.subject).toBe('object');
      }
    }
    expect(byKind).toEqual(report.kinds);
    // 5000 msgs/s → 2 lines × 8 transformers × 312 points: a cycle is 4994 messages.
    expect(report.topology).toEqual({ lines: 2, transformers: 8, usagePoints: 312 });
    expect(byKind.temperature).toBe(1);
  });

  it('shows a live line on a terminal, a few times a second', () => {
    // `script` gives the command a pseudo-terminal (util-linux, on every Debian).
    const command = [process.execPath, BIN, 'inject', '--rate', '1000', '--duration', '2s', '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()].join(' ');
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status, r.stderr).toBe(0);
    const updates = r.stdout.split('\r').filter((part) => /^\d+\.\d s {2}target 1000\/s {2}achieved [\d.]+\/s {2}sent \d+ {2}lost 0 {2}errors 0/.test(part));
    expect(updates.length).toBeGreaterThanOrEqual(5); // every 250 ms over 2 s
    expect(r.stdout).toMatch(/published +2000 /);
  });

  it('replays the same messages from the same seed and simulated start', async () => {
    const run = async (seed: string) => {
      const prefix = freshPrefix();
      const { sub, messages } = await capture(nc, prefix);
      const r = inject(['--rate', '10000', '--slack', '2s', '--count', '800', '--seed', seed, '--sim-start', '2024-01-15T00:00:00Z', '--subject-prefix', prefix, '-s', rig!.NATS_URL!]);
      expect(r.status, r.stderr).toBe(0);
      await settle();
      sub.unsubscribe();
      return messages.map((m) => `${m.subject.slice(prefix.length)} ${Buffer.from(m.payload).toString('hex')}`);
    };
    const first = await run('42');
    expect(first.length).toBe(800);
    expect(await run('42')).toEqual(first);
    expect(await run('43')).not.toEqual(first);
    // The first message is stamped with the simulated start.
    expect(first[0]!.split(' ')[1]!.slice(0, 16)).toBe((Date.UTC(2024, 0, 15) / 1000).toString(16).padStart(16, '0'));
  });

  it('takes the old container variables, credentials from files included', async () => {
    const prefix = freshPrefix();
    const { messages } = await capture(nc, prefix);
    const r = inject(['--count', '1200', '--json'], {
      GATLING_USERS_PER_SEC: '1000',
      GATLING_DURATION: '1',
      STREAMING_DURATION: '5000',
      TASK_SLOT: '2',
      GATLING_TO_NATS_SUBJECT: prefix,
      NATS_URI: rig!.NATS_URL!,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.report!.topology).toEqual({ lines: 2, transformers: 5, usagePoints: 100 });
    await settle();
    const lines = new Set(messages.filter((m) => m.subject.includes('.voltage.data.')).map((m) => m.subject.split('.').at(-3)));
    expect([...lines].sort()).toEqual(['21', '22']);

    const auth = inject(['--count', '10', '--rate', '1000', '--slack', '2s'], {
      NATS_URI: rig!.NATS_AUTH_URL!,
      NATS_USERNAME_FILE: rig!.NATS_AUTH_USER_FILE!,
      NATS_PASSWORD_FILE: rig!.NATS_AUTH_PASSWORD_FILE!,
    });
    expect(auth.status, auth.stderr).toBe(0);

    // The old entrypoint's form: credentials inside NATS_URI (the NATS client ignores them there).
    const user = encodeURIComponent(readFileSync(rig!.NATS_AUTH_USER_FILE!, 'utf8').trim());
    const pass = encodeURIComponent(readFileSync(rig!.NATS_AUTH_PASSWORD_FILE!, 'utf8').trim());
    const inUri = inject(['--count', '10', '--rate', '1000', '--slack', '2s'], { NATS_URI: rig!.NATS_AUTH_URL!.replace('nats://', `nats://${user}:${pass}@`) });
    expect(inUri.status, inUri.stderr).toBe(0);
  });

  it('ramps through --stages', () => {
    const r = inject(['--stages', '1s:4000,1s:0', '--json', '-s', rig!.NATS_URL!]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.report).toMatchObject({ scheduled: 4000, published: 4000, rateHeld: true, targetRate: 2000 });
  });

  // Issue 16, row 8: the summary's duration is the run's span (from the start to the end of the
  // schedule, or to the stop), not the time from the first send to the last, and the rates are
  // over that span (k6/Gatling: achieved = messages / span); a stage run's target is the
  // schedule's mean rate over the span, never above its own peak.
  it('reports the duration of the run as scheduled, and target and achieved rates over that span', async () => {
    const runs = await Promise.all([
      injectAsync(['--rate', '0.5', '--duration', '4s', '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()]),
      injectAsync(['--rate', '1', '--duration', '3s', '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()]),
      injectAsync(['--stages', '2s:0.4', '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()]),
      injectAsync(['--rate', '10', '--count', '5', '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()]),
    ]);
    const expected = [
      // [published, span (s), target, achieved]
      [2, 4, 0.5, 0.5],
      [3, 3, 1, 1],
      [1, 2, 0.2, 0.5], // the ramp 0 → 0.4 msgs/s plans 0.4 messages in 2 s (mean 0.2), and its one message is sent
      [5, 0.5, 10, 10], // a count ends the schedule when the next message would have been due
    ] as const;
    for (const [i, run] of runs.entries()) {
      const [published, span, target, achieved] = expected[i]!;
      expect(run.status, run.stderr).toBe(0);
      const r = run.report!;
      expect(r.published, JSON.stringify(r)).toBe(published);
      expect(r.durationSeconds, JSON.stringify(r)).toBeGreaterThanOrEqual(span);
      expect(r.durationSeconds, JSON.stringify(r)).toBeLessThan(span + 0.15);
      expect(r.targetRate, JSON.stringify(r)).toBe(target);
      expect(r.targetRate as number).toBeLessThanOrEqual(r.peakTargetRate!);
      expect(r.achievedRate, JSON.stringify(r)).toBeCloseTo(achieved, 1);
      expect(r.achievedRate).toBeCloseTo(r.published / r.durationSeconds, 2);
    }
  });

  it('shows the same span and rates in the live line, the summary and the HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inject-span-'));
    const file = join(dir, 'run.html');
    const command = [process.execPath, BIN, 'inject', '--rate', '0.5', '--duration', '3s', '--report', file, '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()].join(' ');
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status, r.stdout).toBe(0);
    const target = /target rate +([\d.]+) msgs\/s/.exec(r.stdout)?.[1];
    const achieved = /achieved rate +([\d.]+) msgs\/s over ([\d.]+) s/.exec(r.stdout);
    expect([target, achieved?.[1]], r.stdout).toEqual(['0.5', '0.667']); // 2 messages in 3 s
    expect(Number(achieved![2])).toBeGreaterThanOrEqual(3);
    // The last live line, written once the run is over, shows the summary's figures.
    const lines = r.stdout.split('\r').filter((part) => /^\d+\.\d s {2}target /.test(part));
    expect(lines.at(-1), r.stdout).toMatch(new RegExp(`^${Number(achieved![2]).toFixed(1)} s {2}target 0\\.5/s {2}achieved 0\\.667/s {2}sent 2 `));
    // Before the end, no live line shows a target other than the schedule's (0.5, not 1).
    for (const line of lines) expect(line).toMatch(/target 0\.5\/s/);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<tr><th>target rate</th><td>0.5 msgs/s</td></tr>');
    expect(html).toContain('<tr><th>achieved rate</th><td>0.667 msgs/s</td></tr>');
    expect(html).toContain(`<tr><th>duration</th><td>${achieved![2]} s</td></tr>`);
    // The per-second chart covers the whole span: seconds 1, 2 and 3 (the last message was due at 2 s).
    expect(html).toMatch(/<text [^>]*>3 s<\/text>/);
  });

  it('publishes into JetStream with acknowledgements and latency percentiles', async () => {
    const prefix = freshPrefix();
    const stream = `INJECT_${process.pid}_${unique}`;
    const r = inject(['--rate', '2000', '--slack', '2s', '--count', '2000', '--jetstream', stream, '--create-stream', '--subject-prefix', prefix, '--json', '-s', rig!.NATS_URL!]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.report).toMatchObject({ mode: 'jetstream', published: 2000, confirmed: 2000, lost: 0 });
    const latency = r.report!.latencyMs!;
    expect(latency.count).toBe(2000);
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(stream)).state.messages).toBe(2000);
    await jsm.streams.delete(stream);
  });

  it('says when the rate cannot be held, with exit code 3, and stops early with --abort-on-miss', async () => {
    const prefix = freshPrefix();
    const stream = `SLOW_${process.pid}_${unique}`;
    const args = ['--rate', '100000', '--jetstream', stream, '--create-stream', '--window', '1', '--subject-prefix', prefix, '--json', '-s', rig!.NATS_URL!];
    const slow = inject([...args, '--duration', '2s']);
    expect(slow.status, slow.stderr).toBe(3);
    expect(slow.stderr).toMatch(/the target rate could not be held/);
    expect(slow.report!.rateHeld).toBe(false);
    expect(slow.report!.missedSlots).toBeGreaterThan(0);
    expect(slow.report!.published).toBeLessThan(slow.report!.scheduled);

    const aborted = inject([...args, '--duration', '60s', '--abort-on-miss']);
    expect(aborted.status).toBe(3);
    expect(aborted.report!.abortedOnMiss).toBe(true);
    expect(aborted.report!.durationSeconds).toBeLessThan(10);
    await (await nc.jetstreamManager()).streams.delete(stream);
  });

  it('writes a self-contained HTML report and sends Graphite lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inject-report-'));
    const received: string[] = [];
    const graphite = createServer((socket) => socket.on('data', (chunk) => received.push(...chunk.toString().split('\n').filter(Boolean))));
    const port = await new Promise<number>((resolve) => graphite.listen(0, '127.0.0.1', () => resolve((graphite.address() as { port: number }).port)));
    const file = join(dir, 'run.html');
    const r = await injectAsync(['--rate', '1000', '--slack', '2s', '--duration', '2500ms', '--report', file, '--graphite', `127.0.0.1:${port}`, '-s', rig!.NATS_URL!, '--subject-prefix', freshPrefix()]);
    graphite.close();
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('</html>');
    expect(html).toContain('<svg');
    expect(html).toContain('Messages per second');
    expect(html).not.toMatch(/<script|src=|href=/); // nothing to fetch
    expect(statSync(file).size).toBeGreaterThan(1000);
    const published = received.filter((l) => l.startsWith('smartmeter.inject.slot1.published '));
    expect(published.length).toBeGreaterThanOrEqual(2);
    for (const line of received) expect(line).toMatch(/^smartmeter\.inject\.slot1\.[a-z_.0-9]+ -?[\d.]+ \d{10}$/);
    expect(Number(published.at(-1)!.split(' ')[1])).toBe(2500);
  });

  it('connects with mutual TLS, and refuses a server whose certificate it cannot check', () => {
    const ok = inject(['--count', '10', '-s', rig!.NATS_TLS_URL!, '--tls-ca', rig!.NATS_TLS_CA!, '--tls-cert', rig!.NATS_TLS_CERT!, '--tls-key', rig!.NATS_TLS_KEY!]);
    expect(ok.status, ok.stderr).toBe(0);
    const bad = inject(['--count', '10', '-s', rig!.NATS_TLS_URL!]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^smartmeter: cannot connect to NATS at tls:\/\/127\.0\.0\.1:4224: /);
  });

  it('gives up after the connect timeout on a server that never answers', async () => {
    const silent = createServer(() => undefined); // accepts, never sends INFO
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
    const started = Date.now();
    const r = await injectAsync(['-s', `nats://127.0.0.1:${port}`, '--connect-timeout', '1s', '--count', '5']);
    silent.close();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}: no answer within the connect timeout`));
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('fails with one line, naming the problem, on bad input and unreachable or refusing servers', async () => {
    const password = readFileSync(rig!.NATS_AUTH_PASSWORD_FILE!, 'utf8');
    const closed = await freePort();
    const cases: [string[], number, RegExp][] = [
      [['--rate', '0'], 2, /--rate must be a positive number/],
      [['--rate', 'lots'], 2, /--rate must be a positive number/],
      [['--duration', '5 minutes'], 2, /--duration: cannot read the duration "5 minutes"/],
      [['--stages', '30s:fast'], 2, /--stages: cannot read the stage "30s:fast"/],
      [['--slot', '12'], 2, /--slot must be a whole number from 0 to 11/],
      [['--creds', '/nonexistent/user.creds', '-s', rig!.NATS_URL!], 2, /cannot read the NATS credentials file \/nonexistent\/user\.creds/],
      [['-s', `nats://127.0.0.1:${closed}`, '--count', '5'], 1, new RegExp(`cannot connect to NATS at nats://127\\.0\\.0\\.1:${closed}: connection refused`)],
      [['-s', rig!.NATS_AUTH_URL!.replace('nats://', `nats://nobody:${password}x@`), '--count', '5'], 1, /authorization failed/],
      [['-s', rig!.NATS_URL!, '--jetstream', 'NO_SUCH_STREAM', '--count', '5'], 2, /stream "NO_SUCH_STREAM" does not exist \(add --create-stream/],
      [['-s', rig!.NATS_TLS_URL!, '--tls-ca', '/nonexistent/ca.pem', '--count', '5'], 2, /cannot read the TLS file \/nonexistent\/ca\.pem/],
      [['-s', rig!.NATS_URL!, '--tls-ca', rig!.NATS_TLS_CA!, '--count', '5'], 1, /the server does not offer TLS/],
      // A client certificate without its key, or a key alone: refused, not dropped without a word (issue 16).
      [['-s', rig!.NATS_URL!, '--tls-key', rig!.NATS_TLS_KEY!, '--count', '5'], 2, /^smartmeter: --tls-cert and --tls-key go together \(a client certificate and its key\): --tls-key was given without --tls-cert$/m],
      [['-s', rig!.NATS_TLS_URL!, '--tls-ca', rig!.NATS_TLS_CA!, '--tls-cert', rig!.NATS_TLS_CERT!, '--count', '5'], 2, /^smartmeter: --tls-cert and --tls-key go together \(a client certificate and its key\): --tls-cert was given without --tls-key$/m],
      [['--sim-start', '99999999999999', '--count', '5', '-s', rig!.NATS_URL!], 2, /--sim-start: cannot read/],
    ];
    for (const [args, status, message] of cases) {
      const started = Date.now();
      const r = inject(args);
      expect(r.status, args.join(' ')).toBe(status);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toContain(password);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

describe.runIf(rig)('inject when the NATS server crashes mid-run', () => {
  const server = new OwnNatsServer();
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await server.dispose();
  });

  /** A stream that records, server-side, what reached the server. */
  async function recordingStream(prefix: string, name: string): Promise<void> {
    const client = await connect({ servers: server.url });
    await (await client.jetstreamManager()).streams.add({ name, subjects: [`${prefix}.>`] });
    await client.close();
  }

  async function storedCount(name: string): Promise<number> {
    const client = await connect({ servers: server.url });
    const n = (await (await client.jetstreamManager()).streams.info(name)).state.messages;
    await client.close();
    return n;
  }

  async function crashDuring(run: Promise<{ status: number | null; report?: Report; stderr: string }>) {
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await server.start();
    return run;
  }

  it('core mode reconnects, keeps sending, and reports what may be lost', async () => {
    const prefix = freshPrefix();
    await recordingStream(prefix, 'CORE_RECORD');
    const r = await crashDuring(injectAsync(['--rate', '5000', '--duration', '5s', '--subject-prefix', prefix, '-s', server.url]));
    expect(r.status, r.stderr).toBe(0);
    const report = r.report!;
    expect(r.stderr).toMatch(/disconnected from .*reconnected to/s);
    expect(report.reconnects).toBeGreaterThanOrEqual(1);
    // Sends went on during the outage (buffered) and after it: the whole schedule was handed over.
    expect(report.scheduled).toBe(25_000);
    expect(report.published, JSON.stringify(report)).toBe(25_000);
    expect(report.confirmed + report.lost).toBe(report.published);
    // Honest counts: what the server stored is at most what was published, and at least what was not counted lost.
    const stored = await storedCount('CORE_RECORD');
    expect(stored).toBeLessThanOrEqual(report.published);
    expect(stored).toBeGreaterThanOrEqual(report.published - report.lost);
  });

  it('flat-out ends on time when the server goes away for good, and counts what it could not send', async () => {
    const run = injectAsync(['--rate', 'max', '--duration', '3s', '--drain', '1s', '--subject-prefix', freshPrefix(), '-s', server.url]);
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    await server.kill();
    const r = await run;
    await server.start();
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.status, r.stderr).toBe(0);
    const report = r.report!;
    expect(report.confirmed + report.lost).toBe(report.published + report.lostReasons['not-reconnected']!);
    expect(report.lost).toBeGreaterThan(0);
    expect(report.kinds.temperature + report.kinds.forecast + report.kinds.voltage).toBe(report.published + report.lostReasons['not-reconnected']!);
  });

  it('JetStream mode loses nothing', async () => {
    const prefix = freshPrefix();
    await recordingStream(prefix, 'JS_INJECT');
    // A count, not a duration: every message must get through however long the outage makes the run.
    const r = await crashDuring(injectAsync(['--rate', '3000', '--count', '15000', '--jetstream', 'JS_INJECT', '--subject-prefix', prefix, '-s', server.url]));
    expect(r.status === 0 || r.status === 3, r.stderr).toBe(true); // the outage may make sends late
    const report = r.report!;
    expect(report.reconnects).toBeGreaterThanOrEqual(1);
    expect(report.retried).toBeGreaterThan(0);
    expect(report).toMatchObject({ scheduled: 15_000, published: 15_000, confirmed: 15_000, lost: 0 });
    expect(await storedCount('JS_INJECT')).toBe(15_000);
  });
});
