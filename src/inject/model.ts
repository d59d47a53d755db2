/**
 * The smart-meter model of the old Gatling injector, as pure functions: the topology derived
 * from the rate, the consumer voltage profile, the temperature model and the voltage formula.
 * The message sequence is in generator.ts, the accelerated clock in clock.ts.
 */

export interface Topology {
  lines: number;
  transformers: number;
  usagePoints: number;
}

/** lt = ⌊∛rate⌋, lines = ⌊∛lt⌋, transformers = ⌊lt / lines⌋, usage points = ⌊rate / (lines·transformers)⌋. */
export function topologyForRate(rate: number): Topology {
  const lt = Math.floor(Math.cbrt(rate));
  const lines = Math.floor(Math.cbrt(lt));
  const transformers = Math.floor(lt / lines);
  return { lines, transformers, usagePoints: Math.floor(rate / (lines * transformers)) };
}

/** A daily profile: values at hours 0, 3, …, 24, one vector for weekdays and one for weekends. */
export interface DailyProfile {
  week: readonly number[];
  weekend: readonly number[];
}

/** The profile the injector used for every usage point (volts). */
export const CONSUMER_VOLTAGE: DailyProfile = {
  week: [117, 117, 118, 116, 115, 114, 116, 118, 117],
  weekend: [117, 117, 116, 116, 118, 119, 119, 118, 117],
};

const KNOT_STEP_HOURS = 3;

/** Linear interpolation between the 3-hourly knots, at a (whole) hour 0–24. */
export function interpolateAtHour(knots: readonly number[], hour: number): number {
  const index = Math.min(Math.floor(hour / KNOT_STEP_HOURS), knots.length - 2);
  const fraction = (hour - index * KNOT_STEP_HOURS) / KNOT_STEP_HOURS;
  return knots[index]! + (knots[index + 1]! - knots[index]!) * fraction;
}

/** Day of week as java.time's DayOfWeek.ordinal(): Monday = 0 … Sunday = 6. */
export type IsoDayIndex = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** A profile at one day and hour: its interpolated level and the range (max − min) of that day's vector. */
export interface ProfilePoint {
  level: number;
  range: number;
}

export function profileAt(profile: DailyProfile, day: IsoDayIndex, hour: number): ProfilePoint {
  const knots = day >= 5 ? profile.weekend : profile.week;
  return { level: interpolateAtHour(knots, hour), range: Math.max(...knots) - Math.min(...knots) };
}

/**
 * |bias + level|, with bias = 0.4 · range · (rnd + k − 0.5). `k` is the per-point offset; the
 * old code computed it with an integer division that always gave 0 (see pointOffset).
 */
export function biasedValue(point: ProfilePoint, rnd: number, k: number): number {
  return Math.fround(Math.abs(0.4 * point.range * (rnd + k - 0.5) + point.level));
}

export function profileValue(profile: DailyProfile, day: IsoDayIndex, hour: number, rnd: number, k = 0): number {
  return biasedValue(profileAt(profile, day, hour), rnd, k);
}

/** ((hashCode(pointId) + day + hour) mod 20) / 20, as real division: the per-point offset the old code meant. */
export function pointOffset(pointId: string, day: IsoDayIndex, hour: number): number {
  return offsetFromHash(javaStringHashCode(pointId), day, hour);
}

/** pointOffset from the point's precomputed hash (Java int arithmetic: the sum wraps at 32 bits). */
export function offsetFromHash(hash: number, day: IsoDayIndex, hour: number): number {
  return (((hash + day + hour) | 0) % 20) / 20;
}

/**
 * The temperature model (°C): annual, weekly and daily cosines plus noise in [0, 2).
 * dayOfYear is 1-based; day is Monday = 0.
 */
export function temperature(dayOfYear: number, day: IsoDayIndex, hour: number, rnd: number): number {
  return Math.fround(
    -22 * Math.cos((2 * Math.PI * (dayOfYear - 1)) / 365) +
      Math.cos((2 * Math.PI * (day - 1)) / 6) -
      5 * Math.cos((2 * Math.PI * hour) / 23) +
      2 * rnd,
  );
}

/** The voltage a point reports: its profile value, raised by how far the temperature is from 5 °C. */
export function voltage(profileVolts: number, oldestTemperature: number): number {
  return Math.fround(profileVolts + Math.abs(oldestTemperature - 5) * 0.08 - 1);
}

/** java.lang.String.hashCode (32-bit, UTF-16 code units). */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}
