import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN, ROOT, runCli, runTool } from './helpers/cli.js';

const FULL_STACK = ['root_metrics', 'inject', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'monitoring'];
const COMBINATIONS = ['local', 'remote'].flatMap((location) =>
  ['single', 'cluster'].flatMap((mode) => ['secrets', 'no_secrets'].map((secrets) => [location, mode, secrets] as const)),
);

type Doc = { version: string; services: Record<string, Record<string, unknown>>; secrets?: Record<string, unknown> };

/**
 * The Compose implementations to check files with: the rig's current Compose (v5, built by `rig
 * up docker`), a `docker compose` plugin of the host, and Debian's docker-compose v1; every one found.
 */
function composeCommands(): string[][] {
  const found: string[][] = [];
  const rigCompose = existsSync(join(process.env.SMARTMETER_RIG_DIR ?? join(ROOT, '.rig'), 'docker', 'state.json'))
    ? (JSON.parse(readFileSync(join(process.env.SMARTMETER_RIG_DIR ?? join(ROOT, '.rig'), 'docker', 'state.json'), 'utf8')) as { values: Record<string, string> }).values.DOCKER_COMPOSE_V2
    : undefined;
  if (rigCompose && existsSync(rigCompose)) found.push([rigCompose]);
  else if (runTool('docker', ['compose', 'version'])?.status === 0) found.push(['docker', 'compose']);
  if (runTool('docker-compose', ['version'])?.status === 0) found.push(['docker-compose']);
  return found;
}
const composes = composeCommands();
/** Compose's stderr without what it says of a valid file: `version` is obsolete, a key only Swarm honours. */
const composeComplaints = (stderr: string) => stderr.replace(/.*(obsolete|level=warning msg=".*(only applies to|is only honored by|is not supported outside) .*Swarm).*\n?/g, '');
const compose = composes[0];
const dockerCli = runTool('docker', ['--version'])?.status === 0;
if (process.env.CI === 'true' && (!compose || !dockerCli)) {
  throw new Error('CI needs a Compose implementation (apt-get install docker-compose) and the docker CLI; .ci/run installs them');
}
if (!compose) console.warn('skipping Compose checks: install docker-compose (apt-get install docker-compose) to run them');

describe.each(COMBINATIONS)('combine %s %s %s of the full stack', (location, mode, secrets) => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-cli-'));
  const file = join(dir, 'docker-compose-merge.yml');
  const run = runCli(['combine', location, mode, secrets, ...FULL_STACK, '-o', file]);

  it('writes a file and nothing on stdout or stderr', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
  });

  it('leaves no placeholder of ours, and keeps Swarm templates only in cluster mode', () => {
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/\(\(|(?<!\$)\$\{/);
    expect(text.includes('{{.Task.Slot}}')).toBe(mode === 'cluster');
  });

  it('has the services of each mode, with credentials the way the secret mode says', () => {
    const doc = load(readFileSync(file, 'utf8')) as Doc;
    const names = Object.keys(doc.services);
    expect(names).toEqual(expect.arrayContaining(['nats', 'inject', 'cassandra_inject', 'cassandra-cluster-main', 'graphite', 'grafana', 'prometheus', 'app_streaming', 'app_prediction_trainer', 'app_prediction_oracle', 'nats_monitor', 'cassandra_stats', 'telegraf_nats']));
    for (const clusterOnly of ['nats_cluster', 'spark-worker', 'cassandra-cluster-node']) {
      expect(names.includes(clusterOnly)).toBe(mode === 'cluster');
    }
    const injectEnv = doc.services.inject!.environment as string[];
    if (secrets === 'secrets') {
      expect(Object.keys(doc.secrets ?? {}).sort()).toEqual([
        'grafana_admin_password_secret',
        'nats_cluster_password_secret',
        'nats_cluster_username_secret',
        'nats_password_secret',
        'nats_username_secret',
      ]);
      expect(injectEnv).toContain('NATS_PASSWORD_FILE=/run/secrets/nats_password_secret');
      expect(injectEnv.some((e) => e.startsWith('NATS_PASSWORD='))).toBe(false);
    } else {
      expect(doc.secrets).toBeUndefined();
      expect(injectEnv).toContain('NATS_PASSWORD=xyz1234');
    }
    // Each env variable once, even where two targets bring the same service.
    const statsEnv = doc.services.cassandra_stats!.environment as string[];
    expect(new Set(statsEnv).size).toBe(statsEnv.length);
  });

  it('keeps credentials out of the file in secrets mode, and the file private otherwise', () => {
    const text = readFileSync(file, 'utf8');
    for (const password of ['xyz1234', '1234xyz', 'a2min']) expect(text.includes(password)).toBe(secrets === 'no_secrets');
    expect(statSync(file).mode & 0o777).toBe(secrets === 'no_secrets' ? 0o600 : 0o644);
  });

  it('pins services to nodes only in remote mode', () => {
    const text = readFileSync(file, 'utf8');
    expect(text.includes('node.role')).toBe(location === 'remote');
  });

  it.runIf(compose)('is accepted by every real Compose found (config -q): the current one and v1', () => {
    for (const [command, ...prefix] of composes) {
      const check = runTool(command!, [...prefix, '-f', file, 'config', '-q'], dir)!;
      expect(composeComplaints(check.stderr), command).toBe('');
      expect(check.status).toBe(0);
    }
  });

  it.runIf(dockerCli)('is accepted by the Swarm stack loader (docker stack config)', () => {
    const check = runTool('docker', ['stack', 'config', '-c', file], dir)!;
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('combine output and options', () => {
  it('prints to stdout with a header naming modes, targets and fragments', () => {
    const run = runCli(['combine', 'local', 'single', 'no_secrets', 'inject']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^# Generated by `smartmeter combine`/);
    expect(run.stdout).toContain('# modes: local single no_secrets');
    expect(run.stdout).toContain('# fragments: base inject inject-no_secrets inject-single root root-no_secrets root-single');
  });

  it('accepts the old spelling with -e and -p', () => {
    const old = runCli(['combine', '-p', 'alt_properties', '-e', 'local', 'single', 'secrets', 'inject', '--set', 'TIME_ROOT=1']);
    const now = runCli(['combine', '-p', 'alt_properties', 'local', 'single', 'secrets', 'inject', '--set', 'TIME_ROOT=1']);
    expect(old.status).toBe(0);
    expect(old.stdout).toBe(now.stdout);
    expect(old.stdout).toContain('GATLING_USERS_PER_SEC=2000');
  });

  it('--json prints the merged document as JSON', () => {
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '--json', '--set', 'GATLING_USERS_PER_SEC=42']);
    const doc = JSON.parse(run.stdout) as Doc;
    expect(doc.version).toBe('3.8');
    expect(doc.services.inject!.environment).toContain('GATLING_USERS_PER_SEC=42');
  });

  it('--explain tells on stderr where each value came from, without printing secrets', () => {
    const run = runCli(['combine', '-p', 'alt_properties', 'local', 'single', 'no_secrets', 'inject', '--explain'], { env: { NATS_PASSWORD: 'hunter2-secret' } });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/GATLING_USERS_PER_SEC=2000\n {4}from alt_properties\/configuration-application\.properties:\d+ {2}\(overrides templates\/compose\/properties\/configuration-application\.properties:\d+\)/);
    expect(run.stderr).toMatch(/NATS_PASSWORD=\*{8}\n {4}from environment/);
    expect(run.stderr).not.toContain('hunter2-secret');
  });

  it('--list-targets lists the hierarchy (text and JSON)', () => {
    expect(runCli(['combine', '--list-targets']).stdout).toMatch(/^prediction_metrics +prediction-metrics /m);
    const list = JSON.parse(runCli(['combine', '--list-targets', '--json']).stdout) as { target: string }[];
    expect(list.map((t) => t.target)).toContain('cassandra_inject_metrics');
  });

  it('writes -o atomically, 0600 when credentials are inline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-out-'));
    runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '-o', join(dir, 'a.yml')]);
    runCli(['combine', 'local', 'single', 'secrets', 'inject', '-o', join(dir, 'b.yml')]);
    expect(statSync(join(dir, 'a.yml')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'b.yml')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['a.yml', 'b.yml']);
  });

  it('--help leads with usage and shows examples', () => {
    const run = runCli(['combine', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: smartmeter combine [options] [location] [cluster-mode] [secret-mode] [targets...]');
    expect(run.stdout).toContain('$ smartmeter combine local single secrets root_metrics inject');
  });
});

describe('combine bad input: one line, exit 2 (1 for I/O), no stack trace, no partial file', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown target', ['local', 'single', 'secrets', 'injet'], /^smartmeter: unknown target "injet"; did you mean inject\?/],
    ['bad location', ['moon', 'single', 'secrets', 'inject'], /^smartmeter: <location> must be local or remote, got "moon"/],
    ['missing words', ['local'], /^smartmeter: missing <cluster-mode>: expected single or cluster/],
    ['no targets', ['local', 'single', 'secrets'], /^smartmeter: no targets given/],
    ['missing -p directory', ['-p', 'no-such-dir', 'local', 'single', 'secrets', 'inject'], /^smartmeter: properties directory no-such-dir does not exist/],
    ['bad --set', ['local', 'single', 'secrets', 'inject', '--set', 'oops'], /^smartmeter: --set expects KEY=value/],
    ['unknown option', ['local', 'single', 'secrets', 'inject', '--frobnicate'], /^smartmeter: unknown option '--frobnicate'/],
    ['unknown format', ['local', 'single', 'secrets', 'inject', '--format', 'kustomize'], /^smartmeter: option '--format <format>' argument 'kustomize' is invalid/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const run = runCli(['combine', ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('a malformed properties line names file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-props-'));
    writeFileSync(join(dir, 'configuration-application.properties'), '# ok\r\nGOOD="quoted"\r\n\r\nthis line is wrong\r\n');
    const run = runCli(['combine', '-p', dir, 'local', 'single', 'secrets', 'inject']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/configuration-application\.properties:4: expected KEY=value, found no "="\n$/);
  });

  it('an empty override file and comments-only files are fine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-props-'));
    writeFileSync(join(dir, 'configuration.properties'), '');
    writeFileSync(join(dir, 'configuration-mode-single.properties'), '# only a comment\n');
    expect(runCli(['combine', '-p', dir, 'local', 'single', 'secrets', 'inject']).status).toBe(0);
  });

  it('an invalid fragment names file and line; --debug adds the stack', () => {
    const templates = mkdtempSync(join(tmpdir(), 'smartmeter-tpl-'));
    mkdirSync(join(templates, 'fragments'));
    mkdirSync(join(templates, 'properties'));
    writeFileSync(join(templates, 'hierarchy.yml'), 'targets:\n  t: [bad]\n');
    writeFileSync(join(templates, 'fragments', 'bad.yml'), 'services:\n  a:\n    image: "unterminated\n');
    const run = runCli(['combine', '--templates', templates, 'local', 'single', 'secrets', 't']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/bad\.yml:\d+: invalid YAML/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const debug = runCli(['--debug', 'combine', '--templates', templates, 'local', 'single', 'secrets', 't']);
    expect(debug.stderr).toMatch(/\n\s+at /);
    // dist/cli.js is minified; the trace names our source files and lines (dist/cli.js.map).
    expect(debug.stderr).toMatch(/\n\s+at combine \(.*src\/combine\/engine\.ts:\d+:\d+\)/);
  });

  it('an unwritable output is a runtime failure (exit 1) that leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-out-'));
    writeFileSync(join(dir, 'plain-file'), 'not a directory');
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '-o', join(dir, 'plain-file', 'out.yml')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^smartmeter: cannot write .*plain-file\/out\.yml: a parent is not a directory\n$/);
    const toDirectory = runCli(['combine', 'local', 'single', 'secrets', 'inject', '-o', dir]);
    expect(toDirectory.status).toBe(1);
    expect(toDirectory.stderr).toMatch(/: it is a directory\n$/);
    expect(readdirSync(dir)).toEqual(['plain-file']);
    expect(runCli(['combine', 'local', 'single', 'secrets', 'inject', '-o', '']).stderr).toBe('smartmeter: -o needs a file name\n');
  });

  it('never prints a value in an error: it may be a password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-props-'));
    writeFileSync(join(dir, 'configuration-application.properties'), 'NATS_PASSWORD=hunter2 secret\n');
    const run = runCli(['combine', '-p', dir, 'local', 'single', 'no_secrets', 'inject']);
    expect(run.stderr).toMatch(/configuration-application\.properties:1: NATS_PASSWORD: unquoted space in the value; quote it\n$/);
    const set = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--set', 'NATS_PASSWORD =hunter2']);
    expect(set.stderr).toBe('smartmeter: --set expects KEY=value, "NATS_PASSWORD " is not a valid key\n');
    for (const output of [run.stderr, set.stderr]) expect(output).not.toContain('hunter2');
  });

  it('masks values built from a secret in --explain, and makes the file 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-props-'));
    writeFileSync(join(dir, 'configuration-application.properties'), 'NATS_URI=nats://${NATS_USERNAME}:${NATS_PASSWORD}@nats:4222\n');
    const out = join(dir, 'out.yml');
    const run = runCli(['combine', '-p', dir, 'local', 'single', 'secrets', 'inject', '--explain', '-o', out]);
    // The URL's password is masked, the rest of it kept.
    expect(run.stderr).toMatch(/^NATS_URI=nats:\/\/deetazilla:\*\*\*@nats:4222$/m);
    expect(run.stderr).not.toContain('xyz1234');
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('warns about a --set that nothing uses, with the closest keys', () => {
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '--set', 'GATLING_USER_PER_SEC=2000']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('smartmeter: warning: --set GATLING_USER_PER_SEC: no template uses GATLING_USER_PER_SEC; did you mean GATLING_USERS_PER_SEC?\n');
  });

  it('names the -p files in the header whatever the path looks like', () => {
    const run = runCli(['combine', '-p', '.', 'local', 'single', 'secrets', 'inject'], { cwd: join(ROOT, 'alt_properties') });
    expect(run.stdout).toContain('# properties: built-in defaults + properties.yml configuration-application.properties');
  });
});

