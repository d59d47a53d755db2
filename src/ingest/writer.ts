/**
 * Writes readings into Cassandra: one prepared INSERT per reading into raw_data, at most
 * `concurrency` in flight, and the per-line counts of raw_data_count added up in memory and
 * flushed once a second (one counter UPDATE per line instead of one per reading).
 */
import type { Client } from 'cassandra-driver';
import { calendarFields, type VoltageReading } from '../wire/voltage.js';

const INSERT_COLUMNS = [
  'line', 'transformer', 'usagepoint', 'year', 'month', 'day', 'hour', 'minute', 'day_of_week',
  'voltage', 'demand', 'val3', 'val4', 'val5', 'val6', 'val7', 'val8', 'val9', 'val10', 'val11', 'val12', 'epoch',
];

export interface WriterOptions {
  keyspace: string;
  concurrency: number;
  /** A driver consistency level (driver.types.consistencies value). */
  consistency: number;
  countFlushMs?: number;
}

export class RowWriter {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly pendingCounts = new Map<number, number>();
  private readonly flushTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly insert: string;
  private readonly count: string;
  /** One options object for every write (this is the hot path). */
  private readonly executeOptions: { prepare: true; consistency: number };

  constructor(
    private readonly client: Client,
    private readonly options: WriterOptions,
  ) {
    this.insert = `INSERT INTO ${options.keyspace}.raw_data (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;
    this.count = `UPDATE ${options.keyspace}.raw_data_count SET count = count + ? WHERE line = ?`;
    this.executeOptions = { prepare: true, consistency: options.consistency };
    this.flushTimer = setInterval(() => void this.flushCounts(), options.countFlushMs ?? 1000);
    this.flushTimer.unref();
  }

  get pending(): number {
    return this.inFlight;
  }

  /** Resolves when there is room for one more write (back-pressure for the reader). */
  async slot(): Promise<void> {
    if (this.inFlight < this.options.concurrency) {
      this.inFlight += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Writes one reading; call after `slot()`. Rejects with the driver's error. */
  async write(reading: VoltageReading): Promise<void> {
    try {
      const t = calendarFields(reading.epoch);
      const v = reading.values;
      // Listed out rather than spread: this runs for every row.
      const params = [
        reading.line, reading.transformer, reading.usagePoint, t.year, t.month, t.day, t.hour, t.minute, t.dayOfWeek,
        reading.voltage, reading.demand, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], reading.epoch,
      ];
      await this.client.execute(this.insert, params, this.executeOptions);
      this.pendingCounts.set(reading.line, (this.pendingCounts.get(reading.line) ?? 0) + 1);
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand the slot over
      else this.inFlight -= 1;
    }
  }

  /** Adds the counts gathered so far; a failed update keeps them for the next flush. */
  flushCounts(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = [...this.pendingCounts.entries()];
      this.pendingCounts.clear();
      for (const [line, n] of batch) {
        try {
          await this.client.execute(this.count, [n, line], this.executeOptions);
        } catch {
          this.pendingCounts.set(line, (this.pendingCounts.get(line) ?? 0) + n);
        }
      }
    });
    return this.flushing;
  }

  /** Waits for the writes in flight, then flushes the counts. */
  async close(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(this.flushTimer);
    await this.flushCounts();
  }
}
