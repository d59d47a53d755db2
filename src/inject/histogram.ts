/**
 * Latency histograms (HDR, 3 significant digits, in microseconds): one for the whole run and
 * one per second for the report's percentiles over time.
 */
import type { Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export type HistogramFactory = () => Histogram;

export async function histogramFactory(): Promise<HistogramFactory> {
  const hdr = await import('hdr-histogram-js');
  const build = (hdr.default ?? hdr).build;
  // Up to one hour; the pure-JS implementation (no WebAssembly start-up).
  return () => build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Percentiles in milliseconds. */
export function summarise(histogram: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}
