// The injector's message stream, clock, schedule and settings, pinned with vectors computed by
// hand from the old formulas (section 6 of the reference) and the deviations in the README.
import { describe, expect, it } from 'vitest';
import { simulatedDate, simulatedEpoch, simulatedStart } from '../src/inject/clock.js';
import { MessageGenerator, type MessageKind } from '../src/inject/generator.js';
import { Random } from '../src/inject/random.js';
import { ArrivalSchedule, parseStages } from '../src/inject/schedule.js';
import { UsageError } from '../src/errors.js';
import { resolveInjectSettings } from '../src/inject/settings.js';
import { natsConnectionOptions, natsTlsSettings } from '../src/nats/connection.js';
import { decodeTemperaturePayload, decodeVoltage } from '../src/wire/voltage.js';
import type { Topology } from '../src/inject/model.js';

/** Every uniform draw is 0.5 and every 32-bit draw is 0x8000_8000 (each 16-bit half 0.5). */
const HALF = { uniform: () => 0.5, uint32: () => 0x8000_8000 } as unknown as Random;
const MONDAY_6AM = 1_705_298_400; // 2024-01-15T06:00:00Z

function generator(topology: Topology, options: { slot?: number; random?: Random; predictionLength?: number } = {}) {
  return new MessageGenerator({
    topology,
    slot: options.slot ?? 1,
    subjectPrefix: 'smartmeter.raw',
    randomness: 0.2,
    predictionLength: options.predictionLength ?? 3,
    random: options.random ?? HALF,
  });
}

function take(g: MessageGenerator, n: number, epoch = MONDAY_6AM): { kind: MessageKind; subject: string; payload: Uint8Array }[] {
  return Array.from({ length: n }, () => {
    const kind = g.next(epoch);
    return { kind, subject: g.subject, payload: Uint8Array.from(g.payload) };
  });
}

