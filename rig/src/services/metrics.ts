/**
 * The metrics back ends for the tests, from Debian packages, on 127.0.0.1:
 *   graphite    carbon-cache (graphite-carbon): plaintext 2003, pickle 2004, cache query 7002;
 *               Whisper files under the rig's directory, read back with whisper-fetch; and
 *               graphite-web's render API on 8080 (Django's server, settings of the rig's own)
 *   prometheus  Debian's prometheus on 9090, scraping every second the targets that tests
 *               write as file_sd JSON files into PROMETHEUS_TARGETS_DIR
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_TEMPLATES_DIR } from '../paths.ts';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.ts';
import { randomBytes } from 'node:crypto';
import { canConnect, ensurePortFree, isRunning, run, startDaemon, stopProcess, waitUntil, which, type ProcessRecord } from '../process.ts';
import { serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';

const CARBON = { plaintext: 2003, pickle: 2004, cacheQuery: 7002 };
const GRAPHITE_WEB_PORT = 8080;
const PROMETHEUS_PORT = 9090;

export const graphite: RigService = {
  name: 'graphite',
  describe: `carbon-cache (graphite-carbon) on 127.0.0.1: plaintext :${CARBON.plaintext}, Whisper files under the rig`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ 'carbon-cache': 'graphite-carbon', 'whisper-fetch': 'python3-whisper', 'graphite-manage': 'graphite-web' }, ctx.log);
    const dir = serviceDir('graphite');
    const whisper = join(dir, 'storage', 'whisper');
    const values = { GRAPHITE_PLAINTEXT: `127.0.0.1:${CARBON.plaintext}`, GRAPHITE_WHISPER_DIR: whisper, GRAPHITE_URL: `http://127.0.0.1:${GRAPHITE_WEB_PORT}` };
    const carbonRunning = previous?.processes.find((p) => p.name === 'carbon-cache' && isRunning(p));
    const webRunning = previous?.processes.find((p) => p.name === 'graphite-web' && isRunning(p));
    if (carbonRunning && webRunning) return { processes: [carbonRunning, webRunning], values };
    for (const p of [carbonRunning, webRunning]) if (p) await stopProcess(p);
    for (const sub of ['storage/whisper', 'storage/lists', 'log']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'carbon.conf'), carbonConf(dir));
    // The stack's own retention and roll-up files, so the tests store series as the stack does.
    for (const file of ['storage-schemas.conf', 'storage-aggregation.conf']) cpSync(join(CONFIG_TEMPLATES_DIR, 'graphite', file), join(dir, file));
    for (const port of Object.values(CARBON)) await ensurePortFree(port, 'carbon-cache');
    // carbon-cache is a Python script: started through the interpreter of its #! line (Debian's
    // python3, which has the carbon module), so that the rig's check of a process's command line
    // (program, then arguments) recognises it.
    const script = which('carbon-cache')!;
    const interpreter = /^#!\s*(\S+)/.exec(readFileSync(script, 'utf8').split('\n')[0] ?? '')?.[1] ?? '/usr/bin/python3';
    const record = ctx.track(startDaemon({
      name: 'carbon-cache',
      executable: interpreter,
      args: [script, `--config=${join(dir, 'carbon.conf')}`, `--pidfile=${join(dir, 'carbon-cache.pid')}`, '--nodaemon', 'start'],
      log: join(dir, 'carbon-cache.log'),
    }));
    await waitUntil(async () => ((await canConnect(CARBON.plaintext)) ? true : undefined), {
      timeoutMs: 30_000, what: `carbon-cache on 127.0.0.1:${CARBON.plaintext}`, alive: () => isRunning(record), log: record.log,
    });
    const web = await startGraphiteWeb(ctx, dir, whisper, interpreter);
    return { processes: [record, web], values };
  },
};

export const prometheus: RigService = {
  name: 'prometheus',
  describe: `prometheus on 127.0.0.1:${PROMETHEUS_PORT}, scraping every second the file_sd targets tests write`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ prometheus: 'prometheus' }, ctx.log);
    const dir = serviceDir('prometheus');
    const targets = join(dir, 'targets');
    const values = { PROMETHEUS_URL: `http://127.0.0.1:${PROMETHEUS_PORT}`, PROMETHEUS_TARGETS_DIR: targets };
    const running = previous?.processes.find((p) => p.name === 'prometheus' && isRunning(p));
    if (running) return { processes: [running], values };
    mkdirSync(targets, { recursive: true });
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: smartmeter',
      '    file_sd_configs:',
      `      - files: [${JSON.stringify(join(targets, '*.json'))}]`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'));
    await ensurePortFree(PROMETHEUS_PORT, 'prometheus');
    const record = ctx.track(startDaemon({
      name: 'prometheus',
      executable: 'prometheus',
      args: [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`],
      log: join(dir, 'prometheus.log'),
    }));
    await waitUntil(async () => ((await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`)).ok ? true : undefined), {
      timeoutMs: 60_000, what: `prometheus on 127.0.0.1:${PROMETHEUS_PORT}`, alive: () => isRunning(record), log: record.log,
    });
    return { processes: [record], values };
  },
};

/**
 * graphite-web with settings of the rig's own (a module that imports Debian's and points at the
 * rig's Whisper files and a SQLite file), its database made once, served by Django on 127.0.0.1.
 */
