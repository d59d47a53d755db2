import type { ServiceState } from './state.js';

export interface RigContext {
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
}

/** One service of the test rig. `up` is idempotent: it keeps what already runs. */
export interface RigService {
  name: string;
  describe: string;
  up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState>;
  /** Extra clean-up after the recorded processes are stopped (e.g. containers). */
  down?(ctx: RigContext, state: ServiceState): Promise<void>;
}