const hex = (bytes: Uint8Array, from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString('hex');

describe('message sequence', () => {
  it('sends, per cycle, a temperature, a forecast, then every usage point in order', () => {
    const messages = take(generator({ lines: 1, transformers: 2, usagePoints: 3 }), 16);
    expect(messages.map((m) => m.kind)).toEqual(['temperature', 'forecast', ...Array(6).fill('voltage'), 'temperature', 'forecast', ...Array(6).fill('voltage')]);
    expect(messages.slice(0, 8).map((m) => m.subject)).toEqual([
      'smartmeter.raw.temperature.data',
      'smartmeter.raw.temperature.forecast.12',
      'smartmeter.raw.voltage.data.11.1.1',
      'smartmeter.raw.voltage.data.11.1.2',
      'smartmeter.raw.voltage.data.11.1.3',
      'smartmeter.raw.voltage.data.11.2.1',
      'smartmeter.raw.voltage.data.11.2.2',
      'smartmeter.raw.voltage.data.11.2.3',
    ]);
  });

  it('gives every point of the old rate-10 topology a reading each cycle (the old one skipped x.1.1 and x.1.2)', () => {
    const g = generator({ lines: 1, transformers: 2, usagePoints: 5 });
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const points = take(g, 12).filter((m) => m.kind === 'voltage').map((m) => m.subject.split('.').slice(-3).join('.'));
      expect(new Set(points).size).toBe(10);
      expect(points).toContain('11.1.1');
      expect(points).toContain('11.1.2');
    }
  });

  it('numbers lines from 10 × slot + 1', () => {
    const subjects = take(generator({ lines: 2, transformers: 1, usagePoints: 1 }, { slot: 2 }), 4).map((m) => m.subject);
    expect(subjects.slice(2)).toEqual(['smartmeter.raw.voltage.data.21.1.1', 'smartmeter.raw.voltage.data.22.1.1']);
  });

  it('encodes temperature, forecast (12 h ahead) and voltage payloads byte for byte', () => {
    const [temp, forecast, v1, v2] = take(generator({ lines: 1, transformers: 1, usagePoints: 2 }), 4);
    // The queue starts [5, 5 + (0.5 − 0.5), 5]: the first temperature sent is the 5.0 at its front.
    expect(temp!.payload.length).toBe(12);
    expect(hex(temp!.payload, 0, 12)).toBe('0000000065a4c9e0' + '40a00000');
    // The forecast is the newest value: T(15 Jan, Monday, 06h, rnd 0.5)
    //   = −22 cos(2π·14/365) + cos(2π·(0−1)/6) − 5 cos(2π·6/23) + 2·0.5 = −19.522989…; epoch + 43200.
    expect(hex(forecast!.payload, 0, 12)).toBe('0000000065a572a0' + 'c19c2f15');
    expect(decodeTemperaturePayload(forecast!.payload)).toEqual({ epoch: MONDAY_6AM + 43_200, celsius: Math.fround(-19.522989074601558) });
    // Voltage of 11.1.1: k = ((hashCode("11.1.1") = 1449499878) + 0 + 6) mod 20 / 20 = 0.2,
    // base = |0.4·4·(0.2·(0.5 − 0.5) + 0.2 − 0.5) + 118| = 117.52, then + |5 − 5|·0.08 − 1 = 116.52.
    expect(v1!.payload.length).toBe(56);
    expect(hex(v1!.payload, 0, 12)).toBe('0000000065a4c9e0' + '42e90a3d');
    // 11.1.2: hash 1449499879, k = 0.25 → 117.6 − 1 = 116.6.
    expect(hex(v2!.payload, 8, 12)).toBe('42e93333');
    // demand = 100 + 0.5, val_k = k + 0.5.
    const reading = decodeVoltage(v1!.subject, v1!.payload);
    expect(reading).toMatchObject({ line: 11, transformer: 1, usagePoint: 1, epoch: MONDAY_6AM, demand: 100.5, values: [3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5] });
  });

  it('sends each temperature prediction-length cycles after it was forecast', () => {
    const g = generator({ lines: 1, transformers: 1, usagePoints: 1 }, { random: new Random(7), predictionLength: 4 });
    const forecasts: number[] = [];
    const sent: number[] = [];
    for (let cycle = 0; cycle < 12; cycle += 1) {
      for (const m of take(g, 3, MONDAY_6AM + cycle * 900)) {
        if (m.kind === 'temperature') sent.push((decodeTemperaturePayload(m.payload) as { celsius: number }).celsius);
        if (m.kind === 'forecast') forecasts.push((decodeTemperaturePayload(m.payload) as { celsius: number }).celsius);
      }
    }
    expect(sent[0]).toBe(5);
    for (let cycle = 4; cycle < 12; cycle += 1) expect(sent[cycle]).toBe(forecasts[cycle - 4]);
  });

  it('is reproducible from its seed, and differs with another seed', () => {
    const bytes = (seed: number) => Buffer.concat(take(generator({ lines: 1, transformers: 2, usagePoints: 5 }, { random: new Random(seed) }), 50).map((m) => Buffer.from(m.payload))).toString('hex');
    expect(bytes(42)).toBe(bytes(42));
    expect(bytes(42)).not.toBe(bytes(43));
  });

  it('keeps the noise in the old ranges', () => {
    const g = generator({ lines: 1, transformers: 10, usagePoints: 100 }, { random: new Random(1) });
    for (const m of take(g, 5000)) {
      if (m.kind !== 'voltage') continue;
      const r = decodeVoltage(m.subject, m.payload);
      if (typeof r === 'string') throw new Error(r);
      expect(r.demand).toBeGreaterThanOrEqual(100);
      expect(r.demand).toBeLessThan(101);
      r.values.forEach((v, i) => {
        expect(v).toBeGreaterThanOrEqual(i + 3);
        expect(v).toBeLessThan(i + 4);
      });
      expect(r.voltage).toBeGreaterThan(110);
      expect(r.voltage).toBeLessThan(125);
    }
  });
});

describe('accelerated clock', () => {
  it('starts at now, or at root + (now − root) × 900 with TIME_ROOT (no 675-day jump)', () => {
    expect(simulatedStart(1_700_000_123.7)).toBe(1_700_000_123);
    expect(simulatedStart(1_700_000_100, 1_700_000_000)).toBe(1_700_000_000 + 100 * 900);
  });

  it('advances 15 simulated minutes per real second, in whole steps', () => {
    expect(simulatedEpoch(MONDAY_6AM, 0)).toBe(MONDAY_6AM);
    expect(simulatedEpoch(MONDAY_6AM, 999)).toBe(MONDAY_6AM);
    expect(simulatedEpoch(MONDAY_6AM, 1000)).toBe(MONDAY_6AM + 900);
    expect(simulatedEpoch(MONDAY_6AM, 4500)).toBe(MONDAY_6AM + 3600);
  });

  it('reads dates in UTC with Monday = 0 and 1-based days of the year', () => {
    expect(simulatedDate(MONDAY_6AM)).toEqual({ day: 0, hour: 6, dayOfYear: 15 });
    expect(simulatedDate(Date.UTC(2023, 11, 31, 23) / 1000)).toEqual({ day: 6, hour: 23, dayOfYear: 365 });
    expect(simulatedDate(Date.UTC(2024, 11, 31, 0) / 1000)).toEqual({ day: 1, hour: 0, dayOfYear: 366 });
  });
});

