#!/usr/bin/env bash
# Brings up everything Fieldline needs on this machine, idempotently: the Python venv (.venv, synced
# to requirements.lock), PostgreSQL + PostGIS, NATS JetStream and the built web apps (deploy/local/web.sh).
# Uses a PostgreSQL that already answers (or starts a private cluster under .run/), always runs the
# project's own nats-server under .run/, and writes .run/env (`source .run/env`).
# Used by `make run`, `make test` and CI; see deploy/README.md.
#
# Runs on Debian 12 and 13 and Ubuntu 22.04 and 24.04: the Python version comes from pyproject.toml's
# requires-python and the PostgreSQL version from the running cluster or the distribution's packages (platform.sh);
# on macOS see deploy/README.md.
#
# Environment:
#   DATABASE_URL            use this server (must answer and let its user in: a password goes in the URL or
#                           ~/.pgpass); unset: postgresql://postgres@127.0.0.1:$FIELDLINE_PG_PORT/fieldline, or a
#                           private cluster in .run/pg when nothing answers there or it asks for a password
#   FIELDLINE_PG_PORT       port of the default DATABASE_URL (the running cluster's, pg_lsclusters; else 5432)
#   NATS_URL                use this server (must answer with JetStream); unset: the project's own nats-server
#                           (the version locked in requirements.lock), started under .run/ — never whatever
#                           happens to answer on 4222 (an old distribution server without auth is not ours)
#   FIELDLINE_NATS_PORT     first port tried for the private nats-server (4322)
#   FIELDLINE_NATS_SYNC     sync_interval of a private nats-server (always)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
RUN="$ROOT/.run"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
UV_REQUIREMENT=${FIELDLINE_UV_REQUIREMENT:-uv==0.13.9}
mkdir -p "$RUN"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=deploy/local/platform.sh
. "$ROOT/deploy/local/platform.sh"

# One bootstrap at a time per work tree: `make test` in two shells must not start two servers.
exec 9>"$RUN/bootstrap.lock"
if command -v flock >/dev/null; then flock 9; fi  # util-linux; absent on macOS

# Runs a command quietly; shows its output only when it fails.
quiet() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if ((rc != 0)); then
    printf '%s\n' "$out" >&2
    die "failed ($rc): $*"
  fi
}

is_debian() { [[ -f /etc/debian_version ]] && command -v apt-get >/dev/null; }
is_root() { [[ $(id -u) -eq 0 ]]; }

APT_UPDATED=0
# apt_update: the package lists, once per run, when we may (root on Debian/Ubuntu); apt-cache reads them.
apt_update() {
  if ((APT_UPDATED == 0)) && is_root && is_debian; then
    DEBIAN_FRONTEND=noninteractive quiet apt-get update -q
    APT_UPDATED=1
  fi
}

