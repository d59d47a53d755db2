import { describe, expect, it } from 'vitest';
import { mergeFragments, type YamlMap } from '../src/combine/merge.js';

const merge = (...docs: YamlMap[]) => {
  const origins = new Map<string, string>();
  return docs.reduce((acc, doc, i) => mergeFragments(acc, doc, `f${i}.yml`, origins), {} as YamlMap);
};

describe('mergeFragments', () => {
  it('deep-merges maps and lets later scalars win', () => {
    const out = merge(
      { services: { nats: { image: 'nats:1', deploy: { replicas: 1, mode: 'replicated' } } } },
      { services: { nats: { image: 'nats:2', deploy: { replicas: 3 } }, other: { image: 'x' } } },
    );
    expect(out).toEqual({
      services: { nats: { image: 'nats:2', deploy: { replicas: 3, mode: 'replicated' } }, other: { image: 'x' } },
    });
  });

  it('merges environment by name, list and map forms alike, later wins', () => {
    const out = merge(
      { services: { s: { environment: ['A=1', 'B=2', 'FROM_HOST'] } } },
      { services: { s: { environment: { B: 'two', C: 3 } } } },
      { services: { s: { environment: ['A=one'] } } },
    );
    expect((out.services as YamlMap).s).toEqual({ environment: ['A=one', 'B=two', 'FROM_HOST', 'C=3'] });
  });

  it('does not duplicate lists when two targets bring the same service (the old templater did)', () => {
    const telegraf = {
      services: {
        t: { environment: ['X=1'], ports: ['81:80'], deploy: { placement: { constraints: ['node.role == manager'] } } },
      },
    };
    expect(merge(telegraf, telegraf)).toEqual(telegraf);
  });

  it('merges ports by their key (the later one last) and unions depends_on in first-seen order', () => {
    const out = merge(
      { services: { s: { ports: ['4222:4222'], depends_on: ['nats'] } } },
      { services: { s: { ports: ['8222:8222', '4222:4222'], depends_on: ['graphite', 'nats'] } } },
    );
    expect((out.services as YamlMap).s).toEqual({ ports: ['8222:8222', '4222:4222'], depends_on: ['nats', 'graphite'] });
  });

  it('merges volumes by container path, and secrets and configs by where they are mounted (as Compose does)', () => {
    const out = merge(
      { services: { s: { volumes: ['data:/data', '/etc/a:/etc/a:ro'], secrets: ['u', { source: 'p', mode: 0o400 }], configs: ['c'] } } },
      { services: { s: { volumes: ['other:/data'], secrets: [{ source: 'u', target: 'user' }, { source: 'q', target: '/run/secrets/p' }], configs: [{ source: 'd', target: '/c' }] } } },
    );
    expect((out.services as YamlMap).s).toEqual({
      volumes: ['/etc/a:/etc/a:ro', 'other:/data'],
      // u at /run/secrets/u and u at /run/secrets/user are two mounts; q replaces p at /run/secrets/p.
      secrets: ['u', { source: 'u', target: 'user' }, { source: 'q', target: '/run/secrets/p' }],
      configs: [{ source: 'd', target: '/c' }],
    });
  });

  it('replaces command, entrypoint and healthcheck.test as a whole', () => {
    const out = merge(
      { services: { s: { command: ['a', 'b'], entrypoint: ['sh'], healthcheck: { test: ['CMD', 'x'], interval: '5s' } } } },
      { services: { s: { command: ['c'], healthcheck: { test: ['CMD', 'y'] } } } },
    );
    expect((out.services as YamlMap).s).toEqual({ command: ['c'], entrypoint: ['sh'], healthcheck: { test: ['CMD', 'y'], interval: '5s' } });
  });

  it('keeps a map when a later fragment gives an empty key', () => {
    expect(merge({ volumes: { data: { driver: 'local' } } }, { volumes: { data: null } })).toEqual({ volumes: { data: { driver: 'local' } } });
  });

  it('refuses to merge a map with a scalar, naming both fragments', () => {
    expect(() => merge({ services: { s: { deploy: { replicas: 1 } } } }, { services: { s: { deploy: 'oops' } } })).toThrow(
      /cannot merge services\.s\.deploy: f0\.yml makes it a map, f1\.yml makes it the value "oops"/,
    );
  });

  it('gives a service that only one fragment defines the same canonical shape', () => {
    const out = merge({
      services: {
        s: { environment: { A: 1, B: 'x' }, ports: ['80:80', '80:80'], volumes: ['a:/data', 'b:/data'], command: ['x', 'x'] },
      },
    });
    expect((out.services as YamlMap).s).toEqual({ environment: ['A=1', 'B=x'], ports: ['80:80'], volumes: ['b:/data'], command: ['x', 'x'] });
  });
});
