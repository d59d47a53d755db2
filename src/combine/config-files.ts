/**
 * The stack's configuration files, which compose fragments mount from ${SMARTMETER_CONFIG_DIR}
 * (Telegraf, Prometheus, Grafana provisioning and dashboards, Graphite's storage rules).
 *
 * templates/config holds two kinds of files:
 *   `<name>.hbs`   a Handlebars template, rendered with a {@link ConfigContext} and written as `<name>`
 *   anything else  copied as it is (dashboards, Graphite's rules: nothing in them varies)
 * Each file is written atomically. Credentials never go into a file as values: the Telegraf files
 * name them as `${NATS_USERNAME}`/`${NATS_PASSWORD}`, which Telegraf fills from its environment
 * (set from the mounted secret files in secrets mode, by the compose file in no_secrets mode). A
 * value that still carries one (a NATS URL with a password from -p) makes its file 0600, and is
 * refused in secrets mode.
 *
 * The Helm chart ships the same templates rendered with {@link CHART_CONFIG_CONTEXT}, whose values
 * are environment references the chart's containers set (scripts/chart-files.mjs).
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { describeErrno, writeFileAtomic } from '../fs-atomic.js';
import { hasUrlPassword } from '../secrets.js';
import { isMap, type Yaml, type YamlMap } from './merge.js';

/** One Prometheus scrape job: `targets` are `host:port` (services of the stack, by name). */
export interface ScrapeJob {
  name: string;
  targets: string[];
}

/**
 * What the configuration templates may use, and nothing else (Handlebars runs in strict mode:
 * a name not here fails the render). Every value is text as it goes into the file; for the chart
 * some are `${NAME}` references that the tool expands from its environment when it starts.
 */
export interface ConfigContext {
  telegraf: {
    /** Collection and flush interval, a Telegraf duration ("10s"). */
    interval: string;
    /** How long an input waits for an answer ("20s"). */
    inputTimeout: string;
    /** TOML booleans, `true` or `false`. */
    debug: string;
    quiet: string;
    /** Port of the prometheus_client output (Kubernetes scrapes it; the compose stack filters it out). */
    prometheusPort: string;
  };
  graphite: {
    /** carbon's plaintext receiver, `host:port`, where Telegraf writes. */
    plaintext: string;
    /** First node of Telegraf's series ("smartmeter"). */
    prefix: string;
    /** Graphite's web API, for Grafana's data source. */
    url: string;
  };
  nats: {
    /** The client URL the nats_consumer inputs connect to. */
    url: string;
    /** The monitoring endpoint (`http://host:8222`) the nats input reads. */
    monitorUrl: string;
    /** The server's name in the series (`<prefix>.nats.<instance>.<field>`). */
    instance: string;
  };
  prometheus: {
    /** Prometheus's own URL, for Grafana's data source. */
    url: string;
    /** Scrape and rule-evaluation interval ("10s"). */
    interval: string;
    /** The jobs besides Prometheus itself: only services that run in the stack. */
    jobs: ScrapeJob[];
  };
}

/** What the stack's combined result offers: its document (services) and its resolved properties. */
export interface CombinedStack {
  document: YamlMap;
  property: (key: string) => string | undefined;
}

/**
 * The context of a combined stack: hosts, ports and intervals from its properties, scrape jobs
 * from its services (prometheus_nats_exporter; every service given a `--metrics-port` or a
 * SMARTMETER_METRICS_PORT). Throws a UsageError naming the property when a value is missing or
 * cannot go into the files (a debug flag that is not true/false, a password in secrets mode).
 */
