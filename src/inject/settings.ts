/**
 * The settings of `smartmeter inject`, from its flags, with the old injector container's
 * environment as fallback (GATLING_USERS_PER_SEC, GATLING_DURATION, TASK_SLOT, …) so the new
 * image can replace the old one in an existing stack. Plain values in, plain values out.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';
import { parseDuration, positiveInteger, readSecretFile } from '../parsers.js';
import { natsSettingsFromEnv, natsTlsSettings, type NatsSettings } from '../nats/connection.js';
import { topologyForRate, type Topology } from './model.js';
import { ArrivalSchedule, parseStages } from './schedule.js';

export interface InjectFlags {
  rate?: string;
  duration?: string;
  count?: string;
  stages?: string;
  meters?: string;
  slot?: string;
  seed?: string;
  subjectPrefix?: string;
  randomness?: string;
  predictionLength?: string;
  timeRoot?: string;
  simStart?: string;
  server?: string[];
  user?: string;
  password?: string;
  passwordFile?: string;
  token?: string;
  tokenFile?: string;
  creds?: string;
  nkey?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  jetstream?: string | boolean;
  createStream?: boolean;
  window?: string;
  slack?: string;
  abortOnMiss?: boolean;
  connectTimeout?: string;
  drain?: string;
  workers?: string;
}

export interface InjectSettings {
  /** The arrival schedule, or 'max' (flat-out, bounded by maxCount / maxDurationMs if given). */
  schedule: ArrivalSchedule | 'max';
  maxCount?: number;
  maxDurationMs?: number;
  topology: Topology;
  slot: number;
  /** Undefined: a fresh random seed (printed in the report). */
  seed?: number;
  subjectPrefix: string;
  randomness: number;
  predictionLength: number;
  /** TIME_ROOT: the shared anchor of the accelerated clock (epoch seconds). */
  timeRoot?: number;
  /** Simulated epoch of the first message, over TIME_ROOT (reproducible runs). */
  simStart?: number;
  nats: NatsSettings;
  connectTimeoutMs: number;
  jetstream?: { stream: string; create: boolean; window: number };
  slackMs: number;
  abortOnMiss: boolean;
  /** How long to wait at the end for confirmations (and a reconnection). */
  drainMs: number;
  /**
   * Threads that publish, each on a NATS connection of its own and owning a contiguous share of
   * the cycle's meters (1: in the main thread, no worker). Already clamped to what the topology
   * can share (see MAX_WORKERS, workerCount).
   */
  workers: number;
}

/** --workers at most. */
export const MAX_WORKERS = 64;
/** By default, one worker per this many msgs/s of the peak rate (a thread holds 100,000 msgs/s with room to spare); flat-out, one per core but one. */
const RATE_PER_WORKER = 100_000;

/**
 * How many workers a run gets: `requested` (--workers / SMARTMETER_INJECT_WORKERS) or, by
 * default, from the available cores (os.availableParallelism()): flat-out, one per core but one
 * (left to the NATS client's socket writes, the system and, often, a server on the same host: on
 * 2 cores with the server local, 2 workers measured no faster than 1), otherwise one per 100,000
 * msgs/s of the peak rate, at most one per core; JetStream mode always 1 (its pace is the
 * stream's acknowledgements).
 * Clamped so that every share has at least 2 positions of the cycle (the first keeps the
 * temperature and the forecast together).
 */
export function workerCount(requested: number | undefined, peakRate: number | 'max', topology: Topology, jetstream: boolean, cores = availableParallelism()): number {
  if (jetstream) return 1;
  const wanted = requested ?? (peakRate === 'max' ? cores - 1 : Math.min(cores, Math.ceil(peakRate / RATE_PER_WORKER)));
  const positions = topology.lines * topology.transformers * topology.usagePoints + 2;
  return Math.max(1, Math.min(wanted, Math.floor(positions / 2), MAX_WORKERS));
}