describe('arrival schedule', () => {
  it('plans a constant rate exactly', () => {
    const s = ArrivalSchedule.constant(1000, 10_000);
    expect(s.total).toBe(10_000);
    expect(s.dueBy(0)).toBe(0);
    expect(s.dueBy(0.5)).toBe(1);
    expect(s.dueBy(999.9)).toBe(1000);
    expect(s.dueBy(10_000)).toBe(10_000);
    expect(s.plannedMs(500)).toBe(500);
    expect(ArrivalSchedule.constant(1000, undefined, 2500).total).toBe(2500);
  });

  it('ramps linearly between stages (cumulative count is the area under the rate)', () => {
    const s = new ArrivalSchedule(parseStages('10s:1000,10s:0'), 0);
    expect(s.total).toBe(10_000);
    expect(s.durationMs).toBe(20_000);
    expect(s.rateAt(5000)).toBe(500);
    expect(s.rateAt(15_000)).toBe(500);
    // First stage: n = 50 t² → message 1250 at 5 s.
    expect(s.plannedMs(1250)).toBeCloseTo(5000, 6);
    // Second stage: 1000 τ − 50 τ² = 2500 → τ = 10 − √50.
    expect(s.plannedMs(7500)).toBeCloseTo(10_000 + (10 - Math.sqrt(50)) * 1000, 6);
    expect(s.dueBy(5000)).toBe(1250);
    expect(s.peakRate()).toBe(1000);
    expect(s.meanRate()).toBe(500);
    expect(s.meanRate(5000)).toBeCloseTo(250, 9); // the first 5 s of the ramp to 1000
  });

  it('plans nothing during a stage at rate 0, and averages over the span a count leaves', () => {
    const s = new ArrivalSchedule(parseStages('10s:0,10s:100'), 0);
    expect(s.dueBy(9_999)).toBe(0);
    expect(s.plannedMs(0)).toBe(10_000);
    expect(s.total).toBe(500);
    expect(ArrivalSchedule.constant(10, 3_600_000, 10).meanRate()).toBe(10);
    expect(ArrivalSchedule.constant(10, 3_600_000, 10).endMs()).toBe(1000); // 10 messages at 10/s span 1 s
    // A ramp that plans a fraction of a message still sends one; its mean rate is the plan's, below the peak.
    const small = new ArrivalSchedule(parseStages('2s:0.4'), 0);
    expect([small.total, small.endMs(), small.meanRate(), small.peakRate()]).toEqual([1, 2000, 0.2, 0.4]);
    expect(ArrivalSchedule.constant(0.5, 3000).meanRate()).toBe(0.5);
  });

  it('refuses unreadable stages', () => {
    expect(() => parseStages('30s')).toThrow(/cannot read the stage "30s"/);
    expect(() => parseStages('30s:-5')).toThrow(/cannot read the stage/);
    expect(() => parseStages('thirty:100')).toThrow(/cannot read the duration "thirty"/);
    expect(() => parseStages('')).toThrow(/no stage/);
  });
});

