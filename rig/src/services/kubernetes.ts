/**
 * A real one-node Kubernetes for the tests: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, containerd (Debian's, with the rig's own root, state and socket), kubelet and
 * kube-proxy, all inside the node's private network and mount namespaces (../kubernetes/node.ts);
 * CNI bridge + host-local + loopback from Debian's containernetworking-plugins; CoreDNS as the
 * cluster DNS; a default StorageClass served by the controller manager's hostPath provisioner
 * (volumes under the rig's directory; world-writable, see ../kubernetes/build.ts). The rig's offline
 * images (its Docker engine's) are imported into containerd, and `KUBERNETES_PROPERTIES_DIR` points
 * `smartmeter combine`/`up` at them. The CRDs of Prometheus Operator, Istio and KEDA are installed
 * (../kubernetes/crds.ts); `KUBERNETES_CRDS` lists their names, comma-separated.
 *
 * From the host, the API server is https://127.0.0.1:16443, through a socat forwarder that enters
 * the node's network namespace for each connection; `rig env` exports KUBECONFIG for it.
 *
 * Ready means: the node is Ready, CoreDNS is ready, and a pod resolves a Service name through it
 * and connects to that Service (kube-proxy's rules).
 *
 * Needs the rig's `docker` (its images) and `telegraf` (the binary of the Telegraf image) services.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { RuntimeError } from '../errors.ts';
import { ensureDebianPackages } from '../install.ts';
import { ensurePortFree, isRunning, run, startDaemon, waitUntil, type ProcessRecord } from '../process.ts';
import { readState, serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';
import { TELEGRAF_VERSION } from './telegraf.ts';
import { buildCluster, COREDNS_VERSION, KUBERNETES_VERSION, type ClusterBinaries } from '../kubernetes/build.ts';
import { installCrds } from '../kubernetes/crds.ts';
import { CLUSTER_DNS, layout, NODE_IP, NODE_NAME, POD_CIDR, prepareNode, SERVICE_CIDR, startInNode, teardownNode, type NodeLayout } from '../kubernetes/node.ts';

export { KUBERNETES_VERSION } from '../kubernetes/build.ts';
/** The API server as the host sees it (the forwarder). */
export const API_PORT = 16443;
/** Inside the node's namespace nothing else listens, so the usual ports are free. */
const PORTS = { etcd: 2379, etcdPeer: 2380, apiserver: 6443 };
const PAUSE_IMAGE = 'smartmeter-rig/pause:1';
const COREDNS_IMAGE = `smartmeter-rig/coredns:${COREDNS_VERSION.slice(1)}`;
const IMAGES_DIR = join(REPO_ROOT, 'rig', 'images');
/** Components and the identities they use (token authentication; users as Kubernetes' RBAC defaults name them). */
const IDENTITIES = {
  admin: { user: 'admin', groups: 'system:masters' },
  kubelet: { user: `system:node:${NODE_NAME}`, groups: 'system:nodes' },
  proxy: { user: 'system:kube-proxy', groups: '' },
  scheduler: { user: 'system:kube-scheduler', groups: '' },
  controller: { user: 'system:kube-controller-manager', groups: '' },
} as const;
type Identity = keyof typeof IDENTITIES;