/** The rate of the old stack (GATLING_USERS_PER_SEC in its properties). */
export const DEFAULT_RATE = 500;
/** Topology flat-out, when --meters is not given: that of 100,000 msgs/s (3 × 15 × 2222 points). */
const FLAT_OUT_TOPOLOGY_RATE = 100_000;
/** Lines per slot: line numbers are 10 × slot + 1 … 10 × slot + 10. */
const MAX_LINES = 10;
/** The line travels as a tinyint (the old bridge parsed it as an 8-bit integer): 10 × 11 + 10 ≤ 127. */
const MAX_SLOT = 11;

export function resolveInjectSettings(flags: InjectFlags, env: NodeJS.ProcessEnv): InjectSettings {
  const rateText = flags.rate ?? env.GATLING_USERS_PER_SEC;
  const rate = rateText === undefined ? DEFAULT_RATE : parseRate(rateText, flags.rate === undefined ? 'GATLING_USERS_PER_SEC' : '--rate');
  const durationMs = flags.duration !== undefined
    ? parseDuration(flags.duration, '--duration')
    : env.GATLING_DURATION !== undefined && flags.stages === undefined
      ? positiveInteger(env.GATLING_DURATION, 'GATLING_DURATION (minutes)') * 60_000
      : undefined;
  const count = flags.count === undefined ? undefined : positiveInteger(flags.count, '--count');

  let schedule: ArrivalSchedule | 'max';
  if (flags.stages !== undefined) {
    if (flags.duration !== undefined) throw new UsageError('--stages and --duration cannot be used together (the stages set the duration)');
    if (rate === 'max') throw new UsageError('--stages and --rate max cannot be used together');
    schedule = new ArrivalSchedule(parseStages(flags.stages), flags.rate === undefined ? 0 : rate, count);
  } else if (rate === 'max') {
    schedule = 'max';
  } else {
    schedule = ArrivalSchedule.constant(rate, durationMs, count);
  }

  const topology = flags.meters !== undefined
    ? parseMeters(flags.meters)
    : topologyForRate(Math.max(1, schedule === 'max' ? FLAT_OUT_TOPOLOGY_RATE : schedule.peakRate()));
  if (topology.lines > MAX_LINES) {
    throw new UsageError(`the rate gives ${topology.lines} lines; at most ${MAX_LINES} fit in a slot: set --meters`);
  }

  const slotText = flags.slot ?? env.TASK_SLOT;
  const slot = slotText === undefined ? 1 : integerIn(slotText, flags.slot === undefined ? 'TASK_SLOT' : '--slot', 0, MAX_SLOT);

  const credentialFlag = [flags.user, flags.password, flags.passwordFile, flags.token, flags.tokenFile, flags.creds, flags.nkey].some((f) => f !== undefined);
  const envNats = natsSettingsFromEnv(env, !credentialFlag);
  const password = flags.passwordFile ? readSecretFile(flags.passwordFile, 'NATS password') : (flags.password ?? envNats.password);
  const jetstream = flags.jetstream === undefined || flags.jetstream === false
    ? undefined
    : { stream: flags.jetstream === true ? 'SMARTMETER' : flags.jetstream, create: flags.createStream === true, window: positiveInteger(flags.window ?? '512', '--window') };
  if (flags.createStream && !jetstream) throw new UsageError('--create-stream needs --jetstream');
  const workersText = flags.workers ?? env.SMARTMETER_INJECT_WORKERS;
  const workersFrom = flags.workers === undefined ? 'SMARTMETER_INJECT_WORKERS' : '--workers';
  const requestedWorkers = workersText === undefined || workersText === '' ? undefined : integerIn(workersText, workersFrom, 1, MAX_WORKERS);
  if (jetstream && requestedWorkers !== undefined && requestedWorkers > 1 && flags.workers !== undefined) {
    throw new UsageError('--workers: JetStream mode publishes on one connection (its pace is the stream\'s acknowledgements); leave --workers out or set it to 1');
  }

  return {
    schedule,
    maxCount: schedule === 'max' ? count : undefined,
    maxDurationMs: schedule === 'max' ? durationMs : undefined,
    topology,
    slot,
    seed: flags.seed === undefined ? undefined : integerIn(flags.seed, '--seed', 0, 0xffff_ffff),
    subjectPrefix: parseSubjectPrefix(flags.subjectPrefix ?? env.GATLING_TO_NATS_SUBJECT ?? 'smartmeter.raw'),
    randomness: nonNegativeNumber(flags.randomness ?? env.RANDOMNESS ?? '0.2', flags.randomness === undefined && env.RANDOMNESS !== undefined ? 'RANDOMNESS' : '--randomness'),
    predictionLength: positiveInteger(flags.predictionLength ?? env.PREDICTION_LENGTH ?? '12', flags.predictionLength === undefined && env.PREDICTION_LENGTH !== undefined ? 'PREDICTION_LENGTH' : '--prediction-length'),
    timeRoot: (flags.timeRoot ?? env.TIME_ROOT) === undefined ? undefined : integerIn((flags.timeRoot ?? env.TIME_ROOT)!, flags.timeRoot === undefined ? 'TIME_ROOT' : '--time-root', 0, MAX_EPOCH),
    simStart: flags.simStart === undefined ? undefined : parseInstant(flags.simStart, '--sim-start'),
    nats: {
      servers: flags.server?.length ? flags.server : (envNats.servers ?? ['nats://127.0.0.1:4222']),
      user: flags.user ?? envNats.user,
      password,
      token: flags.tokenFile ? readSecretFile(flags.tokenFile, 'NATS token') : flags.token,
      credsFile: flags.creds,
      nkeyFile: flags.nkey,
      tls: natsTlsSettings(flags),
      name: `smartmeter-inject-${slot}`,
    },
    connectTimeoutMs: flags.connectTimeout === undefined ? 5000 : parseDuration(flags.connectTimeout, '--connect-timeout'),
    jetstream,
    slackMs: flags.slack === undefined ? 100 : parseDuration(flags.slack, '--slack'),
    abortOnMiss: flags.abortOnMiss === true,
    drainMs: flags.drain === undefined ? 30_000 : parseDuration(flags.drain, '--drain'),
    workers: workerCount(requestedWorkers, schedule === 'max' ? 'max' : schedule.peakRate(), topology, jetstream !== undefined),
  };
}

