#!/usr/bin/env bash
# Runs the 3-node JetStream cluster of deploy/nats-cluster/ on this host, for rehearsing replicated
# streams and node failures. Data, logs and pid files go to .run/nats-cluster/.
#   run-local.sh start          start the three nodes and wait until JetStream has a leader
#   run-local.sh stop [N]       stop all nodes, or node N (1-3) to watch the others take over
#   run-local.sh status         one line per node
# Point the services at it with NATS_URL=tls://127.0.0.1:4231,tls://127.0.0.1:4232,tls://127.0.0.1:4233,
# NATS_CA_FILE=.run/nats-cluster/tls/ca.crt, FIELDLINE_<SERVICE>_NATS_STREAM_REPLICAS=3 and each service's
# user: FIELDLINE_<SERVICE>_NATS_USER=<service>, FIELDLINE_<SERVICE>_NATS_PASSWORD=$(cat .run/nats-cluster/users/<service>.password).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
DIR=.run/nats-cluster
SERVER=.venv/bin/nats-server
[[ -x $SERVER ]] || { echo "no $SERVER: run deploy/local/bootstrap.sh first" >&2; exit 1; }

pid_of() { cat "$DIR/n$1.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }

# Node N's ports as its configuration gives them (one place: deploy/nats-cluster/nN.conf).
port_of() { sed -nE "s/^$2: 127\.0\.0\.1:([0-9]+).*/\1/p" "deploy/nats-cluster/n$1.conf"; }

# True when node N reports JetStream healthy (which needs a meta leader, i.e. a quorum).
healthy() {
  "$ROOT/.venv/bin/python" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$(port_of "$1" http)/healthz?js-enabled-only=true" 2>/dev/null
}

# A private CA and one certificate for the three nodes (127.0.0.1, localhost; server and client use, as
# routes are mutual TLS), made once. On real hosts, use your CA and one certificate per host.
certificates() {
  local tls=$DIR/tls
  [[ -f $tls/node.crt ]] && return
  (umask 077 && mkdir -p "$tls")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=fieldline-nats-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=fieldline-nats" \
    -keyout "$tls/node.key" -out "$tls/node.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$tls/node.ext"
  openssl x509 -req -in "$tls/node.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 825 \
    -extfile "$tls/node.ext" -out "$tls/node.crt" 2>/dev/null
}

start() {
  mkdir -p "$DIR"
  certificates
  (umask 077 && "$ROOT/.venv/bin/python" -m shared.messaging.permissions "$DIR/users" >"$DIR/auth.conf")
  for n in 1 2 3; do
    alive "$n" || setsid "$SERVER" -c "deploy/nats-cluster/n$n.conf" >>"$DIR/n$n.out" 2>&1 </dev/null &
  done
  for _ in $(seq 100); do
    healthy 1 && healthy 2 && healthy 3 && { status; return; }
    sleep 0.2
  done
  echo "cluster not healthy after 20 s; see $DIR/n*.log" >&2
  exit 1
}

stop() {
  local n pid nodes=("$@")
  ((${#nodes[@]})) || nodes=(1 2 3)
  for n in "${nodes[@]}"; do
    pid=$(pid_of "$n")
    if alive "$n" && grep -qa nats-server "/proc/$pid/cmdline"; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "n$n stopped"
    fi
  done
}

status() {
  for n in 1 2 3; do
    if ! alive "$n"; then
      echo "n$n: stopped"
    elif healthy "$n"; then
      echo "n$n: running (pid $(pid_of "$n")), JetStream healthy, tls://127.0.0.1:$(port_of "$n" listen)"
    else
      echo "n$n: running (pid $(pid_of "$n")), JetStream not ready"
    fi
  done
}

case ${1:-} in
  start) start ;;
  stop) shift; stop "$@" ;;
  status) status ;;
  *) echo "usage: $0 start|stop [1|2|3]|status" >&2; exit 2 ;;
esac
