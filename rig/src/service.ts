import type { ServiceState } from './state.ts';

import type { ProcessRecord } from './process.ts';

export interface RigContext {
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
  /** Every process a service starts is tracked, so a failed `up` stops it again. */
  track: (record: ProcessRecord) => ProcessRecord;
}

/** One service of the test rig. `up` is idempotent: it keeps what already runs. */
export interface RigService {
  name: string;
  describe: string;
  up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState>;
  /** Extra clean-up after the recorded processes are stopped (e.g. containers). */
  down?(ctx: RigContext, state: ServiceState): Promise<void>;
  /** Clean-up once its processes have exited (mounts, network interfaces). */
  afterStop?(ctx: RigContext, state: ServiceState): Promise<void>;
}