export function stackConfigContext(stack: CombinedStack): ConfigContext {
  const value = (key: string, fallback?: string): string => {
    const found = stack.property(key) ?? fallback;
    if (found === undefined) throw new UsageError(`configuration files: property ${key} is not defined (define it with -p, the environment or --set)`);
    return found;
  };
  const flag = (key: string): string => {
    const text = value(key);
    if (text !== 'true' && text !== 'false') throw new UsageError(`configuration files: ${key} must be true or false, got "${text}"`);
    return text;
  };
  const graphiteHost = value('METRICS_GRAPHITE_NAME');
  const natsName = value('NATS_NAME');
  const natsUrl = value('NATS_URI');
  return {
    telegraf: {
      interval: value('TELEGRAF_INTERVAL'),
      inputTimeout: value('TELEGRAF_INPUT_TIMEOUT'),
      debug: flag('TELEGRAF_DEBUG'),
      quiet: flag('TELEGRAF_QUIET'),
      prometheusPort: value('TELEGRAF_PROMETHEUS_PORT', '9273'),
    },
    graphite: {
      plaintext: `${graphiteHost}:${value('METRICS_GRAPHITE_TCP_PORT')}`,
      prefix: value('TELEGRAF_GRAPHITE_PREFIX'),
      url: `http://${graphiteHost}:80`,
    },
    nats: { url: natsUrl, monitorUrl: `http://${natsName}:${value('NATS_MONITORING_PORT')}`, instance: natsName },
    prometheus: {
      url: `http://${value('PROMETHEUS_NAME', 'prometheus')}:9090`,
      interval: value('PROMETHEUS_SCRAPE_INTERVAL', '10s'),
      jobs: scrapeJobs(stack.document),
    },
  };
}

/**
 * The Prometheus jobs of a stack's services: `nats` for prometheus_nats_exporter (port 7777, as
 * root_metrics runs it), `smartmeter` for every service with a metrics port (inject,
 * cassandra_inject, cassandra_stats, …). A job with no target is left out.
 */
export function scrapeJobs(document: YamlMap): ScrapeJob[] {
  const services = isMap(document.services) ? document.services : {};
  const nats: string[] = [];
  const smartmeter: string[] = [];
  for (const name of Object.keys(services).sort()) {
    const service = services[name];
    if (!isMap(service)) continue;
    if (name === 'prometheus_nats_exporter') nats.push(`${name}:7777`);
    const port = metricsPort(service);
    if (port !== undefined) smartmeter.push(`${name}:${port}`);
  }
  return [
    ...(nats.length ? [{ name: 'nats', targets: nats }] : []),
    ...(smartmeter.length ? [{ name: 'smartmeter', targets: smartmeter }] : []),
  ];
}

/** The port of a service's `--metrics-port [host:]port` argument or SMARTMETER_METRICS_PORT variable. */
function metricsPort(service: YamlMap): string | undefined {
  const words = (v: Yaml | undefined): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/\s+/) : []);
  const command = [...words(service.entrypoint), ...words(service.command)];
  const flagAt = command.indexOf('--metrics-port');
  const environment = service.environment;
  const fromEnv = Array.isArray(environment)
    ? environment.map(String).find((e) => e.startsWith('SMARTMETER_METRICS_PORT='))?.slice('SMARTMETER_METRICS_PORT='.length)
    : isMap(environment) && environment.SMARTMETER_METRICS_PORT !== undefined && environment.SMARTMETER_METRICS_PORT !== null
      ? String(environment.SMARTMETER_METRICS_PORT)
      : undefined;
  const address = flagAt >= 0 ? command[flagAt + 1] : fromEnv;
  const port = address?.split(':').pop();
  return port && /^\d+$/.test(port) ? port : undefined;
}

/**
 * The context the Helm chart's copies are rendered with: the chart sets these variables on its
 * containers (templates/helm/smart-meter/templates/telegraf.yaml, nats.yaml, grafana.yaml), and
 * renders its own prometheus.yml, so no job is listed here.
 */
