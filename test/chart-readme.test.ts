// scripts/chart-readme.mjs, the generator of the chart README's values table: the project's chart
// README is complete (every value of values.yaml, with the schema's description); on a small chart
// in a temporary directory, --check names a value added to values.yaml and a plain run fixes the
// README; a value without a schema description takes the comment above it in values.yaml; a README
// without the markers is refused in one line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'scripts', 'chart-readme.mjs');
const CHART = join(ROOT, 'templates', 'helm', 'smart-meter');

function chartReadme(args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines of `text` between the markers. */
function table(text: string): string[] {
  const lines = text.split('\n');
  return lines.slice(lines.indexOf('<!-- values:start -->') + 1, lines.indexOf('<!-- values:end -->'));
}

/** The row of `name` in the README's table, split into its cells. */
function row(readme: string, name: string): string[] | undefined {
  const line = table(readme).find((l) => l.startsWith(`| \`${name}\` |`));
  return line?.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
}

/** Dotted paths of values.yaml's leaves, every non-empty map followed down. */
function leaves(value: unknown, path: string[] = []): string[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
  }
  return [path.join('.')];
}

const SMALL_VALUES = `# A chart for the test.

replicas: 1
server:
  # Where the server listens.
  port: 8080
  # What the server is called
  # (two lines of comment).
  name: demo
  annotations: {}
`;

const SMALL_SCHEMA = {
  type: 'object',
  properties: {
    replicas: { type: 'integer', minimum: 0, description: 'pods of the server' },
    server: {
      type: 'object',
      properties: {
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        name: { type: 'string', description: 'the server | its name' },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
        mode: { type: 'string', enum: ['fast', 'safe'] },
      },
    },
  },
};

const SMALL_README = `# demo chart

Some prose.

## Values

<!-- values:start -->
<!-- values:end -->

More prose after the table.
`;

/** A small chart in a new temporary directory, its README's table generated. */
function smallChart(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-chart-readme-'));
  writeFileSync(join(dir, 'values.yaml'), SMALL_VALUES);
  writeFileSync(join(dir, 'values.schema.json'), `${JSON.stringify(SMALL_SCHEMA, null, 2)}\n`);
  writeFileSync(join(dir, 'README.md'), SMALL_README);
  const r = chartReadme([dir]);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

describe('chart-readme', () => {
  it("the project's chart README lists every value of values.yaml with the schema's descriptions (--check)", () => {
    const r = chartReadme(['--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const values = yaml.load(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { properties: Record<string, { properties?: Record<string, { description?: string }> }> };
    const names = leaves(values);
    expect(names.length).toBeGreaterThan(20);
    // A leaf inside a map the schema leaves open (annotations, resources) is listed as that map.
    for (const name of names) {
      const listed = name.split('.').some((_, i, keys) => row(readme, keys.slice(0, i + 1).join('.')) !== undefined);
      expect(listed, name).toBe(true);
    }
    // One value each way: a schema description, the values.yaml default as JSON.
    const replicas = schema.properties.nats!.properties!.replicas!.description!;
    expect(row(readme, 'nats.replicas')).toEqual(['`nats.replicas`', expect.stringMatching(/^integer/), '`0`', replicas.replace(/\|/g, '\\|')]);
    expect(row(readme, 'clusterMode')?.[2]).toBe('`"single"`');
  });

  it('--check names a value added to values.yaml; a run without --check brings the README up to date', () => {
    const dir = smallChart();
    const prose = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(chartReadme(['--check', dir]).status).toBe(0);

    writeFileSync(join(dir, 'values.yaml'), `${SMALL_VALUES}  mode: safe\n`);
    const stale = chartReadme(['--check', dir]);
    expect(stale.status).toBe(1);
    expect(stale.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^chart-readme: server\.mode: missing from .*README\.md$/)]);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe(prose); // --check writes nothing

    const fix = chartReadme([dir]);
    expect(fix.status, fix.stderr).toBe(0);
    expect(chartReadme(['--check', dir]).status).toBe(0);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(row(readme, 'server.mode')).toEqual(['`server.mode`', 'string (one of `"fast"`, `"safe"`)', '`"safe"`', '']);
    // The prose around the markers is kept.
    expect(readme.startsWith('# demo chart\n\nSome prose.\n\n## Values\n\n<!-- values:start -->\n')).toBe(true);
    expect(readme.endsWith('<!-- values:end -->\n\nMore prose after the table.\n')).toBe(true);

    // A changed default: its row differs.
    writeFileSync(join(dir, 'values.yaml'), SMALL_VALUES.replace('port: 8080', 'port: 9090'));
    const changed = chartReadme(['--check', dir]);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(/^chart-readme: server\.port: row differs/m);
    expect(changed.stderr).toMatch(/^chart-readme: server\.mode: in .*README\.md but not in values\.yaml$/m);
  });

  it("a value without a schema description is described by the comment above it in values.yaml; the schema's wins", () => {
    const readme = readFileSync(join(smallChart(), 'README.md'), 'utf8');
    expect(table(readme).slice(0, 2)).toEqual(['| Value | Type | Default | Description |', '|---|---|---|---|']);
    expect(row(readme, 'server.port')).toEqual(['`server.port`', 'integer (≥ 1, ≤ 65535)', '`8080`', 'Where the server listens.']);
    expect(row(readme, 'server.name')).toEqual(['`server.name`', 'string', '`"demo"`', 'the server \\| its name']);
    // The file's header comment is separated by a blank line: not replicas' description.
    expect(row(readme, 'replicas')).toEqual(['`replicas`', 'integer (≥ 0)', '`1`', 'pods of the server']);
    // An open map is one value.
    expect(row(readme, 'server.annotations')).toEqual(['`server.annotations`', 'object', '`{}`', '']);

    const dir = smallChart();
    writeFileSync(join(dir, 'values.schema.json'), JSON.stringify({ properties: { server: { properties: {} } } }));
    expect(chartReadme([dir]).status).toBe(0);
    const fallback = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(row(fallback, 'server.name')?.[3]).toBe('What the server is called (two lines of comment).');
    expect(row(fallback, 'replicas')?.[3]).toBe('');
  });

  it('a README without the markers: one line, exit 1, nothing written', () => {
    const dir = smallChart();
    const text = '# demo chart\n\nNo table here.\n';
    writeFileSync(join(dir, 'README.md'), text);
    for (const args of [[dir], ['--check', dir]]) {
      const r = chartReadme(args);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^chart-readme: .*README\.md has no markers: .*<!-- values:start -->.*<!-- values:end -->/)]);
    }
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe(text);
  });
});
