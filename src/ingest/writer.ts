/**
 * Writes readings into Cassandra: one prepared INSERT per reading into raw_data, at most
 * `concurrency` in flight and the rest queued in arrival order, and the per-line counts of
 * raw_data_count added up in memory and flushed once a second (one counter UPDATE per line
 * instead of one per reading).
 */
import type { Client } from 'cassandra-driver';
import type { KeyspaceName } from '../cassandra/keyspace.js';
import { calendarFields, type VoltageReading } from '../wire/voltage.js';

const INSERT_COLUMNS = [
  'line', 'transformer', 'usagepoint', 'year', 'month', 'day', 'hour', 'minute', 'day_of_week',
  'voltage', 'demand', 'val3', 'val4', 'val5', 'val6', 'val7', 'val8', 'val9', 'val10', 'val11', 'val12', 'epoch',
];

export interface WriterOptions {
  /** resolveKeyspace's: the statements write it as CQL must ("Quoted" when it has capitals). */
  keyspace: KeyspaceName;
  concurrency: number;
  /** A driver consistency level (driver.types.consistencies value). */
  consistency: number;
  countFlushMs?: number;
}

/** Called once per submitted reading: without an error when its row is written. */
export type WriteDone = (error?: Error) => void;

export class RowWriter {
  private inFlight = 0;
  /** Readings waiting for a free slot, with their callbacks, flat: [reading, done, reading, done, …]. */
  private readonly queue: (VoltageReading | WriteDone)[] = [];
  private queueHead = 0;
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
    this.insert = `INSERT INTO ${options.keyspace.cql}.raw_data (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;
    this.count = `UPDATE ${options.keyspace.cql}.raw_data_count SET count = count + ? WHERE line = ?`;
    this.executeOptions = { prepare: true, consistency: options.consistency };
    this.flushTimer = setInterval(() => void this.flushCounts(), options.countFlushMs ?? 1000);
    this.flushTimer.unref();
  }

  /** Writes under way. */
  get pending(): number {
    return this.inFlight;
  }

  /** Readings waiting for a slot. */
  get queued(): number {
    return (this.queue.length - this.queueHead) / 2;
  }

  /**
   * Writes a reading now if fewer than `concurrency` writes are under way, else after those
   * queued before it. Callbacks rather than a promise per reading: this runs for every row, and
   * the promises and their microtasks cost ingest a measurable share of its CPU.
   */
  submit(reading: VoltageReading, done: WriteDone): void {
    if (this.inFlight < this.options.concurrency) {
      this.inFlight += 1;
      this.execute(reading, done);
    } else {
      this.queue.push(reading, done);
    }
  }

  /** Drops the readings still queued (not started), calling each one's callback with `error`. */
  discardQueued(error: Error): void {
    const waiting = this.queue.splice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (let i = 1; i < waiting.length; i += 2) (waiting[i] as WriteDone)(error);
  }

  private execute(reading: VoltageReading, done: WriteDone): void {
    const t = calendarFields(reading.epoch);
    const v = reading.values;
    // Listed out rather than spread: this runs for every row.
    const params = [
      reading.line, reading.transformer, reading.usagePoint, t.year, t.month, t.day, t.hour, t.minute, t.dayOfWeek,
      reading.voltage, reading.demand, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], reading.epoch,
    ];
    this.client.execute(this.insert, params, this.executeOptions, (error: Error | null | undefined) => {
      if (!error) this.pendingCounts.set(reading.line, (this.pendingCounts.get(reading.line) ?? 0) + 1);
      this.next();
      done(error ?? undefined);
    });
  }

  /** A write finished: its slot goes to the oldest queued reading, if any. */
  private next(): void {
    if (this.queueHead < this.queue.length) {
      const reading = this.queue[this.queueHead] as VoltageReading;
      const done = this.queue[this.queueHead + 1] as WriteDone;
      this.queueHead += 2;
      // Compact now and then instead of shifting at every write.
      if (this.queueHead >= 4096 && this.queueHead * 2 >= this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.execute(reading, done);
    } else {
      this.inFlight -= 1;
      // Emptied: drop the finished entries (they hold messages, and those their read buffers).
      if (this.queueHead > 0) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
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

  /** Waits for the writes queued and in flight, then flushes the counts. */
  async close(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(this.flushTimer);
    await this.flushCounts();
  }
}
