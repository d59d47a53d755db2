/**
 * The rig's kube-score (Zegl's static checker of Kubernetes objects: security contexts, resources
 * and ephemeral storage, probes, PodDisruptionBudgets, NetworkPolicies, anti-affinity, Services
 * and selectors, deprecated API versions), for the tests of the Helm chart's output.
 *
 * Why kube-score: the chart's issue names kube-linter, but the Go module proxy refuses
 * golang.stackrox.io/kube-linter (every version, and its list: 403, final) and no other reachable
 * registry ships it; kube-score is served and checks the same ground, with more opinions.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goEnv } from './go-env.ts';
import { ensureDebianPackages } from './install.ts';
import { run } from './process.ts';
import { cacheDir } from './state.ts';
import type { RigContext } from './service.ts';

/** The pinned release (github.com/zegl/kube-score, through the Go module proxy). */
export const KUBE_SCORE_VERSION = 'v1.20.0';

/**
 * The path of the rig's kube-score, `<rig>/cache/go/bin/kube-score`, built on the first call (and
 * when KUBE_SCORE_VERSION changes) with `go install github.com/zegl/kube-score/cmd/kube-score@<version>`
 * in the rig's Go env (static, local toolchain only), its version stamped into `kube-score version`.
 * About a minute from an empty module cache on two cores, seconds from a warm build cache.
 * Throws the RuntimeError of `run` (go's last lines) when the proxy cannot be reached.
 */
export function kubeScoreBinary(ctx: RigContext): string {
  const bin = join(cacheDir('go'), 'bin');
  const binary = join(bin, 'kube-score');
  const stampFile = join(cacheDir('go'), 'kube-score.build');
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === KUBE_SCORE_VERSION) return binary;
  ensureDebianPackages({ go: 'golang-go' }, ctx.log);
  ctx.log(`helm: go install github.com/zegl/kube-score/cmd/kube-score@${KUBE_SCORE_VERSION} (about a minute the first time)`);
  mkdirSync(bin, { recursive: true });
  run('go', ['install', '-trimpath', '-ldflags', `-s -w -X main.version=${KUBE_SCORE_VERSION}`, `github.com/zegl/kube-score/cmd/kube-score@${KUBE_SCORE_VERSION}`], {
    env: { ...goEnv(), GOBIN: bin },
  });
  writeFileSync(stampFile, `${KUBE_SCORE_VERSION}\n`);
  return binary;
}
