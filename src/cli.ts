/**
 * Registers the commands (one module each, src/commands/) and handles errors, once: one line on
 * stderr (URL passwords masked), exit 2 for bad input, 1 for failures (src/errors.ts), and a
 * stack trace only with --debug.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { examplesFirstHelp, withExamples } from './cli-kit.js';
import { exitCodeOf, UsageError } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';
import { maskUrlPasswords, SECRET_FLAGS, secretFlagWarning } from './secrets.js';
// Every command module is cheap to load: its heavy dependencies (NATS, Cassandra, ora) are
// imported inside its handler.
import * as cassandraInit from './commands/cassandra-init.js';
import * as cassandraStats from './commands/cassandra-stats.js';
import * as combine from './commands/combine.js';
import * as completion from './commands/completion.js';
import * as down from './commands/down.js';
import * as ingest from './commands/ingest.js';
import * as init from './commands/init.js';
import * as inject from './commands/inject.js';
import * as logs from './commands/logs.js';
import * as metricsCheck from './commands/metrics-check.js';
import * as stacks from './commands/stacks.js';
import * as status from './commands/status.js';
import * as up from './commands/up.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The commands, in the order of the help. Each module holds one command's definition and its
 * handler; a group (`cassandra`, `metrics`) is only a name over its modules' commands.
 */
const COMMANDS: readonly (TopLevelCommand | CommandGroup)[] = [
  init,
  combine,
  up,
  down,
  status,
  logs,
  stacks,
  {
    name: 'cassandra',
    summary: 'work with the Cassandra of the stack',
    examples: ['smartmeter cassandra init --wait 2m', 'smartmeter cassandra stats --json'],
    commands: [cassandraInit, cassandraStats],
  },
  ingest,
  inject,
  {
    name: 'metrics',
    summary: "check smartmeter's own metrics in Graphite or Prometheus",
    examples: ['smartmeter metrics check --graphite-url http://localhost:81 --command inject --json'],
    commands: [metricsCheck],
  },
  completion,
];

/** A command module: `command()` returns its commander Command, with its action. */
interface CommandModule {
  command(): CommandUnknownOpts;
}

/** A command of the top level also exports its name, so that it is found without building it. */
interface TopLevelCommand extends CommandModule {
  name: string;
}

interface CommandGroup {
  name: string;
  summary: string;
  examples: readonly string[];
  commands: readonly CommandModule[];
}

/**
 * The program: global options, the shared error output and help layout, then the commands:
 * every one, or only `only` (a top-level command or group name) when the command line names it,
 * so that `smartmeter combine …` does not build fourteen other definitions (bench/combine.ts).
 */
export function buildProgram(only?: string): CommandUnknownOpts {
  const program = withExamples(
    new Command('smartmeter')
      .description('Deploy and drive the smart-meter data platform (NATS, Cassandra, Spark, metrics).')
      .version(version(), '-V, --version')
      .option('--debug', 'print stack traces and internal details on errors')
      .option('--no-color', 'no colours in messages (also NO_COLOR=1 or TERM=dumb)')
      .option('--project <file>', 'project file to use (env SMARTMETER_PROJECT; default: the first smartmeter.yaml from here up to /)')
      .option('--no-project', 'ignore any project file')
      .showSuggestionAfterError(true)
      .exitOverride()
      .configureHelp(examplesFirstHelp)
      .configureOutput({ outputError: (text, write) => write(`smartmeter: ${maskUrlPasswords(text.replace(/^error: /, ''))}`) })
      // A credential typed as a flag is in every user's `ps`: said once, before the command runs.
      .hook('preAction', async (program, command) => {
        for (const flag of SECRET_FLAGS) {
          if (command.getOptionValueSource(flag) !== 'cli') continue;
          const safer = flag === 'token' ? '--token-file' : command.parent?.name() === 'cassandra' ? '--password-file or CASSANDRA_PASSWORD_FILE' : '--password-file or NATS_PASSWORD_FILE';
          process.stderr.write(`smartmeter: ${secretFlagWarning(flag, safer)}\n`);
        }
        // smartmeter.yaml's values, under the flags and the environment (and --explain's table).
        const { useProjectFile } = await import('./project/apply.js');
        await useProjectFile(command, { flag: (program.opts() as { project?: string | false }).project, env: process.env.SMARTMETER_PROJECT, cwd: process.cwd() });
      }),
    [
      'smartmeter combine local single secrets root_metrics inject > docker-compose-merge.yml',
      'smartmeter up local single no_secrets cassandra_inject inject --timeout 10m',
      'smartmeter status --json',
      'smartmeter cassandra init --wait 2m',
      'smartmeter inject --rate 1000 --duration 1m',
      'smartmeter <command> --help                                  # each command\'s examples and options',
    ],
  );
  const chosen = COMMANDS.find((entry) => entry.name === only);
  for (const entry of chosen ? [chosen] : COMMANDS) {
    if ('command' in entry) {
      register(program, entry.command());
      continue;
    }
    const group = register(program, withExamples(new Command(entry.name).summary(entry.summary).description(entry.summary), entry.examples));
    for (const module of entry.commands) register(group, module.command());
  }
  // What the completion scripts call at every <TAB>; registered last, it sees every command.
  if (!chosen) register(program, completion.hiddenCommand(), { hidden: true });
  return program;
}

/**
 * The command word of `argv` (node, script, then the arguments): the first argument that is not a
 * global option, or undefined when there is none or an option comes first that only the whole
 * program answers (--help, --version, or one it does not know).
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--project') i += 1;
    else if (arg === '--debug' || arg === '--no-color' || arg === '--no-project' || arg.startsWith('--project=')) continue;
    else return arg.startsWith('-') ? undefined : arg;
  }
  return undefined;
}

/** Adds `command` under `parent` with the parent's settings (error output, exit override, help layout). */
function register(parent: CommandUnknownOpts, command: CommandUnknownOpts, options: { hidden?: boolean } = {}): CommandUnknownOpts {
  command.copyInheritedSettings(parent);
  parent.addCommand(command, options);
  return command;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(commandWord(argv));
  const debug = argv.includes('--debug');
  if (argv.includes('--no-color') || process.env.NO_COLOR || process.env.TERM === 'dumb') {
    process.env.FORCE_COLOR = '0';
  }
  try {
    await program.parseAsync(argv);
    // A command that finished its work can still report an outcome (inject: rate not held → 3).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    // No error line may carry a URL's password (a server address in a connection error, …).
    const message = maskUrlPasswords(error instanceof Error ? error.message : String(error));
    const known = error instanceof UsageError || exitCodeOf(error) !== 1 || (error instanceof Error && error.name === 'RuntimeError');
    process.stderr.write(`smartmeter: ${known ? message : `internal error: ${message}`}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${maskUrlPasswords(error.stack)}\n`);
    else if (!known) process.stderr.write('run again with --debug for the stack trace\n');
    return exitCodeOf(error);
  }
}
