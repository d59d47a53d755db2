/**
 * Values for the project's Helm chart (templates/helm/smart-meter) from a combined compose
 * document: the same targets and properties give the same images, credentials, rates and
 * replica counts on Kubernetes as on Compose or Swarm. Services the chart does not have
 * (the Spark apps, Hadoop, the old exporters) are reported, not dropped silently.
 */
import { isMap, type Yaml, type YamlMap } from './merge.js';

export interface HelmValuesResult {
  values: YamlMap;
  /** Services of the document that the chart does not deploy. */
  notInChart: string[];
}

/** Compose services the chart covers (each maps to a chart component). */
const CHART_SERVICES = new Set([
  'nats', 'nats_cluster', 'cassandra-cluster-main', 'cassandra-cluster-node', 'cassandra_inject', 'inject', 'graphite', 'grafana',
  'cassandra_stats', 'telegraf_nats', 'telegraf_max_voltage', 'telegraf_temperature', 'telegraf_prediction',
  // Kubernetes has its own: Prometheus scrapes the pods' annotations, and Telegraf's docker input has no socket there.
  'prometheus', 'telegraf_docker',
]);

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
    ['graphite', ['graphite']], ['grafana', ['grafana']], ['telegraf', ['telegraf_nats', 'telegraf_max_voltage', 'telegraf_temperature', 'telegraf_prediction']]] as const) {
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
    },
  };
  return { values, notInChart: Object.keys(services).filter((s) => !CHART_SERVICES.has(s)).sort() };
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
