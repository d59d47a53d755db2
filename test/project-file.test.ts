/**
 * The project file (smartmeter.yaml): found walking up, checked with file:line messages, and
 * applied under the flags and the environment. Through the built CLI (`npm run build` first),
 * in temporary directories; `up --dry-run` needs no container engine.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProjectFile, locateProjectFile, parseProjectText } from '../src/project/project-file.js';
import { PROJECT_KEYS } from '../src/project/keys.js';
import { projectFileText } from '../src/project/template.js';
import { runCli } from './helpers/cli.js';

/** A fresh directory (its real path: /tmp may be a link) with `smartmeter.yaml` holding `text`, and a nested a/b. */
function project(text: string): { dir: string; nested: string; file: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'smartmeter-project-')));
  const nested = join(dir, 'a', 'b');
  mkdirSync(nested, { recursive: true });
  const file = join(dir, 'smartmeter.yaml');
  writeFileSync(file, text);
  return { dir, nested, file };
}

const FULL = `# a project
location: local
cluster-mode: single
secret-mode: no_secrets
targets:
  - cassandra_inject
  - inject
name: fromfile
state-dir: state-from-file
`;

/** The compose file's path that `up --dry-run` prints first: <state-dir>/<name>/docker-compose.yml. */
const planned = (stdout: string) => /^# (\S+)\/docker-compose\.yml/.exec(stdout)?.[1];

describe('finding the project file', () => {
  it('walks up from a nested directory, and up alone deploys what the file says', () => {
    const { dir, nested } = project(FULL);
    const run = runCli(['up', '--dry-run'], { cwd: nested });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^# modes: local single no_secrets$/m);
    expect(run.stdout).toMatch(/^# targets: cassandra_inject inject$/m);
    expect(run.stdout).toMatch(/--project-name fromfile /);
    // state-dir is relative to the file's directory, not to where up ran.
    expect(planned(run.stdout)).toBe(join(dir, 'state-from-file', 'stacks', 'compose', 'fromfile'));
  });

  it('stops at the filesystem root: nothing found is no project file, not an endless walk', () => {
    const empty = realpathSync(mkdtempSync(join(tmpdir(), 'smartmeter-noproject-')));
    expect(findProjectFile(empty)).toBeUndefined();
    expect(findProjectFile('/')).toBeUndefined();
    const run = runCli(['up', '--dry-run'], { cwd: empty });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/missing <location>/);
  });

  it('takes the nearest file, and smartmeter.yml as well; both in one directory is refused', () => {
    const { dir, nested } = project(FULL);
    writeFileSync(join(dir, 'a', 'smartmeter.yml'), 'name: nearer\n');
    expect(findProjectFile(nested)).toBe(join(dir, 'a', 'smartmeter.yml'));
    writeFileSync(join(dir, 'a', 'smartmeter.yaml'), 'name: nearer\n');
    const run = runCli(['status'], { cwd: nested });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`smartmeter: ${join(dir, 'a')} holds both smartmeter.yaml and smartmeter.yml: keep one\n`);
  });

  it('--project and SMARTMETER_PROJECT name one (a file or its directory); --no-project ignores it', () => {
    const { dir } = project(FULL);
    const elsewhere = realpathSync(mkdtempSync(join(tmpdir(), 'smartmeter-elsewhere-')));
    const byFlag = runCli(['up', '--dry-run', '--project', join(dir, 'smartmeter.yaml')], { cwd: elsewhere });
    expect(byFlag.status, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toMatch(/--project-name fromfile /);
    const byEnv = runCli(['up', '--dry-run'], { cwd: elsewhere, env: { SMARTMETER_PROJECT: dir } });
    expect(byEnv.status, byEnv.stderr).toBe(0);
    expect(byEnv.stdout).toMatch(/--project-name fromfile /);
    expect(locateProjectFile({ flag: 'smartmeter.yaml', env: '/nowhere', cwd: dir })).toEqual({ file: join(dir, 'smartmeter.yaml'), how: 'flag' });

    const ignored = runCli(['up', '--dry-run', '--no-project'], { cwd: dir });
    expect(ignored.status).toBe(2);
    expect(ignored.stderr).toMatch(/missing <location>/);
    const missing = runCli(['up', '--dry-run', '--project', 'nope.yaml'], { cwd: elsewhere });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('smartmeter: --project: no such file nope.yaml\n');
  });

  it('a command without a setting of the file does not read it (a broken one is no concern of metrics check)', () => {
    const { dir } = project('runtim: helm\n');
    const run = runCli(['metrics', 'check'], { cwd: dir });
    expect(run.stderr).not.toContain('smartmeter.yaml');
    expect(runCli(['status'], { cwd: dir }).stderr).toContain('smartmeter.yaml:1');
  });
});

