#!/usr/bin/env python3
"""Writes an API server audit log of N distinct users with one request each (audit.k8s.io/v1
events at Metadata level, JSON lines): the log of a big organisation, for measuring the memory
the usage record takes per subject.

Usage: benches/scale/audit-users.py OUT.log USERS"""
import sys

out, users = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    for i in range(users):
        at = f"2026-12-01T{(i * 24 // users) % 24:02d}:{(i // 700) % 60:02d}:{i % 60:02d}Z"
        f.write(
            '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u-%d",'
            '"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/pods","verb":"list",'
            '"user":{"username":"user-%d@example.com","groups":["oidc:staff","system:authenticated"]},'
            '"sourceIPs":["10.%d.%d.7"],"userAgent":"kubectl/1.35",'
            '"objectRef":{"resource":"pods","namespace":"web","apiVersion":"v1"},'
            '"responseStatus":{"metadata":{},"code":200},'
            '"requestReceivedTimestamp":"%s","stageTimestamp":"%s",'
            '"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}\n'
            % (i, i, i % 250, (i // 250) % 250, at, at)
        )
