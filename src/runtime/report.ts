/**
 * What `up`, `status` and `stacks` print, the same on every runtime: the progress lines while
 * waiting, the failure report, the state table and its JSON, the dry run.
 */
import { formatCommand, type CommandLine } from './exec.js';
import type { ServiceStatus, StackStatus, Ui } from './runtime.js';
import { startSpinner } from '../spinner.js';

/** The JSON of `status --json` and `up --json` (shape documented at StackStatus). */
export function statusJson(status: StackStatus): object {
  return {
    runtime: status.runtime,
    name: status.name,
    namespace: status.namespace,
    ready: status.ready,
    services: status.services.map((s) => ({ name: s.service, state: s.phase, detail: s.detail, replicas: { ready: s.replicas.ready, desired: s.replicas.desired } })),
  };
}

/** The stack's state on stdout: one JSON line, or the headline and a table. */
export function printStatus(status: StackStatus, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(statusJson(status))}\n`);
    return;
  }
  if (status.headline) process.stdout.write(`${status.headline}\n`);
  const width = Math.max(7, ...status.services.map((s) => s.service.length));
  process.stdout.write(`${'SERVICE'.padEnd(width)}  ${'STATE'.padEnd(9)}  READY  DETAIL\n`);
  for (const s of status.services) {
    process.stdout.write(`${s.service.padEnd(width)}  ${s.phase.padEnd(9)}  ${`${s.replicas.ready}/${s.replicas.desired}`.padEnd(5)}  ${s.detail}\n`);
  }
}

/**
 * Progress on stderr while `up` waits. On a terminal a spinner with every service's state;
 * otherwise one line per change of a service's state ("nats: running (healthy)"). `quiet`
 * (--json) drops the spinner and the lines; ui.log lines are always written.
 */
export async function progressUi(quiet: boolean): Promise<Ui> {
  const spinner = process.stderr.isTTY && !quiet ? await startSpinner('deploying') : undefined;
  const seen = new Map<string, string>();
  return {
    log: (line) => {
      if (spinner) spinner.clear();
      process.stderr.write(`${line}\n`);
      spinner?.render();
    },
    progress: (statuses: readonly ServiceStatus[]) => {
      if (spinner) {
        const ready = statuses.filter((s) => s.phase !== 'starting').length;
        spinner.text = `${ready}/${statuses.length} ready · ${statuses.map((s) => `${s.service}: ${s.detail}`).join(' · ')}`;
        if (ready === statuses.length || statuses.some((s) => s.phase === 'failed')) spinner.stop();
        return;
      }
      for (const s of statuses) {
        if (seen.get(s.service) !== s.detail && !quiet) process.stderr.write(`${s.service}: ${s.detail}\n`);
        seen.set(s.service, s.detail);
      }
    },
  };
}

/** One part of a failure report: a title ("last log lines of pod meters-nats-0") and its text. */
export interface ReportSection {
  title: string;
  text: string;
}

/**
 * The failure report of a service, the same on every runtime:
 *
 *   nats is not ready: failed: ErrImagePull (0/1 ready)
 *   --- last log lines of pod meters-nats-0 ---
 *   …
 *   --- events of pod meters-nats-0 ---
 *   Warning Failed: Failed to pull image …
 */
export function failureReport(service: Pick<ServiceStatus, 'service' | 'detail'>, sections: readonly ReportSection[]): string {
  return [`${service.service} is not ready: ${service.detail}`, ...sections.flatMap((s) => [`--- ${s.title} ---`, s.text.trimEnd() || '(none)'])].join('\n');
}

/**
 * What --dry-run prints, for every runtime: the file (its credentials already masked), what up
 * would do with the secret files (comment lines, if anything), then the commands.
 */
export function dryRunText(file: string, maskedText: string, containsSecrets: boolean, commands: readonly CommandLine[], secretNotes: readonly string[] = []): string {
  const secrets = secretNotes.length ? `# secret files\n${secretNotes.map((l) => `# ${l}`).join('\n')}\n` : '';
  return `# ${file}${containsSecrets ? ' (credentials masked here)' : ''}\n${maskedText}\n${secrets}# commands\n${commands.map(formatCommand).join('\n')}\n`;
}
