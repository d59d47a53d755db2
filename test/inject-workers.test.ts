// `inject --workers N`: the arithmetic of the shares (unit), then real runs on the rig's NATS with
// two workers: every meter's messages arrive, exactly the ones a single worker of that share would
// send, in its order; the summary's counts are what a subscriber received; SIGTERM ends the run
// with one summary.
import { spawn } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedEpoch } from '../src/inject/clock.js';
import { MessageGenerator } from '../src/inject/generator.js';
import type { InjectionReport, Sample, Snapshot } from '../src/inject/injection.js';
import type { Topology } from '../src/inject/model.js';
import { Random } from '../src/inject/random.js';
import { ArrivalSchedule, ScheduleShare, parseStages, shareCount } from '../src/inject/schedule.js';
import { resolveInjectSettings, workerCount } from '../src/inject/settings.js';
import { combineReports, combineSamples, combineSnapshots, positionShares, workerSeed } from '../src/inject/workers.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';

/** Every uniform draw is 0.5 and every 32-bit draw is 0x8000_8000. */
const HALF = { uniform: () => 0.5, uint32: () => 0x8000_8000 } as unknown as Random;
const MONDAY_6AM = 1_705_298_400; // 2024-01-15T06:00:00Z

function generator(topology: Topology, share?: { from: number; to: number }, random: Random = HALF, voltageRandom?: Random) {
  return new MessageGenerator({ topology, slot: 1, subjectPrefix: 'p', randomness: 0.2, predictionLength: 3, random, share, voltageRandom });
}

