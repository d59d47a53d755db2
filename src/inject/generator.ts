/**
 * The stream of messages the old injector produced, one at a time: per cycle a temperature, a
 * forecast, then one voltage reading for every usage point of the topology.
 *
 * Deviations from the old state machine (README, "inject"): every point gets its reading (the
 * old one skipped x.1.1 and x.1.2, whose turns the temperature and forecast used up), the run
 * starts with the temperature (the old one started with a forecast), the per-point bias term
 * is a real fraction (it was always 0), and forecasts are stamped 12 h ahead (not 30 h).
 */
import { CONSUMER_VOLTAGE, javaStringHashCode, profileAt, temperature, type ProfilePoint, type Topology } from './model.js';
import { simulatedDate, type SimulatedDate } from './clock.js';
import type { Random } from './random.js';
import { TEMPERATURE_PAYLOAD_BYTES, VOLTAGE_PAYLOAD_BYTES, voltageSubject, writeEpochAndValue } from '../wire/voltage.js';

export type MessageKind = 'temperature' | 'forecast' | 'voltage';

export interface GeneratorSettings {
  topology: Topology;
  /** Line numbers are 10 × slot + 1 … */
  slot: number;
  subjectPrefix: string;
  /** Amplitude of the voltage noise (RANDOMNESS, 0.2). */
  randomness: number;
  /** Length of the temperature queue: how many cycles a temperature waits before it is sent. */
  predictionLength: number;
  /** The temperatures' draws; the voltages' too unless `voltageRandom` is given. */
  random: Random;
  /**
   * Only these positions of the cycle (0 temperature, 1 forecast, 2 + i the voltage of point i;
   * `to` exclusive): a worker's share of the meters. Absent: the whole cycle. A share that does
   * not start at 0 still keeps the temperature queue (the voltages read its oldest value),
   * advanced at its own first message of each cycle with draws from `random`, so that every
   * share seeded alike holds the same temperatures.
   */
  share?: { from: number; to: number };
  /** The voltages' draws, when a share's are to be its own (kept apart from the temperatures'). */
  voltageRandom?: Random;
}

const FORECAST_AHEAD_SECONDS = 12 * 3600;
/** Above this many points, subjects and hashes are built per message instead of kept. */
const MAX_CACHED_POINTS = 1 << 18;
const SLAB_BYTES = 64 * 1024;

export class MessageGenerator {
  /** Subject and payload of the last message `next` produced. */
  subject = '';
  payload: Uint8Array = new Uint8Array(0);

  readonly temperatureSubject: string;
  readonly forecastSubject: string;
  readonly pointsPerCycle: number;
  /** The share's first position in the cycle, and one past its last (see GeneratorSettings.share). */
  readonly firstPosition: number;
  readonly endPosition: number;

  private readonly settings: GeneratorSettings;
  /** The temperatures' draws. */
  private readonly temperatureRandom: Random;
  /** The voltages' draws (the same generator as the temperatures' for a whole cycle). */
  private readonly random: Random;
  private readonly firstLine: number;
  /** Subjects and hashes of the share's points, from point firstPosition − 2 (or 0) on. */
  private subjects: string[] | undefined;
  private readonly hashes: Int32Array | undefined;
  private readonly firstCachedPoint: number;
  /** Ring buffer of the temperature queue (front = oldest). */
  private readonly queue: Float64Array;
  private queueFront = 0;
  /** Position in the cycle: 0 temperature, 1 forecast, 2 … voltage of point (position − 2). */
  private position = 0;
  private epoch = Number.NaN;
  private date: SimulatedDate = { day: 0, hour: 0, dayOfYear: 1 };
  private profile: ProfilePoint = { level: 0, range: 0 };
  /** Of the current epoch, for the voltages: day + hour, the profile's level and 0.4 × its range, the epoch's two 32-bit words. */
  private dayHour = 0;
  private level = 0;
  private rangeFactor = 0;
  private epochHigh = 0;
  private epochLow = 0;
  /** |oldest queued temperature − 5| × 0.08: the voltages' temperature term (model.ts, voltage). */
  private temperatureTerm = 0;
  private readonly randomness: number;
  private slab = new ArrayBuffer(SLAB_BYTES);
  private slabView = new DataView(this.slab);
  private slabOffset = 0;

