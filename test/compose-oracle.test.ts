// Compose is the oracle of the merge: pairs of fragments (a.yml then b.yml of one target) in short
// and long syntax are merged by smartmeter and by the rig's Compose (`docker compose -f a.yml -f
// b.yml config`, the Go Compose built from github.com/docker/compose/v5), and the two models are
// compared after normalising what each may spell differently (short or long syntax, "8080" or
// 8080, "0400" or 256). smartmeter's output is also checked by the Swarm loader (`docker stack
// config`). Where Compose departs from its specification and the Swarm loader then refuses the
// result, the specification wins and the test names the divergence.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { combine } from '../src/combine/engine.js';
import type { Yaml, YamlMap } from '../src/combine/merge.js';
import { runCli } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';
import { writeTree } from './helpers/templates.js';

const rig = rigService('docker');
const composeV2 = rig?.DOCKER_COMPOSE_V2;
if (rig && (!composeV2 || !existsSync(composeV2)) && process.env.CI === 'true') throw new Error("CI needs the rig's Compose: npm run rig -- up docker builds it");

/** A target `t` made of fragments a and b, merged in that order. */
function templates(a: string, b: string): string {
  return writeTree({ 'hierarchy.yml': 'targets:\n  t: [a, b]\n', 'fragments/a.yml': a, 'fragments/b.yml': b, 'properties/configuration.properties': '' });
}

function smartmeter(dir: string, sets: string[] = []): YamlMap {
  return combine({ templatesDir: dir, modes: { location: 'local', clusterMode: 'single', secretMode: 'no_secrets' }, targets: ['t'], env: {}, sets, allowMissing: false, now: 0, displayRoot: dir }).document;
}

function compose(dir: string, env: Record<string, string> = {}): YamlMap {
  const r = spawnSync(composeV2!, ['--project-name', 'oracle', '-f', 'a.yml', '-f', 'b.yml', 'config', '--format', 'json'], {
    cwd: join(dir, 'fragments'),
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as YamlMap;
}

type Model = Record<string, unknown>;
const map = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

/** `K=v` lists and maps alike, as a map of text. */
function nameMap(value: unknown): Record<string, string | null> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((e: string) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, null])));
  return Object.fromEntries(Object.entries(map(value)).map(([k, v]) => [k, v === null ? null : String(v)]));
}

/** Ports as sorted `host_ip|published|target|protocol` (short syntax read as the specification says). */
function ports(value: unknown): string[] {
  const list = (Array.isArray(value) ? value : []).map((p: unknown) => {
    if (typeof p === 'string' || typeof p === 'number') {
      const text = String(p);
      const [spec, protocol = 'tcp'] = text.split('/');
      const parts = spec!.split(':');
      const target = parts.pop()!;
      const published = parts.pop() ?? '';
      return `${parts.join(':')}|${published}|${target}|${protocol}`;
    }
    const m = map(p);
    return `${m.host_ip ?? ''}|${m.published ?? ''}|${m.target}|${m.protocol ?? 'tcp'}`;
  });
  return list.sort();
}

/** Volumes by target: `type source [ro]` (a bind's source by its last path part). */
function volumes(value: unknown): Record<string, string> {
  return Object.fromEntries(
    (Array.isArray(value) ? value : []).map((v: unknown) => {
      if (typeof v === 'string') {
        const [source, target, mode] = v.split(':');
        return [target, `${source!.startsWith('.') || source!.startsWith('/') ? 'bind' : 'volume'} ${source!.split('/').pop()}${mode?.split(',').includes('ro') ? ' ro' : ''}`];
      }
      const m = map(v);
      return [m.target, `${m.type} ${String(m.source).split('/').pop()}${m.read_only === true ? ' ro' : ''}`];
    }),
  );
}

/**
 * Secrets or configs by the path they are mounted at (a secret's default /run/secrets/<source>,
 * a config's /<source>): `source mode` (Compose prints a file mode as octal text).
 */
function mounts(value: unknown, base: string): Record<string, string> {
  return Object.fromEntries(
    (Array.isArray(value) ? value : []).map((item: unknown) => {
      const m = typeof item === 'string' ? { source: item } : map(item);
      const target = typeof m.target === 'string' && m.target !== '' ? m.target : String(m.source);
      const mode = m.mode === undefined ? '' : typeof m.mode === 'string' ? String(Number.parseInt(m.mode, 8)) : String(m.mode);
      return [target.startsWith('/') ? target : `${base}${target}`, `${m.source} ${mode}`.trim()];
    }),
  );
}

