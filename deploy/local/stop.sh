#!/usr/bin/env bash
# Stops what deploy/local/bootstrap.sh started under .run/ (a private nats-server, a private
# PostgreSQL cluster) and nothing else: servers that were already running are left alone.
#   --purge   also delete their data (.run/nats, .run/pg) so the next bootstrap starts afresh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$ROOT/.run"
PURGE=0
case ${1:-} in
  --purge) PURGE=1 ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

log() { printf 'stop: %s\n' "$*" >&2; }
# shellcheck source=deploy/local/platform.sh
. "$ROOT/deploy/local/platform.sh"

[[ -d $RUN ]] || { log "nothing to stop (no .run/)"; exit 0; }

# NATS: only the process named in our pid file, and only if it is a nats-server.
pid=$(cat "$RUN/nats.pid" 2>/dev/null || true)
if is_process "$pid" nats-server; then
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    log "nats-server $pid did not stop in 10 s: killed"
  else
    log "nats-server $pid stopped"
  fi
fi
rm -f "$RUN/nats.pid" "$RUN/nats.url"

# PostgreSQL: the private cluster in .run/pg, through its own pg_ctl.
PG_DATA="$RUN/pg/data"
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ -f $PG_DATA/postmaster.pid ]]; then
  bindir=$(cat "$RUN/pg/bindir" 2>/dev/null || echo "/usr/lib/postgresql/$(cat "$PG_DATA/PG_VERSION")/bin")
  if as_postgres "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    as_postgres "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
    log "private PostgreSQL cluster in .run/pg stopped"
  fi
fi

# .run/env may point at what was just stopped; bootstrap writes it again.
rm -f "$RUN/env"

if ((PURGE)); then
  rm -rf "$RUN/nats" "$RUN/pg" "$RUN/nats.conf" "$RUN/nats.log"
  log "purged .run/nats and .run/pg"
fi
