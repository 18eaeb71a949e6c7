#!/usr/bin/env python3
"""Writes an API server audit log of about SIZE MiB (audit.k8s.io/v1 events, JSON lines, as the
log backend writes them at Metadata level) for measuring `kube-evidence`'s audit-log reader.

Usage: benches/scale/audit-log.py OUT.log SIZE_MIB
The log spans 24 hours; 400 subjects (ServiceAccounts of 40 namespaces, some users) make
requests over 60 resources and verbs from a handful of addresses, about 1 in 50 denied, with
rotation-style duplicates (1 in 200 lines repeats the line before)."""
import json, random, sys
from datetime import datetime, timedelta, timezone

out, size_mib = sys.argv[1], int(sys.argv[2])
random.seed(7)
namespaces = [f"team-{i}" for i in range(40)]
subjects = [f"system:serviceaccount:{ns}:sa-{j}" for ns in namespaces for j in range(9)] + [f"user-{i}@example.com" for i in range(40)]
resources = [("", r) for r in ["pods", "secrets", "configmaps", "services", "endpoints", "events", "serviceaccounts", "namespaces", "nodes"]] + \
    [("apps", r) for r in ["deployments", "replicasets", "statefulsets", "daemonsets"]] + \
    [("rbac.authorization.k8s.io", r) for r in ["roles", "rolebindings", "clusterroles", "clusterrolebindings"]]
verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
start = datetime(2026, 12, 1, tzinfo=timezone.utc)
target = size_mib * 1024 * 1024
written, n, previous = 0, 0, None
with open(out, "w") as f:
    while written < target:
        if previous is not None and n % 200 == 0:
            line = previous
        else:
            user = random.choice(subjects)
            group, resource = random.choice(resources)
            ns = random.choice(namespaces)
            at = start + timedelta(seconds=86400 * written / target)
            ts = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            denied = random.random() < 0.02
            e = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                 "auditID": f"{n:08x}-2e23-44f8-b6b3-8bf416d4a500", "stage": "ResponseComplete",
                 "requestURI": f"/api/v1/namespaces/{ns}/{resource}", "verb": random.choice(verbs),
                 "user": {"username": user, "uid": "u", "groups": ["system:authenticated"]},
                 "sourceIPs": [f"10.0.{random.randrange(4)}.{random.randrange(8)}"],
                 "userAgent": "client-go/v0.33.0 (linux/amd64) kubernetes/abc",
                 "objectRef": {"resource": resource, "namespace": ns, "name": f"obj-{random.randrange(100)}", "apiGroup": group, "apiVersion": "v1"},
                 "responseStatus": {"metadata": {}, "code": 403 if denied else 200},
                 "requestReceivedTimestamp": ts, "stageTimestamp": ts,
                 "annotations": {"authorization.k8s.io/decision": "forbid" if denied else "allow", "authorization.k8s.io/reason": ""}}
            line = json.dumps(e, separators=(",", ":")) + "\n"
        f.write(line)
        previous = line
        written += len(line)
        n += 1
print(f"{out}: {n} lines, {written} bytes")
