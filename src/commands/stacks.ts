/** `smartmeter stacks`: the stacks `up` recorded in the per-user state directory, from any working directory. */
import { Command, Option } from '@commander-js/extra-typings';
import { jsonOption, quietOption, withExamples, type OptionsOf } from '../cli-kit.js';
import { describeKey, listRecords, stateRoot } from '../runtime/state.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'stacks';

/** The options as parsed, typed from the definition. */
export type StacksOptions = OptionsOf<typeof definition>;

/**
 * One stack of `stacks --json`:
 *
 *   { "stateDir": string,                   the state root
 *     "stacks": [ { "name": string,
 *                   "runtime": "compose" | "swarm" | "helm",
 *                   "namespace": string | null,          Kubernetes namespace (helm)
 *                   "location": string | null, "clusterMode": string | null, "secretMode": string | null,
 *                   "targets": string[],
 *                   "createdAt": string, "updatedAt": string,   ISO 8601
 *                   "dir": string } ] }                  the stack's directory (its files and record)
 */
export interface StackEntry {
  name: string;
  runtime: string;
  namespace: string | null;
  location: string | null;
  clusterMode: string | null;
  secretMode: string | null;
  targets: string[];
  createdAt: string;
  updatedAt: string;
  dir: string;
}

export async function runStacks(options: StacksOptions): Promise<void> {
  const root = stateRoot(options.stateDir);
  const stacks: StackEntry[] = listRecords(root).map(({ record, dir }) => ({
    name: record.name,
    runtime: record.runtime,
    namespace: record.namespace ?? null,
    location: record.location ?? null,
    clusterMode: record.clusterMode ?? null,
    secretMode: record.secretMode ?? null,
    targets: record.targets ?? [],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt ?? record.createdAt,
    dir,
  }));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ stateDir: root, stacks })}\n`);
    return;
  }
  if (stacks.length === 0) {
    if (!options.quiet) process.stderr.write(`no stacks recorded in ${root}\n`);
    return;
  }
  const rows = [
    ['NAME', 'RUNTIME', 'TARGETS', 'CREATED', 'UPDATED', 'DIRECTORY'],
    ...stacks.map((s) => [
      s.name,
      describeKey({ runtime: s.runtime as 'compose', name: s.name, namespace: s.namespace ?? undefined }),
      [s.location, s.clusterMode, s.secretMode, ...s.targets].filter(Boolean).join(' ') || '-',
      minutes(s.createdAt),
      minutes(s.updatedAt),
      s.dir,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
}

/** "2026-11-30 17:05" (UTC) of an ISO 8601 time. */
function minutes(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

/** The command line of `stacks`: its options and help. */
function definition() {
  return withExamples(
    new Command(name)
      .summary('list the stacks up brought up (from any directory)')
      .description('List the stacks recorded in the per-user state directory: name, runtime (and Kubernetes namespace), the words and targets of their last up, when they were created and last deployed, and where their files are.')
      .addOption(new Option('--state-dir <dir>', 'the state root (default $XDG_STATE_HOME/smartmeter, else ~/.local/state/smartmeter)').env('SMARTMETER_STATE_DIR'))
      .addOption(jsonOption('{"stateDir", "stacks": [{"name", "runtime", "namespace", "location", "clusterMode", "secretMode", "targets", "createdAt", "updatedAt", "dir"}]}'))
      .addOption(quietOption()),
    ['smartmeter stacks', 'smartmeter stacks --json'],
  );
}

/** `stacks`, ready to register. */
export function command() {
  return definition().action(async (options) => {
    await runStacks(options);
  });
}
