/**
 * The stack's configuration files (Grafana provisioning and dashboards, …) that compose
 * fragments mount from ${SMARTMETER_CONFIG_DIR}: copied from the package's templates/config into
 * a directory, each file written atomically. They hold no secret and no build-time value: what
 * varies comes from the containers' environment, which the fragments set.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RuntimeError } from '../errors.js';
import { describeErrno, writeFileAtomic } from '../fs-atomic.js';

/** Copies every file under `sourceDir` to the same place under `targetDir`; returns the paths written. */
export function writeConfigFiles(sourceDir: string, targetDir: string): string[] {
  const written: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const source = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(source);
        continue;
      }
      const target = join(targetDir, relative(sourceDir, source));
      try {
        mkdirSync(join(target, '..'), { recursive: true });
      } catch (error) {
        throw new RuntimeError(`cannot create ${join(target, '..')}: ${describeErrno((error as NodeJS.ErrnoException).code ?? String(error))}`);
      }
      writeFileAtomic(target, readFileSync(source, 'utf8'));
      written.push(target);
    }
  };
  walk(sourceDir);
  return written;
}
