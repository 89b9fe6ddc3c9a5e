#!/bin/sh
# Clustered deployment only (docker-compose.cluster.yml): runs once, when the primary's volume
# is first initialised. The role `replicator` may stream the write-ahead log to the standby
# (service `postgres-replica`, made with pg_basebackup -R) and nothing else; pg_hba lets it in
# with its password over the network.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v replication_password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'replication_password';
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
