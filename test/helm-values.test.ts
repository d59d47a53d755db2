// helmValues: every service of a combined compose document has a place in the chart's values —
// its own components, or an `apps` entry whose hosts point at the release's Services.
import { describe, expect, it } from 'vitest';
import { helmValues, needsRootWarnings, notInChartWarning } from '../src/combine/helm-values.js';
import type { YamlMap } from '../src/combine/merge.js';

const document = (services: Record<string, unknown>) => ({ services }) as YamlMap;

describe('helmValues', () => {
  it('Spark, Hadoop, Prometheus and the NATS exporter become chart components, with their images and the workers\' count', () => {
    const { values, notInChart } = helmValues(document({
      'spark-master': { image: 'gettyimages/spark:2.2.1-hadoop-2.7' },
      'spark-worker': { image: 'gettyimages/spark:2.2.1-hadoop-2.7', deploy: { replicas: 4 } },
      hadoop: { image: 'sequenceiq/hadoop-docker:2.7.1' },
      prometheus: { image: 'prom/prometheus:v2.55.1' },
      prometheus_nats_exporter: { image: 'natsio/prometheus-nats-exporter:0.15.0', command: '-varz -connz -port 7777 http://nats:8222' },
    }), 'cluster');
    expect(notInChart).toEqual([]);
    expect(values.spark).toEqual({ enabled: true, workers: 4 });
    expect(values.hadoop).toEqual({ enabled: true });
    expect((values.images as YamlMap).spark).toEqual({ repository: 'gettyimages/spark', tag: '2.2.1-hadoop-2.7' });
    expect((values.images as YamlMap).natsExporter).toEqual({ repository: 'natsio/prometheus-nats-exporter', tag: '0.15.0' });
    expect((values.metrics as YamlMap).natsExporter).toEqual({ enabled: true, flags: ['-varz', '-connz'] });
    expect((values.metrics as YamlMap).prometheus).toEqual({ enabled: true });
    expect(values.apps).toBeUndefined();
  });

  it('other services become apps: hosts on their own become the release\'s Services, subjects and longer names stay; credentials, uses, ports and Jobs follow the service', () => {
    const { values } = helmValues(document({
      nats: { image: 'nats:2' },
      app_streaming: {
        image: 'logimethods/smart-meter:app_streaming-1.5',
        command: ['--class', 'X', '--master', 'spark://spark-master:7077', 'nats.raw', 'smartmeter.extract'],
        environment: ['NATS_NAME=nats', 'NATS_USERNAME_FILE=/run/secrets/nats_username_secret', 'NATS_PASSWORD_FILE=/run/secrets/nats_password_secret',
          'CASSANDRA_URL=cassandra-cluster-main', 'HDFS_URL=hdfs://hadoop:9000', 'SUBJECT=nats-raw', 'PRICE=$$5'],
        depends_on: ['nats'],
      },
      app_batch: { image: 'logimethods/smart-meter:app-batch', deploy: { restart_policy: { condition: 'none' } } },
      sut: { image: 'logimethods/smart-meter:app_monitor-1.5', environment: ['NATS_NAME=nats', 'NATS_USERNAME=u', 'NATS_PASSWORD=p'] },
      zeppelin: { image: 'apache/zeppelin:0.11.2', ports: ['8081:8080'] },
      orphan: { command: ['true'] },
    }), 'single');
    const apps = values.apps as Record<string, YamlMap>;
    const host = (component: string) => `{{ include "sm.host" (list . "${component}") }}`;
    expect(apps['app-streaming']).toMatchObject({
      image: { repository: 'logimethods/smart-meter', tag: 'app_streaming-1.5' },
      args: ['--class', 'X', '--master', `spark://${host('spark-master')}:7077`, 'nats.raw', 'smartmeter.extract'],
      env: { NATS_NAME: host('nats'), CASSANDRA_URL: host('cassandra'), HDFS_URL: `hdfs://${host('hadoop')}:9000`, SUBJECT: 'nats-raw', PRICE: '$5' },
      natsCredentials: 'files',
      uses: ['nats', 'cassandra', 'spark', 'hadoop'],
      job: false,
      replicas: 1,
      ports: [],
    });
    // The credentials are the chart's (its Secret), not the compose values.
    expect(Object.keys(apps['app-streaming']!.env as YamlMap)).not.toContain('NATS_USERNAME_FILE');
    expect(apps['app-batch']).toMatchObject({ job: true, natsCredentials: 'none', uses: [] });
    expect(apps.sut).toMatchObject({ job: true, natsCredentials: 'env', env: { NATS_NAME: host('nats') } });
    expect(apps.zeppelin).toMatchObject({ ports: [{ name: 'web-8080', port: 8080 }], job: false });
    expect(apps.orphan).toBeUndefined();
  });

  it('a service without an image cannot run: it is reported, in one warning line', () => {
    const { notInChart } = helmValues(document({ orphan: { command: ['true'] } }), 'single');
    expect(notInChart).toEqual(['orphan']);
    expect(notInChartWarning(notInChart)).toBe('smartmeter: warning: not in the Helm values, left out (no image): orphan');
    expect(notInChartWarning([])).toBeUndefined();
  });

  it('names the images that run only as root (the chart runs every pod non-root), and only those', () => {
    const old = helmValues(document({ graphite: { image: 'graphiteapp/graphite-statsd:1.1.10-5' }, hadoop: { image: 'sequenceiq/hadoop-docker:2.7.1' } }), 'single');
    expect(old.needsRoot).toEqual([{ image: 'graphiteapp/graphite-statsd', value: 'metrics.graphite' }, { image: 'sequenceiq/hadoop-docker', value: 'hadoop' }]);
    expect(needsRootWarnings(old.needsRoot)[0]).toBe('smartmeter: warning: graphiteapp/graphite-statsd runs only as root, and the chart runs every pod non-root: use an unprivileged image, or allow root with metrics.graphite.podSecurityContext (the chart\'s README)');
    expect(helmValues(document({ graphite: { image: 'smartmeter-rig/graphite:bookworm' } }), 'single').needsRoot).toEqual([]);
  });
});
