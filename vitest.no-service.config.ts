// The suites that need no service of the rig, which CI runs on the older LTS lines while the rig
// starts (`vitest run -c vitest.no-service.config.ts`). Not a hand-kept list, so it cannot drift:
// a suite needs a service when its imports, followed through test/ and its helpers, reach
// test/helpers/rig.ts (rigService is the one door to the rig's servers). A suite that reached a
// service some other way would fail loudly on those lines, not be skipped.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

const ROOT = import.meta.dirname;
const RIG_HELPER = join(ROOT, 'test', 'helpers', 'rig.ts');

/** The relative imports of a test-side file (static and dynamic), as absolute .ts paths. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

/** Whether `file` reaches the rig helper through test/ files it imports. */
function usesRig(file: string, seen = new Set<string>()): boolean {
  if (file === RIG_HELPER) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  // Only test/ is followed: product and rig modules never import the test helpers.
  if (!file.startsWith(join(ROOT, 'test'))) return false;
  return localImports(file).some((dep) => usesRig(dep, seen));
}

/** The test files (relative to the repository) that need no rig service. */
export function noServiceSuites(): string[] {
  const dir = join(ROOT, 'test');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join(dir, name))
    .filter((file) => !usesRig(file))
    .map((file) => relative(ROOT, file))
    .sort();
}

// Spread, not mergeConfig: that would append to the base include (every suite) instead of replacing it.
export default defineConfig({ ...base, test: { ...base.test, include: noServiceSuites() } });

// `node vitest.no-service.config.ts` lists them (CI prints the list it runs).
if (import.meta.main) console.log(noServiceSuites().join('\n'));
