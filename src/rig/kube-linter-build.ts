/**
 * The rig's kube-linter (StackRox's static checker of Kubernetes manifests: resources, security
 * context, probes, dangling Services…), for the tests of the Helm chart's output.
 *
 * Where it comes from: the Go module proxy refuses golang.stackrox.io/kube-linter (every version,
 * and the list, answer 403) and no other reachable registry ships it, so the repository keeps the
 * part of its v0.8.3 source that `cmd/kube-linter` compiles (rig/third_party/kube-linter, see
 * ORIGIN.md there); its dependencies do come from the module proxy. Built once per pinned version
 * and source, like helm and Compose.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { goEnv } from './go-env.js';
import { ensureDebianPackages } from './install.js';
import { run } from './process.js';
import { cacheDir } from './state.js';
import type { RigContext } from './service.js';

/** The kube-linter release whose source rig/third_party/kube-linter holds (tag v0.8.3, commit 10ae0030). */
export const KUBE_LINTER_VERSION = 'v0.8.3';
const SOURCE = join(PACKAGE_ROOT, 'rig', 'third_party', 'kube-linter');

/**
 * The path of the rig's kube-linter, `<rig>/cache/go/bin/kube-linter`, built on the first call
 * with `go build ./cmd/kube-linter` inside rig/third_party/kube-linter (the rig's Go env: static,
 * local toolchain only; `-mod=readonly`, so the repository's go.mod and go.sum are never
 * rewritten; the version stamped into `kube-linter version`). About 2 minutes from an empty module
 * cache on two cores, seconds from a warm build cache. The stamp file `<rig>/cache/go/kube-linter.build`
 * holds the version, a hash of the source files and the build flags: a change of any rebuilds.
 *
 * Throws the RuntimeError of `run` (go's last lines) when a dependency cannot be downloaded or the
 * local Go is older than the go directive of the source's go.mod (go 1.25.5).
 */
export function kubeLinterBinary(ctx: RigContext): string {
  const go = cacheDir('go');
  const binary = join(go, 'bin', 'kube-linter');
  const stamp = `${KUBE_LINTER_VERSION} source:${sourceHash()} CGO_ENABLED=0 -s -w`;
  const stampFile = join(go, 'kube-linter.build');
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return binary;
  ensureDebianPackages({ go: 'golang-go' }, ctx.log);
  ctx.log(`helm: building kube-linter ${KUBE_LINTER_VERSION} from rig/third_party/kube-linter (about 2 minutes the first time)`);
  const started = Date.now();
  mkdirSync(join(go, 'bin'), { recursive: true });
  const ldflags = `-s -w -X golang.stackrox.io/kube-linter/internal/version.version=${KUBE_LINTER_VERSION}`;
  run('go', ['build', '-mod=readonly', '-trimpath', '-ldflags', ldflags, '-o', binary, './cmd/kube-linter'], { env: goEnv(), cwd: SOURCE });
  writeFileSync(stampFile, `${stamp}\n`);
  ctx.log(`helm: kube-linter ${KUBE_LINTER_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

/** sha256 (12 hex digits) over the relative paths and contents of the vendored source, in a fixed order. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(`${relative(SOURCE, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  walk(SOURCE);
  return hash.digest('hex').slice(0, 12);
}
