/**
 * The one-node cluster's programs, built from source through the Go module proxy (no release
 * binary can be downloaded here) into `.rig/cache`, once per pinned version:
 *
 * - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from
 *   one copy of the `k8s.io/kubernetes` module. `go install` refuses that module (its go.mod points
 *   the k8s.io/* staging modules at ./staging, which module zips leave out), so the copy's replaces
 *   are pointed at the published k8s.io/* v0.<minor>.<patch> modules; the two sample modules the
 *   proxy does not serve get empty stand-ins (no binary imports them); go.work and vendor/ are
 *   dropped. Static (CGO_ENABLED=0), as upstream ships them.
 * - etcd: a one-line main around `etcdmain.Main` (go install refuses etcd's replace directives).
 * - CoreDNS with only the plugins a cluster DNS needs: no `forward`, so no query can leave the node.
 * - pause: the pod sandbox's process, a small static program of our own (no registry for the
 *   upstream image).
 *
 * Cold, on two cores: about 10 minutes for the Kubernetes tree (kubelet first: the others reuse
 * its build cache), 1 to 2 for etcd and CoreDNS.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goEnv } from '../go-env.js';
import { run } from '../process.js';
import { cacheDir } from '../state.js';
import type { RigContext } from '../service.js';

/** Kubernetes 1.37: the newest minor the module proxy serves, supported upstream into 2027. */
export const KUBERNETES_VERSION = 'v1.37.2';
/** The published k8s.io/* staging modules of that release. */
const STAGING_VERSION = 'v0.37.2';
/** etcd 3.6: the line Kubernetes 1.37 is tested with. */
export const ETCD_VERSION = 'v3.6.16';
export const COREDNS_VERSION = 'v1.14.7';

