/**
 * Values for the project's Helm chart (templates/helm/smart-meter) from a combined compose
 * document: the same targets and properties give the same images, credentials, rates and
 * replica counts on Kubernetes as on Compose or Swarm. Every service of the document has a place:
 * the chart's own components (NATS, Cassandra, ingest, inject, the metrics stack, Spark, Hadoop,
 * the NATS exporter) and, for the rest (the Spark apps, the NATS monitor, Zeppelin…), an entry of
 * the chart's `apps`. A service without an image (nothing to run) is reported.
 */
import { isMap, type Yaml, type YamlMap } from './merge.js';

export interface HelmValuesResult {
  values: YamlMap;
  /** Services of the document that the chart does not deploy (no image to run). */
  notInChart: string[];
  /** Images the values name that run only as root, with the value that relaxes their pods. */
  needsRoot: { image: string; value: string }[];
}

/**
 * Images of the old platform that cannot run unprivileged (graphite-statsd: runit and nginx on
 * port 80; hadoop-docker: sshd), and the chart value whose podSecurityContext would let them.
 */
const ROOT_ONLY_IMAGES: Record<string, string> = { 'graphiteapp/graphite-statsd': 'metrics.graphite', 'sequenceiq/hadoop-docker': 'hadoop' };

/** One warning line per image of `needsRoot`: the chart runs every pod non-root. */
export function needsRootWarnings(needsRoot: HelmValuesResult['needsRoot']): string[] {
  return needsRoot.map(({ image, value }) => `smartmeter: warning: ${image} runs only as root, and the chart runs every pod non-root: use an unprivileged image, or allow root with ${value}.podSecurityContext (the chart's README)`);
}

/** The warning line for `notInChart` services (empty list: undefined). */
export function notInChartWarning(services: string[]): string | undefined {
  return services.length === 0 ? undefined : `smartmeter: warning: not in the Helm values, left out (no image): ${services.join(', ')}`;
}

/** Compose services that are chart components (each maps to values of its own). */
const CHART_SERVICES = new Set([
  'nats', 'nats_cluster', 'cassandra-cluster-main', 'cassandra-cluster-node', 'cassandra_inject', 'inject', 'graphite', 'grafana',
  'cassandra_stats', 'telegraf_nats', 'telegraf_max_voltage', 'telegraf_temperature', 'telegraf_prediction',
  'prometheus', 'prometheus_nats_exporter', 'spark-master', 'spark-worker', 'hadoop',
  // Telegraf's docker input reads a Docker socket, which a node does not offer: on Kubernetes the
  // containers' figures come from the kubelet (cAdvisor), which every Prometheus setup scrapes.
  'telegraf_docker',
]);
/** Compose host names of the chart's components → the component (its Service is <release>-<component>). */
const COMPONENT_HOSTS: Record<string, string> = { nats: 'nats', 'cassandra-cluster-main': 'cassandra', 'spark-master': 'spark-master', hadoop: 'hadoop', graphite: 'graphite' };

/**
 * `property` answers for properties no service of the document used: the smartmeter image, which
 * the chart's schema Job needs even when no smartmeter service is among the targets.
 */
