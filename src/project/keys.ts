/**
 * The keys of the project file (smartmeter.yaml) and what each holds. Kept apart from the
 * reader (./project-file.ts) and free of imports: cli.ts consults the names on every command,
 * and must not load the combine engine to do so.
 */

/** The environment variable naming a project file (or a directory holding one); `--project` wins over it. */
export const PROJECT_ENV = 'SMARTMETER_PROJECT';

export type Kind =
  /** One of a few words (the list is in ./project-file.ts). */
  | 'word'
  /** A string checked by `pattern`. */
  | 'name'
  /** A duration: 500ms, 10s, 5m, 1h. */
  | 'duration'
  /** A path, resolved against the file's directory. */
  | 'path'
  /** A path to an existing directory. */
  | 'directory'
  /** A list of words (or one string of words separated by spaces or commas). */
  | 'list'
  /** A list of paths to existing files. */
  | 'file-list'
  /** A list of KEY=value properties. */
  | 'assignments';

/** What a key of the project file holds; the comment `smartmeter init` writes above it is `help`. */
export interface ProjectKey {
  key: string;
  kind: Kind;
  pattern?: RegExp;
  /** What a value must look like, for the message when `pattern` does not match. */
  patternText?: string;
  /** One or two comment lines for `smartmeter init`. */
  help: string;
  /** The value `init` writes (commented out when the user did not give one), as YAML text. */
  example: string;
}

/**
 * Every key the project file takes. Each is named as the long flag it stands for (or the
 * argument, for the three words and the targets), and applies to every command that has that
 * flag or argument: `name` to up, down, status and logs; `timeout` to up only.
 */
export const PROJECT_KEYS: readonly ProjectKey[] = [
  { key: 'location', kind: 'word', help: 'where the stack runs: local, or remote (adds Swarm placement constraints)', example: 'local' },
  { key: 'cluster-mode', kind: 'word', help: 'single (one of each service) or cluster (needs runtime swarm or helm)', example: 'single' },
  { key: 'secret-mode', kind: 'word', help: 'secrets (credentials from the files of secrets-dir) or no_secrets (from the environment)', example: 'no_secrets' },
  { key: 'targets', kind: 'list', help: 'targets of the hierarchy to deploy (see `smartmeter combine --list-targets`)', example: '[cassandra_inject, inject]' },
  { key: 'runtime', kind: 'word', help: 'where up deploys: compose, swarm (docker stack deploy) or helm (Kubernetes)', example: 'compose' },
  { key: 'name', kind: 'name', pattern: /^[a-z0-9][a-z0-9_-]*$/, patternText: 'lower-case letters, digits, _ and - (a Docker project name)', help: 'stack, project or release name (up, down, status, logs)', example: 'smartmeter' },
  { key: 'properties', kind: 'directory', help: 'directory of property files layered over the defaults (as -p)', example: './properties' },
  { key: 'set', kind: 'assignments', help: 'properties set over every file and the environment (as --set); never a credential', example: '[GATLING_USERS_PER_SEC=2000]' },
  { key: 'secrets-dir', kind: 'path', help: 'directory of the secret files, in secrets mode (the files stay out of this one)', example: './devsecrets' },
  { key: 'state-dir', kind: 'path', help: 'where up keeps the deployed file and its record of the stack; down, status and logs look there', example: './.smartmeter' },
  { key: 'timeout', kind: 'duration', help: 'how long up waits for the services to be healthy (500ms, 10s, 5m, 1h)', example: '5m' },
  { key: 'without', kind: 'list', help: 'services of the stack to leave out (e.g. one whose image this cluster lacks)', example: '[grafana]' },
  { key: 'publish-mode', kind: 'word', help: 'swarm: ports through the routing mesh (ingress), or on the task\'s node (host)', example: 'ingress' },
  { key: 'namespace', kind: 'name', pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, patternText: 'a Kubernetes namespace (lower-case letters, digits and -, at most 63)', help: 'helm: Kubernetes namespace (created when missing)', example: 'smartmeter' },
  { key: 'values', kind: 'file-list', help: 'helm: values files layered over the generated values, later ones winning (as -f)', example: '[./my-values.yaml]' },
];

/** The names of the keys, for a quick look-up. */
export const PROJECT_KEY_NAMES: ReadonlySet<string> = new Set(PROJECT_KEYS.map((k) => k.key));