/** `--rate 20000`, `--rate 0.5`, `--rate max`. */
export function parseRate(text: string, what: string): number | 'max' {
  if (text.trim().toLowerCase() === 'max') return 'max';
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${what} must be a positive number of messages per second or "max", got "${text}"`);
  return n;
}

/** `2x5x100` → 2 lines × 5 transformers × 100 usage points. */
export function parseMeters(text: string): Topology {
  const match = /^\s*(\d+)x(\d+)x(\d+)\s*$/i.exec(text);
  const [lines, transformers, usagePoints] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  if (!match || lines < 1 || transformers < 1 || usagePoints < 1) {
    throw new UsageError(`--meters: expected <lines>x<transformers>x<points> with each at least 1 (e.g. 2x5x100), got "${text}"`);
  }
  if (lines > MAX_LINES) throw new UsageError(`--meters: at most ${MAX_LINES} lines per slot, got ${lines}`);
  return { lines, transformers, usagePoints };
}

function integerIn(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

function nonNegativeNumber(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a number ≥ 0, got "${text}"`);
  return n;
}

/** The last second of year 9999: the last epoch the table's calendar columns can hold. */
const MAX_EPOCH = 253_402_300_799;

/** Epoch seconds, or an ISO date such as 2024-01-15T08:00:00Z (1970 to 9999). */
function parseInstant(text: string, what: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_EPOCH * 1000) throw new UsageError(`${what}: cannot read "${text}" as a date from 1970 to 9999 (e.g. 2024-01-15T08:00:00Z) or as epoch seconds`);
  return Math.floor(ms / 1000);
}

function parseSubjectPrefix(prefix: string): string {
  if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(prefix)) throw new UsageError(`--subject-prefix: "${prefix}" is not a NATS subject (dot-separated tokens, no spaces or wildcards)`);
  return prefix;
}
