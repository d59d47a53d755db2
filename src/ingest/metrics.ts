/** The metrics of a running ingest (names: src/metrics/samples.ts, listed in the README). */
import type { MetricSample } from '../metrics/samples.js';
import type { IngestStats } from './ingest.js';

export function ingestSamples(s: IngestStats, load: { inFlight: number; queued: number; writeRequests: number }, rowsPerSecondNow: number): MetricSample[] {
  const malformed = s.malformed['bad-subject'] + s.malformed['bad-length'] + s.malformed['bad-epoch'];
  return [
    { name: 'received', type: 'counter', help: 'Voltage messages received from NATS.', value: s.received },
    { name: 'written', type: 'counter', help: 'Rows written into raw_data.', value: s.written },
    { name: 'malformed', type: 'counter', help: 'Messages that are not a voltage reading (bad subject, length or epoch).', value: malformed },
    { name: 'rejected', type: 'counter', help: 'Rows Cassandra refused as invalid.', value: s.rejected },
    { name: 'lost', type: 'counter', help: 'Core mode: readings given up after the retries.', value: s.lost },
    { name: 'redelivered', type: 'counter', help: 'JetStream mode: failed writes handed back for redelivery.', value: s.redelivered },
    { name: 'write_requests', type: 'counter', help: 'Write requests sent to Cassandra: unlogged batches and single rows.', value: load.writeRequests },
    { name: 'in_flight', type: 'gauge', help: 'Rows being written.', value: load.inFlight },
    { name: 'queued', type: 'gauge', help: 'Readings waiting to be written (core mode: grows while Cassandra is slower than NATS).', value: load.queued },
    { name: 'rows_per_second', type: 'gauge', help: 'Rows written over the last second.', value: rowsPerSecondNow },
  ];
}

/** Rows per second over the last second or so, from successive readings of a counter. */
export class RateMeter {
  private last = { at: 0, value: 0 };
  private rate = 0;

  update(value: number, nowMs = Date.now()): number {
    const elapsed = nowMs - this.last.at;
    if (this.last.at === 0) this.last = { at: nowMs, value };
    else if (elapsed >= 1000) {
      this.rate = ((value - this.last.value) * 1000) / elapsed;
      this.last = { at: nowMs, value };
    }
    return this.rate;
  }
}