describe.each(['local', 'remote'])('every target alone (%s single secrets / cluster no_secrets)', (location) => {
  const targets = (JSON.parse(runCli(['combine', '--list-targets', '--json']).stdout) as { target: string }[]).map((t) => t.target);
  it.each(targets)('%s is accepted by Compose and the Swarm loader', (target) => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-target-'));
    for (const [mode, secrets] of [['single', 'secrets'], ['cluster', 'no_secrets']]) {
      const file = join(dir, `${mode}.yml`);
      const run = runCli(['combine', location, mode!, secrets!, target, '-o', file]);
      expect(run.stderr).toBe('');
      for (const [command, ...prefix] of composes) {
        const check = runTool(command!, [...prefix, '-f', file, 'config', '-q'], dir)!;
        expect(composeComplaints(check.stderr), command).toBe('');
        expect(check.status).toBe(0);
      }
      if (dockerCli) expect(runTool('docker', ['stack', 'config', '-c', file], dir)!.stderr).toBe('');
    }
  });
});

describe('up: --values and --without', () => {
  it('refuses --values off Helm, a missing values file, and a --without naming no service, each in one line; --without drops the service from what is deployed', () => {
    const compose = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--values', 'package.json', '--dry-run']);
    expect(compose.status).toBe(2);
    expect(compose.stderr).toBe('smartmeter: --values is for --runtime helm (Compose and Swarm take properties: -p, --set)\n');
    const missing = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--runtime', 'helm', '--values', 'no-such.yaml', '--dry-run']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('smartmeter: --values: no-such.yaml: no such file\n');
    const unknown = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--without', 'nats,nosuch', '--dry-run']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('smartmeter: --without: no service "nosuch" in this stack (its services: inject, nats)\n');
    const without = runCli(['up', 'local', 'single', 'no_secrets', 'root_metrics', '--without', 'grafana', '--runtime', 'helm', '--dry-run']);
    expect(without.status, without.stderr).toBe(0);
    expect(without.stdout).toMatch(/^ {2}grafana:\n {4}enabled: false$/m);
  });
});

