/**
 * The one-node cluster's place on the host: a private network namespace and a private mount
 * namespace, both kept by bind-mounting their /proc files under the rig's directory, so every
 * daemon and every pod is entered into them with `nsenter` and nothing is shared with the host.
 *
 * - Network: the node's address 10.250.0.2 sits on one end of a veth pair whose two ends are both
 *   inside; the CNI bridge serves pods; the default route points at an address nobody holds, so no
 *   packet leaves. kube-proxy's iptables rules, ip_forward and bridge-nf-call-iptables exist only
 *   inside. The host reaches the API server through a forwarder on 127.0.0.1 that enters the
 *   namespace for each connection (socat + nsenter): no interface or rule is added on the host.
 * - Mounts: /var/lib, /var/log, /run/containerd, /tmp (the hostPath provisioner's volumes),
 *   /etc/hosts and /etc/resolv.conf are the rig's own directories and files inside; the /proc/sys
 *   files kubelet insists on writing are bind-mounted private copies, so the host's values stay.
 * - cgroups (v1, cgroupfs): daemons and the containerd shims in `pids:/smrig-k8s-<id>-sys`, pods
 *   under `/smrig-k8s-<id>` (<id>: a hash of the rig's directory), so `down` ends exactly what `up`
 *   started.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { RuntimeError } from '../errors.ts';
import { run, sleep, startDaemon, type ProcessRecord } from '../process.ts';

export const NODE_NAME = 'rig-node';
export const NODE_IP = '10.250.0.2';
export const POD_CIDR = '10.244.0.0/24';
export const SERVICE_CIDR = '10.96.0.0/16';
export const CLUSTER_DNS = '10.96.0.10';
/** The sysctl files kubelet writes at start (container manager and OOM settings). */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];

export interface NodeLayout {
  /** The service's directory (.rig/kubernetes). */
  dir: string;
  /** cgroups of the pods and of the daemons, named after the rig's directory (another checkout's rig keeps its own). */
  cgroupPods: string;
  cgroupDaemons: string;
  /** Namespace files: `<ns>/net`, `<ns>/mnt`. */
  ns: string;
  data: string;
  conf: string;
}

export function layout(dir: string): NodeLayout {
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 8);
  return { dir, ns: join(dir, 'ns'), data: join(dir, 'data'), conf: join(dir, 'conf'), cgroupPods: `smrig-k8s-${id}`, cgroupDaemons: `smrig-k8s-${id}-sys` };
}

/** `nsenter` arguments that enter both namespaces. */
export function enter(node: NodeLayout): string[] {
  return [`--net=${join(node.ns, 'net')}`, `--mount=${join(node.ns, 'mnt')}`, '--'];
}

const mounted = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === path);

