import { describe, expect, it } from 'vitest';
import { calendarFields, decodeVoltage, encodeVoltagePayload, voltageSubject } from '../src/wire/voltage.js';

describe('voltage readings on the wire', () => {
  it('encodes the old 56-byte big-endian layout', () => {
    const bytes = encodeVoltagePayload({ epoch: 1_700_000_000, voltage: 117.5, demand: 100.25, values: [3.5, 4, 5, 6, 7, 8, 9, 10, 11, 12.75] });
    expect(bytes.length).toBe(56);
    // int64 1700000000 = 0x00000000_6553F100; float32 117.5 = 0x42EB0000; 100.25 = 0x42C88000
    expect(Buffer.from(bytes.subarray(0, 16)).toString('hex')).toBe('000000006553f10042eb000042c88000');
    // val3 = 3.5 = 0x40600000 … val12 = 12.75 = 0x414C0000
    expect(Buffer.from(bytes.subarray(16, 20)).toString('hex')).toBe('40600000');
    expect(Buffer.from(bytes.subarray(52, 56)).toString('hex')).toBe('414c0000');
  });

  it('decodes subject and payload back', () => {
    const payload = encodeVoltagePayload({ epoch: 1_700_000_000, voltage: 117.5, demand: 100.25, values: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12] });
    expect(decodeVoltage(voltageSubject('smartmeter.raw', 11, 2, 3), payload)).toEqual({
      line: 11, transformer: 2, usagePoint: 3, epoch: 1_700_000_000, voltage: 117.5, demand: 100.25, values: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    });
  });

  it('names what is wrong with a malformed message', () => {
    const payload = encodeVoltagePayload({ epoch: 0, voltage: 0, demand: 0, values: [] });
    expect(decodeVoltage('smartmeter.raw.voltage.data.x.2.3', payload)).toBe('bad-subject');
    expect(decodeVoltage('smartmeter.raw.voltage.data.200.2.3', payload)).toBe('bad-subject'); // line is a tinyint
    expect(decodeVoltage('data', payload)).toBe('bad-subject');
    expect(decodeVoltage('smartmeter.raw.voltage.data.11.2.3', payload.subarray(0, 12))).toBe('bad-length');
  });

  it('derives the calendar columns in UTC, day of month and Sunday = 0', () => {
    // 2023-11-14T22:13:20Z was a Tuesday
    expect(calendarFields(1_700_000_000)).toEqual({ year: 2023, month: 11, day: 14, hour: 22, minute: 13, dayOfWeek: 2 });
    // 2024-03-03T00:00:00Z was a Sunday
    expect(calendarFields(1_709_424_000)).toEqual({ year: 2024, month: 3, day: 3, hour: 0, minute: 0, dayOfWeek: 0 });
  });
});

describe('calendarFields agrees with Date', () => {
  it('on 20,000 instants from 1900 to 2200', () => {
    for (let i = 0; i < 20_000; i += 1) {
      const epoch = Math.floor(-2_208_988_800 + i * 4_733_647.3 + (i % 86_400));
      const d = new Date(epoch * 1000);
      expect(calendarFields(epoch)).toEqual({
        year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), dayOfWeek: d.getUTCDay(),
      });
    }
  });
});

describe('epochs the table cannot hold', () => {
  it('calls an epoch in milliseconds (or negative) a bad epoch', () => {
    const subject = voltageSubject('smartmeter.raw', 11, 1, 1);
    expect(decodeVoltage(subject, encodeVoltagePayload({ epoch: 1_700_000_000_000, voltage: 1, demand: 1, values: [] }))).toBe('bad-epoch');
    expect(decodeVoltage(subject, encodeVoltagePayload({ epoch: -1, voltage: 1, demand: 1, values: [] }))).toBe('bad-epoch');
  });
});
