/** The metrics of a running injection (names: src/metrics/samples.ts, listed in the README). */
import type { MetricSample } from '../metrics/samples.js';
import type { Snapshot } from './injection.js';

export function injectSamples(s: Snapshot): MetricSample[] {
  const samples: MetricSample[] = [
    { name: 'scheduled', type: 'counter', help: 'Messages due so far by the schedule.', value: s.scheduled },
    { name: 'published', type: 'counter', help: 'Messages handed to the NATS connection.', value: s.published },
    { name: 'confirmed', type: 'counter', help: 'Messages confirmed by a PING/PONG (core) or acknowledged by the stream (JetStream).', value: s.confirmed },
    { name: 'lost', type: 'counter', help: 'Messages counted lost (see the report for the reasons).', value: s.lost },
    { name: 'errors', type: 'counter', help: 'Publish errors, retried or not.', value: s.errors },
    { name: 'missed_slots', type: 'counter', help: 'Sends later than the slack after their planned time.', value: s.missedSlots },
    { name: 'sent_temperature', type: 'counter', help: 'Temperature messages handed over.', value: s.kinds.temperature },
    { name: 'sent_forecast', type: 'counter', help: 'Forecast messages handed over.', value: s.kinds.forecast },
    { name: 'sent_voltage', type: 'counter', help: 'Voltage readings handed over.', value: s.kinds.voltage },
    { name: 'rate_target', type: 'gauge', help: 'Target rate now (msgs/s; 0 flat-out).', value: Number.isFinite(s.targetRate) ? s.targetRate : 0 },
    { name: 'rate_achieved', type: 'gauge', help: 'Messages published over the last second (msgs/s).', value: s.currentRate },
    { name: 'lag_ms', type: 'gauge', help: 'How far the sends are behind the schedule (ms).', value: s.lagMs },
  ];
  if (s.latency) {
    samples.push(
      { name: 'latency_p50_ms', type: 'gauge', help: 'JetStream: median latency from planned send to acknowledgement over the last second (ms).', value: s.latency.p50 },
      { name: 'latency_p99_ms', type: 'gauge', help: 'JetStream: 99th percentile of that latency over the last second (ms).', value: s.latency.p99 },
    );
  }
  return samples;
}