describe('shares of the cycle and of the schedule', () => {
  it('cuts the cycle into contiguous shares, the first keeping temperature and forecast together', () => {
    expect(positionShares(102, 2)).toEqual([{ from: 0, to: 51 }, { from: 51, to: 102 }]);
    expect(positionShares(5, 2)).toEqual([{ from: 0, to: 2 }, { from: 2, to: 5 }]);
    expect(() => positionShares(3, 2)).toThrow(RangeError);
    // Clamped so that every share has 2 positions at least; JetStream: one connection.
    expect(workerCount(8, 'max', { lines: 1, transformers: 1, usagePoints: 4 }, false, 8)).toBe(3);
    expect(workerCount(undefined, 'max', { lines: 3, transformers: 15, usagePoints: 2222 }, false, 4)).toBe(3);
    expect(workerCount(undefined, 'max', { lines: 3, transformers: 15, usagePoints: 2222 }, false, 2)).toBe(1);
    expect(workerCount(undefined, 250_000, { lines: 3, transformers: 15, usagePoints: 2222 }, false, 8)).toBe(3);
    expect(workerCount(undefined, 20_000, { lines: 3, transformers: 15, usagePoints: 2222 }, false, 8)).toBe(1);
    expect(workerCount(4, 'max', { lines: 3, transformers: 15, usagePoints: 2222 }, true, 8)).toBe(1);
    expect(workerCount(2, 500, { lines: 1, transformers: 1, usagePoints: 1 }, false, 8)).toBe(1);
  });

  it('reads --workers and SMARTMETER_INJECT_WORKERS, and refuses bad values', () => {
    expect(resolveInjectSettings({ workers: '2', rate: 'max' }, {}).workers).toBe(2);
    expect(resolveInjectSettings({ rate: 'max' }, { SMARTMETER_INJECT_WORKERS: '2' }).workers).toBe(2);
    expect(() => resolveInjectSettings({ workers: '0' }, {})).toThrow(/--workers must be a whole number from 1 to 64/);
    expect(() => resolveInjectSettings({}, { SMARTMETER_INJECT_WORKERS: 'x' })).toThrow(/SMARTMETER_INJECT_WORKERS must be/);
    expect(() => resolveInjectSettings({ workers: '2', jetstream: true }, {})).toThrow(/JetStream mode publishes on one connection/);
  });

  it('together, the shares of a schedule send exactly its messages at its times', () => {
    const whole = new ArrivalSchedule(parseStages('1s:3000,2s:500'), 1000, 4321);
    const cycle = 17;
    const planned: number[] = [];
    for (const { from, to } of positionShares(cycle, 3)) {
      const share = new ScheduleShare(whole, cycle, from, to);
      for (let j = 0; j < share.total; j += 1) {
        const i = share.wholeIndex(j);
        expect(i % cycle).toBeGreaterThanOrEqual(from);
        expect(i % cycle).toBeLessThan(to);
        planned[i] = share.plannedMs(j);
        expect(share.plannedMs(j)).toBe(whole.plannedMs(i));
      }
      for (const ms of [0, 1, 250, 999, 1500, 2999, 5000]) expect(share.dueBy(ms)).toBe(shareCount(whole.dueBy(ms), cycle, from, to));
      expect(share.endMs()).toBe(whole.endMs());
    }
    expect(planned.length).toBe(4321);
    expect(planned.every((ms, i) => ms === whole.plannedMs(i))).toBe(true);
  });

  it('a share sends its positions, with the temperature queue of the whole cycle', () => {
    const topology = { lines: 1, transformers: 2, usagePoints: 3 }; // 8 positions
    const whole = generator(topology);
    const shares = positionShares(8, 2).map((s) => generator(topology, s));
    const take = (g: MessageGenerator, n: number, epoch: number) =>
      Array.from({ length: n }, () => {
        g.next(epoch);
        return `${g.subject} ${Buffer.from(g.payload).toString('hex')}`;
      });
    for (let cycle = 0; cycle < 5; cycle += 1) {
      const epoch = MONDAY_6AM + cycle * 3 * 3600; // the temperature model follows the hour
      expect([...take(shares[0]!, 4, epoch), ...take(shares[1]!, 4, epoch)]).toEqual(take(whole, 8, epoch));
    }
  });

  it('adds up the workers\' snapshots, samples and reports', () => {
    const schedule = ArrivalSchedule.constant(1000, 10_000);
    const snap = (published: number, seconds: number): Snapshot => ({
      elapsedSeconds: seconds, targetRate: 500, currentRate: published / seconds, scheduled: published, published, confirmed: published - 1, lost: 1, errors: 0, missedSlots: 0, lagMs: seconds,
      kinds: { temperature: 1, forecast: 1, voltage: published - 2 }, run: { seconds, targetRate: 500, achievedRate: published / seconds },
    });
    const s = combineSnapshots([snap(1000, 2), snap(1100, 2.1), undefined], schedule);
    expect(s).toMatchObject({ published: 2100, confirmed: 2098, lost: 2, lagMs: 2.1, kinds: { temperature: 2, forecast: 2, voltage: 2096 }, targetRate: 1000, run: { seconds: 2.1, targetRate: 1000, achievedRate: 1000 } });
    const sample = (second: number, published: number): Sample => ({ second, target: published, published, confirmed: published, lost: 0, errors: 0 });
    expect(combineSamples([[sample(1, 10), sample(2, 5)], [sample(1, 7)]])).toEqual([sample(1, 17), sample(2, 5)]);
    const report = (published: number, missed: number): InjectionReport => ({
      mode: 'core', targetRate: 500, peakTargetRate: 500, achievedRate: published / 10, durationSeconds: 10, drainSeconds: 0.01, scheduled: published, published, confirmed: published, lost: 0,
      lostReasons: { disconnected: 0, unconfirmed: 0, refused: 0, 'not-reconnected': 0, 'no-ack': 0 }, errors: { timeout: 1 }, retried: 0, duplicates: 0, reconnects: 0,
      kinds: { temperature: 10, forecast: 10, voltage: published - 20 }, missedSlots: missed, maxLagMs: missed, rateHeld: true, abortedOnMiss: false, stoppedEarly: false,
      simulatedStart: '2024-01-15T06:00:00.000Z', simulatedEnd: `2024-01-15T08:${String(missed).padStart(2, '0')}:00.000Z`,
    });
    const r = combineReports([
      { report: report(5000, 10), samples: [], spanMs: 10_000, sendEndMs: 10_000, drainEndMs: 10_020 },
      { report: report(5000, 90), samples: [], spanMs: 10_000, sendEndMs: 10_005, drainEndMs: 10_030 },
    ], schedule);
    expect(r).toMatchObject({ targetRate: 1000, achievedRate: 1000, published: 10_000, scheduled: 10_000, missedSlots: 100, maxLagMs: 90, errors: { timeout: 2 }, drainSeconds: 0.025, rateHeld: true, simulatedEnd: '2024-01-15T08:90:00.000Z' });
    expect(r.kinds).toEqual({ temperature: 20, forecast: 20, voltage: 9960 });
    // More than 1 % late: not held, as for one thread.
    expect(combineReports([{ report: report(5000, 101), samples: [], spanMs: 10_000, sendEndMs: 10_000, drainEndMs: 10_000 }], schedule).rateHeld).toBe(false);
  });
});

const rig = rigService('nats');

let unique = 0;
const freshPrefix = () => `w${process.pid}x${Date.now() % 100_000}x${(unique += 1)}.raw`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function injectAsync(args: string[], env: Record<string, string>, onStart?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'inject', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    onStart?.(child.pid!);
  });
}

/** The summary's lines as test/kubernetes.test.ts reads them. */
function summaryCounts(text: string) {
  const published = /published +(\d+) \(temperature (\d+), forecast (\d+), voltage (\d+)\)/.exec(text);
  return {
    published: Number(published?.[1]),
    kinds: { temperature: Number(published?.[2]), forecast: Number(published?.[3]), voltage: Number(published?.[4]) },
    confirmed: Number(/confirmed +(\d+)/.exec(text)?.[1]),
    lost: Number(/lost +(\d+)/.exec(text)?.[1]),
    slot: Number(/\(slot (\d+)\)/.exec(text)?.[1]),
    workers: Number(/workers +(\d+)/.exec(text)?.[1]),
  };
}