describe('precedence: flag > environment > project file > default', () => {
  it('for an option with an environment variable (--state-dir, SMARTMETER_STATE_DIR)', () => {
    const { dir, nested } = project(FULL);
    const envDir = join(dir, 'from-env');
    const flagDir = join(dir, 'from-flag');
    const state = (args: string[], env: Record<string, string> = {}) => {
      const run = runCli(['up', '--dry-run', ...args], { cwd: nested, env });
      expect(run.status, run.stderr).toBe(0);
      return planned(run.stdout);
    };
    expect(state([])).toBe(join(dir, 'state-from-file', 'stacks', 'compose', 'fromfile'));
    expect(state([], { SMARTMETER_STATE_DIR: envDir })).toBe(join(envDir, 'stacks', 'compose', 'fromfile'));
    expect(state(['--state-dir', flagDir], { SMARTMETER_STATE_DIR: envDir })).toBe(join(flagDir, 'stacks', 'compose', 'fromfile'));
    expect(state(['--no-project', 'local', 'single', 'no_secrets', 'inject'], { XDG_STATE_HOME: join(dir, 'xdg') })).toBe(join(dir, 'xdg', 'smartmeter', 'stacks', 'compose', 'smartmeter'));
  });

  it('for an option without one (--name) and for the positional words', () => {
    const { dir } = project(FULL);
    const name = runCli(['up', '--dry-run', '--name', 'typed'], { cwd: dir });
    expect(name.stdout).toMatch(/--project-name typed /);
    // Typed words fill the slots from the left; the file fills the rest.
    const words = runCli(['combine', 'local', 'single', 'secrets'], { cwd: dir });
    expect(words.status, words.stderr).toBe(0);
    expect(words.stdout).toMatch(/^# modes: local single secrets$/m);
    expect(words.stdout).toMatch(/^# targets: cassandra_inject inject$/m);
    const targets = runCli(['combine', 'local', 'single', 'no_secrets', 'inject'], { cwd: dir });
    expect(targets.stdout).toMatch(/^# targets: inject$/m);
  });

  it('--explain names each setting\'s origin: flag, env VAR, file:line, default', () => {
    const { dir, nested } = project(FULL);
    const run = runCli(['up', '--dry-run', '--explain', 'local', '--timeout', '2m'], { cwd: nested, env: { SMARTMETER_STATE_DIR: join(dir, 'env-state') } });
    expect(run.status, run.stderr).toBe(0);
    const file = join(dir, 'smartmeter.yaml');
    expect(run.stderr).toContain(`project file: ${file} (found walking up)`);
    expect(run.stderr).toMatch(/^ {2}location +local +argument$/m);
    expect(run.stderr).toMatch(new RegExp(`^ {2}cluster-mode +single +${file}:3$`, 'm'));
    expect(run.stderr).toMatch(new RegExp(`^ {2}targets +cassandra_inject inject +${file}:5$`, 'm'));
    expect(run.stderr).toMatch(new RegExp(`^ {2}name +fromfile +${file}:8$`, 'm'));
    expect(run.stderr).toMatch(/^ {2}state-dir +\S+env-state +env SMARTMETER_STATE_DIR$/m);
    expect(run.stderr).toMatch(/^ {2}timeout +2m +flag --timeout$/m);
    expect(run.stderr).toMatch(/^ {2}runtime +compose +default$/m);
  });

  it('--explain on combine too, with a file in the working directory shown by its name', () => {
    const { dir } = project(FULL);
    const run = runCli(['combine', '--explain', '-o', join(dir, 'out.yml')], { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^ {2}secret-mode +no_secrets +smartmeter\.yaml:4$/m);
  });
});

describe('paths in the project file', () => {
  it('are relative to the file\'s directory, not the working directory', () => {
    const { dir, nested } = project(`${FULL}properties: props\nvalues: [extra.yaml]\n`);
    mkdirSync(join(dir, 'props'));
    writeFileSync(join(dir, 'props', 'configuration-application.properties'), 'GATLING_USERS_PER_SEC=1234\n');
    writeFileSync(join(dir, 'extra.yaml'), 'a: 1\n');
    const run = runCli(['combine', '--quiet'], { cwd: nested });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('GATLING_USERS_PER_SEC=1234');
    const settings = parseProjectText(readFileSync(join(dir, 'smartmeter.yaml'), 'utf8'), join(dir, 'smartmeter.yaml'), 'smartmeter.yaml');
    expect(settings.get('properties')?.value).toBe(join(dir, 'props'));
    expect(settings.get('values')?.value).toEqual([join(dir, 'extra.yaml')]);
  });
});

describe('a bad project file: one line naming file:line, exit 2', () => {
  it.each([
    ['an unknown key, with the closest', 'location: local\n\nrutime: helm\n', 'smartmeter.yaml:3: unknown key "rutime" (did you mean runtime?)'],
    ['a word out of range', 'runtime: helmm\n', 'smartmeter.yaml:1: runtime: must be compose, swarm or helm, got "helmm" (did you mean helm?)'],
    ['a wrong type', 'name: smart\ntargets: {inject: 1}\n', 'smartmeter.yaml:2: targets: expected a list (e.g. [a, b]), got a mapping'],
    ['a bad list item, on its own line', 'targets:\n  - inject\n  - [nested]\n', 'smartmeter.yaml:3: targets: expected text in the list, got a nested list or mapping'],
    ['a duration without a unit', 'timeout: 30\n', 'smartmeter.yaml:1: timeout: "30" needs a unit (e.g. 30s or 30m)'],
    ['a missing directory', 'name: x\nproperties: nowhere\n', "smartmeter.yaml:2: properties: no such directory nowhere (relative paths start from the project file's directory)"],
    ['YAML that does not parse', 'name: x\nlocation: [local\n', 'smartmeter.yaml:3: not valid YAML:'],
    ['a password', 'name: x\nnats-password: hunter2\n', 'smartmeter.yaml:2: "nats-password": secrets never go in the project file'],
    ['a credential among the properties', 'set:\n  - GATLING_USERS_PER_SEC=1\n  - NATS_PASSWORD=hunter2\n', 'smartmeter.yaml:3: set: NATS_PASSWORD is a credential'],
  ])('%s', (_label, text, message) => {
    const { dir } = project(text);
    const run = runCli(['up', '--dry-run'], { cwd: dir });
    expect(run.status).toBe(2);
    expect(run.stderr.startsWith(`smartmeter: ${message}`), run.stderr).toBe(true);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toContain('hunter2');
  });
});

describe('smartmeter init', () => {
  it('writes a commented smartmeter.yaml that loads back and deploys; refuses to overwrite without --force', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'smartmeter-init-')));
    const file = join(dir, 'smartmeter.yaml');
    const first = runCli(['init'], { cwd: dir });
    expect(first.status, first.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const settings = parseProjectText(text, file, 'smartmeter.yaml');
    expect([...settings.keys()]).toEqual(['location', 'cluster-mode', 'secret-mode', 'targets']);
    const up = runCli(['up', '--dry-run', '--state-dir', join(dir, 'st')], { cwd: dir });
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^# modes: local single no_secrets$/m);

    const again = runCli(['init', 'remote'], { cwd: dir });
    expect(again.status).toBe(2);
    expect(again.stderr).toBe('smartmeter: smartmeter.yaml already here: not overwritten (--force to replace it)\n');
    expect(readFileSync(file, 'utf8')).toBe(text);

    const forced = runCli(['init', '--force', 'local', 'cluster', 'secrets', 'inject', '--runtime', 'helm', '--name', 'meters'], { cwd: dir });
    expect(forced.status, forced.stderr).toBe(0);
    const rewritten = parseProjectText(readFileSync(file, 'utf8'), file, 'smartmeter.yaml');
    expect(Object.fromEntries([...rewritten].map(([key, s]) => [key, s.value]))).toEqual({ location: 'local', 'cluster-mode': 'cluster', 'secret-mode': 'secrets', targets: ['inject'], runtime: 'helm', name: 'meters' });

    const bad = runCli(['init', '--force', 'locl'], { cwd: dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('smartmeter: <location> must be local or remote, got "locl" (did you mean local?)\n');
  });

  it('explains every key, and each example, uncommented, is a valid value', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'smartmeter-init-all-')));
    const text = projectFileText({});
    for (const { key } of PROJECT_KEYS) expect(text).toMatch(new RegExp(`^(# )?${key}: `, 'm'));
    mkdirSync(join(dir, 'properties'));
    writeFileSync(join(dir, 'my-values.yaml'), 'a: 1\n');
    const all = text.replace(new RegExp(`^# ((?:${PROJECT_KEYS.map((k) => k.key).join('|')}): )`, 'gm'), '$1');
    const settings = parseProjectText(all, join(dir, 'smartmeter.yaml'), 'smartmeter.yaml');
    expect([...settings.keys()].sort()).toEqual(PROJECT_KEYS.map((k) => k.key).sort());
  });
});

describe('down, status and logs', () => {
  it('find the stack by the name and state directory of the file, from a nested directory', () => {
    const { dir, nested } = project(FULL);
    const run = runCli(['status'], { cwd: nested });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`no stack "fromfile"`);
    expect(run.stderr).toContain(join(dir, 'state-from-file'));
  });
});
