"""One-shot (service `opensearch-setup`): the application's OpenSearch user and its role, with
rights on the application's index only. Authenticates with the admin client certificate; safe
to run again (the calls replace what they name)."""

import json
import os
import ssl
import sys
import urllib.request

URL = "https://opensearch:9200/_plugins/_security/api"
CERTS = "/certs"
USER = os.environ.get("OPENSEARCH_APP_USER", "eakte_app")
INDEX = os.environ.get("EAKTE_OPENSEARCH_INDEX", "eakte-documents")

context = ssl.create_default_context(cafile=f"{CERTS}/ca.pem")
context.load_cert_chain(f"{CERTS}/admin.pem", f"{CERTS}/admin-key.pem")


def put(path: str, body: dict) -> None:
    request = urllib.request.Request(
        f"{URL}/{path}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        print(f"opensearch-setup: {path}: {response.status}")


put(
    "roles/eakte_app",
    {
        "cluster_permissions": [
            "cluster_composite_ops",
            "cluster:monitor/main",
            "cluster:monitor/health",
            "indices:data/read/scroll/clear",
        ],
        "index_permissions": [{"index_patterns": [INDEX], "allowed_actions": ["indices_all"]}],
    },
)
put("internalusers/" + USER, {"password": os.environ["OPENSEARCH_APP_PASSWORD"]})
put("rolesmapping/eakte_app", {"users": [USER]})
sys.exit(0)