# apt_install PKG...: installs Debian packages as root, or tells the user the command and stops.
apt_install() {
  if ! is_root || ! is_debian; then
    if is_debian; then
      die "missing system packages; run: sudo apt-get update && sudo apt-get install -y $*"
    fi
    die "missing system packages (Debian names: $*); install their equivalents and run again"
  fi
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  quiet apt-get install -y -q --no-install-recommends "$@"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port PREFERRED: PREFERRED when nothing listens on it, else a port the kernel hands out.
free_port() {
  if ! port_in_use "$1"; then
    echo "$1"
    return
  fi
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# url_part URL FIELD: host, port, dbname, or a maintenance URL (same server, database "postgres")
# of a postgresql:// URL; a SQLAlchemy driver suffix (postgresql+asyncpg://) is dropped for libpq.
url_part() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from urllib.parse import urlsplit

url, field = sys.argv[1], sys.argv[2]
parts = urlsplit(url)
scheme = parts.scheme.split("+")[0]
if field == "libpq":
    print(parts._replace(scheme=scheme).geturl())
elif field == "maintenance":
    print(parts._replace(scheme=scheme, path="/postgres").geturl())
elif field == "dbname":
    print(parts.path.lstrip("/") or "postgres")
elif field == "redacted":  # for messages: the password is never printed
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2 and ":" in netloc[0]:
        parts = parts._replace(netloc=f"{netloc[0].split(':', 1)[0]}:***@{netloc[1]}")
    print(parts.geturl())
elif field == "user":
    print(parts.username or "")
elif field == "host":
    print(parts.hostname or "localhost")
elif field == "port":
    print(parts.port or (5432 if scheme.startswith("postgres") else 4222))
PYEOF
}

# ---------------------------------------------------------------------------------------------------
# a. Python
# ---------------------------------------------------------------------------------------------------
# No Python $1 on PATH, nor in the distribution (Debian 13 ships 3.13, Ubuntu 24.04 3.12): uv fetches a standalone
# build (python-build-standalone, downloaded from GitHub) into .run/python. Prints its interpreter.
python_from_uv() {
  local want=$1 tools="$RUN/uv-tools" system
  system=$(command -v python3) || die "no Python at all; install Python $want and run again"
  if [[ ! -x $tools/bin/uv ]]; then
    if ! "$system" -m venv "$tools" >/dev/null 2>&1; then
      rm -rf "$tools"
      is_debian && apt_install python3-venv
      quiet "$system" -m venv "$tools"
    fi
    quiet "$tools/bin/python" -m pip install -q --disable-pip-version-check "$UV_REQUIREMENT"
  fi
  log "python:   no Python $want on PATH or in $(os_name)'s packages: fetching one with uv into .run/python"
  UV_PYTHON_INSTALL_DIR="$RUN/python" "$tools/bin/uv" python install "$want" 2>&1 | tail -n5 >&2 ||
    die "uv could not fetch Python $want (it downloads from github.com); install Python $want yourself (pyenv, Homebrew python@$want, Ubuntu's deadsnakes PPA), put python$want on PATH and run again"
  UV_PYTHON_INSTALL_DIR="$RUN/python" "$tools/bin/uv" python find --managed-python "$want"
}

# The interpreter .venv is made from: the version pyproject.toml asks for, from PATH, else the distribution's
# packages, else uv (platform.sh's python_plan).
base_python() {
  local want plan
  want=$(wanted_python) || die "pyproject.toml names no requires-python"
  plan=$(python_plan "$want")
  if [[ $plan != found* ]] && is_debian; then
    apt_update # the lists may be stale, or empty in a fresh container
    plan=$(python_plan "$want")
  fi
  case $plan in
    found\ *) echo "${plan#found }" ;;
    apt\ *)
      # shellcheck disable=SC2086 # the packages, one per word
      apt_install ${plan#apt }
      python_at "$want" || die "installed ${plan#apt } but found no python$want on PATH"
      ;;
    *) python_from_uv "$want" ;;
  esac
}

setup_python() {
  if [[ ! -x $PY ]]; then
    local base minor
    base=$(base_python)
    if ! "$base" -m venv "$VENV" >/dev/null 2>&1; then
      rm -rf "$VENV"
      minor=$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
      is_debian && apt_install "python$minor-venv"
      quiet "$base" -m venv "$VENV"
    fi
  fi
  if [[ ! -x $VENV/bin/uv ]]; then
    quiet "$PY" -m pip install -q --disable-pip-version-check "$UV_REQUIREMENT"
  fi
  # The stamp names how the venv was synced too, so a change of recipe re-syncs old venvs.
  local want have
  want="$(sha256sum requirements.lock | cut -d' ' -f1) compile-bytecode"
  have=$(cat "$VENV/.fieldline-lock-sha" 2>/dev/null || true)
  if [[ $want != "$have" ]]; then
    # Bytecode up front: uv skips it by default, and with PYTHONDONTWRITEBYTECODE (set on these
    # machines) every process would compile its imports again (measured: 5.9 s -> 2.3 s CPU for
    # importing one service).
    quiet "$VENV/bin/uv" pip sync -q --compile-bytecode -p "$PY" requirements.lock
    echo "$want" >"$VENV/.fieldline-lock-sha"
    PY_STATE="synced to requirements.lock"
  else
    PY_STATE="requirements.lock unchanged"
  fi
  log "python:   $("$PY" -V 2>&1) in .venv, $PY_STATE"
  setup_valhalla
}

