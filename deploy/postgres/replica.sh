#!/bin/sh
# The standby of the clustered deployment (docker-compose.cluster.yml): on an empty volume it
# copies the primary with pg_basebackup -R (which writes standby.signal and the connection to
# the primary), then runs as a hot standby that streams the primary's write-ahead log.
# Failover: `docker compose exec postgres-replica pg_ctl promote -D "$PGDATA"` (as postgres);
# the product's host list with target_session_attrs=read-write then finds the new primary.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h postgres -p 5432 -q; do sleep 2; done
    export PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD"
    pg_basebackup -h postgres -p 5432 -U replicator -D "$PGDATA" -R -X stream -c fast
    chmod 0700 "$PGDATA"
fi
exec postgres