  constructor(settings: GeneratorSettings) {
    this.settings = settings;
    this.temperatureRandom = settings.random;
    this.random = settings.voltageRandom ?? settings.random;
    const { lines, transformers, usagePoints } = settings.topology;
    this.pointsPerCycle = lines * transformers * usagePoints;
    this.firstPosition = settings.share?.from ?? 0;
    this.endPosition = settings.share?.to ?? this.pointsPerCycle + 2;
    if (!(this.firstPosition >= 0 && this.firstPosition !== 1 && this.endPosition > this.firstPosition && this.endPosition <= this.pointsPerCycle + 2)) {
      throw new RangeError(`share ${this.firstPosition}–${this.endPosition} is not within the cycle of ${this.pointsPerCycle + 2} positions (or parts the temperature from its forecast)`);
    }
    this.position = this.firstPosition;
    this.firstLine = 10 * settings.slot + 1;
    this.temperatureSubject = flat(`${settings.subjectPrefix}.temperature.data`);
    // The "12" is part of the subject consumers subscribe to; it does not follow --prediction-length.
    this.forecastSubject = flat(`${settings.subjectPrefix}.temperature.forecast.12`);
    this.firstCachedPoint = Math.max(0, this.firstPosition - 2);
    const points = Math.max(0, this.endPosition - 2 - this.firstCachedPoint);
    if (points <= MAX_CACHED_POINTS) {
      this.subjects = new Array<string>(points);
      this.hashes = new Int32Array(points);
      for (let i = 0; i < points; i += 1) {
        this.subjects[i] = flat(this.pointSubject(this.firstCachedPoint + i));
        this.hashes[i] = javaStringHashCode(this.pointId(this.firstCachedPoint + i));
      }
    }
    // The old queue: 5.0 at the front, then PREDICTION_LENGTH − 1 values of 5 ± 0.5.
    this.queue = new Float64Array(settings.predictionLength);
    this.queue[0] = 5;
    for (let i = 1; i < settings.predictionLength; i += 1) this.queue[i] = Math.fround(5 + (this.temperatureRandom.uniform() - 0.5));
    this.temperatureTerm = Math.abs(this.queue[this.queueFront]! - 5) * 0.08;
    this.randomness = settings.randomness;
  }

  /** Produces the next message, stamped with the simulated `epoch`; sets `subject` and `payload`. */
  next(epoch: number): MessageKind {
    const index = this.position;
    this.payload = this.take(payloadBytes(index));
    this.subject = this.subjectAt(index);
    this.writeNext(epoch, this.slabView, this.payload.byteOffset);
    return kindOf(index);
  }

  /**
   * Index of the next message's subject: 0 temperature, 1 forecast, 2 + i the voltage of point i.
   * Its payload is payloadBytes(index) long.
   */
  get nextSubjectIndex(): number {
    return this.position;
  }

  /** Drops the kept subjects (memory: about 60 bytes a point); subjectAt builds them from then on. */
  releaseSubjects(): void {
    this.subjects = undefined;
  }

  /** Subject of a subject index (any position of the cycle, in the share or not). */
  subjectAt(index: number): string {
    if (index === 0) return this.temperatureSubject;
    if (index === 1) return this.forecastSubject;
    const cached = this.subjects?.[index - 2 - this.firstCachedPoint];
    return index - 2 >= this.firstCachedPoint && cached !== undefined ? cached : flat(this.pointSubject(index - 2));
  }

