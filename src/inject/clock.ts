/**
 * The accelerated clock: 15 simulated minutes pass per real second, in whole steps, so every
 * message sent in the same second of the run carries the same simulated epoch (as the old
 * injector's did). Simulated epochs are true UTC epoch seconds: a reading's hour and day are
 * those of its epoch read as UTC, which is how the bridge and ingest store them.
 */
export const SIMULATED_SECONDS_PER_SECOND = 900;

/**
 * The simulated epoch at the start of a run. With a TIME_ROOT anchor shared by several
 * injectors, simulated time is root + (now − root) × 900, so they agree on the simulated date
 * (the old clock added its −18 h offset trick to `now` and jumped ~675 days ahead; not here).
 */
export function simulatedStart(nowSeconds: number, timeRoot?: number): number {
  const now = Math.floor(nowSeconds);
  if (timeRoot === undefined) return now;
  return timeRoot + (now - timeRoot) * SIMULATED_SECONDS_PER_SECOND;
}

/**
 * The simulated epoch of a message planned `elapsedMs` after the start of the run. Steps fall on
 * whole wall-clock seconds when `startFractionMs` is the fraction of a second at which the run
 * started (so injectors sharing TIME_ROOT step together, as the old ones did); 0 with --sim-start.
 */
export function simulatedEpoch(startEpoch: number, elapsedMs: number, startFractionMs = 0): number {
  return startEpoch + Math.floor((startFractionMs + elapsedMs) / 1000) * SIMULATED_SECONDS_PER_SECOND;
}

/** What the models need of a date: day of week (Monday = 0), hour, and day of year (1-based), in UTC. */
export interface SimulatedDate {
  day: 0 | 1 | 2 | 3 | 4 | 5 | 6;
  hour: number;
  dayOfYear: number;
}

export function simulatedDate(epoch: number): SimulatedDate {
  const date = new Date(epoch * 1000);
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  return {
    day: ((date.getUTCDay() + 6) % 7) as SimulatedDate['day'],
    hour: date.getUTCHours(),
    dayOfYear: Math.floor((date.getTime() - startOfYear) / 86_400_000) + 1,
  };
}