describe('a reader that goes away', () => {
  it('`smartmeter … | head -1`: no EPIPE trace, exit 0', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" combine local single secrets root_metrics inject streaming_metrics prediction_metrics | head -1`], { encoding: 'utf8' });
    expect(r.stdout).toBe('# Generated by `smartmeter combine`; edit the templates or properties, not this file.\n');
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    // A reader gone before the first write (`| true`): smartmeter's own status (pipefail) is 0, no trace.
    const gone = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" combine local single secrets root_metrics inject streaming_metrics prediction_metrics | true`], { encoding: 'utf8' });
    expect(gone.stderr).toBe('');
    expect(gone.status).toBe(0);
  });
});

describe('the code caches (bin/smartmeter)', () => {
  const run = (env: Record<string, string>, args = ['combine', 'local', 'single', 'secrets', 'root_metrics']) =>
    spawnSync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
      encoding: 'utf8',
      // Node 22 and 24 loop forever making a cache directory under /proc: a hang fails here.
      timeout: 30_000,
    });
  const withoutClock = (text: string) => text.replace(/TIME_ROOT=\d+/, '');

  it("keeps V8's code cache of the bundle per user (0600 in a 0700 directory), made once and then used", () => {
    const cache = mkdtempSync(join(tmpdir(), 'smartmeter-cache-'));
    const first = run({ HOME: cache, XDG_CACHE_HOME: cache });
    expect(first.status, first.stderr).toBe(0);
    const dir = join(cache, 'smartmeter', 'code-cache');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{8}-\\d+-\\d+-\\d+$`));
    const file = join(dir, files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // A run that finds the cache uses it and leaves it as it was; its output is the same.
    const written = statSync(file).mtimeMs;
    const second = run({ HOME: cache, XDG_CACHE_HOME: cache });
    expect(withoutClock(second.stdout)).toBe(withoutClock(first.stdout));
    expect(statSync(file).mtimeMs).toBe(written);
    expect(readdirSync(dir)).toEqual(files);
  });

  it('a damaged cache file is refused by V8 and written again; the run is not affected', () => {
    const cache = mkdtempSync(join(tmpdir(), 'smartmeter-cache-'));
    const first = run({ HOME: cache, XDG_CACHE_HOME: cache });
    const dir = join(cache, 'smartmeter', 'code-cache');
    const file = join(dir, readdirSync(dir)[0]!);
    writeFileSync(file, 'not a code cache');
    const damaged = run({ HOME: cache, XDG_CACHE_HOME: cache });
    expect(damaged.status, damaged.stderr).toBe(0);
    expect(withoutClock(damaged.stdout)).toBe(withoutClock(first.stdout));
    expect(readFileSync(file).length).toBeGreaterThan(10_000);
  });

  it('makes none when NODE_DISABLE_COMPILE_CACHE=1', () => {
    const cache = mkdtempSync(join(tmpdir(), 'smartmeter-cache-'));
    const result = run({ HOME: cache, XDG_CACHE_HOME: cache, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(result.status, result.stderr).toBe(0);
    expect(existsSync(join(cache, 'smartmeter'))).toBe(false);
  });

  it('a cache directory that cannot be made (under /proc, or unwritable) only means no cache', () => {
    const environments: Record<string, string>[] = [{ HOME: '/proc' }, { XDG_CACHE_HOME: '/proc/self/nope' }, { HOME: '/dev/null' }];
    for (const env of environments) {
      const result = run(env);
      expect(result.error, JSON.stringify(env)).toBeUndefined();
      expect(result.status, `${JSON.stringify(env)}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/^# Generated by `smartmeter combine`/);
    }
  });
});
