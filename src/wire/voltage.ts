/**
 * The voltage readings on the wire, as the old injector sent them and the old consumers read
 * them (all big-endian): subject `<prefix>.voltage.data.<line>.<transformer>.<usagePoint>`,
 * 56-byte payload = int64 epoch seconds, float32 voltage, then 11 float32: demand and
 * val3…val12.
 */
export const VOLTAGE_PAYLOAD_BYTES = 56;
export const EXTRA_VALUES = 10; // val3 … val12

export interface VoltageReading {
  line: number;
  transformer: number;
  usagePoint: number;
  epoch: number;
  voltage: number;
  demand: number;
  /** val3 … val12 */
  values: number[];
}

export type DecodeProblem = 'bad-subject' | 'bad-length';

export function encodeVoltagePayload(reading: Pick<VoltageReading, 'epoch' | 'voltage' | 'demand' | 'values'>): Uint8Array {
  const bytes = new Uint8Array(VOLTAGE_PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, BigInt(reading.epoch));
  view.setFloat32(8, reading.voltage);
  view.setFloat32(12, reading.demand);
  for (let i = 0; i < EXTRA_VALUES; i += 1) view.setFloat32(16 + 4 * i, reading.values[i] ?? 0);
  return bytes;
}

export function voltageSubject(prefix: string, line: number, transformer: number, usagePoint: number): string {
  return `${prefix}.voltage.data.${line}.${transformer}.${usagePoint}`;
}

const TINYINT = { min: -128, max: 127 };
const INT = { min: -2147483648, max: 2147483647 };

/** Decodes subject and payload; a problem kind instead of an exception for malformed input. */
export function decodeVoltage(subject: string, payload: Uint8Array): VoltageReading | DecodeProblem {
  const tokens = subject.split('.');
  if (tokens.length < 3) return 'bad-subject';
  const [line, transformer, usagePoint] = tokens.slice(-3).map((t) => (/^-?\d+$/.test(t) ? Number(t) : Number.NaN));
  if (!inRange(line!, TINYINT) || !inRange(transformer!, INT) || !inRange(usagePoint!, INT)) return 'bad-subject';
  if (payload.length !== VOLTAGE_PAYLOAD_BYTES) return 'bad-length';
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const values: number[] = [];
  for (let i = 0; i < EXTRA_VALUES; i += 1) values.push(view.getFloat32(16 + 4 * i));
  return {
    line: line!,
    transformer: transformer!,
    usagePoint: usagePoint!,
    epoch: Number(view.getBigInt64(0)),
    voltage: view.getFloat32(8),
    demand: view.getFloat32(12),
    values,
  };
}

function inRange(n: number, range: { min: number; max: number }): boolean {
  return Number.isInteger(n) && n >= range.min && n <= range.max;
}

/**
 * The calendar fields stored with a reading, from its epoch read as UTC (the old bridge used
 * the container's zone, UTC in practice): day of month, and day of week with Sunday = 0.
 */
export function calendarFields(epoch: number): { year: number; month: number; day: number; hour: number; minute: number; dayOfWeek: number } {
  const date = new Date(epoch * 1000);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    dayOfWeek: date.getUTCDay(),
  };
}