/** The parts of a service both tools must agree on. */
function model(service: unknown): Model {
  const s = map(service);
  const health = map(s.healthcheck);
  return {
    image: s.image,
    restart: s.restart ?? null,
    environment: nameMap(s.environment),
    labels: nameMap(s.labels),
    ports: [...new Set(ports(s.ports))],
    volumes: volumes(s.volumes),
    secrets: mounts(s.secrets, '/run/secrets/'),
    configs: mounts(s.configs, '/'),
    dns: (typeof s.dns === 'string' ? [s.dns] : ((s.dns as string[] | undefined) ?? [])).slice().sort(),
    extraHosts: (Array.isArray(s.extra_hosts) ? (s.extra_hosts as string[]) : Object.entries(map(s.extra_hosts)).flatMap(([h, ip]) => (Array.isArray(ip) ? ip : [ip]).map((a) => `${h}=${a}`)))
      .map((e) => e.replace(/^([^:=]+)[:=]/, '$1='))
      .sort(),
    ulimits: map(s.ulimits),
    dependsOn: (Array.isArray(s.depends_on) ? (s.depends_on as string[]) : Object.keys(map(s.depends_on))).sort(),
    // A test given as one string is CMD-SHELL's, as Compose spells it out.
    healthcheck: s.healthcheck === undefined ? null : { test: typeof health.test === 'string' ? ['CMD-SHELL', health.test] : health.test, interval: health.interval ?? null, retries: health.retries ?? null },
    replicas: map(s.deploy).replicas ?? null,
    cpus: map(map(map(s.deploy).resources).limits).cpus === undefined ? null : Number(map(map(map(s.deploy).resources).limits).cpus), // Compose prints a number, the Swarm loader takes text
    restartCondition: map(map(s.deploy).restart_policy).condition ?? null,
    constraints: ((map(map(s.deploy).placement).constraints as string[] | undefined) ?? []).slice().sort(),
  };
}

function models(document: YamlMap): Record<string, Model> {
  return Object.fromEntries(Object.entries(map(document.services)).map(([name, service]) => [name, model(service)]));
}

/** The Swarm loader accepts smartmeter's output as it is. */
function expectSwarmLoaderAccepts(document: YamlMap, dir: string): void {
  const file = join(dir, 'out.yml');
  writeFileSync(file, dump(document));
  const r = spawnSync('docker', ['stack', 'config', '--compose-file', file], { encoding: 'utf8' });
  expect(r.status, `docker stack config: ${r.stderr}`).toBe(0);
}

const CASES: [string, string, string, string[]?][] = [
  [
    'ports: short and long syntax of one port (row 1)',
    'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n',
    'services:\n  web:\n    ports: [{target: 80, published: 8080, protocol: tcp}, "8080:80/tcp", "127.0.0.1:9000:90/udp", {target: 90, published: "9000", host_ip: 127.0.0.1, protocol: udp}, "8443:443"]\n',
  ],
  [
    'anchors and merge keys (row 2)',
    'x-common: &common\n  restart: unless-stopped\n  environment: {TZ: UTC}\nservices:\n  web:\n    <<: *common\n    image: nginx\n',
    'services:\n  web:\n    environment: [LANG=C]\n',
  ],
  [
    'secret modes: 0400 is octal, and short and long syntax merge by source (row 3)',
    'services:\n  web:\n    image: nginx\n    secrets: [s, t]\nsecrets:\n  s: {file: ./s}\n  t: {file: ./t}\n',
    'services:\n  web:\n    secrets: [{source: s, target: s, mode: 0400}, {source: t, target: t, mode: 0440}]\n',
  ],
  [
    'typed interpolation of a long port and a secret mode (row 4)',
    'services:\n  web:\n    image: nginx\n    ports: [{target: 80, published: "${WEB_PORT}"}]\n    secrets: [{source: s, target: s, mode: "${BITS}"}]\nsecrets:\n  s: {file: ./s}\n',
    'services:\n  web:\n    deploy: {replicas: "${REPLICAS}"}\n',
    ['WEB_PORT=8080', 'BITS=0400', 'REPLICAS=3'],
  ],
  [
    'depends_on in long form with a condition (row 5): the same services, in the short form',
    'services:\n  web:\n    image: nginx\n    depends_on: [cache]\n  cache: {image: redis}\n  db: {image: postgres}\n',
    'services:\n  web:\n    depends_on: {db: {condition: service_healthy}}\n',
  ],
  [
    'environment and labels in list and map form, volumes and healthcheck by their keys',
    'services:\n  web:\n    image: nginx\n    environment: {A: "1", B: "2"}\n    labels: ["x=1"]\n    volumes: ["data:/data", {type: bind, source: ./src, target: /src}]\n    healthcheck: {test: [CMD, "true"], interval: 5s, retries: 3}\n    deploy: {replicas: 2}\nvolumes: {data: {}}\n',
    'services:\n  web:\n    environment: ["B=3", "C=4"]\n    labels: {y: "2"}\n    volumes: [{type: volume, source: other, target: /data}]\n    healthcheck: {test: [CMD-SHELL, "exit 0"]}\n    deploy: {replicas: 4}\nvolumes: {other: {}}\n',
  ],
];

