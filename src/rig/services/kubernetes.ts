/**
 * A real Kubernetes API server for the Helm tests: kube-apiserver and etcd built from source
 * through the Go module proxy (no release binary can be downloaded here), on 127.0.0.1.
 *
 * It is the control plane's API only: no scheduler, controllers or nodes, so objects are
 * admitted, validated and stored, but pods never run. `helm install --dry-run=server` and real
 * installs work; `helm install --wait` cannot finish.
 *
 * Building: `go install k8s.io/kubernetes/cmd/kube-apiserver@…` is refused (its go.mod points
 * the k8s.io/* staging modules at ./staging, which module zips leave out), so the module is
 * copied out of the cache and its replaces pointed at the published k8s.io/* v0.<minor>.<patch>
 * modules instead; go.work and vendor/ (also incomplete in the zip) are dropped. A few staging
 * modules are not published at that version; kube-apiserver imports none of them, so each gets
 * an empty stand-in module to let the module graph load. etcd: a one-line main around etcdmain.
 * First `up`: about 4 minutes for kube-apiserver and 1.5 for etcd on two cores, 2 GB of RAM.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.js';
import { isRunning, run, startDaemon, waitUntil, type ProcessRecord } from '../process.js';
import { cacheDir, serviceDir, type ServiceState } from '../state.js';
import type { RigContext, RigService } from '../service.js';

export const KUBERNETES_VERSION = 'v1.30.5';
const STAGING_VERSION = 'v0.30.5';
const ETCD_VERSION = 'v3.5.15';
const PORTS = { etcdClient: 23790, etcdPeer: 23800, apiserver: 16443 };

export const kubernetes: RigService = {
  name: 'kubernetes',
  describe: `kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} (built through the Go module proxy) on 127.0.0.1:${PORTS.apiserver}; API only, no nodes`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ go: 'golang-go', openssl: 'openssl' }, ctx.log);
    const binaries = build(ctx);
    const dir = serviceDir('kubernetes');
    const kubeconfig = join(dir, 'kubeconfig');
    const running = previous?.processes.filter(isRunning) ?? [];
    if (running.length === 2 && existsSync(kubeconfig)) return { processes: running, values: values(kubeconfig, binaries.kubectl) };

    const pki = makePki(dir);
    rmSync(join(dir, 'etcd-data'), { recursive: true, force: true });
    const etcd = ctx.track(startDaemon({
      name: 'etcd',
      executable: binaries.etcd,
      args: [
        '--name', 'rig', '--data-dir', join(dir, 'etcd-data'),
        '--listen-client-urls', `http://127.0.0.1:${PORTS.etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${PORTS.etcdClient}`,
        '--listen-peer-urls', `http://127.0.0.1:${PORTS.etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${PORTS.etcdPeer}`,
        '--initial-cluster', `rig=http://127.0.0.1:${PORTS.etcdPeer}`, '--listen-metrics-urls', 'http://127.0.0.1:23810',
      ],
      log: join(dir, 'etcd.log'),
    }));
    await waitUntil(async () => ((await fetch(`http://127.0.0.1:${PORTS.etcdClient}/health`).catch(() => undefined))?.ok ? true : undefined), {
      timeoutMs: 30_000, what: 'etcd', alive: () => isRunning(etcd), log: etcd.log,
    });
    const apiserver: ProcessRecord = ctx.track(startDaemon({
      name: 'kube-apiserver',
      executable: binaries.apiserver,
      args: [
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${PORTS.apiserver}`,
        // The "kubernetes" Service's endpoint would be a loopback address, which it refuses.
        '--endpoint-reconciler-type=none',
        `--etcd-servers=http://127.0.0.1:${PORTS.etcdClient}`,
        '--service-cluster-ip-range=10.96.0.0/12',
        `--tls-cert-file=${pki.cert}`, `--tls-private-key-file=${pki.key}`, `--client-ca-file=${pki.ca}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.saPublic}`, `--service-account-signing-key-file=${pki.saPrivate}`,
        `--token-auth-file=${pki.tokens}`, '--authorization-mode=Node,RBAC', '--allow-privileged=true',
        `--cert-dir=${join(dir, 'certs')}`,
      ],
      log: join(dir, 'kube-apiserver.log'),
    }));
    await waitUntil(async () => ((await ready(pki)) ? true : undefined), { timeoutMs: 90_000, what: 'kube-apiserver /readyz', alive: () => isRunning(apiserver), log: apiserver.log });
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: rig, cluster: {server: "https://127.0.0.1:${PORTS.apiserver}", certificate-authority: "${pki.ca}"}}]`,
      `users: [{name: admin, user: {token: "${pki.token}"}}]`,
      'contexts: [{name: rig, context: {cluster: rig, user: admin}}]', 'current-context: rig', '',
    ].join('\n'), { mode: 0o600 });
    return { processes: [etcd, apiserver], values: values(kubeconfig, binaries.kubectl) };
  },
};

/** GET /readyz over TLS with the rig's own CA. */
function ready(pki: Pki): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(`https://127.0.0.1:${PORTS.apiserver}/readyz`, { ca: readFileSync(pki.ca), headers: { authorization: `Bearer ${pki.token}` } }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(2000, () => request.destroy());
  });
}

