#!/usr/bin/env python3
"""The floor for live collection: one keep-alive HTTPS client paging the same 17 kinds that
`kube-evidence snapshot --source cluster` lists, parsing every page and keeping only a count.

Usage: floor.py CONTROL_PLANE_DIR [PAGE_SIZE]   (CONTROL_PLANE_DIR as written by
tests/controlplane/start.sh: its `env` file gives the URL, the CA and the admin token).
Prints one line: the number of objects and the seconds it took.
"""
import http.client
import json
import ssl
import sys
import time
import urllib.parse

PATHS = [
    "/api/v1/namespaces",
    "/api/v1/serviceaccounts",
    "/api/v1/pods",
    "/api/v1/replicationcontrollers",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "/apis/rbac.authorization.k8s.io/v1/roles",
    "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/daemonsets",
    "/apis/apps/v1/statefulsets",
    "/apis/apps/v1/replicasets",
    "/apis/batch/v1/jobs",
    "/apis/batch/v1/cronjobs",
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    "/apis/apiregistration.k8s.io/v1/apiservices",
]


def control_plane_env(directory):
    with open(directory + "/env") as f:
        return dict(line.strip().split("=", 1) for line in f if "=" in line)


def main():
    env = control_plane_env(sys.argv[1])
    limit = sys.argv[2] if len(sys.argv) > 2 else "1000"
    url = urllib.parse.urlparse(env["APISERVER_URL"])
    context = ssl.create_default_context(cafile=env["CA_FILE"])
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)
    headers = {"Authorization": "Bearer " + env["ADMIN_TOKEN"], "Accept": "application/json"}
    started = time.perf_counter()
    objects = 0
    for path in PATHS:
        token = None
        while True:
            query = path + "?limit=" + limit
            if token:
                query += "&continue=" + urllib.parse.quote(token)
            connection.request("GET", query, headers=headers)
            response = connection.getresponse()
            body = json.loads(response.read())
            if response.status != 200:
                sys.exit(f"{query}: HTTP {response.status}")
            objects += len(body.get("items") or [])
            token = body.get("metadata", {}).get("continue")
            if not token:
                break
    print(f"{objects} objects in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
