import { describe, expect, it } from 'vitest';
import { combine, propertyLayerFiles, type CombineRequest } from '../src/combine/engine.js';
import { writeTree } from './helpers/templates.js';

const HIERARCHY = `targets:
  app: [app, "app-\${SECRET_MODE}", "app-\${LOCATION}-\${CLUSTER_MODE}?"]
  broken: [broken]
  absent: [nothere]
`;

// Each layer sets LAYER and one key of its own, so the test can see who wins.
const LAYERS = {
  'properties/configuration.properties': 'LAYER=defaults\nFROM_DEFAULTS=d\nREPLICAS=1\nPORT=4222\nURL=nats://${HOST}:${PORT}\nHOST=nats',
  'properties/configuration-application.properties': 'LAYER=application\nFROM_APPLICATION=a',
  'properties/configuration-location-local.properties': 'LAYER=location\nFROM_LOCATION=l',
  'properties/configuration-location-local-debug.properties': 'LAYER=location-debug',
  'properties/configuration-mode-single.properties': 'LAYER=mode\nFROM_MODE=m',
  'properties/configuration-mode-single-debug.properties': 'LAYER=mode-debug',
  'properties/configuration-telegraf.properties': 'LAYER=telegraf\nFROM_TELEGRAF=t',
  'properties/configuration-telegraf-debug.properties': '# nothing active\n',
  'properties/properties.yml': 'docker-app-repository: example/app\ndocker-app-tag: "1.10"\n',
};

const FRAGMENTS = {
  'fragments/app.yml': `services:
  app:
    image: ((docker-app-repository)):((docker-app-tag))
    environment:
      - LAYER=\${LAYER}
      - URL=\${URL}
      - SLOT={{.Task.Slot}}
    deploy:
      replicas: \${REPLICAS}
`,
  'fragments/app-secrets.yml': 'services:\n  app:\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./devsecrets/pw\n',
  'fragments/app-no_secrets.yml': 'services:\n  app:\n    environment:\n      - NATS_PASSWORD=${NATS_PASSWORD:-dev}\n',
  'fragments/broken.yml': 'services:\n  x:\n    image: [unclosed\n',
};

function request(templatesDir: string, overrides: Partial<CombineRequest> = {}): CombineRequest {
  return {
    templatesDir,
    modes: { location: 'local', clusterMode: 'single', secretMode: 'secrets' },
    targets: ['app'],
    env: {},
    sets: [],
    allowMissing: false,
    now: 1_700_000_000,
    displayRoot: templatesDir,
    ...overrides,
  };
}

const service = (doc: Record<string, unknown>) => (doc.services as Record<string, Record<string, unknown>>).app!;

