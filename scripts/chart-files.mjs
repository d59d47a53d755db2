// Copies templates/cql and templates/config into the Helm chart's files/ (files/cql, files/config),
// which the chart's ConfigMaps read with .Files. Run by `npm run build` (so by `npm ci` and
// `npm pack` through `prepare`). The copies are generated: git ignores them, the package ships them
// (package.json `files`). They used to be symbolic links, which `npm pack` leaves out: an installed
// smartmeter then rendered empty ConfigMaps. Real files here, and no link anywhere in the copies.
//
// A sync rather than delete-and-copy: a file is rewritten (temporary file + rename) only when its
// content differs, and files no longer in the source are removed, so a `helm template` running at
// the same time never sees a half-empty directory.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const filesDir = join(root, 'templates', 'helm', 'smart-meter', 'files');
/** chart's files/<name> ← templates/<name> */
const COPIES = ['cql', 'config'];

let written = 0;
let removed = 0;

/** Removes a path without ever following a symbolic link (an old checkout's files/cql → ../../../cql). */
function remove(path) {
  if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  else rmSync(path, { recursive: true, force: true });
  removed += 1;
}

function sync(source, target) {
  // A link (the files/cql → ../../../cql of older checkouts) or a file where a directory belongs:
  // removed, the linked directory itself untouched.
  const stat = lstatSync(target, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) remove(target);
  mkdirSync(target, { recursive: true });
  const names = new Set(readdirSync(source));
  for (const name of readdirSync(target)) {
    if (!names.has(name)) remove(join(target, name));
  }
  for (const name of [...names].sort()) {
    const from = join(source, name);
    const to = join(target, name);
    // statSync follows a link in the source: its target's content is copied, never the link.
    if (statSync(from).isDirectory()) {
      sync(from, to);
      continue;
    }
    const content = readFileSync(from);
    const mode = statSync(from).mode & 0o777;
    const existing = lstatSync(to, { throwIfNoEntry: false });
    if (existing?.isFile() && (existing.mode & 0o777) === mode && readFileSync(to).equals(content)) continue;
    if (existing && !existing.isFile()) remove(to);
    const temporary = `${to}.${process.pid}.tmp`;
    writeFileSync(temporary, content);
    chmodSync(temporary, mode);
    renameSync(temporary, to);
    written += 1;
  }
}

for (const name of COPIES) {
  sync(join(root, 'templates', name), join(filesDir, name));
}
console.error(`chart files: ${relative(root, filesDir)}/{${COPIES.join(',')}} in sync (${written} written, ${removed} removed)`);
