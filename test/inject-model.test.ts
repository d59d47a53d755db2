// The old injector's model, pinned with values worked out by hand from its formulas.
import { describe, expect, it } from 'vitest';
import {
  CONSUMER_VOLTAGE,
  interpolateAtHour,
  javaStringHashCode,
  pointOffset,
  profileValue,
  temperature,
  topologyForRate,
  voltage,
} from '../src/inject/model.js';

describe('topologyForRate', () => {
  it.each([
    [10, 1, 2, 5],
    [50, 1, 3, 16],
    [100, 1, 4, 25],
    [500, 1, 7, 71],
    [600, 2, 4, 75],
    [1000, 2, 5, 100],
  ])('%i msg/s → %i lines × %i transformers × %i usage points', (rate, lines, transformers, usagePoints) => {
    expect(topologyForRate(rate)).toEqual({ lines, transformers, usagePoints });
  });

  it('keeps usage points ≥ transformers ≥ lines > 0 for rates 2¹ … 2²¹ (the old unit test)', () => {
    for (let e = 1; e <= 21; e += 1) {
      const t = topologyForRate(2 ** e);
      expect(t.lines).toBeGreaterThan(0);
      expect(t.transformers).toBeGreaterThanOrEqual(t.lines);
      expect(t.usagePoints).toBeGreaterThanOrEqual(t.transformers);
    }
  });
});

describe('consumer voltage profile', () => {
  it('interpolates between the 3-hourly knots', () => {
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 0)).toBe(117);
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 6)).toBe(118);
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 4)).toBeCloseTo(117 + 1 / 3, 12); // 117 → 118 over 3 h
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 10)).toBeCloseTo(116 - 1 / 3, 12); // 116 → 115
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 23)).toBeCloseTo(118 - 2 / 3, 12); // 118 → 117
    expect(interpolateAtHour(CONSUMER_VOLTAGE.week, 24)).toBe(117);
  });

  it('adds the bias 0.4 · range · (rnd + k − 0.5), weekday range 4 V, weekend range 3 V', () => {
    expect(profileValue(CONSUMER_VOLTAGE, 0, 6, 0.5)).toBe(118); // Monday 06:00, no bias
    expect(profileValue(CONSUMER_VOLTAGE, 2, 6, 0.6)).toBeCloseTo(118 + 0.4 * 4 * 0.1, 5); // Wednesday: +0.16
    expect(profileValue(CONSUMER_VOLTAGE, 6, 15, 0.0)).toBeCloseTo(119 - 0.4 * 3 * 0.5, 5); // Sunday 15:00: 119 − 0.6
    expect(profileValue(CONSUMER_VOLTAGE, 5, 12, 1.0, 0.25)).toBeCloseTo(118 + 0.4 * 3 * 0.75, 5); // Saturday, k = 0.25
  });

  it("computes the per-point offset from Java's String.hashCode", () => {
    expect(javaStringHashCode('11.3.42')).toBe(1984882983);
    expect(javaStringHashCode('12.1.1')).toBe(1450423399);
    // (1984882983 + 2 + 10) mod 20 = 15 → 0.75
    expect(pointOffset('11.3.42', 2, 10)).toBe(0.75);
  });
});

describe('temperature and voltage', () => {
  it('follows −22·cos(2π(doy−1)/365) + cos(2π(dow−1)/6) − 5·cos(2πh/23) + 2·rnd', () => {
    expect(temperature(1, 0, 0, 0)).toBe(-26.5); // −22 + cos(−π/3) − 5
    expect(temperature(183, 3, 12, 0.5)).toBe(Math.fround(27.452614830739495));
    expect(temperature(32, 6, 23, 0.25)).toBe(Math.fround(-22.941142349557875));
  });

  it('raises the voltage by 0.08 V per degree away from 5 °C, minus 1 V', () => {
    expect(voltage(117, 5)).toBe(116);
    expect(voltage(117, -20)).toBeCloseTo(118, 5); // 117 + 25·0.08 − 1
    expect(voltage(118.5, 30)).toBeCloseTo(119.5, 5);
  });
});