async function startGraphiteWeb(ctx: RigContext, dir: string, whisper: string, python: string): Promise<ProcessRecord> {
  const web = join(dir, 'web');
  mkdirSync(join(web, 'log'), { recursive: true });
  writeFileSync(join(web, 'rig_graphite_settings.py'), [
    '# Written by the smartmeter test rig.',
    'from graphite.settings import *  # noqa: F401,F403',
    `STORAGE_DIR = ${JSON.stringify(join(dir, 'storage'))}`,
    `WHISPER_DIR = ${JSON.stringify(whisper)}`,
    'STANDARD_DIRS = [WHISPER_DIR]',
    `LOG_DIR = ${JSON.stringify(join(web, 'log'))}`,
    `INDEX_FILE = ${JSON.stringify(join(web, 'index'))}`,
    `SECRET_KEY = ${JSON.stringify(randomBytes(16).toString('hex'))}`,
    `DATABASES = {'default': {'NAME': ${JSON.stringify(join(web, 'graphite.db'))}, 'ENGINE': 'django.db.backends.sqlite3'}}`,
    "ALLOWED_HOSTS = ['127.0.0.1', 'localhost']",
    `CARBONLINK_HOSTS = ['127.0.0.1:${CARBON.cacheQuery}']`,
    '',
  ].join('\n'));
  const env = { PYTHONPATH: web, DJANGO_SETTINGS_MODULE: 'rig_graphite_settings' };
  run(python, ['-m', 'django', 'migrate', '--noinput'], { env });
  await ensurePortFree(GRAPHITE_WEB_PORT, 'graphite-web');
  const record = ctx.track(startDaemon({
    name: 'graphite-web',
    executable: python,
    args: ['-m', 'django', 'runserver', `127.0.0.1:${GRAPHITE_WEB_PORT}`, '--noreload'],
    env,
    log: join(web, 'graphite-web.log'),
  }));
  await waitUntil(async () => ((await fetch(`http://127.0.0.1:${GRAPHITE_WEB_PORT}/render?target=none&format=json`)).ok ? true : undefined), {
    timeoutMs: 60_000, what: `graphite-web on 127.0.0.1:${GRAPHITE_WEB_PORT}`, alive: () => isRunning(record), log: record.log,
  });
  return record;
}

function carbonConf(dir: string): string {
  return `# Written by the smartmeter test rig.
[cache]
STORAGE_DIR = ${join(dir, 'storage')}
LOCAL_DATA_DIR = ${join(dir, 'storage', 'whisper')}
WHITELISTS_DIR = ${join(dir, 'storage', 'lists')}
CONF_DIR = ${dir}
LOG_DIR = ${join(dir, 'log')}
PID_DIR = ${dir}
USER =
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${CARBON.plaintext}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${CARBON.pickle}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${CARBON.cacheQuery}
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 100000
MAX_CREATES_PER_MINUTE = inf
LOG_UPDATES = False
`;
}
