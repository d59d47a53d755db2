import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export const DASHBOARDS_DIR = join(ROOT, 'templates', 'config', 'grafana', 'provisioning', 'dashboards', 'json');

/** The fields the NATS dashboard charts as `smartmeter.nats.$server.<field>`, and how many targets it has. */
export function natsDashboardFields(): { fields: string[]; targets: number; matched: number } {
  const nats = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'smartmeter-nats.json'), 'utf8')) as { panels: { targets: { target: string }[] }[] };
  const targets = nats.panels.flatMap((p) => p.targets.map((t) => t.target));
  const found = targets.flatMap((t) => [...t.matchAll(/smartmeter\.nats\.\$server\.([a-z_]+)/g)].map((m) => m[1]!));
  return { fields: [...new Set(found)], targets: targets.length, matched: found.length };
}
