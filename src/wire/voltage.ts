/**
 * The messages on the wire, as the old injector sent them and the old consumers read them
 * (all big-endian). Voltage readings: subject `<prefix>.voltage.data.<line>.<transformer>.<usagePoint>`,
 * 56-byte payload = int64 epoch seconds, float32 voltage, then 11 float32: demand and
 * val3…val12. Temperatures and forecasts: 12 bytes, epoch and °C.
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

export type DecodeProblem = 'bad-subject' | 'bad-length' | 'bad-epoch';

/** Epoch seconds the table can hold (years 1970–9999); milliseconds, for one, are not. */
const MAX_EPOCH = 253_402_300_799;

export function encodeVoltagePayload(reading: Pick<VoltageReading, 'epoch' | 'voltage' | 'demand' | 'values'>): Uint8Array {
  const bytes = new Uint8Array(VOLTAGE_PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  writeEpochAndValue(view, 0, reading.epoch, reading.voltage);
  view.setFloat32(12, reading.demand);
  for (let i = 0; i < EXTRA_VALUES; i += 1) view.setFloat32(16 + 4 * i, reading.values[i] ?? 0);
  return bytes;
}

/** Temperature and forecast messages: int64 epoch seconds and one float32 (°C). */
export const TEMPERATURE_PAYLOAD_BYTES = 12;

export function encodeTemperaturePayload(epoch: number, celsius: number): Uint8Array {
  const bytes = new Uint8Array(TEMPERATURE_PAYLOAD_BYTES);
  writeEpochAndValue(new DataView(bytes.buffer), 0, epoch, celsius);
  return bytes;
}

export function decodeTemperaturePayload(payload: Uint8Array): { epoch: number; celsius: number } | 'bad-length' {
  if (payload.length !== TEMPERATURE_PAYLOAD_BYTES) return 'bad-length';
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { epoch: Number(view.getBigInt64(0)), celsius: view.getFloat32(8) };
}

/**
 * The 12 bytes every message starts with: int64 epoch seconds (big-endian, as two 32-bit
 * halves — no BigInt per message) and a float32 value. The epoch must be ≥ 0.
 */
export function writeEpochAndValue(view: DataView, offset: number, epoch: number, value: number): void {
  view.setUint32(offset, Math.floor(epoch / 0x1_0000_0000));
  view.setUint32(offset + 4, epoch >>> 0);
  view.setFloat32(offset + 8, value);
}

export function voltageSubject(prefix: string, line: number, transformer: number, usagePoint: number): string {
  return `${prefix}.voltage.data.${line}.${transformer}.${usagePoint}`;
}

const TINYINT = { min: -128, max: 127 };
const INT = { min: -2147483648, max: 2147483647 };

/** Decodes subject and payload; a problem kind instead of an exception for malformed input. */
export function decodeVoltage(subject: string, payload: Uint8Array): VoltageReading | DecodeProblem {
  // The last three tokens, without splitting the whole subject (this runs for every message).
  const third = subject.lastIndexOf('.');
  const second = third > 0 ? subject.lastIndexOf('.', third - 1) : -1;
  const first = second > 0 ? subject.lastIndexOf('.', second - 1) : -1;
  if (first < 0) return 'bad-subject';
  const line = integerToken(subject, first + 1, second);
  const transformer = integerToken(subject, second + 1, third);
  const usagePoint = integerToken(subject, third + 1, subject.length);
  if (!inRange(line, TINYINT) || !inRange(transformer, INT) || !inRange(usagePoint, INT)) return 'bad-subject';
  if (payload.length !== VOLTAGE_PAYLOAD_BYTES) return 'bad-length';
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const epoch = Number(view.getBigInt64(0));
  if (epoch < 0 || epoch > MAX_EPOCH) return 'bad-epoch';
  const values: number[] = new Array(EXTRA_VALUES);
  for (let i = 0; i < EXTRA_VALUES; i += 1) values[i] = view.getFloat32(16 + 4 * i);
  return {
    line,
    transformer,
    usagePoint,
    epoch,
    voltage: view.getFloat32(8),
    demand: view.getFloat32(12),
    values,
  };
}

/** The decimal integer in text[start, end), or NaN. */
function integerToken(text: string, start: number, end: number): number {
  let i = start;
  const negative = text.charCodeAt(i) === 45; // '-'
  if (negative) i += 1;
  if (i >= end || end - i > 10) return Number.NaN;
  let n = 0;
  for (; i < end; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

function inRange(n: number, range: { min: number; max: number }): boolean {
  return Number.isInteger(n) && n >= range.min && n <= range.max;
}

/**
 * The calendar fields stored with a reading, from its epoch read as UTC (the old bridge used
 * the container's zone, UTC in practice): day of month, and day of week with Sunday = 0.
 */
export function calendarFields(epoch: number): { year: number; month: number; day: number; hour: number; minute: number; dayOfWeek: number } {
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm): no Date object per reading.
  const days = Math.floor(epoch / 86_400);
  const seconds = epoch - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day,
    hour: Math.floor(seconds / 3600),
    minute: Math.floor((seconds % 3600) / 60),
    dayOfWeek: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday (4)
  };
}
