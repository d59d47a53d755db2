/**
 * The one-node cluster's programs, built from source through the Go module proxy (no release
 * binary can be downloaded here) into `.rig/cache`, once per pinned version:
 *
 * - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from
 *   one copy of the `k8s.io/kubernetes` module. `go install` refuses that module (its go.mod points
 *   the k8s.io/* staging modules at ./staging, which module zips leave out), so the copy's replaces
 *   are pointed at the published k8s.io/* v0.<minor>.<patch> modules; the two sample modules the
 *   proxy does not serve get empty stand-ins (no binary imports them); go.work and vendor/ are
 *   dropped. Static (CGO_ENABLED=0), as upstream ships them. The copy is patched first
 *   (SOURCE_PATCHES: the hostPath provisioner makes world-writable directories).
 * - etcd: a one-line main around `etcdmain.Main` (go install refuses etcd's replace directives).
 * - CoreDNS with only the plugins a cluster DNS needs: no `forward`, so no query can leave the node.
 * - pause: the pod sandbox's process, a small static program of our own (no registry for the
 *   upstream image).
 *
 * Cold, on two cores: about 10 minutes for the Kubernetes tree (kubelet first: the others reuse
 * its build cache), 1 to 2 for etcd and CoreDNS. The Kubernetes programs have a stamp each (version
 * and the patches that concern them), so a new patch rebuilds only the programs it changes.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goEnv } from '../go-env.ts';
import { run } from '../process.ts';
import { cacheDir } from '../state.ts';
import type { RigContext } from '../service.ts';

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
  /** The Kubernetes programs this call (re)built: a running cluster still runs the old ones. */
  rebuilt: KubernetesProgram[];
}

/**
 * A change to the rig's copy of the Kubernetes source: `find` (exact text, present once) becomes
 * `replace`. `programs` are those whose behaviour it changes: their stamp names the patch, so adding
 * or editing one rebuilds them and only them.
 */
interface SourcePatch {
  id: string;
  file: string;
  find: string;
  replace: string;
  programs: KubernetesProgram[];
}

export const SOURCE_PATCHES: readonly SourcePatch[] = [
  {
    // The in-tree hostPath provisioner (the rig's default StorageClass) makes each claim's
    // directory root:root 0750, so a pod running as another user cannot write its own volume.
    // 0777, as rancher's local-path-provisioner (kind, k3s) does; chmod after MkdirAll because
    // MkdirAll's mode goes through the umask. Only kube-controller-manager provisions (kubelet
    // links the package, but only to mount).
    id: 'hostpath-provisioner-0777',
    file: 'pkg/volume/hostpath/host_path.go',
    find: '\tif err := os.MkdirAll(pv.Spec.HostPath.Path, 0750); err != nil {\n\t\treturn nil, err\n\t}\n',
    replace: '\tif err := os.MkdirAll(pv.Spec.HostPath.Path, 0777); err != nil {\n\t\treturn nil, err\n\t}\n'
      + '\t// smartmeter rig: writable by the pod whatever user it runs as (MkdirAll is subject to the umask).\n'
      + '\tif err := os.Chmod(pv.Spec.HostPath.Path, 0777); err != nil {\n\t\treturn nil, err\n\t}\n',
    programs: ['kube-controller-manager'],
  },
];

/**
 * Every program of the cluster, under `<rig>/cache/kubernetes-bin/`, built when missing or when a
 * pinned version or a source patch changed (stamp files there). Returns their paths and which
 * Kubernetes programs were rebuilt. Throws the RuntimeError of `run` when a build fails, and an
 * Error when a source patch no longer applies (its text not found: another Kubernetes version).
 */