describe.runIf(composeV2 !== undefined)('merging as Compose does, Compose v5 as the oracle', () => {
  it.each(CASES)('%s', (_label, a, b, sets = []) => {
    const dir = templates(a, b);
    writeFileSync(join(dir, 'fragments', 's'), 'x');
    writeFileSync(join(dir, 'fragments', 't'), 'x');
    const ours = smartmeter(dir, sets);
    const theirs = compose(dir, Object.fromEntries(sets.map((s) => s.split('='))));
    // Compose keeps a port given in both syntaxes twice (a known departure from its own
    // specification, which keys ports by host ip, target, published and protocol; docker stack
    // deploy then refuses the duplicate): compared as a set here, and smartmeter writes it once.
    expect(models(ours)).toEqual(models(theirs));
    for (const service of Object.values(map(ours.services))) {
      const list = (map(service).ports as unknown[] | undefined) ?? [];
      expect(new Set(ports(list)).size, 'one entry per port').toBe(list.length);
    }
    expectSwarmLoaderAccepts(ours, dir);
  });
});

/**
 * Generated pairs: for each field, every value in a.yml against every value in b.yml, each field
 * given in its short and its long syntax (lists and maps, one string and a list of words).
 */
const FIELD_VALUES: Record<string, string[]> = {
  ports: ['["8080:80"]', '[{target: 80, published: 8080}]', '["8080:80/udp"]', '[{target: 80, published: "8081", protocol: tcp}]', '["127.0.0.1:8080:80"]'],
  volumes: ['["data:/data"]', '[{type: volume, source: other, target: /data}]', '["./src:/src:ro"]', '[{type: bind, source: ./lib, target: /src, read_only: true}]', '[{type: bind, source: ./lib, target: /src}]'],
  secrets: ['[s]', '[{source: s, target: t1, mode: 0440}]', '[{source: t}]', '[t, s]', '[{source: t, target: /run/secrets/s}]'],
  configs: ['[c]', '[{source: c, target: /etc/c.conf, mode: 0444}]', '[{source: d, target: /c}]', '[d]'],
  dns: ['8.8.8.8', '[1.1.1.1, 8.8.8.8]', '[9.9.9.9]'],
  extra_hosts: ['["h:1.1.1.1"]', '{h: 2.2.2.2}', '["g=3.3.3.3", "h:1.1.1.1"]'],
  ulimits: ['{nofile: 1024}', '{nofile: {soft: 100, hard: 200}}', '{nproc: 50}'],
  environment: ['["A=1", "B=2"]', '{A: "3"}', '{C: "x y"}', '["A=4"]'],
  labels: ['["a=1", "b=2"]', '{a: "3"}', '{c: "x y"}', '["a=4"]'],
  depends_on: ['[db]', '{cache: {condition: service_started}}', '{db: {condition: service_healthy}}', '[cache, db]'],
  healthcheck: ['{test: [CMD, "true"], interval: 5s}', '{test: "exit 0"}', '{retries: 3}', '{test: [CMD-SHELL, "exit 1"], interval: 9s, retries: 2}'],
  deploy: ['{replicas: 2}', '{resources: {limits: {cpus: "0.5"}}}', '{restart_policy: {condition: on-failure}}', '{replicas: 3, placement: {constraints: [node.role==manager]}}'],
};
const COMMON = 'volumes: {data: {}, other: {}}\nsecrets:\n  s: {file: ./s}\n  t: {file: ./t}\nconfigs:\n  c: {file: ./s}\n  d: {file: ./t}\n';
const GENERATED = Object.entries(FIELD_VALUES).flatMap(([field, values]) =>
  values.flatMap((first) => values.map((second) => [
    `${field}: ${first} then ${second}`,
    `services:\n  web:\n    image: nginx\n    ${field}: ${first}\n  db: {image: postgres}\n  cache: {image: redis}\n${COMMON}`,
    `services:\n  web:\n    ${field}: ${second}\n`,
  ] as [string, string, string])),
);

