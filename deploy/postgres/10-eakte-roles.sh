#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# Three roles: the superuser `postgres` (administration only), `eakte`, which owns the database
# and runs the migrations, and `eakte_app`, the runtime role of the web app and the workers.
# `eakte migrate` (service `migrate`) grants eakte_app its rights: the business tables, but
# only INSERT and SELECT on the audit log (records/db_roles.py). The passwords come from the
# container's environment; psql quotes them (:'...').
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$POSTGRES_OWNER_PASSWORD" \
    -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE eakte LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE eakte_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE eakte OWNER eakte;
REVOKE ALL ON DATABASE eakte FROM PUBLIC;
GRANT CONNECT ON DATABASE eakte TO eakte_app;
SQL