# The Valhalla routing engine's executables, from the pyvalhalla wheel: PyPI has it for CPython 3.12+ only (abi3),
# so it goes beside the venv with --target (its Python binding unused) and its executables are run as they are.
setup_valhalla() {
  local want have
  want=$(sha256sum requirements-valhalla.lock | cut -d' ' -f1)
  have=$(cat "$VENV/valhalla/.fieldline-lock-sha" 2>/dev/null || true)
  if [[ $want != "$have" ]]; then
    # the interpreter and platform the lock was compiled for (make lock), read from its header
    local python platform
    python=$(sed -n 's/.*--python-version \([0-9.]*\).*/\1/p' requirements-valhalla.lock | head -1)
    platform=$(sed -n 's/.*--python-platform \([a-z0-9_-]*\).*/\1/p' requirements-valhalla.lock | head -1)
    rm -rf "$VENV/valhalla"
    quiet "$VENV/bin/uv" pip install -q --target "$VENV/valhalla" --python-version "$python" \
      --python-platform "$platform" --no-deps --require-hashes -r requirements-valhalla.lock
    echo "$want" >"$VENV/valhalla/.fieldline-lock-sha"
  fi
  log "valhalla: $("$VENV/valhalla/valhalla/bin/valhalla_service" --version 2>&1 | head -1) in .venv/valhalla"
}

# ---------------------------------------------------------------------------------------------------
# b. PostgreSQL + PostGIS
# ---------------------------------------------------------------------------------------------------
PG_DIR="$RUN/pg"
PG_DEFAULT_PORT=5432 # PostgreSQL's own
PG_DATA="$PG_DIR/data"

pg_answers() { pg_isready -q -t 3 -d "$(url_part "$1" libpq)" >/dev/null 2>&1; }

# psql_at URL SQL: one value, no headers, stop on error; never prompts for a password (-w).
psql_at() { psql -X -w -q -v ON_ERROR_STOP=1 -tA -d "$(url_part "$1" libpq)" -c "$2"; }

# login_refused URL: prints why the server refuses URL's user (a password asked for or wrong, no such role) and
# succeeds; fails when the login works. Checked on the maintenance database: the target may not exist yet.
login_refused() {
  local said
  said=$(psql_at "$(url_part "$1" maintenance)" 'SELECT 1' 2>&1) && return 1
  grep -iE 'password|authentication|role .* does not exist|no pg_hba.conf entry' <<<"$said" | head -n1 | grep .
}

# as_postgres CMD...: the cluster's files belong to postgres when we are root (initdb refuses root).
as_postgres() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bindir() {
  local initdb
  initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)
  if [[ -z $initdb ]] && command -v pg_config >/dev/null; then
    initdb="$(pg_config --bindir)/initdb"
  fi
  [[ -x $initdb ]] && dirname "$initdb"
}

# Starts (creating it first if needed) the private cluster under .run/pg; prints its URL.
start_private_pg() {
  local bindir port major
  bindir=$(pg_bindir || true)
  if [[ -z $bindir ]]; then
    apt_update
    major=$(distro_postgres_major) ||
      die "no PostgreSQL server here and no package to install on $(os_name); install PostgreSQL with PostGIS, or set DATABASE_URL"
    apt_install "postgresql-$major" "postgresql-$major-postgis-3" postgresql-client
    bindir=$(pg_bindir || true)
    [[ -n $bindir ]] || die "PostgreSQL server binaries (initdb) not found after install"
  fi
  if is_root && ! id postgres >/dev/null 2>&1; then
    die "user 'postgres' missing; initdb refuses to run as root (install postgresql to create it)"
  fi

  mkdir -p "$PG_DIR"
  is_root && chown postgres: "$PG_DIR"
  if is_root && ! runuser -u postgres -- test -w "$PG_DIR"; then
    die "user postgres cannot write $PG_DIR (a parent directory is not traversable); clone elsewhere or set DATABASE_URL"
  fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    quiet as_postgres "$bindir/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8
    port=$(free_port "${FIELDLINE_PG_PRIVATE_PORT:-55432}")
    # A throwaway development cluster: durability is traded for test speed.
    as_postgres tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# --- fieldline private cluster (deploy/local/bootstrap.sh) ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    echo "$port" >"$PG_DIR/port"
  fi
  echo "$bindir" >"$PG_DIR/bindir"
  port=$(cat "$PG_DIR/port")
  if ! as_postgres "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    port_in_use "$port" && die "port $port of the private cluster is taken; run deploy/local/stop.sh --purge"
    quiet as_postgres "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 start 9>&-
  fi
  echo "postgresql://postgres@127.0.0.1:$port/fieldline"
}

