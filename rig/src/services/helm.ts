/**
 * Helm for the tests: a real `helm` binary built from source through the Go module proxy
 * (no release download can be reached). GOPATH and the build cache live in the rig's cache,
 * so only the first `up` compiles (about two and a half minutes on two cores). With it, the
 * Kubernetes schemas that `helm template` output is validated against (kubernetes-validate, PyPI),
 * and kube-score, the checker of what the manifests ask for (resources, security context, probes…),
 * built through the Go module proxy (../kube-score-build.ts).
 * Compose v2 is not built: `go install` refuses its module (its go.mod has exclude
 * directives), so the rig relies on Debian's docker-compose 1.29, which the docker service installs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, installDebianPackages } from '../install.ts';
import { KUBE_SCORE_VERSION, kubeScoreBinary } from '../kube-score-build.ts';
import { run } from '../process.ts';
import { cacheDir, serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';

export const HELM_VERSION = 'v3.22.0';
/** Kubernetes' JSON schemas, offline: the PyPI package bundles them (1.25 to 1.37). */
export const KUBERNETES_VALIDATE_VERSION = '1.37.0';

/** kubernetes-validate in a venv of the rig's cache (no cluster, no schema download). */
function ensureKubernetesValidate(ctx: RigContext): string {
  const venv = cacheDir('kubernetes-validate');
  const binary = join(venv, 'bin', 'kubernetes-validate');
  const stamp = join(venv, 'version');
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === KUBERNETES_VALIDATE_VERSION) return binary;
  ensureDebianPackages({ python3: 'python3' }, ctx.log);
  try {
    run('python3', ['-m', 'venv', '--clear', venv]);
  } catch {
    // Debian splits venv out of python3.
    installDebianPackages(['python3-venv'], ctx.log);
    run('python3', ['-m', 'venv', '--clear', venv]);
  }
  ctx.log(`helm: pip install kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`);
  run(join(venv, 'bin', 'pip'), ['install', '--quiet', `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`]);
  writeFileSync(stamp, `${KUBERNETES_VALIDATE_VERSION}\n`);
  return binary;
}

export const helm: RigService = {
  name: 'helm',
  describe: `helm ${HELM_VERSION}, built with go install through the Go module proxy; kube-score ${KUBE_SCORE_VERSION}`,

  async up(ctx: RigContext): Promise<ServiceState> {
    ensureDebianPackages({ go: 'golang-go' }, ctx.log);
    const go = cacheDir('go');
    const bin = join(go, 'bin');
    const binary = join(bin, 'helm');
    if (!existsSync(binary) || !run(binary, ['version', '--short']).startsWith(HELM_VERSION)) {
      ctx.log(`helm: go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} (a few minutes the first time)`);
      run('go', ['install', '-ldflags', `-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
        env: { GOPATH: join(go, 'path'), GOBIN: bin, GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw' },
      });
    }
    const validator = ensureKubernetesValidate(ctx);
    const kubeScore = kubeScoreBinary(ctx);
    // Helm's own state (plugins, repositories, caches) stays in the rig, not in ~/.config.
    const home = serviceDir('helm');
    for (const sub of ['cache', 'config', 'data']) mkdirSync(join(home, sub), { recursive: true });
    return {
      processes: [],
      values: {
        HELM: binary,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBERNETES_VALIDATE: validator,
        /** Absolute path of the kube-score binary (KUBE_SCORE_VERSION). */
        KUBE_SCORE: kubeScore,
      },
    };
  },
};
