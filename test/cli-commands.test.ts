// The command line as a whole: examples first in every help, environment fallbacks declared with
// Option.env (one of each kind), every time option read with units, and --json output that
// parses on each command that prints data. Runs the built CLI; the data commands use the rig's
// Cassandra, NATS and Graphite (skipped with a note when the rig does not run them).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../src/parsers.js';
import { runCli } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';

/** Every command path of the program, as `smartmeter <path> --help` takes it. */
const COMMANDS = [
  [], ['combine'], ['up'], ['down'], ['status'], ['logs'], ['cassandra'], ['cassandra', 'init'], ['cassandra', 'stats'],
  ['ingest'], ['inject'], ['metrics'], ['metrics', 'check'],
];

/** The help's lines from the first heading on: what follows the usage line and description. */
function sections(help: string): string[] {
  return help.split('\n').filter((line) => /^[A-Z][A-Za-z ]*:$/.test(line) || /^Usage:/.test(line));
}

describe('--help leads with examples', () => {
  it('top-level: right after the usage and description, the first section is Examples, before Options and Commands', () => {
    const run = runCli(['--help']);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^Usage: smartmeter /);
    // Usage, blank, the description (until a blank line), then the body: Examples first.
    const bodyStart = lines.indexOf('', 2) + 1;
    expect(lines[bodyStart]).toBe('Examples:');
    expect(lines[bodyStart + 1]).toMatch(/^ {2}\$ smartmeter /);
    expect(sections(run.stdout)).toEqual(['Usage: smartmeter [options] [command]', 'Examples:', 'Options:', 'Commands:']);
  });

  it.each(COMMANDS.slice(1).map((path) => [path.join(' ')]))('smartmeter %s --help: Examples before every other section', (path) => {
    const run = runCli([...path.split(' '), '--help']);
    expect(run.status).toBe(0);
    const headings = sections(run.stdout);
    expect(headings[1]).toBe('Examples:');
    expect(headings.slice(2)).not.toContain('Examples:');
    // Every example runs this command.
    const examples = run.stdout.split('\n').filter((line) => line.startsWith('  $ '));
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(example).toContain(`smartmeter ${path}`);
  });

  it('every command has --quiet, and every command that prints data has --json with its shape in the help', () => {
    const data = new Set(['combine', 'up', 'status', 'cassandra init', 'cassandra stats', 'ingest', 'inject', 'metrics check']);
    for (const path of COMMANDS.filter((p) => p.length && !['cassandra', 'metrics'].includes(p.join(' ')))) {
      const help = runCli([...path, '--help']).stdout;
      expect(help, path.join(' ')).toMatch(/-q, --quiet/);
      if (!data.has(path.join(' '))) continue;
      // The option's help, over its wrapped lines: it says what is printed, with the shape.
      const json = /\n {2}--json +(print [\s\S]*?)\n {2}-/.exec(help)?.[1];
      expect(json, path.join(' ')).toMatch(/[[{]/);
    }
  });
});

describe('environment fallbacks (Option.env): one of each kind', () => {
  it('a text value with a default: CASSANDRA_KEYSPACE names the keyspace; the flag wins over it', () => {
    const fromEnv = runCli(['cassandra', 'init', '--dry-run'], { env: { CASSANDRA_KEYSPACE: 'from_env_ks' } });
    expect(fromEnv.status).toBe(0);
    expect(fromEnv.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS from_env_ks /m);
    const flag = runCli(['cassandra', 'init', '--dry-run', '--keyspace', 'from_flag_ks'], { env: { CASSANDRA_KEYSPACE: 'from_env_ks' } });
    expect(flag.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS from_flag_ks /m);
    expect(flag.stdout).not.toContain('from_env_ks');
  });

  it('a choice: CLUSTER_MODE=cluster gives the cluster replication; a value off the choices is one line, exit 2', () => {
    const cluster = runCli(['cassandra', 'init', '--dry-run'], { env: { CLUSTER_MODE: 'cluster' } });
    expect(cluster.status).toBe(0);
    expect(cluster.stdout).toContain('NetworkTopologyStrategy');
    const bad = runCli(['cassandra', 'init', '--dry-run'], { env: { CLUSTER_MODE: 'triple' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/CLUSTER_MODE.*single, cluster/);
  });

  it('a directory: SMARTMETER_STATE_DIR is where status looks for the stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-state-'));
    const run = runCli(['status', '--name', 'nothere'], { env: { SMARTMETER_STATE_DIR: dir } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`no stack "nothere" is recorded in ${dir}`);
  });

  it('a time: CASSANDRA_TIMEOUT is read as --timeout-ms is (units, or plain milliseconds), checked before connecting', () => {
    const bad = runCli(['ingest', '--wait', '1s'], { env: { CASSANDRA_TIMEOUT: 'soon' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^smartmeter: --timeout-ms: cannot read the duration "soon" .*milliseconds\)\n$/);
  });

  it('an address: SMARTMETER_METRICS_PORT is read as --metrics-port is, checked before connecting', () => {
    const bad = runCli(['ingest', '--wait', '1s'], { env: { SMARTMETER_METRICS_PORT: 'not-a-port' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--metrics-port/);
  });

  it('--help names the variable beside its option, without printing its value', () => {
    const help = runCli(['ingest', '--help'], { env: { CASSANDRA_URL: 'secret-host.example' } }).stdout;
    expect(help).toMatch(/--contact-points <hosts>[\s\S]*env: CASSANDRA_URL/);
    expect(help).not.toContain('secret-host.example');
  });
});

describe('every time value accepts the same units', () => {
  it('parseDuration: units everywhere, a plain number only where the option names its unit', () => {
    expect(parseDuration('2m', '--wait', 's')).toBe(120_000);
    expect(parseDuration('120', '--wait', 's')).toBe(120_000);
    expect(parseDuration('1.5s', '--timeout-ms', 'ms')).toBe(1500);
    expect(parseDuration('250', '--timeout-ms', 'ms')).toBe(250);
    expect(parseDuration('1h', '--timeout')).toBe(3_600_000);
    expect(() => parseDuration('120', '--timeout')).toThrow(/--timeout: cannot read the duration "120"/);
    expect(() => parseDuration('0s', '--wait', 's')).toThrow(/--wait/);
    expect(() => parseDuration('soon', '--wait', 's')).toThrow(/or a plain number of seconds/);
  });

  it('cassandra init --wait and --lock-wait take units and plain seconds', () => {
    for (const [wait, lockWait] of [['2m', '90s'], ['120', '30']]) {
      expect(runCli(['cassandra', 'init', '--dry-run', '--wait', wait!, '--lock-wait', lockWait!]).status).toBe(0);
    }
  });

  // Each bad value is refused in one line, exit 2, before anything connects: the option reads a duration.
  it.each([
    [['up', 'local', 'single', 'no_secrets', 'inject', '--dry-run', '--timeout', 'soon'], '--timeout'],
    [['cassandra', 'init', '--dry-run', '--wait', 'soon'], '--wait'],
    [['cassandra', 'init', '--dry-run', '--lock-wait', 'soon'], '--lock-wait'],
    [['cassandra', 'stats', '--interval', 'soon'], '--interval'],
    [['cassandra', 'stats', '--scan-timeout', 'soon'], '--scan-timeout'],
    [['cassandra', 'stats', '--wait', 'soon'], '--wait'],
    [['ingest', '--wait', 'soon'], '--wait'],
    [['ingest', '--timeout-ms', 'soon'], '--timeout-ms'],
    [['ingest', '--duration', 'soon'], '--duration'],
    [['inject', '--duration', 'soon'], '--duration'],
    [['inject', '--connect-timeout', 'soon'], '--connect-timeout'],
    [['inject', '--slack', 'soon'], '--slack'],
    [['inject', '--drain', 'soon'], '--drain'],
    [['metrics', 'check', '--graphite-url', 'http://127.0.0.1:1', '--window', 'soon'], '--window'],
  ])('%j is refused naming %s', (args, flag) => {
    const run = runCli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`smartmeter: ${flag}: cannot read the duration "soon" (e.g. 500ms, 10s, 5m, 1h${['--wait', '--lock-wait'].includes(flag) ? ', or a plain number of seconds' : flag === '--timeout-ms' ? ', or a plain number of milliseconds' : ''})\n`);
  });

  it('ingest --wait 1s gives up on an absent NATS after about a second, not 120', () => {
    const started = Date.now();
    const run = runCli(['ingest', '--server', 'nats://127.0.0.1:1', '--wait', '1s']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to NATS/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('--json parses on each command that prints data', () => {
  it('combine (compose and helm), combine --list-targets', () => {
    const compose = JSON.parse(runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--json']).stdout) as { services: object };
    expect(Object.keys(compose.services)).toContain('inject');
    const helm = JSON.parse(runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--format', 'helm', '--json']).stdout) as object;
    expect(typeof helm).toBe('object');
    const targets = JSON.parse(runCli(['combine', '--list-targets', '--json']).stdout) as { target: string; expandsTo: string[] }[];
    expect(targets.map((t) => t.target)).toContain('inject');
  });

  const cassandra = rigService('cassandra');
  const nats = rigService('nats');
  const graphite = rigService('graphite');
  const keyspace = `cli_json_${process.pid}`;
  afterAll(async () => {
    if (!cassandra) return;
    const driver = (await import('cassandra-driver')).default;
    const client = new driver.Client({ contactPoints: [cassandra.CASSANDRA_CONTACT_POINT!], localDataCenter: cassandra.CASSANDRA_LOCAL_DC! });
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).finally(() => client.shutdown());
  }, 60_000);
  const cassandraEnv: Record<string, string> = cassandra ? { CASSANDRA_URL: cassandra.CASSANDRA_CONTACT_POINT!, CASSANDRA_KEYSPACE: keyspace } : {};

  it.skipIf(!cassandra)('cassandra init and cassandra stats (the rig\'s Cassandra, found through CASSANDRA_URL)', () => {
    const init = runCli(['cassandra', 'init', '--json', '--wait', '1m'], { env: cassandraEnv });
    expect(init.stderr).toBe('');
    const result = JSON.parse(init.stdout) as { keyspace: string; applied: { script: string }[] };
    expect(result.keyspace).toBe(keyspace);
    expect(result.applied.length).toBeGreaterThan(0);
    const stats = JSON.parse(runCli(['cassandra', 'stats', '--json', '--wait', '1m', '--quiet'], { env: cassandraEnv }).stdout) as { keyspace: string; tables: { table: string }[] };
    expect(stats.tables.map((t) => t.table)).toContain('raw_data');
  }, 180_000);

  it.skipIf(!nats)('inject (the rig\'s NATS)', () => {
    const run = runCli(['inject', '--server', nats!.NATS_URL!, '--rate', 'max', '--count', '500', '--json', '--quiet']);
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as { published: number; rateHeld: boolean };
    expect(summary.published).toBe(500);
  }, 60_000);

  it.skipIf(!nats || !cassandra)('ingest (the rig\'s NATS and Cassandra), --quiet: nothing on stderr', () => {
    runCli(['cassandra', 'init', '--quiet', '--wait', '1m'], { env: cassandraEnv });
    const run = runCli(['ingest', '--server', nats!.NATS_URL!, '--duration', '2s', '--json', '--quiet', '--subject-prefix', `cli_json_${process.pid}`], { env: cassandraEnv });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as { mode: string; received: number };
    expect(summary).toMatchObject({ mode: 'core', received: 0 });
  }, 180_000);

  it.skipIf(!graphite)('metrics check (the rig\'s Graphite)', () => {
    const run = runCli(['metrics', 'check', '--graphite-url', graphite!.GRAPHITE_URL!, '--prefix', `cli_json_${process.pid}`, '--window', '1m', '--json']);
    const report = JSON.parse(run.stdout) as { windowSeconds: number; checks: unknown[]; missing: number };
    expect(report.windowSeconds).toBe(60);
    // Nothing was ever sent under this prefix: every required series is missing, and exit 1 says so.
    expect(report.missing).toBeGreaterThan(0);
    expect(run.status).toBe(1);
  }, 60_000);
});

it('package.json: commander and its typings on the same major, 15', () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  expect(pkg.dependencies.commander).toMatch(/^\^15\./);
  expect(pkg.dependencies['@commander-js/extra-typings']).toMatch(/^\^15\./);
});