describe('inject settings', () => {
  it('reads the old container variables when the flags are absent', () => {
    const s = resolveInjectSettings({}, {
      GATLING_USERS_PER_SEC: '600', GATLING_DURATION: '2', TASK_SLOT: '3', RANDOMNESS: '0.5', PREDICTION_LENGTH: '6',
      TIME_ROOT: '1700000000', GATLING_TO_NATS_SUBJECT: 'old.raw', NATS_URI: 'nats://nats:4222', STREAMING_DURATION: '5000',
    });
    expect(s.schedule).not.toBe('max');
    const schedule = s.schedule as ArrivalSchedule;
    expect(schedule.rateAt(0)).toBe(600);
    expect(schedule.durationMs).toBe(120_000);
    expect(s.topology).toEqual({ lines: 2, transformers: 4, usagePoints: 75 });
    expect([s.slot, s.randomness, s.predictionLength, s.timeRoot, s.subjectPrefix]).toEqual([3, 0.5, 6, 1_700_000_000, 'old.raw']);
    expect(s.nats.servers).toEqual(['nats://nats:4222']);
  });

  it('reads credentials from the environment only when no credential flag is given', () => {
    const env = { NATS_USERNAME_FILE: '/nonexistent/user', NATS_PASSWORD: 'from-env' };
    expect(() => resolveInjectSettings({}, env)).toThrow(/cannot read the NATS user file/);
    expect(resolveInjectSettings({ token: 't' }, env).nats).toMatchObject({ token: 't', user: undefined, password: undefined });
    // The plain variable wins over the file, as in the old entrypoint.
    expect(resolveInjectSettings({}, { NATS_USERNAME: 'u', NATS_USERNAME_FILE: '/nonexistent/user' }).nats.user).toBe('u');
  });

  it('lets flags win over the environment', () => {
    const s = resolveInjectSettings({ rate: '1000', slot: '0', meters: '2x3x4' }, { GATLING_USERS_PER_SEC: '10', TASK_SLOT: '5' });
    expect((s.schedule as ArrivalSchedule).rateAt(0)).toBe(1000);
    expect(s.slot).toBe(0);
    expect(s.topology).toEqual({ lines: 2, transformers: 3, usagePoints: 4 });
  });

  it('derives the topology from the rate as the old injector did, and a default flat-out', () => {
    expect(resolveInjectSettings({ rate: '1000' }, {}).topology).toEqual({ lines: 2, transformers: 5, usagePoints: 100 });
    expect(resolveInjectSettings({ stages: '10s:500,10s:20000' }, {}).topology).toEqual({ lines: 3, transformers: 9, usagePoints: 740 });
    expect(resolveInjectSettings({ rate: 'max' }, {}).topology).toEqual({ lines: 3, transformers: 15, usagePoints: 2222 });
    expect(resolveInjectSettings({ rate: '0.5' }, {}).topology).toEqual({ lines: 1, transformers: 1, usagePoints: 1 });
  });

  it('names the bad value, flag or variable, in one message', () => {
    const bad: [Parameters<typeof resolveInjectSettings>[0], Record<string, string>, RegExp][] = [
      [{ rate: '0' }, {}, /--rate must be a positive number .* got "0"/],
      [{ rate: 'fast' }, {}, /--rate must be a positive number/],
      [{}, { GATLING_USERS_PER_SEC: '-3' }, /GATLING_USERS_PER_SEC must be a positive number/],
      [{ duration: '10 parsecs' }, {}, /--duration: cannot read the duration/],
      [{}, { GATLING_DURATION: '1.5' }, /GATLING_DURATION \(minutes\) must be a positive whole number/],
      [{ slot: '12' }, {}, /--slot must be a whole number from 0 to 11/],
      [{}, { TASK_SLOT: 'x' }, /TASK_SLOT must be a whole number/],
      [{ meters: '11x1x1' }, {}, /at most 10 lines/],
      [{ meters: '2x0x4' }, {}, /--meters: expected/],
      [{ stages: '10s:100', duration: '1m' }, {}, /cannot be used together/],
      [{ seed: '-1' }, {}, /--seed must be a whole number/],
      [{ subjectPrefix: 'a.*' }, {}, /is not a NATS subject/],
      [{ simStart: 'yesterday' }, {}, /--sim-start: cannot read "yesterday"/],
      [{ simStart: '99999999999999' }, {}, /--sim-start: cannot read "99999999999999" as a date from 1970 to 9999/],
      [{ createStream: true }, {}, /--create-stream needs --jetstream/],
      [{ passwordFile: '/nonexistent/secret' }, {}, /cannot read the NATS password file \/nonexistent\/secret/],
      [{ tlsKey: 'client.key' }, {}, /^--tls-cert and --tls-key go together \(a client certificate and its key\): --tls-key was given without --tls-cert$/],
      [{ tlsCa: 'ca.pem', tlsCert: 'client.pem' }, {}, /^--tls-cert and --tls-key go together .*: --tls-cert was given without --tls-key$/],
    ];
    for (const [flags, env, message] of bad) expect(() => resolveInjectSettings(flags, env), JSON.stringify(flags)).toThrow(message);
  });

  it('takes TLS from a CA or a client certificate with its key, and refuses half a pair wherever NATS options are made', async () => {
    expect(resolveInjectSettings({ tlsCa: 'ca.pem' }, {}).nats.tls).toEqual({ caFile: 'ca.pem', certFile: undefined, keyFile: undefined });
    expect(resolveInjectSettings({ tlsCert: 'c.pem', tlsKey: 'k.pem' }, {}).nats.tls).toEqual({ caFile: undefined, certFile: 'c.pem', keyFile: 'k.pem' });
    expect(resolveInjectSettings({}, {}).nats.tls).toBeUndefined();
    expect(() => natsTlsSettings({ tlsKey: 'k.pem' })).toThrow(UsageError);
    await expect(natsConnectionOptions({ servers: ['nats://127.0.0.1:4222'], tls: { keyFile: 'k.pem' } })).rejects.toThrow(/--tls-key was given without --tls-cert/);
    await expect(natsConnectionOptions({ servers: ['nats://127.0.0.1:4222'], tls: { certFile: 'c.pem' } })).rejects.toThrow(/--tls-cert was given without --tls-key/);
  });
});
