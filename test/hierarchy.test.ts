import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandTargets, parseHierarchy } from '../src/combine/hierarchy.js';

const SHIPPED = readFileSync(join(import.meta.dirname, '..', 'templates', 'compose', 'hierarchy.yml'), 'utf8');
const shipped = parseHierarchy(SHIPPED, 'hierarchy.yml');
const names = (targets: string[], location = 'local', clusterMode = 'single', secretMode = 'no_secrets') =>
  expandTargets(shipped, targets, { location, clusterMode, secretMode }).map((f) => f.name);
// The location-specific fragments (placement in remote mode) are new; the rest must match the old templater.
const withoutLocation = (list: string[]) => list.filter((n) => !/-(local|remote)(-|$)/.test(n));

describe('the shipped hierarchy', () => {
  it('expands the old example exactly as the old templater did', () => {
    // From the old templater's own run: -e local single no_secrets root_metrics inject streaming_metrics prediction_metrics
    const original =
      'base cassandra cassandra-image cassandra-single hadoop hadoop-single inject inject-no_secrets inject-single metrics prediction prediction-metrics prediction-metrics-no_secrets prediction-no_secrets root root-no_secrets root-no_secrets-single root-single root_metrics spark spark-single streaming streaming-no_secrets streaming_metrics streaming_metrics-no_secrets';
    const ours = withoutLocation(names(['root_metrics', 'inject', 'streaming_metrics', 'prediction_metrics']));
    // root_metrics-<secret> and metrics-<secret> (Grafana's password) are new variants; drop them too.
    expect(ours.filter((n) => !n.startsWith('root_metrics-') && !n.startsWith('metrics-')).join(' ')).toBe(original);
  });

  it.each([
    ['base', 'base'],
    ['root', 'base root root-cluster root-secrets root-secrets-cluster'],
    ['metrics', 'base metrics metrics-secrets'],
    ['root_debug', 'base root root-cluster root-secrets root-secrets-cluster root_debug root_debug-secrets'],
    ['spark', 'base root root-cluster root-secrets root-secrets-cluster spark spark-cluster'],
    ['cassandra', 'base cassandra cassandra-cluster cassandra-image root root-cluster root-secrets root-secrets-cluster'],
    ['hadoop', 'base hadoop hadoop-cluster root root-cluster root-secrets root-secrets-cluster'],
    ['zeppelin_external_volumes', 'base root root-cluster root-secrets root-secrets-cluster zeppelin zeppelin-external_volumes'],
    ['test', 'base test test-secrets'],
    ['monitoring', 'base monitoring monitoring-secrets root root-cluster root-secrets root-secrets-cluster'],
  ])('expands %s in cluster/secrets mode', (target, expected) => {
    expect(withoutLocation(names([target], 'local', 'cluster', 'secrets')).join(' ')).toBe(expected);
  });

  it('fixes the old dead ends: integration_app_monitoring, root_metrics_debug, cassandra_inject_metrics', () => {
    expect(names(['integration_app_monitoring'])).toEqual(
      expect.arrayContaining(['inject_metrics', 'streaming_metrics', 'monitoring', 'metrics']),
    );
    expect(names(['root_metrics_debug'], 'local', 'single', 'secrets')).toContain('root_debug-secrets');
    expect(names(['cassandra_inject_metrics'])).toContain('cassandra_inject');
  });

  it('adds placement fragments only in remote mode', () => {
    expect(names(['inject'], 'local').some((n) => n.includes('remote'))).toBe(false);
    expect(names(['inject'], 'remote', 'cluster')).toContain('inject-remote-cluster');
  });

  it('sorts in byte order and lists each fragment once', () => {
    const list = names(['inject', 'inject_metrics', 'root']);
    expect(list).toEqual([...new Set(list)].sort());
    expect(list.indexOf('inject-single')).toBeLessThan(list.indexOf('inject_metrics'));
  });

  it('suggests the closest targets for an unknown one', () => {
    expect(() => names(['injet'])).toThrow(/unknown target "injet"; did you mean inject/);
    expect(() => names(['streaming_metric'])).toThrow(/did you mean streaming_metrics/);
  });
});

describe('parseHierarchy', () => {
  it('names a cycle, with its file and line', () => {
    const text = 'targets:\n  a: [x, $b]\n  b: [$c]\n  c: [$a]\n';
    expect(() => parseHierarchy(text, 'h.yml')).toThrow(/h\.yml:2: targets include each other in a cycle: a → b → c → a/);
  });

  it('names an include of an unknown target', () => {
    expect(() => parseHierarchy('targets:\n  a: [x]\n  b: [$nope]\n', 'h.yml')).toThrow(
      /h\.yml:3: target b includes unknown target \$nope/,
    );
  });

  it('rejects a file without a targets map', () => {
    expect(() => parseHierarchy('a: 1\n', 'h.yml')).toThrow(/expected a top-level "targets:" map/);
  });

  it('keeps a fragment required if any target needs it', () => {
    const h = parseHierarchy('targets:\n  a: ["x?"]\n  b: [x]\n', 'h.yml');
    const modes = { location: 'local', clusterMode: 'single', secretMode: 'secrets' };
    expect(expandTargets(h, ['a'], modes)).toEqual([{ name: 'x', optional: true, requestedBy: 'a' }]);
    expect(expandTargets(h, ['a', 'b'], modes)[0]?.optional).toBe(false);
  });
});