describe.runIf(composeV2 !== undefined)('generated fragment pairs, Compose v5 as the oracle', () => {
  it.each(GENERATED)('%s', (_label, a, b) => {
    const dir = templates(a, b);
    writeFileSync(join(dir, 'fragments', 's'), 'x');
    writeFileSync(join(dir, 'fragments', 't'), 'x');
    const ours = smartmeter(dir);
    expect(models(ours)).toEqual(models(compose(dir)));
    const list = (map(map(ours.services).web).ports as unknown[] | undefined) ?? [];
    expect(new Set(ports(list)).size, 'one entry per port').toBe(list.length);
    expectSwarmLoaderAccepts(ours, dir);
  });
});

/** Every service key of the Compose specification, each with a value both loaders would take. */
const SERVICE_KEYS: Record<string, string> = {
  annotations: '{a: b}', attach: 'false', blkio_config: '{weight: 300}', build: '.', cap_add: '[NET_ADMIN]', cap_drop: '[ALL]',
  cgroup: 'host', cgroup_parent: 'm', command: '[echo]', configs: '[]', container_name: 'c', cpu_count: '1', cpu_percent: '10',
  cpu_period: '100000', cpu_quota: '50000', cpu_rt_period: '1000', cpu_rt_runtime: '1000', cpu_shares: '512', cpus: '0.5',
  cpuset: '"0"', credential_spec: '{file: x.json}', depends_on: '[]', deploy: '{replicas: 1}', develop: '{watch: []}',
  device_cgroup_rules: '["c 1:3 mr"]', devices: '["/dev/null:/dev/null"]', dns: '[8.8.8.8]', dns_opt: '[use-vc]',
  dns_search: '[example.com]', domainname: 'example.com', entrypoint: '[sh]', env_file: '[]', environment: '{A: "1"}',
  expose: '["80"]', extends: '{service: x}', external_links: '[x]', extra_hosts: '["h:1.2.3.4"]', gpus: 'all',
  group_add: '["100"]', healthcheck: '{test: [CMD, "true"]}', hostname: 'h', init: 'true', ipc: 'host', isolation: 'default',
  label_file: 'x', labels: '{a: b}', links: '[db]', logging: '{driver: json-file}', mac_address: '"02:42:ac:11:65:43"',
  mem_limit: '512m', mem_reservation: '256m', mem_swappiness: '10', memswap_limit: '1g', network_mode: 'host',
  networks: '[default]', oom_kill_disable: 'true', oom_score_adj: '10', pid: 'host', pids_limit: '10', platform: 'linux/amd64',
  ports: '["80"]', privileged: 'true', profiles: '[x]', pull_policy: 'always', read_only: 'true', restart: 'always',
  runtime: 'runc', scale: '2', secrets: '[]', security_opt: '["no-new-privileges:true"]', shm_size: '64m', stdin_open: 'true',
  stop_grace_period: '10s', stop_signal: 'SIGTERM', storage_opt: '{size: 1G}', sysctls: '{net.core.somaxconn: "1024"}',
  tmpfs: '[/tmp]', tty: 'true', ulimits: '{nofile: 1024}', user: '"1000"', userns_mode: 'host', uts: 'host',
  volumes: '["/tmp:/tmp"]', volumes_from: '[x]', working_dir: '/w', post_start: '[{command: [echo]}]',
  pre_stop: '[{command: [echo]}]', use_api_socket: 'true', 'x-note': '1', fancy_typo: '1',
};

