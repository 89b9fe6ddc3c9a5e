#!/bin/sh
# One-shot (service `minio-init`): the bucket with object lock, and the application's own
# MinIO user, limited by eakte-app-policy.json to that bucket. Only this script and MinIO
# itself know the root account. Safe to run again.
set -eu
mc alias set eakte http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing --with-lock eakte/eakte
mc admin policy create eakte eakte-app /deploy/eakte-app-policy.json
mc admin user add eakte "$MINIO_APP_USER" "$MINIO_APP_PASSWORD"
# Attaching an attached policy is refused; the listing shows whether it is in place.
if ! mc admin user info eakte "$MINIO_APP_USER" | grep -q 'eakte-app'; then
    mc admin policy attach eakte eakte-app --user "$MINIO_APP_USER"
fi
echo "minio-init: bucket eakte and user $MINIO_APP_USER ready"