export const kubernetes: RigService = {
  name: 'kubernetes',
  describe: `a one-node Kubernetes ${KUBERNETES_VERSION} (containerd, CoreDNS, hostPath volumes, Prometheus Operator/Istio/KEDA CRDs) in private namespaces; API on 127.0.0.1:${API_PORT}`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({
      go: 'golang-go', openssl: 'openssl', containerd: 'containerd', runc: 'runc', socat: 'socat', iptables: 'iptables', conntrack: 'conntrack', nsenter: 'util-linux', ip: 'iproute2',
    }, ctx.log);
    if (!existsSync('/usr/lib/cni/bridge')) ensureDebianPackages({ '/usr/lib/cni/bridge': 'containernetworking-plugins' }, ctx.log);
    const docker = readState('docker');
    if (!docker || !docker.processes.every(isRunning)) throw new RuntimeError('kubernetes: the rig\'s docker service must run first (its images are imported): npm run rig -- up docker');
    const telegraf = readState('telegraf');
    if (!telegraf?.values.TELEGRAF) throw new RuntimeError('kubernetes: the rig\'s telegraf service must be built first (the Telegraf image): npm run rig -- up telegraf');

    const binaries = buildCluster(ctx);
    // Hashing the Telegraf binary reads about 100 MB: once per up.
    const telegrafImage = telegrafImageName(telegraf.values.TELEGRAF);
    const dir = serviceDir('kubernetes');
    const node = layout(dir);
    const kubeconfig = join(dir, 'kubeconfig');
    const running = previous?.processes.filter(isRunning) ?? [];
    if (previous && running.length === previous.processes.length && existsSync(kubeconfig)) {
      if (binaries.rebuilt.length) ctx.log(`kubernetes: ${binaries.rebuilt.join(', ')} rebuilt; the running cluster keeps the old binaries until \`rig down kubernetes\` and \`up\` again`);
      importImages(ctx, node, binaries, docker.values, { binary: telegraf.values.TELEGRAF, image: telegrafImage });
      const crds = installCrds(ctx, (args) => run(binaries.kubernetes.kubectl, args, { env: { KUBECONFIG: kubeconfig } }));
      return { processes: running, values: { ...previous.values, KUBERNETES_PROPERTIES_DIR: writeProperties(dir, docker.values, telegrafImage), KUBERNETES_CRDS: crds.join(',') } };
    }
    // Something of a previous cluster is left (a crash, a failed up): start over from a clean node.
    for (const record of [...(previous?.processes ?? [])].reverse()) if (isRunning(record)) process.kill(record.pid, 'SIGKILL');
    const left = await teardownNode(node);
    if (left.length) throw new RuntimeError(`kubernetes: processes of an earlier cluster are still in ${left.join(', ')}: stop them first`);
    rmSync(node.data, { recursive: true, force: true });
    await ensurePortFree(API_PORT, 'kubernetes API forwarder');

    const started = Date.now();
    let pki: Pki;
    try {
      prepareNode(node);
      pki = makePki(dir);
      writeComponentConfigs(node, pki);
    } catch (error) {
      await teardownNode(node); // nothing was started yet, so the rig's own clean-up would not run
      throw error;
    }
    const processes: ProcessRecord[] = [];
    const start = async (name: string, executable: string, args: string[]) => {
      const record = ctx.track(await startInNode(node, { name, executable, args, log: join(dir, `${name}.log`) }));
      processes.push(record);
      return record;
    };
    const c = node.conf;
    await start('etcd', binaries.etcd, [
      '--name', 'rig', '--data-dir', join(node.data, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${PORTS.etcd}`, '--advertise-client-urls', `http://127.0.0.1:${PORTS.etcd}`,
      '--listen-peer-urls', `http://127.0.0.1:${PORTS.etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${PORTS.etcdPeer}`,
      '--initial-cluster', `rig=http://127.0.0.1:${PORTS.etcdPeer}`, '--listen-metrics-urls', 'http://127.0.0.1:2381',
      // A test cluster: losing the last writes on a host crash is fine, waiting on fsync is not.
      '--unsafe-no-fsync',
    ]);
    const containerd = await start('containerd', '/usr/bin/containerd', ['--config', join(c, 'containerd.toml')]);
    const apiserver = await start('kube-apiserver', binaries.kubernetes['kube-apiserver'], [
      '--bind-address=0.0.0.0', `--advertise-address=${NODE_IP}`, `--secure-port=${PORTS.apiserver}`,
      `--etcd-servers=http://127.0.0.1:${PORTS.etcd}`, `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--tls-cert-file=${pki.cert}`, `--tls-private-key-file=${pki.key}`, `--client-ca-file=${pki.ca}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublic}`, `--service-account-signing-key-file=${pki.saPrivate}`,
      `--token-auth-file=${pki.tokenFile}`, '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
      // By address: looking the node's name up would send a DNS query toward the host's resolver.
      '--kubelet-preferred-address-types=InternalIP', `--kubelet-client-certificate=${pki.kubeletClientCert}`, `--kubelet-client-key=${pki.kubeletClientKey}`, '--profiling=false', `--cert-dir=${join(dir, 'certs')}`,
    ]);
    const forwarder = ctx.track(startDaemon({
      name: 'api-forwarder',
      executable: 'socat',
      args: [`TCP-LISTEN:${API_PORT},bind=127.0.0.1,reuseaddr,fork`, `EXEC:nsenter --net=${join(node.ns, 'net')} socat STDIO TCP\\:${NODE_IP}\\:${PORTS.apiserver}`],
      log: join(dir, 'api-forwarder.log'),
    }));
    processes.push(forwarder);
    await waitUntil(() => (run('ctr', ['--address', join(node.data, 'containerd', 'containerd.sock'), 'version']) ? true : undefined), {
      timeoutMs: 30_000, what: 'containerd', alive: () => isRunning(containerd), log: containerd.log,
    });
    importImages(ctx, node, binaries, docker.values, { binary: telegraf.values.TELEGRAF, image: telegrafImage });
    await waitUntil(async () => ((await ready(pki)) ? true : undefined), { timeoutMs: 120_000, what: 'kube-apiserver /readyz', alive: () => isRunning(apiserver) && isRunning(forwarder), log: apiserver.log });
    writeFileSync(kubeconfig, kubeconfigText(`https://127.0.0.1:${API_PORT}`, pki, 'admin'), { mode: 0o600 });
    const kubectl = (args: string[], input?: string) => run(binaries.kubernetes.kubectl, args, { env: { KUBECONFIG: kubeconfig }, input });

    const kubeconfigIn = (who: Identity) => join(c, `${who}.kubeconfig`);
    await start('kube-controller-manager', binaries.kubernetes['kube-controller-manager'], [
      `--kubeconfig=${kubeconfigIn('controller')}`, `--authentication-kubeconfig=${kubeconfigIn('controller')}`, `--authorization-kubeconfig=${kubeconfigIn('controller')}`,
      `--service-account-private-key-file=${pki.saPrivate}`, `--root-ca-file=${pki.ca}`, '--use-service-account-credentials=true',
      '--leader-elect=false', '--bind-address=127.0.0.1', '--allocate-node-cidrs=false',
      // Claims of the default StorageClass get a directory under /tmp (inside: the rig's data/tmp).
      '--enable-hostpath-provisioner=true',
    ]);
    await start('kube-scheduler', binaries.kubernetes['kube-scheduler'], [
      `--kubeconfig=${kubeconfigIn('scheduler')}`, `--authentication-kubeconfig=${kubeconfigIn('scheduler')}`, `--authorization-kubeconfig=${kubeconfigIn('scheduler')}`,
      '--leader-elect=false', '--bind-address=127.0.0.1',
    ]);
    const kubelet = await start('kubelet', binaries.kubernetes.kubelet, [
      `--config=${join(c, 'kubelet.yaml')}`, `--kubeconfig=${kubeconfigIn('kubelet')}`, `--root-dir=${join(node.data, 'kubelet')}`,
      `--hostname-override=${NODE_NAME}`, `--node-ip=${NODE_IP}`, '-v=1',
    ]);
    await start('kube-proxy', binaries.kubernetes['kube-proxy'], [`--config=${join(c, 'kube-proxy.yaml')}`]);
    // Only the API server is needed for these: meanwhile the kubelet registers the node.
    const crds = installCrds(ctx, (args) => kubectl(args));
    await waitUntil(() => (/True/.test(kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) ? true : undefined), {
      timeoutMs: 120_000, what: 'node Ready', alive: () => isRunning(kubelet), log: kubelet.log,
    });
    kubectl(['apply', '-f', '-'], addons());
    await waitUntil(() => (kubectl(['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.readyReplicas}']).trim() === '1' ? true : undefined), {
      timeoutMs: 120_000, what: 'CoreDNS ready', log: kubelet.log,
    });
    await dnsAndServiceCheck(kubectl, docker.values.DOCKER_BASE_IMAGE!);
    ctx.log(`kubernetes: node Ready, CoreDNS answering, a pod reached a Service by name, ${((Date.now() - started) / 1000).toFixed(1)} s after start`);
    return {
      processes,
      values: {
        KUBECONFIG: kubeconfig,
        KUBECTL: binaries.kubernetes.kubectl,
        KUBE_API_URL: `https://127.0.0.1:${API_PORT}`,
        KUBERNETES_VERSION: KUBERNETES_VERSION.slice(1),
        KUBERNETES_PROPERTIES_DIR: writeProperties(dir, docker.values, telegrafImage),
        KUBERNETES_CRDS: crds.join(','),
        KUBERNETES_NODE_NS: node.ns,
      },
    };
  },


  async afterStop(ctx: RigContext): Promise<void> {
    const left = await teardownNode(layout(serviceDir('kubernetes')));
    if (left.length) ctx.log(`kubernetes: warning: cgroups still in use: ${left.join(', ')}`);
  },
};