export function buildCluster(ctx: RigContext): ClusterBinaries {
  const bin = cacheDir('kubernetes-bin');
  const kubernetes = Object.fromEntries(KUBERNETES_PROGRAMS.map((p) => [p, join(bin, p)])) as Record<KubernetesProgram, string>;
  const binaries: ClusterBinaries = { kubernetes, etcd: join(bin, 'etcd'), coredns: join(bin, 'coredns'), pause: join(bin, 'pause'), rebuilt: [] };
  const stampFile = join(bin, 'kubernetes.stamp');
  const built = readKubernetesStamp(stampFile);
  const stale = KUBERNETES_PROGRAMS.filter((p) => !existsSync(kubernetes[p]) || built[p] !== programStamp(p));
  if (stale.length > 0) {
    buildKubernetes(ctx, kubernetes, stale, (program) => {
      built[program] = programStamp(program);
      writeFileSync(stampFile, `${KUBERNETES_PROGRAMS.filter((p) => built[p]).map((p) => `${p} ${built[p]}`).join('\n')}\n`);
      binaries.rebuilt.push(program);
    });
  }
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

/** What a program's line in kubernetes.stamp says when it is current: the version, then each patch that concerns it with a hash of its text. */
function programStamp(program: KubernetesProgram): string {
  const patches = SOURCE_PATCHES.filter((patch) => patch.programs.includes(program))
    .map((patch) => ` ${patch.id}:${createHash('sha256').update(`${patch.file}\0${patch.find}\0${patch.replace}`).digest('hex').slice(0, 12)}`);
  return `${KUBERNETES_VERSION}${patches.join('')}`;
}

/**
 * kubernetes.stamp as program → stamp: one `<program> <stamp>` line per program; the older
 * one-line form `<version> <program>,<program>…` (one stamp for all, before patches) counts as
 * each of those programs built at that version without patches.
 */
function readKubernetesStamp(file: string): Partial<Record<KubernetesProgram, string>> {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const legacy = lines.length === 1 ? /^(v\S+) ([a-z-]+(?:,[a-z-]+)*)$/.exec(lines[0]!) : null;
  if (legacy) return Object.fromEntries(legacy[2]!.split(',').map((p) => [p, legacy[1]!]));
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]));
}

/** Copies the module's source to `<rig>/cache/kubernetes-src/<version>`, applies SOURCE_PATCHES and builds `programs` (calling `done` after each). */
function buildKubernetes(ctx: RigContext, outputs: Record<KubernetesProgram, string>, programs: KubernetesProgram[], done: (program: KubernetesProgram) => void): void {
  const env = goEnv();
  const all = programs.length === KUBERNETES_PROGRAMS.length;
  ctx.log(`kubernetes: building ${programs.join(', ')} ${KUBERNETES_VERSION} from the Go module proxy (${all ? 'about 10 minutes the first time' : 'a few minutes from a warm build cache'})`);
  const module = JSON.parse(run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], { env, cwd: cacheDir('go') })) as { Dir: string };
  const src = join(cacheDir('kubernetes-src'), KUBERNETES_VERSION);
  rmSync(src, { recursive: true, force: true });
  cpSync(module.Dir, src, { recursive: true });
  run('chmod', ['-R', 'u+w', src]);
  pointStagingAtPublishedModules(src, env);
  applySourcePatches(src);
  const version = 'k8s.io/component-base/version';
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  // Without these /version says v0.0.0-master, and charts with a kubeVersion constraint fail.
  const ldflags = `-s -w -X ${version}.gitVersion=${KUBERNETES_VERSION} -X ${version}.gitMajor=${major} -X ${version}.gitMinor=${minor} -X ${version}.gitTreeState=clean -X ${version}.gitCommit=${KUBERNETES_VERSION}`;
  for (const program of programs) {
    const started = Date.now();
    run('go', ['build', '-mod=mod', '-trimpath', '-ldflags', ldflags, '-o', outputs[program], `./cmd/${program}`], { env, cwd: src });
    ctx.log(`kubernetes: ${program} built in ${Math.round((Date.now() - started) / 1000)} s`);
    done(program);
  }
}

/** Applies every SOURCE_PATCHES entry to the copy at `src`; throws when a patch's text is not found exactly once. */
function applySourcePatches(src: string): void {
  for (const patch of SOURCE_PATCHES) {
    const file = join(src, patch.file);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const count = text.split(patch.find).length - 1;
    if (count !== 1) {
      throw new Error(`kubernetes: source patch ${patch.id}: its text is found ${count} times in ${patch.file} of Kubernetes ${KUBERNETES_VERSION} (once expected); see SOURCE_PATCHES in rig/src/kubernetes/build.ts`);
    }
    writeFileSync(file, text.replace(patch.find, () => patch.replace));
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