describe.runIf(rig !== undefined)('the output dialect, key by key, the Swarm loader as the oracle', () => {
  it.each(Object.entries(SERVICE_KEYS))('%s: smartmeter refuses it exactly when docker stack config does', (key, value) => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-dialect-'));
    const fragment = `services:\n  web:\n    image: nginx\n    ${key}: ${value}\n`;
    writeFileSync(join(dir, 'plain.yml'), `version: "3.8"\n${fragment}`);
    const loader = spawnSync('docker', ['stack', 'config', '--compose-file', join(dir, 'plain.yml')], { encoding: 'utf8' });
    const templatesDir = templates('services: {}\n', fragment);
    const run = runCli(['combine', '--templates', templatesDir, 'local', 'single', 'no_secrets', 't', '-o', join(dir, 'out.yml')], { cwd: templatesDir });
    if (loader.status === 0) {
      expect(run.status, run.stderr).toBe(0);
    } else {
      expect(run.status, `docker stack config refuses ${key}: ${loader.stderr}`).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^smartmeter: fragments/b\\.yml:4: services\\.web\\.${key} is not in the output dialect`));
    }
  });
});

describe('the output dialect and its types, without Compose', () => {
  it('interpolated ulimits, volume options and failure ratios are typed as the Swarm loader wants', () => {
    const dir = templates(
      'services:\n  web:\n    image: nginx\n    ulimits: {nofile: {soft: "${N}", hard: "${N}"}, nproc: "${N}"}\n    volumes: [{type: volume, source: data, target: /d, volume: {nocopy: "${B}"}, read_only: "${B}"}]\nvolumes: {data: {}}\n',
      'services:\n  web:\n    deploy: {update_config: {max_failure_ratio: "${R}", parallelism: "${N}"}}\n    environment: {E: 1_000}\n',
    );
    const web = (smartmeter(dir, ['N=64', 'B=true', 'R=0.25']).services as YamlMap).web as YamlMap;
    expect(web.ulimits).toEqual({ nofile: { soft: 64, hard: 64 }, nproc: 64 });
    expect(web.volumes).toEqual([{ type: 'volume', source: 'data', target: '/d', volume: { nocopy: true }, read_only: true }]);
    expect(web.deploy).toEqual({ update_config: { max_failure_ratio: 0.25, parallelism: 64 } });
    expect(web.environment).toEqual(['E=1000']);
    expectSwarmLoaderAccepts(smartmeter(dir, ['N=64', 'B=true', 'R=0.25']), dir);
  });

  it('a host_ip port with mode host has no form the Swarm loader takes: refused, naming it', () => {
    const dir = templates('services:\n  web:\n    image: nginx\n', 'services:\n  web:\n    ports: [{target: 97, published: 9097, host_ip: 127.0.0.1, mode: host}]\n');
    expect(() => smartmeter(dir)).toThrow(/services\.web\.ports: .*the Swarm loader's long syntax has no host_ip and the short syntax no mode/);
  });

  it('a port in both syntaxes is one entry; 0400 is 256; interpolated numbers are numbers', () => {
    const [, a1, b1] = CASES[0]!;
    expect(((smartmeter(templates(a1, b1)).services as YamlMap).web as YamlMap).ports).toEqual(['8080:80/tcp', '127.0.0.1:9000:90/udp', '8443:443']);
    const [, a3, b3] = CASES[2]!;
    expect(((smartmeter(templates(a3, b3)).services as YamlMap).web as YamlMap).secrets).toEqual([
      { source: 's', target: 's', mode: 256 },
      { source: 't', target: 't', mode: 288 },
    ]);
    const [, a4, b4, sets] = CASES[3]!;
    const web = (smartmeter(templates(a4, b4), sets).services as YamlMap).web as YamlMap;
    expect(web.ports).toEqual([{ target: 80, published: 8080 }]);
    expect((web.secrets as Yaml[])[0]).toEqual({ source: 's', target: 's', mode: 256 });
    expect(web.deploy).toEqual({ replicas: 3 });
  });

  it('depends_on conditions: the short form, and a warning naming file:line and what was dropped', () => {
    const [, a, b] = CASES[4]!;
    const dir = templates(a, b);
    const result = combine({ templatesDir: dir, modes: { location: 'local', clusterMode: 'single', secretMode: 'no_secrets' }, targets: ['t'], env: {}, sets: [], allowMissing: false, now: 0, displayRoot: dir });
    expect(((result.document.services as YamlMap).web as YamlMap).depends_on).toEqual(['cache', 'db']);
    expect(result.warnings).toEqual([expect.stringMatching(/^fragments\/b\.yml:3: services\.web\.depends_on written in its short form .*dropped db: \{"condition":"service_healthy"\}$/)]);
  });

  it.each([
    ['profiles', 'services:\n  web:\n    image: nginx\n    profiles: [debug]\n', /fragments\/b\.yml:4: services\.web\.profiles is not in the output dialect/],
    ['extends', 'services:\n  web:\n    image: nginx\n    extends: {service: base}\n', /fragments\/b\.yml:4: services\.web\.extends is not in the output dialect/],
    ['include', 'include: [other.yml]\nservices: {}\n', /fragments\/b\.yml:1: top-level include: is not in the output dialect/],
  ])('%s is refused with file:line, exit 2', (_key, b, message) => {
    const dir = templates('services: {}\n', b);
    const run = runCli(['combine', '--templates', dir, 'local', 'single', 'no_secrets', 't'], { cwd: dir });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('combine -o with --config-dir writes no output when the configuration files cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-config-'));
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const out = join(dir, 'out.yml');
    const run = runCli(['combine', 'local', 'single', 'secrets', 'inject', '-o', out, '--config-dir', join(blocker, 'config')]);
    expect(run.status).not.toBe(0);
    expect(existsSync(out)).toBe(false);
  });
});