/** Creates the namespaces (idempotent), the node's network and private mounts inside, and the cgroups. */
export function prepareNode(node: NodeLayout): void {
  for (const d of [node.ns, node.data, node.conf]) mkdirSync(d, { recursive: true, mode: 0o700 });
  // unshare --mount=FILE needs FILE on a private mount: the ns directory is bound onto itself.
  if (!mounted(node.ns)) {
    run('mount', ['--bind', node.ns, node.ns]);
    run('mount', ['--make-private', node.ns]);
  }
  const net = join(node.ns, 'net');
  const mnt = join(node.ns, 'mnt');
  if (!mounted(net)) {
    writeFileSync(net, '');
    run('unshare', [`--net=${net}`, 'true']);
  }
  if (!mounted(mnt)) {
    writeFileSync(mnt, '');
    run('unshare', [`--mount=${mnt}`, '--propagation', 'private', 'true']);
  }
  const d = node.data;
  for (const sub of ['varlog', 'varlib', 'run-containerd', 'tmp', 'sysctl']) mkdirSync(join(d, sub), { recursive: true });
  writeFileSync(join(d, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  writeFileSync(join(d, 'hosts'), `127.0.0.1 localhost\n${NODE_IP} ${NODE_NAME}\n`);
  const binds = KUBELET_SYSCTLS.map((f) => {
    const copy = join(d, 'sysctl', f.replaceAll('/', '_'));
    if (!existsSync(copy)) writeFileSync(copy, readFileSync(`/proc/sys/${f}`));
    return `mount --bind ${copy} /proc/sys/${f}`;
  });
  // The rig's root (.rig: binaries in cache/, this service's directory) must stay visible inside.
  const rig = dirname(node.dir);
  const hold = ['/mnt', '/srv', '/media', '/opt'].find((h) => existsSync(h) && !`${rig}/`.startsWith(`${h}/`));
  if (!hold) throw new RuntimeError(`no mount point to hold ${rig} inside the node's namespace (tried /mnt, /srv, /media, /opt)`);
  const script = [
    'set -e',
    'ip link set lo up',
    // Both ends inside: the node has a real address and a default route, and nothing is reachable beyond.
    'if ! ip link show node0 >/dev/null 2>&1; then',
    '  ip link add node0 type veth peer name node0p',
    '  ip link set node0p up',
    `  ip addr add ${NODE_IP}/24 dev node0`,
    '  ip link set node0 up',
    '  ip route add default via 10.250.0.1 dev node0',
    'fi',
    'sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1',
    `if [ ! -e ${hold}/.ready ]; then`,
    ...binds.map((b) => `  ${b}`),
    `  mount --bind ${join(d, 'resolv.conf')} /etc/resolv.conf`,
    `  mount --bind ${join(d, 'hosts')} /etc/hosts`,
    // The directories below replace whole trees; the rig's directory may be inside one of them
    // (a clone under /tmp): it is held on a tmpfs first, and bound back at its own path after.
    `  mount -t tmpfs smrig-hold ${hold}`,
    `  mkdir ${hold}/rig && mount --bind ${rig} ${hold}/rig`,
    `  over() { mkdir -p "$2"; mount --bind "${hold}/rig/$1" "$2"; case "${rig}/" in "$2"/*) mkdir -p "${rig}" && mount --bind "${hold}/rig" "${rig}";; esac; }`,
    ...([['varlog', '/var/log'], ['varlib', '/var/lib'], ['tmp', '/tmp'], ['run-containerd', '/run/containerd']] as const)
      .map(([source, target]) => `  over ${relative(rig, join(d, source))} ${target}`),
    `  touch ${hold}/.ready`,
    'fi',
  ].join('\n');
  run('nsenter', [...enter(node), 'sh', '-c', script]);
  for (const controller of cgroupControllers()) {
    mkdirSync(join('/sys/fs/cgroup', controller, node.cgroupPods), { recursive: true });
  }
  mkdirSync(join('/sys/fs/cgroup/pids', node.cgroupDaemons), { recursive: true });
  // A new cpuset cgroup has no CPUs or memory nodes until given its parent's.
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    writeFileSync(join('/sys/fs/cgroup/cpuset', node.cgroupPods, file), readFileSync(join('/sys/fs/cgroup/cpuset', file)));
  }
}

/**
 * The cgroup hierarchies mounted under /sys/fs/cgroup (cpu, memory, pids, …, systemd), and with
 * `unified` the hybrid layout's v2 tree too (where runc also makes the pods' cgroups).
 */
function cgroupControllers(unified = false): string[] {
  return readdirSync('/sys/fs/cgroup').filter((name) => {
    const path = join('/sys/fs/cgroup', name);
    return statSync(path).isDirectory() && existsSync(join(path, 'cgroup.procs')) && (unified || name !== 'unified');
  });
}

/**
 * Starts `executable` inside the node's namespaces, in the daemons' cgroup, detached with its
 * output in `log`. The record names the program itself (nsenter and the shell exec into it), so
 * `isRunning` checks that exact command line.
 */
export async function startInNode(node: NodeLayout, options: { name: string; executable: string; args: string[]; log: string }): Promise<ProcessRecord> {
  const record = startDaemon({
    name: options.name,
    executable: 'nsenter',
    args: [...enter(node), 'sh', '-c', `echo $$ > /sys/fs/cgroup/pids/${node.cgroupDaemons}/cgroup.procs && exec "$@"`, 'sh', options.executable, ...options.args],
    log: options.log,
  });
  // Until nsenter and sh have exec'ed, /proc/<pid>/cmdline is theirs.
  for (let i = 0; i < 100; i++) {
    const argv0 = readCmdline(record.pid)[0];
    if (argv0 === options.executable || argv0 === undefined) break;
    await sleep(20);
  }
  return { ...record, executable: options.executable, args: options.args };
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  } catch {
    return [];
  }
}

/** Pids in a cgroup of the pids hierarchy and all cgroups below it. */
function pidsUnder(cgroup: string): number[] {
  const root = join('/sys/fs/cgroup/pids', cgroup);
  if (!existsSync(root)) return [];
  const pids: number[] = [];
  const walk = (dir: string) => {
    for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  walk(root);
  return pids;
}

/**
 * After the daemons were stopped: kills what is left in the cluster's cgroups (pods' processes,
 * containerd shims), releases the namespaces (their mounts and interfaces go with them) and
 * removes the cgroups. Safe to run twice. Returns what could not be removed, for a warning.
 */
export async function teardownNode(node: NodeLayout): Promise<string[]> {
  for (let round = 0; round < 10; round++) {
    const left = [...pidsUnder(node.cgroupPods), ...pidsUnder(node.cgroupDaemons)];
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(300);
  }
  const problems: string[] = [];
  for (const file of [join(node.ns, 'net'), join(node.ns, 'mnt'), node.ns]) {
    if (!mounted(file)) continue;
    try {
      run('umount', [file]);
    } catch {
      run('umount', ['-l', file]);
    }
  }
  for (const controller of existsSync('/sys/fs/cgroup') ? cgroupControllers(true) : []) {
    for (const name of [node.cgroupPods, node.cgroupDaemons]) {
      const root = join('/sys/fs/cgroup', controller, name);
      if (existsSync(root) && !removeCgroupTree(root)) problems.push(root);
    }
  }
  return problems;
}

/** rmdir, deepest first; false when a cgroup still has processes. */
function removeCgroupTree(dir: string): boolean {
  let ok = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) ok = removeCgroupTree(join(dir, entry.name)) && ok;
  try {
    rmdirSync(dir);
  } catch {
    ok = false;
  }
  return ok;
}
