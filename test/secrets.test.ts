// Secrets never leak: one recognisable credential in each input a user has (a property file of
// -p, --set, a URL's user information, the environment, the secret files), then every command's
// stdout and stderr (--explain, --dry-run, --json, error paths, --debug), every file written
// (0600 when it holds one) and the Helm values (a `$` kept as it is). The running stacks' command
// lines are checked in up-down.test.ts (Compose, Swarm: docker top of every container) and
// nats-template.test.ts (the NATS start scripts, /proc/<pid>/cmdline); the chart's below (every
// container's command and args as rendered).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR } from '../src/runtime/helm.js';
import { hasUrlPassword, maskUrlPasswords } from '../src/secrets.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { freePort } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

/** Each input's own credential, so a leak names the path it came through. */
const SECRET = {
  propertyFile: 'Prop$ecret-3Jd',
  set: 'Set$ecret-7Qx',
  url: 'Url$ecret-8Wz',
  environment: 'Env$ecret-9Ka',
  secretFile: 'File$ecret-5Lm',
};
const ALL = Object.values(SECRET);

/** A credential as it may be written: as it is, Compose-escaped (`$$`), percent-encoded. */
function forms(secret: string): string[] {
  return [secret, secret.split('$').join('$$'), encodeURIComponent(secret)];
}

function expectNoSecret(text: string, what: string): void {
  for (const secret of ALL) for (const form of forms(secret)) expect(text, `${what} holds ${form}`).not.toContain(form);
}

function expectClean(run: CliResult, what: string, stdoutToo = true): void {
  expectNoSecret(run.stderr, `${what}: stderr`);
  if (stdoutToo) expectNoSecret(run.stdout, `${what}: stdout`);
}

/** A -p directory whose properties file holds Grafana's password (single quotes: `$` literal). */
function propertiesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-leak-props-'));
  writeFileSync(join(dir, 'configuration-application.properties'), `GF_SECURITY_ADMIN_PASSWORD='${SECRET.propertyFile}'\n`);
  return dir;
}

/** Secrets mode's files, 0600, each holding the file secret. */
function secretFiles(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-leak-secrets-'));
  for (const name of ['nats_username_secret', 'nats_password_secret', 'nats_cluster_username_secret', 'nats_cluster_password_secret', 'grafana_admin_password_secret']) {
    writeFileSync(join(dir, name), name.includes('username') ? 'meter' : SECRET.secretFile);
    chmodSync(join(dir, name), 0o600);
  }
  return dir;
}

const sets = ['--set', `NATS_PASSWORD=${SECRET.set}`, '--set', `NATS_URI=nats://bob:${SECRET.url}@nats:4222`];
const env = { NATS_CLUSTER_PASSWORD: SECRET.environment };

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every file under `dir` that holds a credential is 0600; returns how many held one. */
function expectPrivateWhereSecret(dir: string): number {
  let holding = 0;
  for (const file of filesUnder(dir)) {
    if (!ALL.flatMap(forms).some((form) => readFileSync(file, 'utf8').includes(form))) continue;
    holding += 1;
    expect(statSync(file).mode & 0o777, file).toBe(0o600);
  }
  return holding;
}

describe('what counts as a URL credential', () => {
  it.each([
    ['nats://bob:s3cret@nats:4222', 'nats://bob:***@nats:4222'],
    ['nats://bob:p#ss@127.0.0.1:14222', 'nats://bob:***@127.0.0.1:14222'],
    ['nats://bob:p ss?x@h:1', 'nats://bob:***@h:1'],
    ['nats://bob:pa/ss@h', 'nats://bob:***@h'],
    ['nats://u:p@ss@host', 'nats://u:***@host'],
    ['nats://a:b@h1,nats://c:d@h2', 'nats://a:***@h1,nats://c:***@h2'],
    ['nats://tok3n@host:4222', 'nats://***@host:4222'],
    ['cassandra://bob:pw@db:9042 then x', 'cassandra://bob:***@db:9042 then x'],
    // Not credentials: a user without password outside NATS, a host and port followed by prose.
    ['http://user@host/x', 'http://user@host/x'],
    ['see nats://nats:4222 and bob@example', 'see nats://nats:4222 and bob@example'],
  ])('%s', (text, masked) => {
    expect(maskUrlPasswords(text)).toBe(masked);
    expect(hasUrlPassword(text)).toBe(masked !== text);
  });
});