export function helmValues(document: YamlMap, clusterMode: string, property: (key: string) => string | undefined = () => undefined): HelmValuesResult {
  const services = isMap(document.services) ? document.services : {};
  const service = (name: string): YamlMap | undefined => (isMap(services[name]) ? services[name] : undefined);
  const env = (name: string): Record<string, string> => {
    const list = service(name)?.environment;
    if (!Array.isArray(list)) return {};
    // The document is Compose's: `$$` is its escape for `$`. Helm values carry values as they are.
    return Object.fromEntries(list.filter((e): e is string => typeof e === 'string').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1).replaceAll('$$', '$')]));
  };
  const image = (name: string) => {
    const text = service(name)?.image;
    if (typeof text !== 'string') return undefined;
    const colon = text.lastIndexOf(':');
    return colon > text.lastIndexOf('/') ? { repository: text.slice(0, colon), tag: text.slice(colon + 1) } : { repository: text, tag: 'latest' };
  };
  const replicas = (name: string) => {
    const deploy = service(name)?.deploy;
    return isMap(deploy) && typeof deploy.replicas === 'number' ? deploy.replicas : 1;
  };
  const number = (text: string | undefined, fallback: number) => (text !== undefined && text !== '' && Number.isFinite(Number(text)) ? Number(text) : fallback);

  const images: YamlMap = { pullPolicy: 'IfNotPresent' };
  for (const [key, from] of [['smartmeter', ['cassandra_inject', 'inject', 'cassandra_stats']], ['nats', ['nats']], ['cassandra', ['cassandra-cluster-main']],
    ['graphite', ['graphite']], ['grafana', ['grafana']], ['telegraf', ['telegraf_nats', 'telegraf_max_voltage', 'telegraf_temperature', 'telegraf_prediction']],
    ['prometheus', ['prometheus']], ['natsExporter', ['prometheus_nats_exporter']], ['spark', ['spark-master', 'spark-worker']], ['hadoop', ['hadoop']]] as const) {
    const found = from.map(image).find(Boolean);
    const repository = property(`docker-${key}-repository`);
    if (found) images[key] = found;
    else if (key === 'smartmeter' && repository) images[key] = { repository, tag: `${property(`docker-${key}-tag`) ?? 'latest'}${property('docker-additional-tag') ?? ''}` };
  }

  const nats = env('nats');
  const cassandra = env('cassandra-cluster-main');
  const ingest = env('cassandra_inject');
  const inject = env('inject');
  const values: YamlMap = {
    clusterMode,
    images,
    nats: {
      enabled: service('nats') !== undefined,
      // Credentials inline only in no_secrets mode; in secrets mode `up` passes the secret files.
      auth: compact({ username: nats.NATS_USERNAME, password: nats.NATS_PASSWORD, clusterUsername: nats.NATS_CLUSTER_USERNAME, clusterPassword: nats.NATS_CLUSTER_PASSWORD }),
    },
    cassandra: {
      enabled: service('cassandra-cluster-main') !== undefined,
      ...compact({ clusterName: cassandra.CASSANDRA_CLUSTER_NAME, datacenter: cassandra.CASSANDRA_DC, maxHeapSize: cassandra.MAX_HEAP_SIZE, heapNewSize: cassandra.HEAP_NEWSIZE }),
      ...compact({ keyspace: ingest.CASSANDRA_KEYSPACE }),
    },
    ingest: {
      enabled: service('cassandra_inject') !== undefined,
      replicas: replicas('cassandra_inject'),
      ...compact({ consistency: ingest.CASSANDRA_INJECT_CONSISTENCY, subjectPrefix: ingest.NATS_SUBJECT?.replace(/\.voltage\.data\.>$/, '') }),
    },
    inject: {
      enabled: service('inject') !== undefined,
      parallelism: Math.min(12, replicas('inject')),
      rate: number(inject.GATLING_USERS_PER_SEC, 500),
      durationMinutes: Math.ceil(number(inject.GATLING_DURATION, 0)),
      randomness: number(inject.RANDOMNESS, 0.2),
      predictionLength: number(inject.PREDICTION_LENGTH, 12),
      ...compact({ subjectPrefix: inject.GATLING_TO_NATS_SUBJECT }),
    },
    metrics: {
      enabled: service('graphite') !== undefined,
      graphite: graphiteDirs(service('graphite')),
      grafana: { enabled: service('grafana') !== undefined, ...compact({ adminPassword: env('grafana').GF_SECURITY_ADMIN_PASSWORD }) },
      telegraf: {
        nats: service('telegraf_nats') !== undefined,
        maxVoltage: service('telegraf_max_voltage') !== undefined,
        temperature: service('telegraf_temperature') !== undefined,
        prediction: service('telegraf_prediction') !== undefined,
      },
      cassandraStats: { enabled: service('cassandra_stats') !== undefined },
      natsExporter: { enabled: service('prometheus_nats_exporter') !== undefined, ...exporterFlags(service('prometheus_nats_exporter')) },
      prometheus: { enabled: service('prometheus') !== undefined },
    },
    spark: { enabled: service('spark-master') !== undefined, workers: service('spark-worker') ? replicas('spark-worker') : 0 },
    hadoop: { enabled: service('hadoop') !== undefined },
  };
  const others = Object.keys(services).filter((s) => !CHART_SERVICES.has(s)).sort();
  const appServices = others.filter((s) => image(s) !== undefined);
  const hosts = { ...COMPONENT_HOSTS, ...Object.fromEntries(appServices.map((s) => [s, appName(s)])) };
  const apps = Object.fromEntries(appServices.map((s) => [appName(s), appValues(s, service(s)!, env(s), image(s)!, replicas(s), hosts)]));
  if (appServices.length > 0) values.apps = apps;
  const needsRoot = (['graphite', 'hadoop'] as const)
    .map((key) => (images[key] as YamlMap | undefined)?.repository)
    .filter((repository): repository is string => typeof repository === 'string' && repository in ROOT_ONLY_IMAGES)
    .map((image) => ({ image, value: ROOT_ONLY_IMAGES[image]! }));
  return { values, notInChart: others.filter((s) => image(s) === undefined), needsRoot };
}

