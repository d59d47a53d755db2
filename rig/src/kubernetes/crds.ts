/**
 * CustomResourceDefinitions of the Kubernetes ecosystem on the rig's API server, so that charts
 * which render a ServiceMonitor, a PeerAuthentication or a ScaledObject can be applied (and
 * validated by the server, `--dry-run=server`) as on a cluster that runs those operators. Only
 * the definitions: no operator runs, so nothing acts on the objects.
 *
 * The YAML files come from the projects' own Go modules through the Go module proxy (no GitHub
 * here), are copied once per pinned version into `<rig>/cache/crds/<project>-<version>/`, and are
 * applied server-side on every `up` (a no-op when nothing changed).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadAll } from 'js-yaml';
import { goEnv } from '../go-env.ts';
import { run } from '../process.ts';
import { cacheDir } from '../state.ts';
import type { RigContext } from '../service.ts';

export interface CrdSource {
  /** Short name, the first part of the cache directory's name. */
  project: string;
  /** The Go module the files are taken from. */
  module: string;
  /** The module version, as the proxy serves it. */
  version: string;
  /** Files, or directories whose *.yaml files are all taken, inside the module. */
  paths: string[];
}

export const CRD_SOURCES: readonly CrdSource[] = [
  // The whole set of the operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule, Probe,
  // ScrapeConfig, Prometheus, Alertmanager…). v0.94.1: the newest release the proxy serves
  // (v0.95.0 to v0.95.2 of this module answer 403).
  { project: 'prometheus-operator', module: 'github.com/prometheus-operator/prometheus-operator', version: 'v0.94.1', paths: ['example/prometheus-operator-crd'] },
  // From istio.io/istio (not istio.io/api): the file its base chart installs, every Istio CRD
  // (PeerAuthentication, DestinationRule, AuthorizationPolicy, VirtualService…; v1 and v1beta1
  // as they come). Istio's release tags have no "v", so the proxy only has pseudo-versions of
  // the main branch: this one is 1.31-dev of 2026-08-27 (its VERSION file says 1.31).
  { project: 'istio', module: 'istio.io/istio', version: 'v0.0.0-20260827124520-eed52ebb66ad', paths: ['manifests/charts/base/files/crd-all.gen.yaml'] },
  // keda.sh (ScaledObject, ScaledJob, TriggerAuthentication, ClusterTriggerAuthentication) and
  // eventing.keda.sh (CloudEventSource, ClusterCloudEventSource).
  { project: 'keda', module: 'github.com/kedacore/keda/v2', version: 'v2.21.0', paths: ['config/crd/bases'] },
];

/** One source's extracted files. */
export interface CrdSet {
  source: CrdSource;
  /** `<rig>/cache/crds/<project>-<version>`, holding the YAML files and crd-names.txt. */
  dir: string;
  /** metadata.name of every CustomResourceDefinition in the files, in file order. */
  names: string[];
}

/** Written last into an extracted directory: the CRD names, one a line. Its presence means complete. */
const NAMES_FILE = 'crd-names.txt';

/**
 * The CRD files of every source in CRD_SOURCES, extracted when missing: `go mod download -json
 * module@version` (the rig's Go env), then the YAML files under `paths` are copied into a fresh
 * `<project>-<version>` directory (built beside it and renamed, so a failed copy leaves nothing
 * that looks complete) with crd-names.txt. Later calls only read crd-names.txt.
 *
 * Throws when the proxy refuses the version (go's error, e.g. 403), when a path is missing in the
 * module (a layout change in another version), or when a file holds no CustomResourceDefinition.
 */
export function crdSets(ctx: RigContext): CrdSet[] {
  const root = cacheDir('crds');
  return CRD_SOURCES.map((source) => {
    const dir = join(root, `${source.project}-${source.version}`);
    const namesFile = join(dir, NAMES_FILE);
    if (existsSync(namesFile)) return { source, dir, names: readFileSync(namesFile, 'utf8').split('\n').filter(Boolean) };
    ctx.log(`kubernetes: extracting the CRDs of ${source.module}@${source.version}`);
    const info = JSON.parse(run('go', ['mod', 'download', '-json', `${source.module}@${source.version}`], { env: goEnv(), cwd: root })) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download ${source.module}@${source.version}: ${info.Error ?? 'no directory'}`);
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const names: string[] = [];
    for (const path of source.paths) {
      const from = join(info.Dir, path);
      if (!existsSync(from)) throw new Error(`${source.module}@${source.version} has no ${path}`);
      const files = statSync(from).isDirectory() ? readdirSync(from).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(from, f)) : [from];
      for (const file of files) {
        const found = crdNames(readFileSync(file, 'utf8'));
        if (found.length === 0) throw new Error(`${file}: no CustomResourceDefinition in it`);
        names.push(...found);
        cpSync(file, join(partial, basename(file)));
      }
    }
    writeFileSync(join(partial, NAMES_FILE), `${names.join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return { source, dir, names };
  });
}

/** metadata.name of the CustomResourceDefinitions among the YAML documents of `text`. */
function crdNames(text: string): string[] {
  return loadAll(text)
    .filter((doc): doc is { kind: string; metadata: { name: string } } => typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === 'CustomResourceDefinition')
    .map((doc) => doc.metadata.name);
}

/**
 * Applies every CRD of CRD_SOURCES to the cluster behind `kubectl` and waits until each is
 * Established (the API server serves its resources). Idempotent: server-side apply with the field
 * manager `smartmeter-rig` (which takes over fields another manager set), so a CRD already there
 * is updated in place and a running rig can run it again; server-side also because several
 * definitions are too large for client-side apply's last-applied annotation.
 *
 * `kubectl(args)` runs the rig's kubectl against the cluster and throws on failure. Returns the
 * CRD names installed, in CRD_SOURCES order. Throws what crdSets and kubectl throw (a refused
 * definition, or one not Established within 60 s).
 */
export function installCrds(ctx: RigContext, kubectl: (args: string[]) => string): string[] {
  const started = Date.now();
  const sets = crdSets(ctx);
  for (const set of sets) kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=smartmeter-rig', '-f', set.dir]);
  const names = sets.flatMap((set) => set.names);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((name) => `customresourcedefinition/${name}`)]);
  ctx.log(`kubernetes: ${names.length} CRDs of ${sets.map((s) => s.source.project).join(', ')} applied and Established in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return names;
}