# Makes sure the database exists and has the extensions of shared/db.py.
prepare_database() {
  local url=$1 dbname maint major shown user
  shown=$(url_part "$url" redacted)
  user=$(url_part "$url" user)
  major=$(($(psql_at "$(url_part "$url" maintenance)" 'SHOW server_version_num') / 10000))
  if [[ -z $(psql_at "$(url_part "$url" maintenance)" "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'") ]]; then
    case $(url_part "$url" host) in
      127.0.0.1 | localhost | ::1) apt_install "postgresql-$major-postgis-3" ;;
      *) die "the server at $shown has no PostGIS; install postgresql-$major-postgis-3 (or equivalent) there" ;;
    esac
  fi
  dbname=$(url_part "$url" dbname)
  maint=$(url_part "$url" maintenance)
  if [[ -z $(psql_at "$maint" "SELECT 1 FROM pg_database WHERE datname = '${dbname//\'/\'\'}'") ]]; then
    # Another work tree may create it at the same moment: only fail if it is still missing.
    psql_at "$maint" "CREATE DATABASE \"${dbname//\"/\"\"}\"" >/dev/null 2>&1 ||
      [[ -n $(psql_at "$maint" "SELECT 1 FROM pg_database WHERE datname = '${dbname//\'/\'\'}'") ]] ||
      die "user ${user:-?} cannot create database $dbname at $shown: create it (owned by ${user:-that user}) as an administrator, or give the user CREATEDB"
  fi
  # the same list as shared/db.py's EXTENSIONS; creating them takes a superuser (or the database's owner for
  # trusted ones), so only the missing ones are created
  local missing sql
  missing=$(psql_at "$url" "SELECT string_agg(name, ' ') FROM unnest(ARRAY['postgis', 'btree_gist', 'pg_trgm']) AS name WHERE name NOT IN (SELECT extname FROM pg_extension)")
  if [[ -n $missing ]]; then
    # shellcheck disable=SC2086 # one statement per word
    sql=$(printf 'CREATE EXTENSION IF NOT EXISTS %s; ' $missing)
    psql_at "$url" "$sql" >/dev/null 2>&1 ||
      die "user ${user:-?} may not create the extensions $missing in $dbname at $shown; as a superuser, run there: $sql"
  fi
  PG_VERSION=$(psql_at "$url" 'SHOW server_version' | cut -d' ' -f1)
  POSTGIS_VERSION=$(psql_at "$url" "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
}

