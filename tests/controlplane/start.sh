#!/usr/bin/env bash
# Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 the way envtest does (etcd
# with a temporary data dir; kube-apiserver with RBAC authorization, a static admin token, client
# certificates from a CA of its own, ServiceAccount token issuing and signing keys, and an audit
# log to a file; of kube-controller-manager the controllers that turn escalation moves into
# credentials: ClusterRole aggregation, legacy token Secrets, and the kube-apiserver-client CSR
# signer), in the background, and waits until the API server is ready. Writes DIR/env (URL,
# token, pids, paths) and DIR/admin.kubeconfig.
# Usage: tests/controlplane/start.sh BIN_DIR DIR BASE_PORT   (uses BASE_PORT..BASE_PORT+2)
set -euo pipefail
bin="$1" dir="$2" base="$3"
etcd_port="$base" peer_port="$((base + 1))" api_port="$((base + 2))"
mkdir -p "$dir/etcd" "$dir/certs"
dir="$(cd "$dir" && pwd)"
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# A CA and a serving certificate for 127.0.0.1 (rustls, like most clients, wants a real chain).
(
  cd "$dir/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=kube-evidence-test-ca" \
    -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key \
    -out apiserver.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >ext.cnf
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile ext.cnf -out apiserver.crt 2>/dev/null
  # Client certificates (users of the re-performance tests, and what the CSR signer issues).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=kube-evidence-test-client-ca" \
    -keyout client-ca.key -out client-ca.crt -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl genrsa -out sa-signer.key 2048 2>/dev/null
  openssl rsa -in sa-signer.key -pubout -out sa-signer.pub 2>/dev/null
)
printf '%s,admin,admin-uid,"system:masters"\n' "$token" >"$dir/tokens.csv"
cat >"$dir/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
YAML

"$bin/etcd" --name default --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" --unsafe-no-fsync=true --log-level=warn \
  >"$dir/etcd.log" 2>&1 &
etcd_pid=$!

"$bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --tls-cert-file="$dir/certs/apiserver.crt" --tls-private-key-file="$dir/certs/apiserver.key" \
  --cert-dir="$dir/certs" \
  --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
  --disable-admission-plugins=ServiceAccount \
  --authorization-mode=RBAC \
  --token-auth-file="$dir/tokens.csv" \
  --client-ca-file="$dir/certs/client-ca.crt" \
  --service-account-issuer="https://kubernetes.default.svc" \
  --service-account-key-file="$dir/certs/sa-signer.pub" \
  --service-account-signing-key-file="$dir/certs/sa-signer.key" \
  --audit-policy-file="$dir/audit-policy.yaml" --audit-log-path="$dir/audit.log" \
  >"$dir/apiserver.log" 2>&1 &
api_pid=$!

cat >"$dir/env" <<ENV
APISERVER_URL=https://127.0.0.1:$api_port
ADMIN_TOKEN=$token
CA_FILE=$dir/certs/ca.crt
CLIENT_CA_CERT=$dir/certs/client-ca.crt
CLIENT_CA_KEY=$dir/certs/client-ca.key
AUDIT_LOG=$dir/audit.log
ETCD_PID=$etcd_pid
APISERVER_PID=$api_pid
API_PORT=$api_port
ENV
cat >"$dir/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $dir/certs/ca.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KC

for _ in $(seq 1 240); do
  if [ "$(curl -s --max-time 2 --cacert "$dir/certs/ca.crt" -H "Authorization: Bearer $token" \
      "https://127.0.0.1:$api_port/readyz" 2>/dev/null)" = "ok" ]; then
    # Of kube-controller-manager: ClusterRole aggregation, so aggregated roles (admin, edit,
    # view, and the samples' own) hold their rules as in a real cluster; the token controller,
    # which fills legacy ServiceAccount token Secrets with real tokens; and the signer of
    # kubernetes.io/kube-apiserver-client certificates (approved CSRs become credentials).
    "$bin/kube-controller-manager" --kubeconfig="$dir/admin.kubeconfig" \
      --controllers=clusterrole-aggregation,serviceaccount-token,csrsigning \
      --service-account-private-key-file="$dir/certs/sa-signer.key" \
      --root-ca-file="$dir/certs/ca.crt" \
      --cluster-signing-kube-apiserver-client-cert-file="$dir/certs/client-ca.crt" \
      --cluster-signing-kube-apiserver-client-key-file="$dir/certs/client-ca.key" \
      --leader-elect=false --secure-port=0 \
      >"$dir/controller-manager.log" 2>&1 &
    echo "CONTROLLER_MANAGER_PID=$!" >>"$dir/env"
    exit 0
  fi
  if ! kill -0 "$api_pid" 2>/dev/null || ! kill -0 "$etcd_pid" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
echo "error: the test control plane did not become ready; last lines of its logs:" >&2
tail -n 20 "$dir/etcd.log" "$dir/apiserver.log" >&2
kill "$api_pid" "$etcd_pid" 2>/dev/null || true
exit 1
