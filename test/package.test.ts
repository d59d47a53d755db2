// The published package, as a user gets it: `npm pack` of the project, installed from the tarball
// into an empty prefix, and run from there. The chart's files/ (the schema, the dashboards, the
// Telegraf and Graphite configuration) were once symbolic links, which npm pack leaves out: an
// installed smartmeter rendered empty ConfigMaps without an error. Now they are copies made by the
// build (scripts/chart-files.mjs), and the chart refuses to render without them. templates/cql is
// copied as it is; templates/config is rendered for the chart (its *.hbs templates with
// CHART_CONFIG_CONTEXT, written without the suffix; prometheus/ left out, the chart writes its own).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_CONFIG_CONTEXT, renderConfigFiles } from '../src/combine/config-files.js';
import { ROOT } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';

const helmRig = rigService('helm');
/** Targets whose Helm values enable every ConfigMap made of files (schema, Telegraf, Graphite, Grafana). */
const TARGETS = ['root_metrics', 'inject', 'cassandra_inject_metrics', 'streaming_metrics'];
const CHART = join('templates', 'helm', 'smart-meter');

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * The chart's files/config as the build should write it, path (relative) → text: named from the
 * sources alone (`.hbs` dropped, prometheus/ left out), so a file the renderer lost is missed here,
 * with the text renderConfigFiles gives for the chart's context.
 */
function chartConfig(configDir = join(ROOT, 'templates', 'config')): Map<string, string> {
  const names = filesUnder(configDir)
    .filter((file) => !file.startsWith('prometheus/'))
    .map((file) => file.replace(/\.hbs$/, ''));
  const rendered = new Map(renderConfigFiles(configDir, CHART_CONFIG_CONTEXT).map((file) => [file.path, file.content]));
  return new Map(names.map((name) => [name, rendered.get(name) ?? `(renderConfigFiles gave no ${name})`]));
}

interface Installed {
  tarball: string;
  /** <prefix>/node_modules/smartmeter */
  packageDir: string;
  /** <prefix>/node_modules/.bin/smartmeter, the command npm installed */
  bin: string;
  work: string;
}

/** The installed command, with a minimal environment (combine reads variables as properties). */
function smartmeter(installed: Installed, args: string[], env: Record<string, string> = {}) {
  return run(installed.bin, args, { cwd: installed.work, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env } });
}

let installed: Installed;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-package-'));
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  // --ignore-scripts: `prepare` (the build) would rebuild dist/ and the chart's files/ in the
  // working tree under the other suites' feet; `npm test` has built them just before (pretest).
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packs]);
  expect(pack.status, pack.stderr).toBe(0);
  const [packed] = JSON.parse(pack.stdout) as { filename: string }[];
  const tarball = join(packs, packed!.filename);
  const prefix = join(dir, 'prefix');
  mkdirSync(prefix);
  // The dependencies come from npm's cache when it has them, else from the registry.
  const install = run('npm', ['install', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--no-save', tarball], { cwd: prefix });
  expect(install.status, install.stdout + install.stderr).toBe(0);
  const work = join(dir, 'work');
  mkdirSync(work);
  installed = { tarball, packageDir: join(prefix, 'node_modules', 'smartmeter'), bin: join(prefix, 'node_modules', '.bin', 'smartmeter'), work };
}, 300_000);

