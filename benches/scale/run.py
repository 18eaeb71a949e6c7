#!/usr/bin/env python3
"""kube-evidence at scale, side by side with the collection floor and the peer tools.

For each size (namespaces) it generates a cluster with `examples/gen-cluster.rs`, starts a test
control plane from the cached binaries of tests/controlplane/build.sh, loads the cluster into it
with concurrent requests, and measures (median of --runs runs, wall time and peak RSS of the
process):

* `kube-evidence run --source cluster` (the nightly job's command) and `run` on the dump files;
* `kube-evidence snapshot --source cluster` against the floors: one keep-alive HTTPS client paging
  the same 17 kinds (floor.py) and `kubectl get --raw` page by page;
* at the largest size only: `kube-evidence who-can` (`--snapshot` and `--source cluster`) and the
  peers `kubectl-who-can`, `rbac-tool who-can` / `analysis` and `rbac-police collect` when they
  are installed (see benches/scale/README.md), with their answers compared and every difference
  decided by the API server's own SubjectAccessReview; and the sizes of the pack.

Nothing is fetched at run time: the binaries must have been built (cargo, tests/controlplane/
build.sh, the peers' setup) before. Results go to stdout as Markdown and to OUT/results.json.

Usage: benches/scale/run.py [--sizes 1250,2500,5000] [--runs 5] [--work DIR] [--no-peers]
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("KUBE_EVIDENCE_CACHE", os.path.expanduser("~/.cache/kube-evidence"))
PEERS = os.path.join(CACHE, "peers", "bin")
PEER_TIMEOUT = 300
RESOURCE_GROUPS = {"secrets": "", "pods": "", "nodes": "", "namespaces": "", "deployments": "apps"}


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes and measurements


def measure_once(argv, env=None, stdout=subprocess.DEVNULL, timeout=None):
    """Runs argv to completion; returns (seconds, peak RSS MiB, exit status)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
    deadline = None if timeout is None else started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            return (None, None, "timeout")
        time.sleep(0.005)
    process.returncode = os.waitstatus_to_exitcode(status)
    return (time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode)


def measure(name, argv, runs, env=None, timeout=None, before=None):
    """Median wall time and peak RSS of `runs` runs of argv; `before(i)` prepares run i."""
    walls, peaks = [], []
    for i in range(runs):
        if before:
            before(i)
        wall, peak, status = measure_once(argv, env=env, timeout=timeout)
        if status == "timeout":
            log(f"  {name}: did not finish in {timeout} s")
            return {"name": name, "command": " ".join(argv), "status": f"did not finish in {timeout} s"}
        if status != 0 and status != 3:  # 3: findings at or above --fail-on, still a full run
            log(f"  {name}: exit {status}")
            return {"name": name, "command": " ".join(argv), "status": f"exit {status}"}
        walls.append(wall)
        peaks.append(peak)
    result = {
        "name": name,
        "command": " ".join(argv),
        "runs": runs,
        "wall_s": round(statistics.median(walls), 3),
        "wall_min_s": round(min(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_rss_mib": round(statistics.median(peaks), 1),
    }
    log(f"  {name}: {result['wall_s']} s, {result['peak_rss_mib']} MiB (median of {runs})")
    return result


def free_port_base(count=3):
    for base in range(31000, 60000, 7):
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                s.bind(("127.0.0.1", base + offset))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    sys.exit("no free ports")


# ---------------------------------------------------------------------------------------------
# The API server: environment, SubjectAccessReview


class ApiServer:
    def __init__(self, directory):
        with open(os.path.join(directory, "env")) as f:
            self.env = dict(line.strip().split("=", 1) for line in f if "=" in line)
        self.directory = directory
        self.kubeconfig = os.path.join(directory, "admin.kubeconfig")
        url = urllib.parse.urlparse(self.env["APISERVER_URL"])
        context = ssl.create_default_context(cafile=self.env["CA_FILE"])
        self.connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)

    def request(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.env["ADMIN_TOKEN"], "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def allowed(self, subject, question):
        """The API server's own decision for `subject` on `question`."""
        kind, name, namespace = subject
        if kind == "User":
            user, groups = name, ["system:authenticated"]
        elif kind == "Group":
            user, groups = "kube-evidence-bench-probe", [name]
        else:
            user = f"system:serviceaccount:{namespace}:{name}"
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
        verb, resource, ns = question
        attributes = {"verb": verb, "resource": resource, "group": RESOURCE_GROUPS[resource]}
        if ns:
            attributes["namespace"] = ns
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups, "resourceAttributes": attributes},
        }
        status, body = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        if status != 201:
            raise RuntimeError(f"SubjectAccessReview: HTTP {status}: {body}")
        return bool(body.get("status", {}).get("allowed"))