/** A compose service's name as a chart app (a DNS label): app_streaming → app-streaming. */
export function appName(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** The NATS exporter's endpoint flags (its command: `<flags> -port 7777 <url>`). */
function exporterFlags(exporter: YamlMap | undefined): YamlMap {
  const words = commandWords(exporter?.command);
  const flags = words.filter((w, i) => w.startsWith('-') && w !== '-port' && words[i - 1] !== '-port');
  return flags.length > 0 ? { flags } : {};
}

/** A compose command or entrypoint as words: a list as it is, a string split on blanks (as Compose does without a shell). */
function commandWords(value: Yaml | undefined): string[] {
  if (Array.isArray(value)) return value.map((w) => String(w));
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
}

/**
 * Compose host names in a value → the release's Services, as Helm templates the chart renders
 * with tpl: `spark://spark-master:7077` → `spark://{{ include "sm.host" (list . "spark-master") }}:7077`.
 * A name counts only on its own (not inside a subject such as `nats.raw` or a longer name).
 */
function withReleaseHosts(text: string, hosts: Record<string, string>): string {
  let result = text;
  for (const [host, component] of Object.entries(hosts)) {
    const pattern = new RegExp(`(?<![\\w.-])${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`, 'g');
    result = result.replace(pattern, `{{ include "sm.host" (list . "${component}") }}`);
  }
  return result;
}

/** The chart's `apps` entry of a compose service (see the chart's values.yaml). */
function appValues(name: string, service: YamlMap, env: Record<string, string>, image: YamlMap, replicas: number, hosts: Record<string, string>): YamlMap {
  const depends = Array.isArray(service.depends_on) ? service.depends_on.map(String) : isMap(service.depends_on) ? Object.keys(service.depends_on) : [];
  const credentials = env.NATS_USERNAME_FILE !== undefined ? 'files' : env.NATS_USERNAME !== undefined ? 'env' : 'none';
  const own = Object.entries(env).filter(([key]) => !/^NATS_(USERNAME|PASSWORD)(_FILE)?$/.test(key));
  const text = [...own.map(([, v]) => v), ...commandWords(service.command)].join(' ');
  const uses = [
    (depends.includes('nats') || 'NATS_NAME' in env || 'NATS_URI' in env) && 'nats',
    (depends.includes('cassandra-cluster-main') || 'CASSANDRA_URL' in env) && 'cassandra',
    (depends.includes('spark-master') || /spark:\/\//.test(text)) && 'spark',
    (depends.includes('hadoop') || /hdfs:\/\//.test(text)) && 'hadoop',
  ].filter((u): u is string => typeof u === 'string');
  const deploy = isMap(service.deploy) ? service.deploy : {};
  const restart = isMap(deploy.restart_policy) ? deploy.restart_policy.condition : undefined;
  const ports = (Array.isArray(service.ports) ? service.ports : []).map((p) => Number(String(p).split(':').at(-1)!.split('/')[0])).filter((p) => Number.isInteger(p) && p > 0);
  return {
    image,
    ...(service.entrypoint !== undefined ? { command: commandWords(service.entrypoint).map((w) => withReleaseHosts(w, hosts)) } : {}),
    ...(service.command !== undefined ? { args: commandWords(service.command).map((w) => withReleaseHosts(w, hosts)) } : {}),
    env: Object.fromEntries(own.map(([k, v]) => [k, withReleaseHosts(v, hosts)])),
    replicas,
    // A run-once service (restart: none; sut, Docker's name for a test that exits with its verdict) is a Job.
    job: restart === 'none' || name === 'sut',
    natsCredentials: credentials,
    uses,
    ports: ports.map((port) => ({ name: `web-${port}`, port })),
  };
}

/** Where the Graphite service mounts its data volume and its carbon configuration, as the chart's confDir and storageDir. */
function graphiteDirs(graphite: YamlMap | undefined): YamlMap {
  const targets = (Array.isArray(graphite?.volumes) ? graphite.volumes : []).filter((v): v is string => typeof v === 'string').map((v) => ({ source: v.split(':')[0]!, target: v.split(':')[1] ?? '' }));
  const schemas = targets.find((v) => v.target.endsWith('/storage-schemas.conf'));
  return compact({ storageDir: targets.find((v) => v.source === 'graphite-data')?.target, confDir: schemas?.target.slice(0, -'/storage-schemas.conf'.length) });
}

/** The entries with a non-empty value. */
function compact(entries: Record<string, string | undefined>): YamlMap {
  return Object.fromEntries(Object.entries(entries).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')) as Record<string, Yaml>;
}

/** The values secrets mode leaves out, and the compose secret each comes from. */
export const HELM_SECRET_VALUES: Record<string, string> = {
  nats_username_secret: 'nats.auth.username',
  nats_password_secret: 'nats.auth.password',
  nats_cluster_username_secret: 'nats.auth.clusterUsername',
  nats_cluster_password_secret: 'nats.auth.clusterPassword',
  grafana_admin_password_secret: 'metrics.grafana.adminPassword',
};
