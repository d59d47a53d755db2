// Smoke test of the rig's helm: its version, and `helm template` of a small chart.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { rigService } from './helpers/rig.js';

const rig = rigService('helm');

function helm(args: string[]) {
  const result = spawnSync(rig!.HELM!, args, {
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: rig!.HELM_CACHE_HOME, HELM_CONFIG_HOME: rig!.HELM_CONFIG_HOME, HELM_DATA_HOME: rig!.HELM_DATA_HOME },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(rig)('the rig helm', () => {
  it('reports the pinned version', () => {
    expect(helm(['version', '--short']).stdout).toMatch(/^v3\.22\.0/);
  });

  it('lints and templates a small chart', () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'smartmeter-chart-')), 'demo');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\nicon: https://example.com/icon.png\n');
    writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
    writeFileSync(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    );
    const lint = helm(['lint', '--strict', chart]);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const rendered = helm(['template', 'smoke', chart, '--set', 'greeting=bonjour']);
    expect(rendered.status).toBe(0);
    expect(load(rendered.stdout.replace(/^---\n/, ''))).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'smoke-demo' }, data: { greeting: 'bonjour' } });
  });
});