def kubectl_raw_paging(api, page_size, runs):
    """`kubectl get --raw` page by page over the floor's 17 kinds: total wall, max RSS."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from floor import PATHS

    env = dict(os.environ, KUBECONFIG=api.kubeconfig)
    page_file = os.path.join(api.directory, "page.json")
    walls, peaks, pages = [], [], 0
    for _ in range(runs):
        started, peak, pages = time.perf_counter(), 0.0, 0
        for path in PATHS:
            token = None
            while True:
                query = f"{path}?limit={page_size}" + (f"&continue={urllib.parse.quote(token)}" if token else "")
                with open(page_file, "wb") as out:
                    _, rss, status = measure_once(["kubectl", "get", "--raw", query], env=env, stdout=out)
                if status != 0:
                    raise RuntimeError(f"kubectl get --raw {query}: exit {status}")
                peak, pages = max(peak, rss), pages + 1
                with open(page_file, "rb") as f:
                    token = json.load(f).get("metadata", {}).get("continue")
                if not token:
                    break
        walls.append(time.perf_counter() - started)
        peaks.append(peak)
    return {
        "name": "kubectl get --raw, page by page",
        "command": f"kubectl get --raw 'PATH?limit={page_size}&continue=...' for the 17 kinds ({pages} pages)",
        "runs": runs,
        "wall_s": round(statistics.median(walls), 3),
        "peak_rss_mib": round(max(peaks), 1),
    }


# ---------------------------------------------------------------------------------------------
# who-can answers


def kube_evidence_subjects(output):
    return {
        (s["subject"]["kind"], s["subject"]["name"], s["subject"].get("namespace") or "")
        for s in json.loads(output)
    }


def kubectl_who_can_subjects(output, question):
    data = json.loads(output) if output.strip() else {}
    subjects = set()
    for section in ("roleBindings", "clusterRoleBindings"):
        for row in data.get(section) or []:
            for s in row.get("subjects") or []:
                namespace = s.get("namespace") or ""
                if s["kind"] == "ServiceAccount" and not namespace:
                    namespace = question[2] or ""
                subjects.add((s["kind"], s["name"], namespace))
    return subjects


def ask(argv, env=None):
    out = subprocess.run(argv, env=env, capture_output=True, timeout=PEER_TIMEOUT)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.decode()[:300]}")
    return out.stdout.decode()


def compare_who_can(api, binary, snapshot, questions):
    """kube-evidence vs kubectl-who-can on each question; SubjectAccessReview decides differences."""
    peer = os.path.join(PEERS, "kubectl-who-can")
    rows = []
    for question in questions:
        verb, resource, ns = question
        scope = ["-n", ns] if ns else []
        ours = kube_evidence_subjects(
            ask([binary, "who-can", verb, resource, *scope, "--snapshot", snapshot, "--format", "json"])
        )
        row = {"question": " ".join(x for x in question if x), "kube_evidence": len(ours)}
        if os.access(peer, os.X_OK):
            theirs = kubectl_who_can_subjects(
                ask([peer, verb, resource, *scope, "--kubeconfig", api.kubeconfig, "-o", "json"]), question
            )
            row["kubectl_who_can"] = len(theirs)
            only_ours, only_theirs = sorted(ours - theirs), sorted(theirs - ours)
            row["only_kube_evidence"] = [decided(api, s, question) for s in only_ours]
            row["only_kubectl_who_can"] = [decided(api, s, question) for s in only_theirs]
        rows.append(row)
    return rows


def decided(api, subject, question):
    return {"subject": "/".join(x for x in subject if x), "api_server_allows": api.allowed(subject, question)}


# ---------------------------------------------------------------------------------------------
# One size


def build(target):
    log("building the release binary and the generator (cargo build --release)")
    subprocess.run(
        ["cargo", "build", "--release", "--bin", "kube-evidence", "--example", "gen-cluster"], cwd=ROOT, check=True
    )
    binary = os.path.join(target, "release", "kube-evidence")
    generator = os.path.join(target, "release", "examples", "gen-cluster")
    kube_bin = subprocess.run(
        [os.path.join(ROOT, "tests/controlplane/build.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    return binary, generator, kube_bin


def pack_sizes(out_dir):
    sizes = {}
    for dirpath, _, files in os.walk(out_dir):
        for f in files:
            if f.startswith(".") or f in ("latest.json", "index.json", "index.html"):
                continue
            sizes[f] = os.path.getsize(os.path.join(dirpath, f))
    pdf = [os.path.join(d, f) for d, _, fs in os.walk(out_dir) for f in fs if f == "report.pdf"]
    pages = None
    if pdf and shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", pdf[0]], capture_output=True, text=True).stdout
        pages = next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), None)
    return {"files": dict(sorted(sizes.items())), "pdf_pages": pages}


def one_size(namespaces, tools, args, largest):
    binary, generator, kube_bin = tools
    work = os.path.join(args.work, f"{namespaces}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cp_dir, gen_dir = os.path.join(work, "cp"), os.path.join(work, "gen")
    log(f"{namespaces} namespaces: starting a control plane and loading the generated cluster")
    subprocess.run(
        [os.path.join(ROOT, "tests/controlplane/start.sh"), kube_bin, cp_dir, str(free_port_base())],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        kubeconfig = os.path.join(cp_dir, "admin.kubeconfig")
        started = time.perf_counter()
        subprocess.run(
            [generator, "--namespaces", str(namespaces), "--out", gen_dir, "--load", kubeconfig], check=True
        )
        load_s = time.perf_counter() - started
        return measure_size(namespaces, binary, work, cp_dir, gen_dir, kubeconfig, load_s, args, largest)
    finally:
        subprocess.run([os.path.join(ROOT, "tests/controlplane/stop.sh"), cp_dir], stdout=subprocess.DEVNULL)


def measure_size(namespaces, binary, work, cp_dir, gen_dir, kubeconfig, load_s, args, largest):
    api = ApiServer(cp_dir)
    inventory = os.path.join(gen_dir, "inventory.yaml")
    result = {"namespaces": namespaces, "load_s": round(load_s, 1), "measurements": []}
    m = result["measurements"]
    packs = os.path.join(work, "packs")

    def fresh_packs(_):
        shutil.rmtree(packs, ignore_errors=True)

    common = ["--inventory", inventory, "--unsigned", "--out", packs, "--cluster-name", "bench"]
    m.append(
        measure(
            "run --source cluster",
            [binary, "run", "--source", "cluster", "--kubeconfig", kubeconfig, *common],
            args.runs,
            before=fresh_packs,
        )
    )
    if largest:
        result["pack"] = pack_sizes(packs)
    m.append(
        measure(
            "run --source DUMP",
            [binary, "run", "--source", os.path.join(gen_dir, "cluster"), *common],
            args.runs,
            before=fresh_packs,
        )
    )
    snapshot = os.path.join(work, "snapshot.json.gz")

    def fresh_snapshot(_):
        if os.path.exists(snapshot):
            os.remove(snapshot)

    m.append(
        measure(
            "snapshot --source cluster",
            [binary, "snapshot", "--source", "cluster", "--kubeconfig", kubeconfig, "-o", snapshot],
            args.runs,
            before=fresh_snapshot,
        )
    )
    m.append(
        measure(
            "floor: one keep-alive client (floor.py)",
            [sys.executable, os.path.join(ROOT, "benches/scale/floor.py"), cp_dir, "1000"],
            args.runs,
        )
    )
    if shutil.which("kubectl"):
        m.append(kubectl_raw_paging(api, 1000, max(1, args.runs // 2)))
    if largest:
        # the snapshot file of the last `snapshot` run stays for who-can
        subprocess.run([binary, "snapshot", "--source", "cluster", "--kubeconfig", kubeconfig, "-o", snapshot]
                       if not os.path.exists(snapshot) else ["true"], check=True)
        who_can(result, binary, api, snapshot, namespaces, args)
    return result


def who_can(result, binary, api, snapshot, namespaces, args):
    m = result["measurements"]
    ns_a, ns_b = f"ns-{namespaces * 42 // 5000:05d}", f"ns-{namespaces * 4321 // 5000:05d}"
    env = dict(os.environ, KUBECONFIG=api.kubeconfig)
    kc = ["--kubeconfig", api.kubeconfig]
    m.append(measure("who-can get secrets --snapshot",
                     [binary, "who-can", "get", "secrets", "-n", ns_a, "--snapshot", snapshot, "--format", "json"],
                     args.runs))
    m.append(measure("who-can get secrets --source cluster",
                     [binary, "who-can", "get", "secrets", "-n", ns_a, "--source", "cluster", *kc, "--format", "json"],
                     args.runs))
    peer = lambda name: os.path.join(PEERS, name) if not args.no_peers else "/nonexistent"  # noqa: E731
    if os.access(peer("kubectl-who-can"), os.X_OK):
        m.append(measure("kubectl-who-can get secrets",
                         [peer("kubectl-who-can"), "get", "secrets", "-n", ns_a, *kc, "-o", "json"], args.runs))
    else:
        m.append({"name": "kubectl-who-can", "status": "skipped: --no-peers, or not installed (benches/scale/peers.sh)"})
    if os.access(peer("rbac-tool"), os.X_OK):
        m.append(measure("rbac-tool who-can get secrets", [peer("rbac-tool"), "who-can", "get", "secrets", "-o", "json"],
                         1, env=env, timeout=PEER_TIMEOUT))
        m.append(measure("rbac-tool analysis", [peer("rbac-tool"), "analysis", "-o", "json"], 1, env=env,
                         timeout=PEER_TIMEOUT))
    else:
        m.append({"name": "rbac-tool", "status": f"skipped: --no-peers, or not installed in {PEERS}"})
    if os.access(peer("rbac-police"), os.X_OK):
        m.append(measure("rbac-police collect -a",
                         [peer("rbac-police"), "collect", "-a", "-o", os.devnull], 1, env=env, timeout=PEER_TIMEOUT))
    else:
        m.append({"name": "rbac-police", "status": f"skipped: --no-peers, or not installed in {PEERS}"})
    questions = [("get", "secrets", ns_a), ("create", "pods", ns_b), ("create", "deployments", ns_a),
                 ("get", "secrets", "platform"), ("list", "nodes", None), ("delete", "namespaces", None)]
    result["who_can_answers"] = compare_who_can(api, binary, snapshot, questions)


# ---------------------------------------------------------------------------------------------
# Report


def markdown(results):
    lines = []
    for size in results["sizes"]:
        lines.append(f"\n### {size['namespaces']} namespaces (loaded in {size['load_s']} s)\n")
        lines.append("| what | median wall | peak RSS | runs |")
        lines.append("|---|---|---|---|")
        for m in size["measurements"]:
            if "wall_s" in m:
                lines.append(f"| {m['name']} | {m['wall_s']:.2f} s | {m['peak_rss_mib']:.0f} MiB | {m['runs']} |")
            else:
                lines.append(f"| {m['name']} | {m['status']} | | |")
        for row in size.get("who_can_answers", []):
            lines.append(f"\n`who-can {row['question']}`: kube-evidence {row['kube_evidence']} subject(s)"
                         + (f", kubectl-who-can {row['kubectl_who_can']}" if "kubectl_who_can" in row else ""))
            for side in ("only_kube_evidence", "only_kubectl_who_can"):
                for d in row.get(side, []):
                    verdict = "allows" if d["api_server_allows"] else "denies"
                    lines.append(f"- {side.replace('_', ' ')}: {d['subject']} — SubjectAccessReview {verdict}")
        if "pack" in size:
            pack = size["pack"]
            lines.append(f"\npack: {pack['pdf_pages']} PDF pages; "
                         + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in pack["files"].items()))
    scaling = [(s["namespaces"], m) for s in results["sizes"] for m in s["measurements"]
               if m["name"] in ("run --source cluster", "run --source DUMP") and "wall_s" in m]
    if len(results["sizes"]) > 1:
        lines.append("\n### Scaling\n")
        lines.append("| namespaces | command | wall | ms per namespace | peak RSS | KiB per namespace |")
        lines.append("|---|---|---|---|---|---|")
        for namespaces, m in sorted(scaling, key=lambda x: (x[1]["name"], x[0])):
            lines.append(f"| {namespaces} | {m['name']} | {m['wall_s']:.2f} s | {1000 * m['wall_s'] / namespaces:.2f}"
                         f" | {m['peak_rss_mib']:.0f} MiB | {1024 * m['peak_rss_mib'] / namespaces:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1250,2500,5000", help="namespace counts, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", default=os.path.join(CACHE, "bench-scale"))
    parser.add_argument("--no-peers", action="store_true", help="leave the peer tools out")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    tools = build(target)
    results = {"sizes": []}
    for namespaces in sizes:
        results["sizes"].append(one_size(namespaces, tools, args, namespaces == sizes[-1]))
    os.makedirs(args.work, exist_ok=True)
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))


if __name__ == "__main__":
    main()
