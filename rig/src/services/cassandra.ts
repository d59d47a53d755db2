/**
 * Cassandra for the tests: a real single-node Apache Cassandra 5.0 on 127.0.0.1:9042, run
 * from the Maven Central jars (org.apache.cassandra:cassandra-all and its dependencies, resolved
 * once into the rig's cache) on Java 17, with the JVM options Cassandra ships for 17, a small
 * heap and test-only start-up shortcuts. Ready means a CQL query answers.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.ts';
import { ensurePortFree, isRunning, run, startDaemon, waitUntil } from '../process.ts';
import { cacheDir, serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';

export const CASSANDRA_VERSION = '5.0.9';
const CQL_PORT = 9042;
const STORAGE_PORT = 7000;
const HEAP = process.env.SMARTMETER_RIG_CASSANDRA_HEAP ?? '768m';
const LOCAL_DC = 'datacenter1';

export const cassandra: RigService = {
  name: 'cassandra',
  describe: `Apache Cassandra ${CASSANDRA_VERSION} (Maven Central jars, Java 17) on 127.0.0.1:${CQL_PORT}`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    const values = {
      CASSANDRA_CONTACT_POINT: `127.0.0.1:${CQL_PORT}`,
      CASSANDRA_LOCAL_DC: LOCAL_DC,
      CASSANDRA_VERSION,
    };
    const running = previous?.processes.find((p) => p.name === 'cassandra' && isRunning(p));
    if (running) {
      await waitForCql(() => isRunning(running), running.log);
      return { processes: [running], values };
    }
    ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven' }, ctx.log);
    const lib = cassandraJars(ctx);
    const dir = serviceDir('cassandra');
    const conf = join(dir, 'conf');
    const data = join(dir, 'data');
    mkdirSync(conf, { recursive: true });
    mkdirSync(join(data, 'logs'), { recursive: true });
    writeFileSync(join(conf, 'cassandra.yaml'), CASSANDRA_YAML);
    writeFileSync(join(conf, 'logback.xml'), LOGBACK_XML);
    for (const port of [CQL_PORT, STORAGE_PORT]) await ensurePortFree(port, 'cassandra');
    const record = ctx.track(startDaemon({
      name: 'cassandra',
      executable: 'java',
      args: [...jvmOptions(conf, data), '-cp', `${lib}/*`, 'org.apache.cassandra.service.CassandraDaemon'],
      log: join(dir, 'cassandra.log'),
      cwd: data,
      env: { MALLOC_ARENA_MAX: '4' },
    }));
    await waitForCql(() => isRunning(record), record.log);
    return { processes: [record], values };
  },
};

/** The jars of cassandra-all and its runtime dependencies, resolved once with Maven. */
export function cassandraJars(ctx: RigContext): string {
  const cache = cacheDir(`cassandra-${CASSANDRA_VERSION}`);
  const lib = join(cache, 'lib');
  if (existsSync(join(lib, `cassandra-all-${CASSANDRA_VERSION}.jar`))) return lib;
  ctx.log(`cassandra: resolving cassandra-all ${CASSANDRA_VERSION} and its dependencies from Maven Central`);
  const pom = join(cache, 'pom.xml');
  writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>smartmeter.rig</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>${CASSANDRA_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`,
  );
  run('mvn', ['-B', '-q', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`]);
  ctx.log(`cassandra: ${readdirSync(lib).length} jars in ${lib}`);
  return lib;
}

/** The host process: heap, the common flags, and the rig's paths and ports. */
function jvmOptions(conf: string, data: string): string[] {
  return [
    `-Xms${HEAP}`, `-Xmx${HEAP}`,
    ...cassandraJvmFlags(),
    `-Dcassandra.config=file://${join(conf, 'cassandra.yaml')}`,
    `-Dlogback.configurationFile=file://${join(conf, 'logback.xml')}`,
    `-Dcassandra.storagedir=${data}`,
    `-Dcassandra.logdir=${join(data, 'logs')}`,
    `-Dcassandra.triggers_dir=${join(data, 'triggers')}`,
    `-Dcassandra.native_transport_port=${CQL_PORT}`,
    `-Dcassandra.storage_port=${STORAGE_PORT}`,
    '-Dcassandra-foreground=yes',
  ];
}

