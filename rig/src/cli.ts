/**
 * The test rig: real services for the test suites, started by the project itself.
 *   npm run rig -- up [service...]     start (idempotent; all services when none is named)
 *   npm run rig -- down [service...]   stop what the rig started, by pid
 *   npm run rig -- status [--json]
 *   npm run rig -- env                 export lines for a shell
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './errors.ts';
import { isRunning, stopProcess, type ProcessRecord } from './process.ts';
import { RIG_DIR, clearState, readState, writeState } from './state.ts';
import type { RigContext, RigService } from './service.ts';
import { cassandra } from './services/cassandra.ts';
import { docker } from './services/docker.ts';
import { helm } from './services/helm.ts';
import { kubernetes } from './services/kubernetes.ts';
import { nats } from './services/nats.ts';
import { graphite, prometheus } from './services/metrics.ts';
import { telegraf } from './services/telegraf.ts';

/** In start order; `down` goes the other way. */
export const SERVICES: RigService[] = [nats, cassandra, graphite, prometheus, docker, helm, telegraf, kubernetes];

let tracked: ProcessRecord[] = [];
const ctx: RigContext = {
  log: (line) => process.stderr.write(`rig: ${line}\n`),
  track: (record) => {
    tracked.push(record);
    return record;
  },
};

function select(names: string[]): RigService[] {
  if (names.length === 0) return SERVICES;
  return names.map((name) => {
    const service = SERVICES.find((s) => s.name === name);
    if (!service) throw new CommanderError(2, 'rig.unknown', `rig: unknown service "${name}" (known: ${SERVICES.map((s) => s.name).join(', ')})`);
    return service;
  });
}

async function up(names: string[]): Promise<void> {
  for (const service of select(names)) {
    const started = Date.now();
    ctx.log(`${service.name}: starting`);
    const previous = readState(service.name);
    let state;
    tracked = [];
    try {
      state = await service.up(ctx, previous);
    } catch (error) {
      // Leave nothing half-started behind.
      for (const record of tracked.reverse()) await stopProcess(record);
      if (tracked.length && service.afterStop) await service.afterStop(ctx, { processes: tracked, values: {} });
      throw error;
    }
    writeState(service.name, state);
    ctx.log(`${service.name}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

async function down(names: string[]): Promise<void> {
  for (const service of [...select(names)].reverse()) {
    const state = readState(service.name);
    if (!state) continue;
    if (service.down) await service.down(ctx, state);
    for (const record of [...state.processes].reverse()) await stopProcess(record);
    if (service.afterStop) await service.afterStop(ctx, state);
    clearState(service.name);
    ctx.log(`${service.name}: stopped`);
  }
}

function status(json: boolean): void {
  const rows = SERVICES.map((service) => {
    const state = readState(service.name);
    const processes = (state?.processes ?? []).map((p) => ({ name: p.name, pid: p.pid, running: isRunning(p) }));
    const up = processes.every((p) => p.running);
    return { service: service.name, state: state ? (up ? 'up' : 'degraded') : 'down', processes, describe: service.describe };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify({ dir: RIG_DIR, services: rows }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`rig directory: ${RIG_DIR}\n`);
  for (const row of rows) {
    const detail = row.processes.map((p) => `${p.name}:${p.pid}${p.running ? '' : '(dead)'}`).join(' ');
    process.stdout.write(`${row.service.padEnd(10)} ${row.state.padEnd(9)} ${detail || row.describe}\n`);
  }
}

function env(): void {
  for (const service of SERVICES) {
    const state = readState(service.name);
    for (const [key, value] of Object.entries(state?.values ?? {})) {
      process.stdout.write(`export SMARTMETER_RIG_${key}=${shellQuote(value)}\n`);
    }
  }
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@=+-]*$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('rig')
    .description('Real services for the tests (NATS, Cassandra, a Docker engine, Helm), on 127.0.0.1.')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  program.command('up').argument('[services...]').description('start services (all when none is named)').action(up);
  program.command('down').argument('[services...]').description('stop what the rig started, by pid').action(down);
  program.command('status').option('--json', 'as JSON').description('what runs').action((o: { json?: boolean }) => status(o.json === true));
  program.command('env').description('export lines (URLs, files, tool paths) for a shell').action(env);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'rig.unknown') process.stderr.write(`${error.message}\n`);
      return error.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`rig: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeOf(error);
  }
}

process.exitCode = await main(process.argv);