describe('combine', () => {
  const templates = writeTree({ 'hierarchy.yml': HIERARCHY, ...LAYERS, ...FRAGMENTS });

  it('layers the files in the old order: defaults, application, location, mode, debug, telegraf', () => {
    const files = propertyLayerFiles('/d', '/p', { location: 'local', clusterMode: 'single', secretMode: 'secrets' });
    expect(files.map(({ file, fromOverride }) => `${fromOverride ? 'P' : 'D'}:${file.slice(3)}`)).toEqual([
      'D:configuration.properties',
      'P:configuration.properties',
      'D:configuration-application.properties',
      'P:configuration-application.properties',
      'D:configuration-location-local.properties',
      'P:configuration-location-local.properties',
      'D:configuration-location-local-debug.properties',
      'P:configuration-location-local-debug.properties',
      'D:configuration-mode-single.properties',
      'P:configuration-mode-single.properties',
      'D:configuration-mode-single-debug.properties',
      'P:configuration-mode-single-debug.properties',
      'D:configuration-telegraf.properties',
      'P:configuration-telegraf.properties',
      'D:configuration-telegraf-debug.properties',
      'P:configuration-telegraf-debug.properties',
    ]);
    const result = combine(request(templates));
    expect(service(result.document).environment).toContain('LAYER=telegraf');
  });

  it('puts the -p directory after each default, then the environment, then --set', () => {
    const override = writeTree({
      'configuration-application.properties': 'LAYER=override-application\nHOST=bus',
      'configuration-telegraf.properties': 'LAYER=override-telegraf',
      'properties.yml': 'docker-app-tag: "2.0"\n',
    });
    const base = request(templates, { propertiesDir: override });
    let doc = combine(base).document;
    expect(service(doc).environment).toEqual(expect.arrayContaining(['LAYER=override-telegraf', 'URL=nats://bus:4222']));
    expect(service(doc).image).toBe('example/app:2.0');
    doc = combine({ ...base, env: { LAYER: 'env', PORT: '5222' } }).document;
    expect(service(doc).environment).toEqual(expect.arrayContaining(['LAYER=env', 'URL=nats://bus:5222']));
    doc = combine({ ...base, env: { LAYER: 'env' }, sets: ['LAYER=set', 'docker-app-repository=local/app'] }).document;
    expect(service(doc).environment).toContain('LAYER=set');
    expect(service(doc).image).toBe('local/app:2.0');
  });

  it('fills both placeholder syntaxes, keeps Go templates, and types replicas as a number', () => {
    const doc = combine(request(templates)).document;
    expect(service(doc).image).toBe('example/app:1.10');
    expect(service(doc).environment).toContain('SLOT={{.Task.Slot}}');
    expect(service(doc).deploy).toEqual({ replicas: 1 });
  });

  it('lists every unresolved placeholder with file:line, or leaves them with allowMissing', () => {
    const t = writeTree({
      'hierarchy.yml': 'targets:\n  t: [a, b]\n',
      'fragments/a.yml': 'services:\n  a:\n    image: ${IMAGE_A}\n    command: ((cmd))\n',
      'fragments/b.yml': 'services:\n  b:\n    image: x\n    environment:\n      - X=${IMAGE_A}\n',
    });
    const r = request(t, { targets: ['t'] });
    expect(() => combine(r)).toThrow(
      /3 unresolved placeholders.*\n  fragments\/a\.yml:3: \$\{IMAGE_A\}\n  fragments\/a\.yml:4: \(\(cmd\)\)\n  fragments\/b\.yml:5: \$\{IMAGE_A\}/,
    );
    const left = combine({ ...r, allowMissing: true });
    expect((left.document.services as Record<string, Record<string, unknown>>).a!.image).toBe('${IMAGE_A}');
    expect(left.unresolved).toHaveLength(3);
  });

  it('names a fragment that is not valid YAML, with its line', () => {
    expect(() => combine(request(templates, { targets: ['broken'] }))).toThrow(/^fragments\/broken\.yml:\d+: invalid YAML/);
  });

  it('names a missing required fragment and the target that needs it; skips a missing optional one', () => {
    expect(() => combine(request(templates, { targets: ['absent'] }))).toThrow(
      /fragment nothere \(needed by target absent\) is missing: fragments\/nothere\.yml/,
    );
    expect(combine(request(templates)).fragments).toEqual(['app', 'app-secrets']);
  });

  it('explains each value: its file and line, what it overrode, where it is used; secrets masked', () => {
    const override = writeTree({ 'configuration-application.properties': '\nHOST=bus' });
    const result = combine(request(templates, { propertiesDir: override, modes: { location: 'local', clusterMode: 'single', secretMode: 'no_secrets' }, env: { NATS_PASSWORD: 's3cret' } }));
    const url = result.explanation.find((e) => e.key === 'URL')!;
    expect(url).toEqual({
      key: 'URL',
      shown: 'nats://bus:4222',
      source: 'properties/configuration.properties:5',
      overridden: [],
      builtFrom: [`HOST (${override}/configuration-application.properties:2)`, 'PORT (properties/configuration.properties:4)'],
      usedAt: ['fragments/app.yml:6'],
    });
    const password = result.explanation.find((e) => e.key === 'NATS_PASSWORD')!;
    expect(password.shown).toBe('********');
    expect(password.source).toBe('environment');
    expect(JSON.stringify(result.explanation)).not.toContain('s3cret');
    expect(result.containsSecrets).toBe(true);
  });

  it('rejects modes outside the three vocabularies', () => {
    expect(() => combine(request(templates, { modes: { location: 'moon', clusterMode: 'single', secretMode: 'secrets' } }))).toThrow(
      'location must be local or remote, got "moon"',
    );
  });
});
