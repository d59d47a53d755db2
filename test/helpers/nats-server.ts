import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, natsHandshake, waitFor } from './net.js';
import { rigService } from './rig.js';

/**
 * The rig's nats-server binary (a current release it builds, see rig/src/nats-build.ts), not
 * whatever is on PATH; undefined when the rig's nats does not run (rigService warns, and under
 * CI=true throws).
 */
export function rigNatsServer(): string | undefined {
  return rigService('nats')?.NATS_SERVER;
}

/**
 * A nats-server of the test's own (the rig's binary, `binary` by default from the rig's nats
 * service), with JetStream in a fresh directory: for tests that kill and restart the server
 * without disturbing the rig's.
 */
export class OwnNatsServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'smartmeter-nats-'));
  port = 0;
  private child: ChildProcess | undefined;
  private readonly binary: string | undefined;

  constructor(binary = rigNatsServer()) {
    this.binary = binary;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (!this.binary) throw new Error("no nats-server: the rig's nats does not run (npm run rig -- up nats)");
    const log = openSync(join(this.dir, 'nats-server.log'), 'a');
    this.child = spawn(this.binary, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', join(this.dir, 'jetstream')], { stdio: ['ignore', log, log] });
    await waitFor(async () => ((await natsHandshake(this.port, '', '')) === 'PONG' ? true : undefined), 15_000, `nats-server on ${this.port} (log ${this.dir}/nats-server.log)`);
  }

  /** Kills the server (SIGKILL: a crash, not a clean shutdown) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    // A SIGKILLed child has exitCode null and signalCode set: both mean it is gone already.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the server and removes its directory (JetStream store and log). */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