setup_postgres() {
  if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
    apt_install postgresql-client
  fi
  local private_url="" origin
  [[ -f $PG_DIR/port ]] && private_url="postgresql://postgres@127.0.0.1:$(cat "$PG_DIR/port")/fieldline"

  local refused system_port
  # the port of the newest cluster running here (Debian's and Ubuntu's pg_lsclusters), else PostgreSQL's default
  system_port=${FIELDLINE_PG_PORT:-$( (online_clusters || echo "0 $PG_DEFAULT_PORT") | head -n1 | cut -d' ' -f2)}
  if [[ -n ${DATABASE_URL:-} && $DATABASE_URL != "$private_url" ]]; then
    pg_answers "$DATABASE_URL" ||
      die "DATABASE_URL=$(url_part "$DATABASE_URL" redacted) does not answer (pg_isready); start that server or unset DATABASE_URL"
    if refused=$(login_refused "$DATABASE_URL"); then
      die "DATABASE_URL=$(url_part "$DATABASE_URL" redacted) answers but refuses the login ($refused); put the password in the URL (postgresql://USER:PASSWORD@HOST:PORT/DB) or in ~/.pgpass, or unset DATABASE_URL for a private cluster"
    fi
    origin="DATABASE_URL from the environment"
  elif DATABASE_URL="postgresql://postgres@127.0.0.1:$system_port/fieldline" && pg_answers "$DATABASE_URL" &&
    ! refused=$(login_refused "$DATABASE_URL"); then
    origin="server already running"
  else
    if [[ -n ${refused:-} ]]; then
      log "postgres: the server on 127.0.0.1:$system_port refuses user postgres without a password ($refused): using a private cluster instead; to use that server, set DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:$system_port/fieldline"
    fi
    DATABASE_URL=$(start_private_pg)
    pg_answers "$DATABASE_URL" || die "private cluster did not answer at $DATABASE_URL; see $PG_DIR/postgres.log"
    origin="private cluster in .run/pg"
  fi
  prepare_database "$DATABASE_URL"
  log "postgres: $(url_part "$DATABASE_URL" redacted) (PostgreSQL $PG_VERSION, PostGIS $POSTGIS_VERSION; $origin)"
}

# ---------------------------------------------------------------------------------------------------
# c. NATS JetStream
# ---------------------------------------------------------------------------------------------------
# Prints the server version when a JetStream-enabled server answers at URL within 2 s.
nats_jetstream_version() {
  "$PY" - "$1" 2>/dev/null <<'PYEOF'
import asyncio
import sys

import nats


async def probe(url: str) -> str:
    async def quiet(_: Exception) -> None:
        pass

    nc = await nats.connect(
        url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet
    )
    try:
        await nc.jetstream(timeout=2).account_info()
        server = nc.connected_server_version
        return f"{server.major}.{server.minor}.{server.patch}"
    finally:
        await nc.close()


print(asyncio.run(asyncio.wait_for(probe(sys.argv[1]), 3)))
PYEOF
}

# True when the server at URL (credentials in it ignored) lets in a client without credentials.
nats_allows_anonymous() {
  "$PY" - "$1" 2>/dev/null <<'PYEOF'
import asyncio
import sys
from urllib.parse import urlsplit

import nats


async def probe(url: str) -> None:
    async def quiet(_: Exception) -> None:
        pass

    parts = urlsplit(url.split(",")[0])
    nc = await nats.connect(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 4222}",
        connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet,
    )
    await nc.close()


asyncio.run(asyncio.wait_for(probe(sys.argv[1]), 3))
PYEOF
}

# Starts a private nats-server from deploy/local/nats.conf; prints its URL.
# The effective config: the committed one with this port, sync policy and absolute paths, plus the
# authorization block of shared/messaging/permissions.py (a user per service, passwords made once in
# .run/nats-users/, mode 0600). The file holds passwords: 0600.
render_nats_conf() {
  local port=$1
  (umask 077 && mkdir -p "$RUN/nats-users")
  sed -e "s|^listen: .*|listen: 127.0.0.1:$port|" \
    -e "s|^\( *\)sync_interval: .*|\1sync_interval: ${FIELDLINE_NATS_SYNC:-always}|" \
    -e "s|\"\\.run/|\"$RUN/|" \
    deploy/local/nats.conf
  "$PY" -m shared.messaging.permissions "$RUN/nats-users"
}

# The private server's URL with the admin user's credentials, for bootstrap's own probes only.
private_admin_url() {
  local url=$1
  echo "${url/nats:\/\//nats://fieldline-admin:$(cat "$RUN/nats-users/fieldline-admin.password")@}"
}