export const KUBERNETES_PROGRAMS = ['kubelet', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubectl'] as const;
export type KubernetesProgram = (typeof KUBERNETES_PROGRAMS)[number];

export interface ClusterBinaries {
  kubernetes: Record<KubernetesProgram, string>;
  etcd: string;
  coredns: string;
  pause: string;
}

/** Every program of the cluster, built when missing or when a pinned version changed. */
export function buildCluster(ctx: RigContext): ClusterBinaries {
  const bin = cacheDir('kubernetes-bin');
  const kubernetes = Object.fromEntries(KUBERNETES_PROGRAMS.map((p) => [p, join(bin, p)])) as Record<KubernetesProgram, string>;
  const binaries: ClusterBinaries = { kubernetes, etcd: join(bin, 'etcd'), coredns: join(bin, 'coredns'), pause: join(bin, 'pause') };
  once(join(bin, 'kubernetes.stamp'), `${KUBERNETES_VERSION} ${KUBERNETES_PROGRAMS.join(',')}`, Object.values(kubernetes), () => buildKubernetes(ctx, kubernetes));
  once(join(bin, 'etcd.stamp'), ETCD_VERSION, [binaries.etcd], () => {
    ctx.log(`kubernetes: building etcd ${ETCD_VERSION}`);
    wrapperModule('etcd', 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n', [`go.etcd.io/etcd/server/v3@${ETCD_VERSION}`], binaries.etcd);
  });
  once(join(bin, 'coredns.stamp'), COREDNS_VERSION, [binaries.coredns], () => {
    ctx.log(`kubernetes: building CoreDNS ${COREDNS_VERSION} (cluster DNS plugins only)`);
    wrapperModule('coredns', COREDNS_MAIN, [`github.com/coredns/coredns@${COREDNS_VERSION}`], binaries.coredns);
  });
  once(join(bin, 'pause.stamp'), 'pause 1', [binaries.pause], () => wrapperModule('pause', PAUSE_MAIN, [], binaries.pause));
  return binaries;
}

/** Runs `build` unless every output exists and the stamp file says `wanted`. */
function once(stamp: string, wanted: string, outputs: string[], build: () => void): void {
  if (outputs.every((f) => existsSync(f)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted) return;
  build();
  writeFileSync(stamp, `${wanted}\n`);
}

function buildKubernetes(ctx: RigContext, outputs: Record<KubernetesProgram, string>): void {
  const env = goEnv();
  ctx.log(`kubernetes: building ${KUBERNETES_PROGRAMS.join(', ')} ${KUBERNETES_VERSION} from the Go module proxy (about 10 minutes the first time)`);
  const module = JSON.parse(run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], { env, cwd: cacheDir('go') })) as { Dir: string };
  const src = join(cacheDir('kubernetes-src'), KUBERNETES_VERSION);
  rmSync(src, { recursive: true, force: true });
  cpSync(module.Dir, src, { recursive: true });
  run('chmod', ['-R', 'u+w', src]);
  pointStagingAtPublishedModules(src, env);
  const version = 'k8s.io/component-base/version';
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  // Without these /version says v0.0.0-master, and charts with a kubeVersion constraint fail.
  const ldflags = `-s -w -X ${version}.gitVersion=${KUBERNETES_VERSION} -X ${version}.gitMajor=${major} -X ${version}.gitMinor=${minor} -X ${version}.gitTreeState=clean -X ${version}.gitCommit=${KUBERNETES_VERSION}`;
  for (const program of KUBERNETES_PROGRAMS) {
    const started = Date.now();
    run('go', ['build', '-mod=mod', '-trimpath', '-ldflags', ldflags, '-o', outputs[program], `./cmd/${program}`], { env, cwd: src });
    ctx.log(`kubernetes: ${program} built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

/** `k8s.io/X => ./staging/src/k8s.io/X` becomes `k8s.io/X => k8s.io/X <staging version>`, or an empty stand-in when the proxy refuses it. */
function pointStagingAtPublishedModules(src: string, env: Record<string, string>): void {
  for (const leftover of ['go.work', 'go.work.sum', 'vendor']) rmSync(join(src, leftover), { recursive: true, force: true });
  const goMod = join(src, 'go.mod');
  let text = readFileSync(goMod, 'utf8');
  const staging = [...text.matchAll(/^\s*(k8s\.io\/[a-z0-9-]+) => \.\/staging\/src\/k8s\.io\/[a-z0-9-]+\s*$/gm)].map((m) => m[1]!);
  for (const name of staging) {
    let target = `${name} ${STAGING_VERSION}`;
    try {
      run('go', ['mod', 'download', `${name}@${STAGING_VERSION}`], { env, cwd: src });
    } catch {
      const stub = join(src, '_stubs', name);
      mkdirSync(stub, { recursive: true });
      writeFileSync(join(stub, 'go.mod'), `module ${name}\n\ngo 1.22\n`);
      target = `./_stubs/${name}`;
    }
    const escaped = name.replace(/[./]/g, '\\$&');
    text = text.replace(new RegExp(`^(\\s*)${escaped} => \\./staging/src/${escaped}\\s*$`, 'm'), `$1${name} => ${target}`);
  }
  if (/=> \.\/staging/.test(text)) throw new Error(`${goMod}: replaces into ./staging left`);
  writeFileSync(goMod, text);
}

/** A module of our own whose main is `main`, requiring `modules`, built static to `output`. */
function wrapperModule(name: string, main: string, modules: string[], output: string): void {
  const env = goEnv();
  const dir = join(cacheDir('wrappers'), name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.go'), main);
  writeFileSync(join(dir, 'go.mod'), `module smartmeter.rig/${name}\n\ngo 1.22\n`);
  for (const module of modules) run('go', ['get', module], { env, cwd: dir });
  run('go', ['mod', 'tidy'], { env, cwd: dir });
  run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', output, '.'], { env, cwd: dir });
}

const COREDNS_MAIN = `package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The plugins a cluster DNS needs, in CoreDNS's order; no forward: nothing leaves the node.
func main() {
	dnsserver.Directives = []string{"errors", "log", "health", "ready", "cache", "loadbalance", "kubernetes"}
	coremain.Run()
}
`;

const PAUSE_MAIN = `// The pod sandbox's process: holds the pod's namespaces, reaps orphans, exits on INT or TERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
`;
