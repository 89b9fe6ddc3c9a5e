#!/bin/sh
# One-shot (service `opensearch-certs`, run as root in the application image, which has
# openssl): a private CA, the node's certificate and the admin client certificate. The CA's
# key is not kept; delete the volumes opensearch-certs and opensearch-ca to issue new ones.
set -eu
certs=/certs
ca_out=/ca
if [ -s "$certs/node.pem" ] && [ -s "$ca_out/ca.pem" ]; then
    echo "opensearch-certs: certificates exist"
    exit 0
fi
umask 077
work="$(mktemp -d)"
cd "$work"
openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=eakte-opensearch-ca" \
    -keyout ca-key.pem -out ca.pem 2>/dev/null
sign() {  # name subject extensions
    openssl req -newkey rsa:3072 -nodes -subj "$2" -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
# One node certificate serves every node (the clustered deployment, docker-compose.cluster.yml,
# names its nodes opensearch, opensearch-2 and opensearch-3; nodes_dn is CN=opensearch).
sign node "/CN=opensearch" "subjectAltName=DNS:opensearch,DNS:opensearch-2,DNS:opensearch-3,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
sign admin "/CN=eakte-admin" "extendedKeyUsage=clientAuth"
cp ca.pem node.pem node-key.pem admin.pem admin-key.pem "$certs/"
cp ca.pem "$ca_out/ca.pem"
# OpenSearch runs as uid 1000; the application only reads the CA certificate.
chown 1000:1000 "$certs"/*.pem
chmod 0400 "$certs"/*-key.pem
chmod 0444 "$certs/ca.pem" "$certs/node.pem" "$certs/admin.pem" "$ca_out/ca.pem"
cd /
rm -rf "$work"
echo "opensearch-certs: certificates issued"