describe('the npm package', () => {
  it('holds no symbolic link, the templates as they are, and the chart a copy of the schema and the rendered configuration', () => {
    // tar's verbose listing: the first character of each line is the entry's type (l: link, h: hard link).
    const listing = run('tar', ['-tvzf', installed.tarball]);
    expect(listing.status, listing.stderr).toBe(0);
    const lines = listing.stdout.trim().split('\n');
    expect(lines.filter((line) => /^[lh]/.test(line))).toEqual([]);
    const paths = new Set(lines.map((line) => line.split(/\s+/).slice(5).join(' ').replace(/^package\//, '')));
    // Whatever templates/cql and templates/config hold (a file added there ships without a change here).
    const cql = filesUnder(join(ROOT, 'templates', 'cql'));
    expect(cql.length).toBeGreaterThan(0);
    for (const file of cql) {
      expect(paths, `templates/cql/${file}`).toContain(`templates/cql/${file}`);
      expect(paths, `${CHART}/files/cql/${file}`).toContain(`${CHART}/files/cql/${file}`);
    }
    const config = filesUnder(join(ROOT, 'templates', 'config'));
    expect(config.filter((file) => file.endsWith('.hbs')).length).toBeGreaterThan(0);
    // The templates themselves ship (the installed smartmeter renders them for compose stacks).
    for (const file of config) expect(paths, `templates/config/${file}`).toContain(`templates/config/${file}`);
    const chartFiles = [...paths].filter((path) => path.startsWith(`${CHART}/files/config/`)).map((path) => path.slice(`${CHART}/files/config/`.length)).filter(Boolean).sort();
    expect(chartFiles).toEqual([...chartConfig().keys()].sort());
    expect(chartFiles).toContain('telegraf/max_voltage.conf');
  });

  it('ships the product only: no test rig, sources, tests or benchmarks', () => {
    const listing = run('tar', ['-tzf', installed.tarball]);
    expect(listing.status, listing.stderr).toBe(0);
    const tops = new Set(listing.stdout.trim().split('\n').map((path) => path.replace(/^package\//, '').split('/')[0]!));
    // package.json "files", and what npm always adds (package.json, the README and licence).
    expect([...tops].filter((name) => !/^(README|LICEN[CS]E)/i.test(name)).sort()).toEqual(['alt_properties', 'bin', 'dist', 'package.json', 'templates']);
    // The bundle does not reach the rig either (its Docker service is the one to debootstrap).
    for (const file of readdirSync(join(installed.packageDir, 'dist'))) {
      expect(readFileSync(join(installed.packageDir, 'dist', file), 'utf8'), `dist/${file}`).not.toContain('debootstrap');
    }
  });

  it('installs into an empty prefix, with real files where the chart reads them', () => {
    expect(lstatSync(installed.packageDir).isDirectory()).toBe(true);
    const files = join(installed.packageDir, CHART, 'files');
    for (const path of ['cql', 'config']) expect(lstatSync(join(files, path)).isDirectory(), path).toBe(true);
    const cql = filesUnder(join(ROOT, 'templates', 'cql'));
    expect(filesUnder(join(files, 'cql'))).toEqual(cql);
    for (const file of cql) {
      expect(lstatSync(join(files, 'cql', file)).isFile(), file).toBe(true);
      expect(readFileSync(join(files, 'cql', file), 'utf8'), file).toBe(readFileSync(join(ROOT, 'templates', 'cql', file), 'utf8'));
    }
    const config = chartConfig();
    expect(filesUnder(join(files, 'config'))).toEqual([...config.keys()].sort());
    for (const [file, text] of config) {
      expect(lstatSync(join(files, 'config', file)).isFile(), file).toBe(true);
      expect(readFileSync(join(files, 'config', file), 'utf8'), file).toBe(text);
    }
    // Rendered, not copied: the chart's containers fill the references, nothing of Handlebars is left.
    const telegraf = readFileSync(join(files, 'config', 'telegraf', 'max_voltage.conf'), 'utf8');
    expect(telegraf).toContain('servers = ["${NATS_URI}"]');
    expect(telegraf).not.toContain('{{');
  });

  it('the installed smartmeter combines a compose file', () => {
    const combine = smartmeter(installed, ['combine', 'local', 'single', 'no_secrets', 'inject', '-o', 'stack.yml']);
    expect(combine.status, combine.stderr).toBe(0);
    const stack = yaml.load(readFileSync(join(installed.work, 'stack.yml'), 'utf8')) as { services: Record<string, { image: string }> };
    expect(Object.keys(stack.services).sort()).toEqual(['inject', 'nats']);
    expect(stack.services.inject!.image).toMatch(/smartmeter/);
  });

  it('the installed smartmeter deploys the chart of its own package (up --runtime helm --dry-run)', () => {
    const dry = smartmeter(installed, ['up', 'local', 'single', 'no_secrets', 'inject', '--runtime', 'helm', '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`helm upgrade --install smartmeter ${join(installed.packageDir, CHART)} `);
  });
});

describe.runIf(helmRig)('the chart of the installed package', () => {
  const helm = (args: string[]) =>
    run(helmRig!.HELM!, args, { env: { ...process.env, HELM_CACHE_HOME: helmRig!.HELM_CACHE_HOME, HELM_CONFIG_HOME: helmRig!.HELM_CONFIG_HOME, HELM_DATA_HOME: helmRig!.HELM_DATA_HOME } });

  interface ConfigMap {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
  }

  it('renders ConfigMaps that hold the schema, the dashboards, the Telegraf and the Graphite configuration', () => {
    const values = join(installed.work, 'values.yaml');
    const combine = smartmeter(installed, ['combine', 'local', 'single', 'no_secrets', ...TARGETS, '--format', 'helm', '-o', values]);
    expect(combine.status, combine.stderr).toBe(0);
    const template = helm(['template', 'sm', join(installed.packageDir, CHART), '--namespace', 'meters', '--values', values]);
    expect(template.status, template.stderr).toBe(0);
    const maps = new Map(
      (yaml.loadAll(template.stdout) as ConfigMap[]).filter((o) => o?.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]),
    );

    const cql = maps.get('sm-cql')!;
    expect(Object.keys(cql)).toEqual(['001-smartmeter-tables.cql']);
    expect(cql['001-smartmeter-tables.cql']).toMatch(/CREATE TABLE IF NOT EXISTS/);
    expect(cql['001-smartmeter-tables.cql']).toBe(readFileSync(join(ROOT, 'templates', 'cql', '001-smartmeter-tables.cql'), 'utf8'));

    const dashboards = maps.get('sm-grafana-dashboards')!;
    expect(Object.keys(dashboards).sort()).toEqual(readdirSync(join(ROOT, 'templates', 'config', 'grafana', 'provisioning', 'dashboards', 'json')).sort());
    for (const [name, text] of Object.entries(dashboards)) {
      expect((JSON.parse(text) as { panels?: unknown[] }).panels?.length, name).toBeGreaterThan(0);
    }
    const provisioning = maps.get('sm-grafana-provisioning')!;
    expect(provisioning['datasources.yml']).toMatch(/datasources:/);
    expect(provisioning['dashboards.yml']).toMatch(/providers:/);

    const telegraf = maps.get('sm-telegraf')!;
    for (const name of ['max_voltage.conf', 'temperature.conf', 'prediction.conf', 'nats.conf']) {
      expect(telegraf[name], name).toMatch(/\[\[inputs\./);
      expect(telegraf[name], name).toMatch(/\[\[outputs\.graphite\]\]/);
    }

    const graphite = maps.get('sm-graphite-conf')!;
    expect(Object.keys(graphite).sort()).toEqual(['storage-aggregation.conf', 'storage-schemas.conf']);
    expect(graphite['storage-schemas.conf']).toMatch(/retentions\s*=/);
  });

  it('packages as a chart archive with its files', () => {
    const out = mkdtempSync(join(tmpdir(), 'smartmeter-chart-'));
    const pack = helm(['package', join(installed.packageDir, CHART), '--destination', out]);
    expect(pack.status, pack.stderr).toBe(0);
    const listing = run('tar', ['-tzf', join(out, 'smart-meter-0.1.0.tgz')]);
    expect(listing.stdout).toContain('smart-meter/files/cql/001-smartmeter-tables.cql');
    expect(listing.stdout).toContain('smart-meter/files/config/telegraf/max_voltage.conf');
  });

  it('refuses to render when its files are missing, naming them', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'smartmeter-chart-')), 'smart-meter');
    cpSync(join(installed.packageDir, CHART), copy, { recursive: true });
    for (const name of readdirSync(join(copy, 'files', 'cql'))) rmSync(join(copy, 'files', 'cql', name));
    // Whatever the values enable: a chart without its files is a broken copy.
    const template = helm(['template', 'sm', copy, '--set', 'cassandra.enabled=false']);
    expect(template.status).toBe(1);
    expect(template.stdout).toBe('');
    expect(template.stderr).toMatch(/smart-meter chart: required files missing or empty: files\/cql\/\*\.cql\. .*npm run build/);

    rmSync(join(copy, 'files', 'config'), { recursive: true });
    const none = helm(['template', 'sm', copy]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/required files missing or empty: files\/cql\/\*\.cql, files\/config\/graphite\/storage-schemas\.conf, .*files\/config\/telegraf\/max_voltage\.conf, .*files\/config\/grafana\/provisioning\/dashboards\/json\/\*\.json\./);
  });
});

describe('the build step that writes the chart files (scripts/chart-files.mjs)', () => {
  /**
   * A project-shaped directory with the script, the templates it reads, and what it imports: the
   * compiled build/ of this checkout (`npm run build` made it) and node_modules (Handlebars), linked.
   */
  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-chart-files-'));
    cpSync(join(ROOT, 'scripts', 'chart-files.mjs'), join(dir, 'scripts', 'chart-files.mjs'));
    cpSync(join(ROOT, 'build'), join(dir, 'build'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const path of ['cql', 'config']) cpSync(join(ROOT, 'templates', path), join(dir, 'templates', path), { recursive: true });
    mkdirSync(join(dir, CHART, 'files'), { recursive: true });
    return dir;
  };
  const build = (dir: string) => run(process.execPath, [join(dir, 'scripts', 'chart-files.mjs')], { cwd: dir });
  /** The chart's files/config of `dir`, path → text. */
  const written = (dir: string) => {
    const config = join(dir, CHART, 'files', 'config');
    return new Map(filesUnder(config).map((file) => [file, readFileSync(join(config, file), 'utf8')]));
  };

  it('replaces the links of an older checkout by copies and rendered files, leaving the linked directories whole', () => {
    const dir = project();
    symlinkSync('../../../cql', join(dir, CHART, 'files', 'cql'));
    symlinkSync('../../../config', join(dir, CHART, 'files', 'config'));
    const result = build(dir);
    expect(result.status, result.stderr).toBe(0);
    const files = join(dir, CHART, 'files');
    for (const path of ['cql', 'config']) expect(lstatSync(join(files, path)).isDirectory(), path).toBe(true);
    expect(filesUnder(join(files, 'cql'))).toEqual(filesUnder(join(ROOT, 'templates', 'cql')));
    expect(written(dir)).toEqual(chartConfig());
    // The link was removed, not followed: the sources it pointed at are all still there.
    for (const path of ['cql', 'config']) expect(filesUnder(join(dir, 'templates', path))).toEqual(filesUnder(join(ROOT, 'templates', path)));
  });

  it('follows the sources: a new file appears, a changed one is rewritten, a removed one goes; a link in the sources is copied as a file', () => {
    const dir = project();
    expect(build(dir).status).toBe(0);
    const files = join(dir, CHART, 'files');
    const config = join(dir, 'templates', 'config');
    mkdirSync(join(config, 'nats'));
    writeFileSync(join(config, 'nats', 'nats.conf.hbs'), '{{!-- a note --}}\nserver_name: {{json nats.instance}}\n');
    writeFileSync(join(config, 'nats', 'plain.txt'), 'as it is: {{not rendered}}\n');
    writeFileSync(join(config, 'telegraf', 'nats.conf.hbs'), 'servers = [{{json nats.url}}]\n');
    rmSync(join(config, 'telegraf', 'docker.conf.hbs'));
    rmSync(join(config, 'graphite', 'storage-aggregation.conf'));
    symlinkSync('storage-schemas.conf', join(config, 'graphite', 'linked.conf'));
    writeFileSync(join(dir, 'templates', 'cql', '001-smartmeter-tables.cql'), 'CREATE TABLE t (k int PRIMARY KEY);\n');
    chmodSync(join(dir, 'templates', 'cql', '001-smartmeter-tables.cql'), 0o640);
    const result = build(dir);
    expect(result.status, result.stderr).toBe(0);

    const out = written(dir);
    expect(out.get('nats/nats.conf')).toBe('server_name: "${NATS_INSTANCE}"\n');
    expect(out.get('nats/plain.txt')).toBe('as it is: {{not rendered}}\n');
    expect(out.get('telegraf/nats.conf')).toBe('servers = ["${NATS_URI}"]\n');
    expect(out.has('telegraf/docker.conf')).toBe(false);
    expect(out.has('graphite/storage-aggregation.conf')).toBe(false);
    expect(lstatSync(join(files, 'config', 'graphite', 'linked.conf')).isFile()).toBe(true);
    expect(out.get('graphite/linked.conf')).toBe(readFileSync(join(ROOT, 'templates', 'config', 'graphite', 'storage-schemas.conf'), 'utf8'));
    expect(readlinkSync(join(config, 'graphite', 'linked.conf'))).toBe('storage-schemas.conf');
    // Exactly what the sources give now: nothing stale, no .hbs, no prometheus/.
    expect(out).toEqual(chartConfig(config));
    expect(readFileSync(join(files, 'cql', '001-smartmeter-tables.cql'), 'utf8')).toBe('CREATE TABLE t (k int PRIMARY KEY);\n');
    expect(lstatSync(join(files, 'cql', '001-smartmeter-tables.cql')).mode & 0o777).toBe(0o640);
  });

  it('fails on a template that does not render, naming it, and leaves the rendered files as they were', () => {
    const dir = project();
    expect(build(dir).status).toBe(0);
    const before = written(dir);
    writeFileSync(join(dir, 'templates', 'config', 'telegraf', 'max_voltage.conf.hbs'), 'interval = {{json telegraf.nosuch}}\n');
    const result = build(dir);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('cannot render telegraf/max_voltage.conf.hbs');
    expect(written(dir)).toEqual(before);
  });
});
