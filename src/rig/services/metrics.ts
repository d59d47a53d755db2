/**
 * The metrics back ends for the tests, from Debian packages, on 127.0.0.1:
 *   graphite    carbon-cache (graphite-carbon): plaintext 2003, pickle 2004, cache query 7002;
 *               Whisper files under the rig's directory, read back with whisper-fetch
 *   prometheus  Debian's prometheus on 9090, scraping every second the targets that tests
 *               write as file_sd JSON files into PROMETHEUS_TARGETS_DIR
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.js';
import { canConnect, ensurePortFree, isRunning, startDaemon, waitUntil, which } from '../process.js';
import { serviceDir, type ServiceState } from '../state.js';
import type { RigContext, RigService } from '../service.js';

const CARBON = { plaintext: 2003, pickle: 2004, cacheQuery: 7002 };
const PROMETHEUS_PORT = 9090;

/** Retention that fits smartmeter's once-a-second metrics: 1 s for 6 h, 10 s for a week, 1 min for 90 days. */
export const SMARTMETER_RETENTIONS = '1s:6h,10s:7d,1m:90d';

export const graphite: RigService = {
  name: 'graphite',
  describe: `carbon-cache (graphite-carbon) on 127.0.0.1: plaintext :${CARBON.plaintext}, Whisper files under the rig`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ 'carbon-cache': 'graphite-carbon', 'whisper-fetch': 'python3-whisper' }, ctx.log);
    const dir = serviceDir('graphite');
    const whisper = join(dir, 'storage', 'whisper');
    const values = { GRAPHITE_PLAINTEXT: `127.0.0.1:${CARBON.plaintext}`, GRAPHITE_WHISPER_DIR: whisper };
    const running = previous?.processes.find((p) => p.name === 'carbon-cache' && isRunning(p));
    if (running) return { processes: [running], values };
    for (const sub of ['storage/whisper', 'storage/lists', 'log']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'carbon.conf'), carbonConf(dir));
    writeFileSync(join(dir, 'storage-schemas.conf'), `[smartmeter]\npattern = ^smartmeter\\.\nretentions = ${SMARTMETER_RETENTIONS}\n\n[default]\npattern = .*\nretentions = 10s:1d\n`);
    writeFileSync(join(dir, 'storage-aggregation.conf'), '[counters]\npattern = \\.(scheduled|published|confirmed|lost|errors|missed_slots|received|written|malformed|rejected|redelivered)$\nxFilesFactor = 0\naggregationMethod = max\n\n[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n');
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
    return { processes: [record], values };
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