describe.runIf(rig)('inject --workers on the rig NATS', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: rig!.NATS_URL! });
  });
  afterAll(async () => {
    await nc?.close();
  });

  async function capture(prefix: string) {
    const bySubject = new Map<string, string[]>();
    let received = 0;
    const sub = nc.subscribe(`${prefix}.>`, {
      callback: (_err, msg) => {
        received += 1;
        const list = bySubject.get(msg.subject) ?? [];
        list.push(Buffer.from(msg.data).toString('hex'));
        bySubject.set(msg.subject, list);
      },
    });
    await nc.flush();
    return { sub, bySubject, received: () => received };
  }

  it('with 2 workers every meter gets its messages, in order, and the summary counts what arrived', async () => {
    const prefix = freshPrefix();
    const { sub, bySubject, received } = await capture(prefix);
    const topology = { lines: 2, transformers: 5, usagePoints: 100 }; // 1002 positions a cycle
    const count = 30_000;
    const seed = 42;
    const r = await injectAsync(
      ['--rate', '20000', '--count', String(count), '--meters', '2x5x100', '--seed', String(seed), '--sim-start', String(MONDAY_6AM), '--slack', '2s', '--subject-prefix', prefix, '-s', rig!.NATS_URL!],
      { SMARTMETER_INJECT_WORKERS: '2' },
    );
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    sub.unsubscribe();
    expect(r.status, r.stderr).toBe(0);
    const summary = summaryCounts(r.stdout);
    expect(summary, r.stdout).toMatchObject({ published: count, confirmed: count, lost: 0, slot: 1, workers: 2 });
    expect(received()).toBe(count);
    const arrived = { temperature: 0, forecast: 0, voltage: 0 };
    for (const [subject, list] of bySubject) arrived[subject.includes('.voltage.') ? 'voltage' : subject.endsWith('.12') ? 'forecast' : 'temperature'] += list.length;
    expect(arrived).toEqual(summary.kinds);

    // What each worker must have sent, meter by meter: its share's messages from its own
    // generator, each stamped with the simulated time the whole schedule plans for it.
    const whole = ArrivalSchedule.constant(20_000, Number.POSITIVE_INFINITY, count);
    const cycle = 1002;
    const expected = new Map<string, string[]>();
    positionShares(cycle, 2).forEach((share, index) => {
      const g = new MessageGenerator({ topology, slot: 1, subjectPrefix: prefix, randomness: 0.2, predictionLength: 12, random: new Random(seed), share, voltageRandom: new Random(workerSeed(seed, index)) });
      const mine = new ScheduleShare(whole, cycle, share.from, share.to);
      for (let j = 0; j < mine.total; j += 1) {
        g.next(simulatedEpoch(MONDAY_6AM, mine.plannedMs(j)));
        const list = expected.get(g.subject) ?? [];
        list.push(Buffer.from(g.payload).toString('hex'));
        expected.set(g.subject, list);
      }
    });
    expect(bySubject.size).toBe(expected.size);
    for (const [subject, list] of expected) expect(bySubject.get(subject), subject).toEqual(list);
  });

  it('with 2 workers at 50,000 msgs/s, SIGTERM ends the run with one summary of what was sent', async () => {
    const prefix = freshPrefix();
    const { sub, received } = await capture(prefix);
    // SIGTERM 1.5 s after the first message arrived (not after the spawn: a busy machine starts slowly).
    const run = injectAsync(['--rate', '50000', '--duration', '30s', '--slack', '2s', '--json', '--subject-prefix', prefix, '-s', rig!.NATS_URL!], { SMARTMETER_INJECT_WORKERS: '2' }, (pid) => {
      const started = setInterval(() => {
        if (received() === 0) return;
        clearInterval(started);
        setTimeout(() => process.kill(pid, 'SIGTERM'), 1500);
      }, 20);
    });
    const r = await run;
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    sub.unsubscribe();
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as InjectionReport & { workers: number };
    expect(report.workers).toBe(2);
    expect(report.durationSeconds).toBeLessThan(5);
    expect(report.published).toBeGreaterThan(20_000);
    expect(report).toMatchObject({ confirmed: report.published, lost: 0 });
    expect(received()).toBe(report.published);
  });

  it('takes --workers on the command line, as --help lists it', () => {
    const help = runCli(['inject', '--help']).stdout;
    expect(help).toMatch(/\$ smartmeter inject .*--workers \d/);
    const r = runCli(['inject', '--workers', '2', '--rate', 'max', '--count', '20000', '--json', '--subject-prefix', freshPrefix(), '-s', rig!.NATS_URL!]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workers: 2, published: 20_000, confirmed: 20_000, lost: 0 });
    const bad = runCli(['inject', '--workers', '0', '-s', rig!.NATS_URL!]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--workers must be a whole number from 1 to 64, got "0"/);
  });

  it('says in one line when a worker cannot connect', () => {
    const r = runCli(['inject', '--rate', 'max', '--count', '10', '-s', 'nats://127.0.0.1:1', '--connect-timeout', '2s'], { env: { SMARTMETER_INJECT_WORKERS: '2' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['smartmeter: cannot connect to NATS at nats://127.0.0.1:1: connection refused']);
  });
});
