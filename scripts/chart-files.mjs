// Writes the Helm chart's files/ (files/cql, files/config), which the chart's ConfigMaps read with
// .Files: files/cql is a copy of templates/cql; files/config holds templates/config as the chart
// needs it, the Handlebars templates (*.hbs) rendered with the chart's context (values are
// ${VAR} references the chart's containers set: CHART_CONFIG_CONTEXT in src/combine/config-files.ts)
// and every other file copied. Prometheus is left out: the chart renders its own configuration.
// Run by `npm run build` after tsc (so by `npm ci` and `npm pack` through `prepare`). The files are
// generated: git ignores them, the package ships them (package.json `files`). They used to be
// symbolic links, which `npm pack` leaves out: an installed smartmeter then rendered empty
// ConfigMaps. Real files here, and no link anywhere in them.
//
// A sync rather than delete-and-write: a file is rewritten (temporary file + rename) only when its
// content differs, and files no longer wanted are removed, so a `helm template` running at the
// same time never sees a half-empty directory.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const filesDir = join(root, 'templates', 'helm', 'smart-meter', 'files');
const { CHART_CONFIG_CONTEXT, renderConfigFiles } = await import(pathToFileURL(join(root, 'build', 'combine', 'config-files.js')).href);

let written = 0;
let removed = 0;

/** Removes a path without ever following a symbolic link (an old checkout's files/cql → ../../../cql). */
function remove(path) {
  if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  else rmSync(path, { recursive: true, force: true });
  removed += 1;
}

/** Every file under `dir` as { path (relative), content, mode }; a link in the source is followed. */
function filesUnder(dir, base = dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, base);
    return [{ path: relative(base, path), content: readFileSync(path), mode: statSync(path).mode & 0o777 }];
  });
}

/** Makes `target` hold exactly `files` (paths relative to it). */
function sync(files, target) {
  const wanted = new Map(files.map((f) => [f.path, f]));
  const wantedDirs = new Set(files.flatMap((f) => f.path.split(sep).slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join(sep))));
  // A link (the files/cql → ../../../cql of older checkouts) or a file where a directory belongs:
  // removed, the linked directory itself untouched.
  const prune = (dir) => {
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) remove(dir);
    if (!lstatSync(dir, { throwIfNoEntry: false })) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(target, path);
      const entry = lstatSync(path);
      if (entry.isDirectory() && wantedDirs.has(rel)) prune(path);
      else if (!(entry.isFile() && wanted.has(rel))) remove(path);
    }
  };
  prune(target);
  for (const file of files) {
    const to = join(target, file.path);
    mkdirSync(dirname(to), { recursive: true });
    const content = Buffer.from(file.content);
    const existing = lstatSync(to, { throwIfNoEntry: false });
    if (existing?.isFile() && (existing.mode & 0o777) === file.mode && readFileSync(to).equals(content)) continue;
    const temporary = `${to}.${process.pid}.tmp`;
    writeFileSync(temporary, content);
    chmodSync(temporary, file.mode);
    renameSync(temporary, to);
    written += 1;
  }
}

sync(filesUnder(join(root, 'templates', 'cql')), join(filesDir, 'cql'));
sync(
  renderConfigFiles(join(root, 'templates', 'config'), CHART_CONFIG_CONTEXT).filter((f) => !f.path.startsWith(`prometheus${sep}`)),
  join(filesDir, 'config'),
);
console.error(`chart files: ${relative(root, filesDir)}/{cql,config} in sync (${written} written, ${removed} removed)`);