describe('combine: no credential on stdout or stderr, and a file holding one is 0600', () => {
  it.each([
    ['compose', []],
    ['compose --json', ['--json']],
    ['helm values', ['--format', 'helm']],
  ])('no_secrets, %s, with --explain', (_label, extra) => {
    const out = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-out-')), 'out');
    const run = runCli(['combine', '-p', propertiesDir(), 'local', 'single', 'no_secrets', 'root_metrics', 'inject', 'cassandra_inject', ...sets, '--explain', '-o', out, ...extra], { env });
    expect(run.status, run.stderr).toBe(0);
    expectClean(run, 'combine --explain');
    expect(run.stderr).toMatch(/^NATS_URI=nats:\/\/bob:\*\*\*@nats:4222$/m);
    expect(run.stderr).toMatch(/^NATS_PASSWORD=\*+$/m);
    // The file carries the credentials (no_secrets mode puts them inline): private.
    expect(forms(SECRET.set).some((form) => readFileSync(out, 'utf8').includes(form))).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('a URL with a password in secrets mode (the reported case): masked on stderr, the file 0600', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-out-')), 'c.yml');
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '--set', `NATS_URI=nats://bob:${SECRET.url}@nats:4222`, '-o', out, '--explain']);
    expect(run.status, run.stderr).toBe(0);
    expectClean(run, 'combine secrets --explain');
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('a URL password holding #, ?, / or a space counts too', () => {
    const password = 'Odd#pa ss/w?rd';
    const out = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-out-')), 'c.yml');
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '--set', `NATS_URI=nats://bob:${password}@nats:4222`, '-o', out, '--explain']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('Odd#');
    expect(run.stderr).toMatch(/^NATS_URI=nats:\/\/bob:\*\*\*@nats:4222$/m);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('a URL with a password taken from the environment or a properties file counts too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-leak-props-'));
    writeFileSync(join(dir, 'configuration-application.properties'), `NATS_URI='nats://bob:${SECRET.propertyFile}@nats:4222'\n`);
    for (const [args, runEnv] of [[['-p', dir], {}], [[], { NATS_URI: `nats://bob:${SECRET.environment}@nats:4222` }]] as const) {
      const out = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-out-')), 'c.yml');
      const run = runCli(['combine', ...args, 'local', 'single', 'secrets', 'inject', '-o', out, '--explain'], { env: runEnv });
      expect(run.status, run.stderr).toBe(0);
      expectClean(run, 'combine');
      expect(statSync(out).mode & 0o777).toBe(0o600);
    }
  });

  it('helm values carry a `$` as it is (Compose writes it $$); in secrets mode none is in them', () => {
    const plain = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--format', 'helm', '--json', '--set', `NATS_PASSWORD=${SECRET.set}`]);
    expect(plain.status, plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as { nats: { auth: { password: string } } }).nats.auth.password).toBe(SECRET.set);
    const compose = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--set', `NATS_PASSWORD=${SECRET.set}`]);
    expect(compose.stdout).toContain(SECRET.set.split('$').join('$$'));
    const secrets = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', 'inject', '--format', 'helm', '--set', `NATS_PASSWORD=${SECRET.set}`], { env });
    expect(secrets.status, secrets.stderr).toBe(0);
    expectClean(secrets, 'combine secrets --format helm');
  });

  it('error paths: one line, no credential, also with --debug', () => {
    for (const extra of [[], ['--debug']]) {
      const run = runCli(['combine', 'local', 'single', 'no_secrets', 'no_such_target', ...sets, ...extra], { env });
      expect(run.status).toBe(2);
      expectClean(run, 'combine error');
    }
    const badSet = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--set', `nats://bob:${SECRET.url}@nats`]);
    expect(badSet.status).toBe(2);
    expectClean(badSet, 'combine --set without =');
  });
});