/**
 * What Cassandra's own launcher passes on Java 17 (conf/jvm-server.options,
 * conf/jvm17-server.options, cassandra-env.sh), without heap and paths, plus test shortcuts.
 * The rig's Cassandra image uses the same list.
 */
export function cassandraJvmFlags(): string[] {
  const exports = [
    'java.base/jdk.internal.misc', 'java.management.rmi/com.sun.jmx.remote.internal.rmi', 'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server', 'java.sql/java.sql', 'java.base/java.lang.ref', 'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file', 'jdk.attach/sun.tools.attach',
  ];
  const opens = [
    'java.base/java.lang.module', 'java.base/jdk.internal.loader', 'java.base/jdk.internal.ref', 'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math', 'java.base/jdk.internal.module', 'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal', 'java.base/sun.nio.ch', 'java.base/java.io', 'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac', 'java.base/java.lang', 'java.base/java.util',
  ];
  return [
    '-Xss256k',
    '-ea', '-da:net.openhft...',
    '-XX:+UseThreadPriorities', '-XX:+UseTLAB', '-XX:+ResizeTLAB', '-XX:+PerfDisableSharedMem', '-XX:+ExitOnOutOfMemoryError',
    '-XX:+UseG1GC', '-XX:+ParallelRefProcEnabled', '-XX:MaxTenuringThreshold=1', '-XX:G1HeapRegionSize=16m',
    '-XX:G1RSetUpdatingPauseTimePercent=5', '-XX:MaxGCPauseMillis=300', '-XX:InitiatingHeapOccupancyPercent=70',
    '-Djava.net.preferIPv4Stack=true', '-Djdk.attach.allowAttachSelf=true',
    ...exports.map((e) => `--add-exports=${e}=ALL-UNNAMED`),
    ...opens.map((o) => `--add-opens=${o}=ALL-UNNAMED`),
    '-Dio.netty.tryReflectionSetAccessible=true', '-Dio.netty.allocator.useCacheForAllThreads=true', '-Dio.netty.allocator.maxOrder=11',
    '-Dcassandra.test.ignore_sigar=true',
    // Test rig only: no 30 s ring delay on a single node, no fsync of system tables.
    '-Dcassandra.ring_delay_ms=1000',
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.shutdown_announce_in_ms=0',
    '-Dcassandra.superuser_setup_delay_ms=0',
    '-Dcassandra.unsafesystem=true',
  ];
}

async function waitForCql(alive: () => boolean, log: string): Promise<void> {
  const { default: driver } = await import('cassandra-driver');
  await waitUntil(
    async () => {
      const client = new driver.Client({
        contactPoints: [`127.0.0.1:${CQL_PORT}`],
        localDataCenter: LOCAL_DC,
        socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
      });
      try {
        const result = await client.execute('SELECT release_version FROM system.local');
        return result.first()?.get('release_version') as string | undefined;
      } finally {
        await client.shutdown().catch(() => undefined);
      }
    },
    { timeoutMs: 240_000, intervalMs: 1000, what: `cassandra on 127.0.0.1:${CQL_PORT}`, alive, log },
  );
}


const CASSANDRA_YAML = `# Single-node Cassandra for the smartmeter test rig. Paths and ports come from -D options.
cluster_name: 'smartmeter rig'
num_tokens: 16
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
commitlog_sync: periodic
commitlog_sync_period: 10000ms
# A single node is its own seed; no port, so it follows -Dcassandra.storage_port.
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
start_native_transport: true
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer
# Tests drop and truncate a lot: no snapshots. A fresh node can use 5.0's own storage format.
auto_snapshot: false
storage_compatibility_mode: NONE
`;

export const LOGBACK_XML = `<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="io.netty" level="WARN"/>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;
