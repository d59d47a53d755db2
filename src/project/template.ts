/** The commented `smartmeter.yaml` that `smartmeter init` writes. */
import { dump } from 'js-yaml';
import { PROJECT_KEYS } from './keys.js';

/**
 * Values `init` writes as they are (the rest of the keys are written commented out, with an
 * example). Paths are written as given: relative ones are read from the file's directory.
 */
export type ProjectPrefill = Partial<Record<string, string | string[]>>;

/**
 * What `up` alone deploys once `init` ran without words: the stack of the quick start.
 * Written as active lines, so that `smartmeter init && smartmeter up` works.
 */
export const INIT_DEFAULTS: Readonly<Record<string, string | string[]>> = {
  location: 'local',
  'cluster-mode': 'single',
  'secret-mode': 'no_secrets',
  targets: ['cassandra_inject', 'inject'],
};

const HEADER = `# smartmeter.yaml: the settings of \`smartmeter up\` for this directory and those below it
# (smartmeter looks for it from the working directory up to /). combine, down, status and logs
# read the keys they have a flag or argument for. A flag wins over an environment variable, which
# wins over this file, which wins over the defaults: \`smartmeter up --explain\` shows where each
# setting came from. Relative paths are read from this file's directory. --project <file> (or
# SMARTMETER_PROJECT) names another file, --no-project ignores it.
# Never put a credential here: secrets go in secrets-dir (secrets mode) or the environment.
`;

/**
 * The text of a project file: a header, then every key of PROJECT_KEYS with its help as a
 * comment; keys in `prefill` (or INIT_DEFAULTS for the three words and the targets) are active,
 * the others commented out with an example value. The result parses with parseProjectText.
 */
export function projectFileText(prefill: ProjectPrefill): string {
  const values = { ...INIT_DEFAULTS, ...prefill };
  const parts = [HEADER];
  for (const spec of PROJECT_KEYS) {
    const value = values[spec.key];
    const line = value === undefined ? `# ${spec.key}: ${spec.example}` : `${spec.key}: ${yamlValue(value)}`;
    parts.push(`\n# ${spec.help}\n${line}\n`);
  }
  return parts.join('');
}

/** A value as one line of YAML: a scalar quoted when needed, a list in flow style. */
function yamlValue(value: string | string[]): string {
  return dump(value, { flowLevel: 0, lineWidth: -1 }).trimEnd();
}