describe('properties from the environment are named (never their values)', () => {
  it('on stderr unless --quiet, and in --explain', () => {
    const run = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '-o', join(mkdtempSync(join(tmpdir(), 'smartmeter-env-')), 'c.yml')], {
      env: { ...env, NATS_URI: `nats://bob:${SECRET.url}@elsewhere:4222`, GATLING_USERS_PER_SEC: '7', UNUSED_BY_ANY_TEMPLATE: 'x' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('smartmeter: taken from the environment (over the property files): GATLING_USERS_PER_SEC, NATS_CLUSTER_PASSWORD, NATS_URI\n');
    const quiet = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--quiet', '-o', join(mkdtempSync(join(tmpdir(), 'smartmeter-env-')), 'c.yml')], { env: { GATLING_USERS_PER_SEC: '7' } });
    expect(quiet.stderr).toBe('');
    const explain = runCli(['combine', 'local', 'single', 'no_secrets', 'inject', '--quiet', '--explain', '-o', join(mkdtempSync(join(tmpdir(), 'smartmeter-env-')), 'c.yml')], { env: { GATLING_USERS_PER_SEC: '7' } });
    expect(explain.stderr).toMatch(/^GATLING_USERS_PER_SEC=7\n {4}from environment/m);
  });

  it('a property built from one counts (NATS_URI from NATS_NAME)', () => {
    const run = runCli(['combine', 'local', 'single', 'no_secrets', 'inject'], { env: { NATS_NAME: 'bus' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('smartmeter: taken from the environment (over the property files): NATS_NAME\n');
  });
});

describe('up --dry-run: the file shown with its credentials masked', () => {
  it.each(['compose', 'swarm', 'helm'])('%s, no_secrets and secrets', (runtime) => {
    const state = mkdtempSync(join(tmpdir(), 'smartmeter-leak-state-'));
    for (const mode of ['no_secrets', 'secrets']) {
      const run = runCli(['up', '-p', propertiesDir(), 'local', 'single', mode, 'root_metrics', 'inject', 'cassandra_inject', ...sets, '--runtime', runtime, '--secrets-dir', secretFiles(), '--state-dir', state, '--dry-run'], { env });
      expect(run.status, run.stderr).toBe(0);
      expectClean(run, `up --runtime ${runtime} ${mode} --dry-run`);
      if (mode === 'no_secrets') expect(run.stdout).toContain('***');
    }
    expectPrivateWhereSecret(state);
  });
});

describe('inject, ingest and cassandra: credentials in flags and URLs', () => {
  it('a URL password never reaches an error line', async () => {
    const port = await freePort();
    for (const command of [['inject', '--count', '1'], ['ingest', '--cassandra-url', `cassandra://127.0.0.1:${port}`]]) {
      const run = runCli([...command, '-s', `nats://bob:${SECRET.url}@127.0.0.1:${port}`, '--connect-timeout', '2s'].filter((a) => !(command[0] === 'ingest' && a === '--connect-timeout') && !(command[0] === 'ingest' && a === '2s')));
      expect(run.status, run.stderr).not.toBe(0);
      expectClean(run, command[0]!);
    }
  });

  it('--password and --token warn once, naming the safer form, and never print the value', async () => {
    const port = await freePort();
    const inject = runCli(['inject', '--count', '1', '-s', `nats://127.0.0.1:${port}`, '--user', 'bob', '--password', SECRET.set]);
    expect(inject.stderr.split('\n').filter((l) => l.includes('warning: --password'))).toHaveLength(1);
    expect(inject.stderr).toContain('prefer --password-file or NATS_PASSWORD_FILE');
    const token = runCli(['inject', '--count', '1', '-s', `nats://127.0.0.1:${port}`, '--token', SECRET.set]);
    expect(token.stderr).toContain('warning: --token puts the value on the command line');
    const cassandra = runCli(['cassandra', 'init', '--contact-points', '127.0.0.1', '--port', String(port), '--username', 'u', '--password', SECRET.set, '--wait', '1']);
    expect(cassandra.stderr).toContain('prefer --password-file or CASSANDRA_PASSWORD_FILE');
    for (const run of [inject, token, cassandra]) expectClean(run, 'a command given --password');
    // From a file: no warning.
    const file = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-pw-')), 'pw');
    writeFileSync(file, SECRET.set, { mode: 0o600 });
    const quiet = runCli(['inject', '--count', '1', '-s', `nats://127.0.0.1:${port}`, '--user', 'bob', '--password-file', file]);
    expect(quiet.stderr).not.toContain('warning');
    expect(runCli(['inject', '--help']).stdout.replace(/\s+/g, ' ')).toContain('--password <password> NATS password; other users of the host can read it in the process list');
  });

  const nats = rigService('nats');
  it.runIf(nats !== undefined)('inject against a real server: the summary, --json and the HTML report hold no password', () => {
    const user = readFileSync(nats!.NATS_AUTH_USER_FILE!, 'utf8').trim();
    const password = readFileSync(nats!.NATS_AUTH_PASSWORD_FILE!, 'utf8').trim();
    const report = join(mkdtempSync(join(tmpdir(), 'smartmeter-leak-report-')), 'run.html');
    const url = nats!.NATS_AUTH_URL!.replace('nats://', `nats://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`);
    for (const extra of [['--json'], []]) {
      const run = runCli(['inject', '--count', '20', '--rate', 'max', '-s', url, '--report', report, ...extra]);
      expect(run.status, run.stderr).toBe(0);
      for (const text of [run.stdout, run.stderr, readFileSync(report, 'utf8')]) expect(text).not.toContain(encodeURIComponent(password));
    }
    expect(readFileSync(report, 'utf8')).toContain(`${user}:***@`);
  });
});

describe.runIf(rigService('helm') !== undefined)('the chart rendered with those values', () => {
  it('no container has a credential in its command or args; the Secrets hold each one exactly, `$` included', () => {
    const helmRig = rigService('helm')!;
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-leak-chart-'));
    const values = join(dir, 'values.yaml');
    const combined = runCli(['combine', '-p', propertiesDir(), 'local', 'cluster', 'no_secrets', 'root_metrics', 'inject', 'cassandra_inject', ...sets, '--format', 'helm', '-o', values], { env });
    expect(combined.status, combined.stderr).toBe(0);
    const r = spawnSync(helmRig.HELM!, ['template', 'leak', CHART_DIR, '-f', values], {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: helmRig.HELM_CACHE_HOME, HELM_CONFIG_HOME: helmRig.HELM_CONFIG_HOME, HELM_DATA_HOME: helmRig.HELM_DATA_HOME },
    });
    expect(r.status, r.stderr).toBe(0);
    type Container = { name: string; command?: string[]; args?: string[] };
    type PodSpec = { containers: Container[]; initContainers?: Container[] };
    const docs = (yaml.loadAll(r.stdout) as ({ kind: string; stringData?: Record<string, string>; spec?: { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } } } | null)[]).filter((d) => d !== null);
    const pods = docs.flatMap((d) => [d.spec?.template?.spec, d.spec?.jobTemplate?.spec.template.spec]).filter((p): p is PodSpec => p !== undefined);
    expect(pods.length).toBeGreaterThanOrEqual(5);
    for (const pod of pods) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expectNoSecret(JSON.stringify([container.command ?? [], container.args ?? []]), `container ${container.name}'s command line`);
      }
    }
    const secretData = docs.filter((d) => d.kind === 'Secret').map((d) => d.stringData ?? {});
    expect(secretData.some((data) => data.password === SECRET.set)).toBe(true);
    expect(secretData.some((data) => data['cluster-password'] === SECRET.environment)).toBe(true);
    expect(secretData.some((data) => data.password === SECRET.propertyFile)).toBe(true);
  });
});