function values(kubeconfig: string, kubectl: string): Record<string, string> {
  return { KUBECONFIG: kubeconfig, KUBECTL: kubectl, KUBE_API_URL: `https://127.0.0.1:${PORTS.apiserver}`, KUBERNETES_VERSION: KUBERNETES_VERSION.slice(1) };
}

/** The binaries, built once into the rig's Go cache: kube-apiserver and kubectl from one tree, and etcd. */
function build(ctx: RigContext): { apiserver: string; kubectl: string; etcd: string } {
  const go = cacheDir('go');
  const bin = join(go, 'bin');
  const env = { GOPATH: join(go, 'path'), GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local' };
  const built = { apiserver: join(bin, 'kube-apiserver'), kubectl: join(bin, 'kubectl'), etcd: join(bin, 'etcd') };
  const stamp = join(go, 'kubernetes.build');
  const wanted = `${KUBERNETES_VERSION} ${ETCD_VERSION} kubectl`;
  if (Object.values(built).every((f) => existsSync(f)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted) return built;
  mkdirSync(bin, { recursive: true });

  ctx.log(`kubernetes: building kube-apiserver and kubectl ${KUBERNETES_VERSION} from the Go module proxy (about 5 minutes the first time)`);
  const module = JSON.parse(run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], { env })) as { Dir: string };
  const src = join(cacheDir('kubernetes-src'), KUBERNETES_VERSION);
  rmSync(src, { recursive: true, force: true });
  cpSync(module.Dir, src, { recursive: true });
  run('chmod', ['-R', 'u+w', src]);
  pointStagingAtPublishedModules(src, env);
  const version = 'k8s.io/component-base/version';
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  // Without these /version says v0.0.0-master, and charts with a kubeVersion constraint fail.
  const ldflags = `-s -w -X ${version}.gitVersion=${KUBERNETES_VERSION} -X ${version}.gitMajor=${major} -X ${version}.gitMinor=${minor} -X ${version}.gitTreeState=clean -X ${version}.gitCommit=${KUBERNETES_VERSION}`;
  run('go', ['build', '-mod=mod', '-ldflags', ldflags, '-o', built.apiserver, './cmd/kube-apiserver'], { env, cwd: src });
  run('go', ['build', '-mod=mod', '-ldflags', ldflags, '-o', built.kubectl, './cmd/kubectl'], { env, cwd: src });

  ctx.log(`kubernetes: building etcd ${ETCD_VERSION}`);
  const etcdSrc = cacheDir('etcd-src');
  writeFileSync(join(etcdSrc, 'main.go'), 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n');
  writeFileSync(join(etcdSrc, 'go.mod'), 'module smartmeter.rig/etcd\n\ngo 1.22\n');
  run('go', ['get', `go.etcd.io/etcd/server/v3@${ETCD_VERSION}`], { env, cwd: etcdSrc });
  run('go', ['mod', 'tidy'], { env, cwd: etcdSrc });
  run('go', ['build', '-ldflags', '-s -w', '-o', built.etcd, '.'], { env, cwd: etcdSrc });
  writeFileSync(stamp, `${wanted}\n`);
  return built;
}

/** `k8s.io/X => ./staging/src/k8s.io/X` becomes `k8s.io/X => k8s.io/X <staging version>`. */
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
      // Not published at this version (e.g. k8s.io/endpointslice before 0.31): an empty stand-in.
      const stub = join(src, '_stubs', name);
      mkdirSync(stub, { recursive: true });
      writeFileSync(join(stub, 'go.mod'), `module ${name}\n\ngo 1.22\n`);
      target = `./_stubs/${name}`;
    }
    text = text.replace(new RegExp(`^(\\s*)${name.replace(/[./]/g, '\\$&')} => \\./staging/src/${name.replace(/[./]/g, '\\$&')}\\s*$`, 'm'), `$1${name} => ${target}`);
  }
  if (/staging/.test(text)) throw new Error(`${goMod}: replaces into ./staging left`);
  writeFileSync(goMod, text);
}

interface Pki {
  ca: string;
  cert: string;
  key: string;
  saPublic: string;
  saPrivate: string;
  tokens: string;
  token: string;
}

/** A CA, a serving certificate for 127.0.0.1, the service-account key pair and an admin token. */
function makePki(dir: string): Pki {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const file = (name: string) => join(pki, name);
  run('openssl', ['genrsa', '-out', file('sa.key'), '2048']);
  run('openssl', ['rsa', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub')]);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '30', '-subj', '/CN=smartmeter rig kubernetes CA']);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('apiserver.key'), '-out', file('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', file('apiserver.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('apiserver.crt'), '-days', '30', '-extfile', file('ext.cnf')]);
  const token = randomBytes(24).toString('hex');
  writeFileSync(file('tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
  return { ca: file('ca.crt'), cert: file('apiserver.crt'), key: file('apiserver.key'), saPublic: file('sa.pub'), saPrivate: file('sa.key'), tokens: file('tokens.csv'), token };
}
