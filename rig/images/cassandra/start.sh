#!/bin/sh
# Writes cassandra.yaml from the environment variables the official image understands
# (CASSANDRA_CLUSTER_NAME, CASSANDRA_SEEDS, CASSANDRA_DC, CASSANDRA_ENDPOINT_SNITCH,
# MAX_HEAP_SIZE), then runs Cassandra in the foreground.
set -eu
address=$(hostname -i | awk '{print $1}')
conf=/opt/cassandra/conf
mkdir -p "$conf"
cat > "$conf/cassandra.yaml" <<YAML
cluster_name: '${CASSANDRA_CLUSTER_NAME:-smartmeter}'
num_tokens: 16
allocate_tokens_for_local_replication_factor: ${CASSANDRA_REPLICATION_FACTOR:-1}
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: ${CASSANDRA_ENDPOINT_SNITCH:-GossipingPropertyFileSnitch}
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${CASSANDRA_SEEDS:-$address}"
listen_address: $address
rpc_address: 0.0.0.0
broadcast_rpc_address: $address
start_native_transport: true
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
auto_snapshot: false
YAML
printf 'dc=%s\nrack=rack1\n' "${CASSANDRA_DC:-dc1}" > "$conf/cassandra-rackdc.properties"
heap=${MAX_HEAP_SIZE:-512m}
# shellcheck disable=SC2046
exec java -Xms"$heap" -Xmx"$heap" $(cat /opt/cassandra/jvm.options) \
  -Dcassandra.config="file://$conf/cassandra.yaml" \
  -Dlogback.configurationFile=file:///opt/cassandra/logback.xml \
  -Dcassandra.storagedir=/var/lib/cassandra \
  -Dcassandra.logdir=/var/lib/cassandra/logs \
  -Dcassandra.triggers_dir=/var/lib/cassandra/triggers \
  -Dcassandra-foreground=yes \
  -cp "/opt/cassandra/lib/*:$conf" org.apache.cassandra.service.CassandraDaemon
