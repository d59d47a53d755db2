// The README's Layout section is the map a newcomer reads first: every path it names exists, and
// every directory of src/ and every top-level directory of the repository is on it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/** The paths of the README's Layout block: the first word of each line, `a/, b/` split in two. */
function layoutPaths(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /## Layout\n+```\n([\s\S]*?)```/.exec(readme);
  if (!section?.[1]) throw new Error('README.md has no Layout block');
  return section[1]
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith(' '))
    .flatMap((line) => (line.split(/\s{2,}/)[0] ?? '').split(',').map((p) => p.trim()))
    .filter(Boolean);
}

/** Directories committed to the repository (ignored ones such as build/, dist/, node_modules/ are not). */
function directories(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !['node_modules', 'build', 'dist'].includes(entry.name))
    .map((entry) => `${dir === '.' ? '' : `${dir}/`}${entry.name}/`);
}

describe('README layout', () => {
  const paths = layoutPaths();

  it('names only paths that exist', () => {
    const missing = paths.filter((p) => !existsSync(join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('lists every top-level directory and every directory of src/', () => {
    const listed = new Set(paths);
    const covered = (dir: string) => listed.has(dir) || [...listed].some((p) => p.startsWith(dir));
    const unlisted = [...directories('.'), ...directories('src')].filter((dir) => !covered(dir));
    expect(unlisted).toEqual([]);
  });
});