export const CHART_CONFIG_CONTEXT: ConfigContext = {
  telegraf: {
    interval: '${TELEGRAF_INTERVAL}',
    inputTimeout: '${TELEGRAF_INPUT_TIMEOUT}',
    debug: '${TELEGRAF_DEBUG}',
    quiet: '${TELEGRAF_QUIET}',
    prometheusPort: '${TELEGRAF_PROMETHEUS_PORT:-9273}',
  },
  graphite: { plaintext: '${GRAPHITE_SERVER}', prefix: '${GRAPHITE_PREFIX}', url: '${SMARTMETER_GRAPHITE_URL}' },
  nats: { url: '${NATS_URI}', monitorUrl: '${NATS_MONITOR_URL}', instance: '${NATS_INSTANCE}' },
  prometheus: { url: '${SMARTMETER_PROMETHEUS_URL}', interval: '15s', jobs: [] },
};

/** A file written by {@link writeConfigFiles}: its path and permission bits. */
export interface WrittenFile {
  path: string;
  mode: number;
}

type Compile = (source: string) => (context: ConfigContext) => string;

/** Handlebars with the one helper the templates need: `{{json x}}`, a quoted string valid in TOML and YAML. */
function handlebarsCompiler(): Compile {
  // Loaded here, not at the top: only --config-dir and `up` render, and `combine` alone should not
  // parse the compiler (bench/combine). createRequire also keeps it out of the bundle.
  const Handlebars = (createRequire(import.meta.url)('handlebars') as typeof import('handlebars')).create();
  // Strict mode checks names in {{name}} but not a helper's arguments: an undefined one is refused here.
  Handlebars.registerHelper('json', (value: unknown, options: { loc?: { start: { line: number; column: number } } }) => {
    const at = options.loc ? ` (line ${options.loc.start.line}, column ${options.loc.start.column + 1})` : '';
    if (value === undefined || value === null) throw new Error(`{{json}} of a name the context does not have${at}`);
    return JSON.stringify(String(value));
  });
  return (source) => Handlebars.compile<ConfigContext>(source, { noEscape: true, strict: true });
}

/**
 * Renders `<name>.hbs` templates and copies every other file under `sourceDir` to the same place
 * under `targetDir`. A rendered file that holds a URL with a password is written 0600, every other
 * file 0644. Returns the files written, in path order. Throws a RuntimeError when a directory
 * cannot be created or a file written, and names the template when one fails to render.
 */
export function writeConfigFiles(sourceDir: string, targetDir: string, context: ConfigContext): WrittenFile[] {
  const files = renderConfigFiles(sourceDir, context);
  const written: WrittenFile[] = [];
  for (const file of files) {
    const target = join(targetDir, file.path);
    try {
      mkdirSync(join(target, '..'), { recursive: true });
    } catch (error) {
      throw new RuntimeError(`cannot create ${join(target, '..')}: ${describeErrno((error as NodeJS.ErrnoException).code ?? String(error))}`);
    }
    writeFileAtomic(target, file.content, { mode: file.mode });
    written.push({ path: target, mode: file.mode });
  }
  return written;
}

/** A configuration file in memory: its path relative to the configuration directory, its text and mode. */
export interface ConfigFile {
  path: string;
  content: string;
  mode: number;
}

/** What {@link writeConfigFiles} would write, without writing it (`path` relative to the directory). */
export function renderConfigFiles(sourceDir: string, context: ConfigContext): ConfigFile[] {
  let compile: Compile | undefined;
  const out: ConfigFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const source = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(source);
        continue;
      }
      const path = relative(sourceDir, source);
      const text = readFileSync(source, 'utf8');
      if (!path.endsWith('.hbs')) {
        out.push({ path, content: text, mode: 0o644 });
        continue;
      }
      compile ??= handlebarsCompiler();
      let content: string;
      try {
        content = compile(text)(context);
      } catch (error) {
        throw new RuntimeError(`cannot render ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
      out.push({ path: path.slice(0, -'.hbs'.length), content, mode: hasUrlPassword(content) ? 0o600 : 0o644 });
    }
  };
  walk(sourceDir);
  return out;
}