  /** Writes the next message's payload at `offset` in `view` (no allocation), and moves on. */
  writeNext(epoch: number, view: DataView, offset: number): void {
    if (epoch !== this.epoch) this.setEpoch(epoch);
    const position = this.position;
    this.position = position + 1 === this.endPosition ? this.firstPosition : position + 1;
    if (position === 0) {
      writeEpochAndValue(view, offset, epoch, this.advanceTemperatures());
      return;
    }
    // A share without the temperature keeps its queue in step at its first message of a cycle.
    if (position === this.firstPosition) this.advanceTemperatures();
    if (position === 1) {
      const newest = this.queue[(this.queueFront + this.queue.length - 1) % this.queue.length]!;
      writeEpochAndValue(view, offset, epoch + FORECAST_AHEAD_SECONDS, newest);
      return;
    }
    const point = position - 2;
    const hash = this.hashes ? this.hashes[point - this.firstCachedPoint]! : javaStringHashCode(this.pointId(point));
    // offsetFromHash, biasedValue and voltage (model.ts) with what is fixed for the second or the
    // cycle taken out of the loop, in the same order of operations (the same floats).
    const k = (((hash + this.dayHour) | 0) % 20) / 20;
    const rnd = this.randomness * (this.random.uniform() - 0.5);
    const base = Math.fround(Math.abs(this.rangeFactor * (rnd + k - 0.5) + this.level));
    view.setUint32(offset, this.epochHigh);
    view.setUint32(offset + 4, this.epochLow);
    view.setFloat32(offset + 8, Math.fround(base + this.temperatureTerm - 1));
    // demand = 100 + U, val3 … val12 = k + U. Each 32-bit draw gives two U of 16 bits: about
    // what a float32 near 100 keeps anyway, at half the cost (this runs a million times a second).
    const random = this.random;
    let bits = random.uint32();
    view.setFloat32(offset + 12, 100 + (bits >>> 16) / 65_536);
    view.setFloat32(offset + 16, 3 + (bits & 0xffff) / 65_536);
    bits = random.uint32();
    view.setFloat32(offset + 20, 4 + (bits >>> 16) / 65_536);
    view.setFloat32(offset + 24, 5 + (bits & 0xffff) / 65_536);
    bits = random.uint32();
    view.setFloat32(offset + 28, 6 + (bits >>> 16) / 65_536);
    view.setFloat32(offset + 32, 7 + (bits & 0xffff) / 65_536);
    bits = random.uint32();
    view.setFloat32(offset + 36, 8 + (bits >>> 16) / 65_536);
    view.setFloat32(offset + 40, 9 + (bits & 0xffff) / 65_536);
    bits = random.uint32();
    view.setFloat32(offset + 44, 10 + (bits >>> 16) / 65_536);
    view.setFloat32(offset + 48, 11 + (bits & 0xffff) / 65_536);
    bits = random.uint32();
    view.setFloat32(offset + 52, 12 + (bits >>> 16) / 65_536);
  }

  /** The new temperature joins the back of the queue; returns the oldest one, which leaves it. */
  private advanceTemperatures(): number {
    const oldest = this.queue[this.queueFront]!;
    this.queue[this.queueFront] = temperature(this.date.dayOfYear, this.date.day, this.date.hour, this.temperatureRandom.uniform());
    this.queueFront = (this.queueFront + 1) % this.queue.length;
    this.temperatureTerm = Math.abs(this.queue[this.queueFront]! - 5) * 0.08;
    return oldest;
  }

  /** "11.3.42" for the point at `index` in the cycle (line, then transformer, then point). */
  pointId(index: number): string {
    const { transformers, usagePoints } = this.settings.topology;
    const usagePoint = (index % usagePoints) + 1;
    const transformer = (Math.floor(index / usagePoints) % transformers) + 1;
    const line = Math.floor(index / (usagePoints * transformers)) + this.firstLine;
    return `${line}.${transformer}.${usagePoint}`;
  }

  private pointSubject(index: number): string {
    const [line, transformer, usagePoint] = this.pointId(index).split('.').map(Number) as [number, number, number];
    return voltageSubject(this.settings.subjectPrefix, line, transformer, usagePoint);
  }

  private setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.date = simulatedDate(epoch);
    this.profile = profileAt(CONSUMER_VOLTAGE, this.date.day, this.date.hour);
    this.dayHour = this.date.day + this.date.hour;
    this.level = this.profile.level;
    this.rangeFactor = 0.4 * this.profile.range;
    this.epochHigh = Math.floor(epoch / 0x1_0000_0000);
    this.epochLow = epoch >>> 0;
  }

  /**
   * A fresh view for one payload. Views come out of 64 KB slabs: the NATS client keeps a
   * reference to a payload until it copies it out, so a buffer is never reused.
   */
  private take(bytes: number): Uint8Array {
    if (this.slabOffset + bytes > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.slabView = new DataView(this.slab);
      this.slabOffset = 0;
    }
    const view = new Uint8Array(this.slab, this.slabOffset, bytes);
    this.slabOffset += bytes;
    return view;
  }
}

export function kindOf(subjectIndex: number): MessageKind {
  return subjectIndex === 0 ? 'temperature' : subjectIndex === 1 ? 'forecast' : 'voltage';
}

export function payloadBytes(subjectIndex: number): number {
  return subjectIndex < 2 ? TEMPERATURE_PAYLOAD_BYTES : VOLTAGE_PAYLOAD_BYTES;
}

/**
 * The same text as one flat string. Strings built by concatenation are trees that V8 flattens
 * again each time the NATS client encodes them into its PUB line: twice the encoding cost per
 * message, measured. Subjects kept for the whole run are flattened once.
 */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
