#!/usr/bin/env python3
"""Writes one large `kubectl get -A -o yaml`-style List dump, for measuring the dump reader's
memory: every 50th object a ClusterRole with its binding, the rest Pods with 20 env variables.
Usage: benches/scale/big-dump.py OUT.yaml [MiB, default 200]"""
import sys

out_path = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 200
with open(out_path, "w") as out:
    out.write("apiVersion: v1\nitems:\n")
    i = size = 0
    while size < target * 1024 * 1024:
        if i % 50 == 0:
            s = f"""- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: role-{i}
    labels: {{app: x{i % 7}}}
  rules:
  - apiGroups: [""]
    resources: [pods, configmaps]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: bind-{i}
  roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role-{i}}}
  subjects:
  - {{kind: ServiceAccount, name: sa-{i}, namespace: ns-{i % 100}}}
"""
        else:
            env = "\n".join(
                f'        - {{name: VAR_{k}, value: "value-{k}-{i}"}}' for k in range(20)
            )
            s = f"""- apiVersion: v1
  kind: Pod
  metadata:
    name: pod-{i}
    namespace: ns-{i % 100}
    labels: {{app: app-{i % 300}, tier: backend, release: r{i % 11}}}
    annotations: {{note: "{'x' * 200}"}}
  spec:
    serviceAccountName: sa-{i % 400}
    containers:
    - name: main
      image: registry.example.com/app-{i % 300}:1.{i % 17}
      env:
{env}
"""
        out.write(s)
        size += len(s)
        i += 1
    out.write('kind: List\nmetadata: {resourceVersion: ""}\n')
print(f"{out_path}: {i} items, {size} bytes")