/** A throw-away pod: resolves the API's Service name through CoreDNS and opens a TCP connection to it. */
async function dnsAndServiceCheck(kubectl: (args: string[], input?: string) => string, image: string): Promise<void> {
  const name = 'rig-dns-check';
  kubectl(['-n', 'default', 'delete', 'pod', name, '--ignore-not-found', '--wait=true']);
  kubectl(['-n', 'default', 'run', name, `--image=${image}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--',
    'bash', '-c', 'getent hosts kubernetes.default.svc.cluster.local && exec 3<>/dev/tcp/kubernetes.default/443 && echo connected']);
  try {
    await waitUntil(() => {
      const phase = kubectl(['-n', 'default', 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']).trim();
      if (phase === 'Failed') throw new RuntimeError(`the DNS check pod failed: ${kubectl(['-n', 'default', 'logs', name])}`);
      return phase === 'Succeeded' ? true : undefined;
    }, { timeoutMs: 90_000, what: 'a pod resolving and reaching the kubernetes Service' });
  } finally {
    kubectl(['-n', 'default', 'delete', 'pod', name, '--ignore-not-found', '--wait=false']);
  }
}

/**
 * The rig's images in the cluster's containerd: `docker save` | `ctr images import`, once per
 * image reference. The Telegraf, pause and CoreDNS images are built into the Docker engine first
 * (offline: a base image plus a binary).
 */
function importImages(ctx: RigContext, node: NodeLayout, binaries: ClusterBinaries, docker: Record<string, string>, telegraf: { binary: string; image: string }): void {
  const env = { DOCKER_HOST: docker.DOCKER_HOST };
  const has = (image: string) => {
    try {
      run('docker', ['image', 'inspect', image], { env });
      return true;
    } catch {
      return false;
    }
  };
  const fromBinary = (image: string, binary: string, entrypoint: string) => {
    if (has(image)) return;
    ctx.log(`kubernetes: building ${image}`);
    const context = join(serviceDir('kubernetes'), 'image-context');
    rmSync(context, { recursive: true, force: true });
    mkdirSync(join(context, 'etc'), { recursive: true });
    cpSync(binary, join(context, entrypoint));
    writeFileSync(join(context, 'etc', 'passwd'), `root:x:0:0:root:/:/${entrypoint}\n`);
    run('sh', ['-c', `tar -C "$1" -c . | docker import -c 'ENTRYPOINT ["/${entrypoint}"]' - "$2"`, 'sh', context, image], { env });
    rmSync(context, { recursive: true, force: true });
  };
  fromBinary(PAUSE_IMAGE, binaries.pause, 'pause');
  fromBinary(COREDNS_IMAGE, binaries.coredns, 'coredns');
  const telegrafImage = telegraf.image;
  if (!has(telegrafImage)) {
    ctx.log(`kubernetes: building ${telegrafImage}`);
    const context = join(serviceDir('kubernetes'), 'telegraf-context');
    rmSync(context, { recursive: true, force: true });
    mkdirSync(context, { recursive: true });
    cpSync(join(IMAGES_DIR, 'telegraf', 'Dockerfile'), join(context, 'Dockerfile'));
    cpSync(telegraf.binary, join(context, 'telegraf'));
    run('docker', ['build', '-q', '--network', 'none', '-t', telegrafImage, '--build-arg', `BASE_IMAGE=${docker.DOCKER_BASE_IMAGE}`, context], { env: { ...env, DOCKER_BUILDKIT: '0' } });
    rmSync(context, { recursive: true, force: true });
  }
  const socket = join(node.data, 'containerd', 'containerd.sock');
  const present = new Set(run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'list', '-q']).split('\n'));
  const wanted = [PAUSE_IMAGE, COREDNS_IMAGE, telegrafImage, docker.DOCKER_BASE_IMAGE!, docker.DOCKER_NATS_IMAGE!, docker.DOCKER_CASSANDRA_IMAGE!,
    docker.DOCKER_GRAPHITE_IMAGE!, docker.DOCKER_PROMETHEUS_IMAGE!, docker.DOCKER_SMARTMETER_IMAGE!];
  for (const image of wanted) {
    if (present.has(`docker.io/${image}`)) continue;
    const started = Date.now();
    run('sh', ['-c', `docker save "$1" | ctr --address "$2" -n k8s.io images import -`, 'sh', image, socket], { env });
    ctx.log(`kubernetes: imported ${image} into containerd in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** Tagged by a hash of the binary, so a rebuilt Telegraf (other version or plugins) makes a new image. */
function telegrafImageName(binary: string): string {
  return `smartmeter-rig/telegraf:${TELEGRAF_VERSION.slice(1)}-${createHash('sha256').update(readFileSync(binary)).digest('hex').slice(0, 10)}`;
}

/** A -p directory for `smartmeter combine`/`up`: the Docker rig's image choices, plus Telegraf's image. */
function writeProperties(dir: string, docker: Record<string, string>, telegrafImage: string): string {
  const properties = join(dir, 'properties');
  rmSync(properties, { recursive: true, force: true });
  cpSync(docker.DOCKER_PROPERTIES_DIR!, properties, { recursive: true });
  const [repository, tag] = telegrafImage.split(':');
  const yml = join(properties, 'properties.yml');
  writeFileSync(yml, `${readFileSync(yml, 'utf8')}docker-telegraf-repository: ${repository}\ndocker-telegraf-tag: "${tag}"\n`);
  // Debian's carbon (the rig's Graphite image) keeps its Whisper files there: the chart's volume goes there.
  const application = join(properties, 'configuration-application.properties');
  writeFileSync(application, `${existsSync(application) ? readFileSync(application, 'utf8') : ''}METRICS_GRAPHITE_STORAGE_DIR=/var/lib/graphite\n`);
  return properties;
}

/** GET /readyz through the forwarder, with the rig's CA and the admin token. */
function ready(pki: Pki): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(`https://127.0.0.1:${API_PORT}/readyz`, { ca: readFileSync(pki.ca), headers: { authorization: `Bearer ${pki.tokens.admin}` } }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(2000, () => request.destroy());
  });
}

interface Pki {
  ca: string;
  cert: string;
  key: string;
  saPublic: string;
  saPrivate: string;
  /** The token file the API server reads. */
  tokenFile: string;
  /** The API server's certificate toward kubelets. */
  kubeletClientCert: string;
  kubeletClientKey: string;
  tokens: Record<Identity, string>;
}

/** A CA, the API server's serving certificate (host and in-cluster names), the service-account key pair, and one token per identity (file mode 0600). */
function makePki(dir: string): Pki {
  const pki = join(dir, 'pki');
  rmSync(pki, { recursive: true, force: true });
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const file = (name: string) => join(pki, name);
  run('openssl', ['genrsa', '-out', file('sa.key'), '2048']);
  run('openssl', ['rsa', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub')]);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '30', '-subj', '/CN=smartmeter rig kubernetes CA']);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('apiserver.key'), '-out', file('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'].map((n) => `DNS:${n}`);
  writeFileSync(file('ext.cnf'), `subjectAltName=IP:127.0.0.1,IP:${NODE_IP},IP:10.96.0.1,${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['x509', '-req', '-in', file('apiserver.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('apiserver.crt'), '-days', '30', '-extfile', file('ext.cnf')]);
  // The API server's client certificate toward kubelets (exec, logs, port-forward): the only
  // client kubelet accepts, so a pod cannot use kubelet's API to reach into other pods.
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('kubelet-client.key'), '-out', file('kubelet-client.csr'), '-subj', '/CN=kube-apiserver-kubelet-client/O=system:masters']);
  writeFileSync(file('client.cnf'), 'extendedKeyUsage=clientAuth\n');
  run('openssl', ['x509', '-req', '-in', file('kubelet-client.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('kubelet-client.crt'), '-days', '30', '-extfile', file('client.cnf')]);
  const tokens = Object.fromEntries(Object.keys(IDENTITIES).map((who) => [who, randomBytes(24).toString('hex')])) as Record<Identity, string>;
  const lines = (Object.entries(IDENTITIES) as [Identity, { user: string; groups: string }][]).map(([who, { user, groups }]) => `${tokens[who]},${user},${user}${groups ? `,"${groups}"` : ''}`);
  writeFileSync(file('tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
  return {
    ca: file('ca.crt'), cert: file('apiserver.crt'), key: file('apiserver.key'), saPublic: file('sa.pub'), saPrivate: file('sa.key'), tokenFile: file('tokens.csv'), tokens,
    kubeletClientCert: file('kubelet-client.crt'), kubeletClientKey: file('kubelet-client.key'),
  };
}

function kubeconfigText(server: string, pki: Pki, who: Identity): string {
  return [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: rig, cluster: {server: "${server}", certificate-authority: "${pki.ca}"}}]`,
    `users: [{name: ${who}, user: {token: "${pki.tokens[who]}"}}]`,
    `contexts: [{name: rig, context: {cluster: rig, user: ${who}}}]`, 'current-context: rig', '',
  ].join('\n');
}

/** kubeconfigs of the components (inside the node, by the node's address), containerd, CNI, kubelet and kube-proxy configurations. */
function writeComponentConfigs(node: NodeLayout, pki: Pki): void {
  const c = node.conf;
  const d = node.data;
  mkdirSync(join(c, 'cni'), { recursive: true });
  for (const who of Object.keys(IDENTITIES) as Identity[]) {
    writeFileSync(join(c, `${who}.kubeconfig`), kubeconfigText(`https://${NODE_IP}:${PORTS.apiserver}`, pki, who), { mode: 0o600 });
  }
  // Pods with dnsPolicy Default (CoreDNS itself) get this: nothing listens there, nothing leaves.
  writeFileSync(join(c, 'resolv.conf'), `nameserver ${NODE_IP}\n`);
  const containerdDir = join(d, 'containerd');
  writeFileSync(join(c, 'containerd.toml'), `version = 2
root = "${containerdDir}/root"
state = "${containerdDir}/state"
[grpc]
  address = "${containerdDir}/containerd.sock"
[ttrpc]
  address = "${containerdDir}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${containerdDir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/${PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  # root here lacks CAP_SYS_RESOURCE: runc could not lower oom_score_adj below its own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        Root = "${d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${c}/cni"
`);
  writeFileSync(join(c, 'cni', '10-rig.conflist'), `${JSON.stringify({
    cniVersion: '0.4.0', name: 'rig',
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', dataDir: join(d, 'cni-ipam'), ranges: [[{ subnet: POD_CIDR, gateway: POD_CIDR.replace(/0\/24$/, '1') }]], routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'loopback' },
    ],
  }, null, 2)}\n`);
  writeFileSync(join(c, 'kubelet.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Only clients with a certificate of the rig's CA (the API server's exec, logs and port-forward);
# pods have tokens, not certificates, so they are refused.
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: ${pki.ca}}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /${node.cgroupPods}
cgroupsPerQOS: true
# This machine has cgroup v1 (deprecated upstream, still supported when asked for).
failCgroupV1: false
clusterDNS: [${CLUSTER_DNS}]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://${containerdDir}/containerd.sock
failSwapOn: false
resolvConf: ${join(c, 'resolv.conf')}
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
serializeImagePulls: false
# Imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
`);
  writeFileSync(join(c, 'kube-proxy.yaml'), `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${join(c, 'proxy.kubeconfig')}}
mode: iptables
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Zero: leave the kernel's conntrack settings alone (they are not the namespace's to change).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`);
}

/** CoreDNS (no forward plugin) and the default StorageClass, as one manifest. */
function addons(): string {
  return `apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        cache 30
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      priorityClassName: system-cluster-critical
      containers:
      - name: coredns
        image: ${COREDNS_IMAGE}
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {containerPort: 53, name: dns, protocol: UDP}
        - {containerPort: 53, name: dns-tcp, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}, initialDelaySeconds: 10}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes:
      - name: config
        configMap: {name: coredns, items: [{key: Corefile, path: Corefile}]}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: ${CLUSTER_DNS}
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: rig-hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
`;
}