describe.runIf(rigService('helm') !== undefined)("the chart keeps a password's spaces; only a secret file's line ending goes", () => {
  it('--set-file of a file ending in a newline, and a value with spaces around it', () => {
    const helmRig = rigService('helm')!;
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-leak-trim-'));
    writeFileSync(join(dir, 'password'), ' sp ace$ \r\n', { mode: 0o600 });
    const r = spawnSync(helmRig.HELM!, ['template', 'trim', CHART_DIR, '--set', 'metrics.enabled=false', '--set', 'nats.auth.username=u', '--set-file', `nats.auth.password=${join(dir, 'password')}`, '--set-string', 'nats.auth.clusterPassword= c p ', '--show-only', 'templates/nats-secret.yaml'], {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: helmRig.HELM_CACHE_HOME, HELM_CONFIG_HOME: helmRig.HELM_CONFIG_HOME, HELM_DATA_HOME: helmRig.HELM_DATA_HOME },
    });
    expect(r.status, r.stderr).toBe(0);
    const secret = yaml.load(r.stdout) as { stringData: Record<string, string> };
    expect(secret.stringData.password).toBe(' sp ace$ ');
    expect(secret.stringData['cluster-password']).toBe(' c p ');
  });
});

describe.runIf(rigService('helm') !== undefined)('up --runtime helm against an unreachable cluster', () => {
  it('fails in one line without a credential; the values it wrote are 0600', async () => {
    const helmRig = rigService('helm')!;
    const home = mkdtempSync(join(tmpdir(), 'smartmeter-leak-kube-'));
    mkdirSync(join(home, 'state'));
    const kubeconfig = join(home, 'config');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${await freePort()}"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n`, { mode: 0o600 });
    const run = runCli(['up', '-p', propertiesDir(), 'local', 'single', 'no_secrets', 'root_metrics', 'inject', ...sets, '--runtime', 'helm', '--state-dir', join(home, 'state'), '--timeout', '20s', '--debug'], {
      env: { ...env, PATH: `${dirname(helmRig.HELM!)}:${process.env.PATH}`, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: helmRig.HELM_CACHE_HOME!, HELM_CONFIG_HOME: helmRig.HELM_CONFIG_HOME!, HELM_DATA_HOME: helmRig.HELM_DATA_HOME! },
    });
    expect(run.status).toBe(1);
    expectClean(run, 'up --runtime helm, unreachable');
    const values = filesUnder(join(home, 'state')).find((f) => f.endsWith('values.yaml'));
    if (values) {
      expect((yaml.load(readFileSync(values, 'utf8')) as { nats: { auth: { password: string } } }).nats.auth.password).toBe(SECRET.set);
      expect(expectPrivateWhereSecret(join(home, 'state'))).toBeGreaterThan(0);
    }
  });
});
