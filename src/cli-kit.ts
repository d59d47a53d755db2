/**
 * What every command module builds its definition with: the examples-first help, the options
 * several commands share (stack name and state, Cassandra connection, --json, --quiet) and the
 * value collectors. Cheap on purpose: every command module imports it at start-up.
 */
import { Help, Option, type Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';

/** A repeatable option: `--set a=1 --set b=2` → ['a=1', 'b=2']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A repeatable option whose values may also be comma-separated: `--without a,b --without c`. */
export const collectList = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

/** The parsed options of a command definition (a function returning the unfinished Command). */
export type OptionsOf<Definition extends () => { opts(): unknown }> = ReturnType<ReturnType<Definition>['opts']>;

const EXAMPLES = new WeakMap<object, readonly string[]>();

/**
 * Gives `command` its examples, shown by --help right after the usage and description, before
 * the arguments and options (see `examplesFirstHelp`). Each line is a command line, printed
 * after `$ `; a `  # …` tail is kept as a comment. Returns `command`, for chaining.
 */
export function withExamples<C extends CommandUnknownOpts>(command: C, examples: readonly string[]): C {
  EXAMPLES.set(command, examples);
  return command;
}

/** The examples given with `withExamples` (empty when none). */
export function examplesOf(command: CommandUnknownOpts): readonly string[] {
  return EXAMPLES.get(command) ?? [];
}

const SECTION = /^(Arguments|Options|Commands|Global Options):$/;

/**
 * The help layout of every command: commander's, with an `Examples:` section spliced in before
 * the first list (Arguments, Options or Commands), so that a reader sees how it is used first.
 * Passed to `configureHelp` of the program; cli.ts copies it to every command.
 */
export const examplesFirstHelp: Partial<Help> = {
  formatHelp(command, helper) {
    const text = Help.prototype.formatHelp.call(helper, command, helper);
    const examples = examplesOf(command);
    if (!examples.length) return text;
    const lines = text.split('\n');
    // The headings are plain text unless a style hook colours them: strip escapes to find them.
    const at = lines.findIndex((line, i) => i > 0 && SECTION.test(line.replace(/\u001b\[[0-9;]*m/g, '')));
    const section = [helper.styleTitle('Examples:'), ...examples.map((e) => `  $ ${e}`), ''];
    lines.splice(at < 0 ? lines.length : at, 0, ...section);
    return lines.join('\n');
  },
};

/** `--json`, with the shape of what it prints (documented in the option's help). */
export function jsonOption(shape: string) {
  return new Option('--json', `print ${shape} as JSON on stdout (one document)`);
}

/** `-q, --quiet`: the same meaning on every command. */
export function quietOption() {
  return new Option('-q, --quiet', 'no notices on stderr (progress, what was done); warnings and errors are still printed');
}

/**
 * The help text of a time option, naming the units. The value stays text and the handler reads
 * it with `parseDuration` (so a project file or an environment variable gives it the same way);
 * `plain` names the unit of a plain number, for the options that took one before units
 * (`--wait 120` is 120 s).
 */
export function durationHelp(description: string, plain?: 'ms' | 's'): string {
  const units = '500ms, 10s, 5m, 1h';
  return `${description} (${units}${plain ? `; a plain number is ${plain === 's' ? 'seconds' : 'milliseconds'}` : ''})`;
}

/**
 * `--name` and `--state-dir`: which stack, and the state root where `up` records it (no default
 * here: the handlers fall back to $XDG_STATE_HOME/smartmeter, see src/runtime/state.ts).
 */
export function withStackOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(new Option('--name <name>', 'stack, project or release name').default('smartmeter'))
    .addOption(new Option('--state-dir <dir>', 'the state root where up records its stacks (default $XDG_STATE_HOME/smartmeter, else ~/.local/state/smartmeter)').env('SMARTMETER_STATE_DIR'));
}

/** `--runtime` and `--namespace` of down, status and logs: which stack, when one name is on several runtimes or namespaces. */
export function withStackLookupOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(new Option('--runtime <runtime>', 'the stack on this runtime, when its name is on several').choices(['compose', 'swarm', 'helm'] as const))
    .addOption(new Option('--namespace <ns>', 'helm: the stack in this namespace, when its name is in several'));
}

/**
 * The Cassandra connection options of `cassandra init` and `cassandra stats`. The password
 * (CASSANDRA_PASSWORD, CASSANDRA_PASSWORD_FILE) is read from the environment where it is used
 * (src/cassandra/connection.ts), so that a credential is handled in one place.
 */
export function withCassandraOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(new Option('--contact-points <hosts>', 'comma-separated host[:port]').env('CASSANDRA_URL').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'CQL port').default('9042'))
    .addOption(new Option('--local-dc <dc>', 'local data centre of the driver (default: any node)'))
    .addOption(new Option('--username <user>', 'user name').env('CASSANDRA_USERNAME'))
    .addOption(new Option('--password <password>', 'password (env CASSANDRA_PASSWORD); other users of the host can read it in the process list: prefer --password-file or env CASSANDRA_PASSWORD_FILE'))
    .addOption(new Option('--password-file <file>', 'file holding the password (env CASSANDRA_PASSWORD_FILE)'))
    .addOption(new Option('--tls', 'connect with TLS'))
    .addOption(new Option('--tls-ca <file>', 'CA certificate (PEM) to trust'))
    .addOption(new Option('--tls-cert <file>', 'client certificate (PEM; with --tls-key)'))
    .addOption(new Option('--tls-key <file>', 'client key (PEM; with --tls-cert)'))
    .addOption(new Option('--tls-insecure', 'do not verify the server certificate'));
}

/** `--keyspace`, read as cassandra init reads it (env CASSANDRA_KEYSPACE). */
export function keyspaceOption() {
  return new Option('--keyspace <name>', 'keyspace: unquoted it is folded to lower case, "quoted" kept as written').env('CASSANDRA_KEYSPACE').default('smartmeter');
}