start_private_nats() {
  local default_port=$1 port pid
  pid=$(cat "$RUN/nats.pid" 2>/dev/null || true)
  if is_process "$pid" nats-server; then
    kill "$pid" # alive but not answering: restart it
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  port=$(free_port "$default_port")
  mkdir -p "$RUN/nats"
  (umask 077 && render_nats_conf "$port" >"$RUN/nats.conf")
  rm -f "$RUN/nats.pid"
  # 9>&-: the server must not inherit (and hold forever) the bootstrap lock.
  detach "$VENV/bin/nats-server" -c "$RUN/nats.conf" >>"$RUN/nats.log" 2>&1 </dev/null 9>&- &
  echo "nats://127.0.0.1:$port" >"$RUN/nats.url"
  echo "nats://127.0.0.1:$port"
}

setup_nats() {
  local private_url version origin
  private_url=$(cat "$RUN/nats.url" 2>/dev/null || true)
  if [[ -n ${NATS_URL:-} && $NATS_URL != "$private_url" ]]; then
    version=$(nats_jetstream_version "$NATS_URL") ||
      die "NATS_URL=$NATS_URL does not answer with JetStream enabled; start it (nats-server -js) or unset NATS_URL"
    origin="NATS_URL from the environment"
    # the services refuse an older broker at start (shared/messaging/connection.py MIN_SERVER_VERSION)
    [[ $(printf '%s\n' 2.12.3 "$version" | sort -V | head -1) == 2.12.3 ]] ||
      die "NATS_URL=$NATS_URL runs nats-server $version, older than 2.12.3 (it can lose acknowledged messages); upgrade it or unset NATS_URL to run the locked server"
    # issue 16: a broker anyone can use is never adopted
    ! nats_allows_anonymous "$NATS_URL" ||
      die "NATS_URL=$NATS_URL lets clients in without credentials; give it the users of shared/messaging/permissions.py (deploy/README.md \"NATS users\") or unset NATS_URL to run the locked server"
  elif [[ -n $private_url ]] && (umask 077 && render_nats_conf "${private_url##*:}" >"$RUN/nats.conf.next") &&
    cmp -s "$RUN/nats.conf.next" "$RUN/nats.conf" &&
    version=$(nats_jetstream_version "$(private_admin_url "$private_url")"); then
    # adopted only when it runs today's users and permissions (an older config is restarted below)
    NATS_URL=$private_url
    origin="private server from .run/nats.conf"
  else
    NATS_URL=$(start_private_nats "${FIELDLINE_NATS_PORT:-4322}")
    for _ in $(seq 50); do
      version=$(nats_jetstream_version "$(private_admin_url "$NATS_URL")") && break
      sleep 0.2
    done
    [[ -n ${version:-} ]] || die "private nats-server did not answer at $NATS_URL; see $RUN/nats.log"
    origin="private server started from .run/nats.conf, sync_interval ${FIELDLINE_NATS_SYNC:-always}"
  fi
  log "nats:     $NATS_URL (nats-server $version, JetStream; $origin)"
}

# ---------------------------------------------------------------------------------------------------
setup_python
setup_postgres
setup_nats
# The web apps (built when their sources changed; Node.js and Chromium from Debian when missing).
"$ROOT/deploy/local/web.sh"

printf 'export DATABASE_URL=%q\nexport NATS_URL=%q\n' "$DATABASE_URL" "$NATS_URL" >"$RUN/env.tmp"
chmod 600 "$RUN/env.tmp"
if [[ $NATS_URL == "$(cat "$RUN/nats.url" 2>/dev/null)" ]]; then
  # each service's own NATS user on the private server (an external NATS_URL brings its own)
  for svc in contracts requests dispatch notify; do
    printf 'export FIELDLINE_%s_NATS_USER=%q\nexport FIELDLINE_%s_NATS_PASSWORD=%q\n' \
      "${svc^^}" "$svc" "${svc^^}" "$(cat "$RUN/nats-users/$svc.password")" >>"$RUN/env.tmp"
  done
fi
mv "$RUN/env.tmp" "$RUN/env"
log "env:      .run/env (source it: DATABASE_URL, NATS_URL, FIELDLINE_<SVC>_NATS_USER/_PASSWORD)"
