# shellcheck shell=bash
# Sourced by deploy/local/bootstrap.sh and stop.sh: what this machine has, found rather than assumed, so that
# bootstrap runs on Debian 12 and 13, Ubuntu 22.04 and 24.04 (and, with Homebrew, macOS: deploy/README.md).
# Each function prints what it found and fails when there is nothing; none installs or starts anything.
# tests/deploy/test_platform.py runs them against fake commands and files.

# wanted_python [PYPROJECT]: the Python minor the locks are for, from requires-python (">=3.11,<3.12" -> 3.11).
wanted_python() {
  sed -nE 's/^requires-python *= *"[^0-9]*([0-9]+\.[0-9]+).*/\1/p' "${1:-pyproject.toml}" | head -n1 | grep .
}

# python_at VERSION: the first interpreter on PATH that is VERSION: pythonX.Y, then python3.
python_at() {
  local candidate
  for candidate in "python$1" python3; do
    if command -v "$candidate" >/dev/null &&
      [[ $("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) == "$1" ]]; then
      command -v "$candidate"
      return
    fi
  done
  return 1
}

# apt_candidate PACKAGE: apt knows a version of PACKAGE to install (Debian 13 and Ubuntu 24.04 have no python3.11).
apt_candidate() {
  command -v apt-cache >/dev/null || return 1
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | sed -nE 's/^ *Candidate: *//p')
  [[ -n $candidate && $candidate != "(none)" ]]
}

# python_plan VERSION: where .venv's interpreter comes from: "found PATH" (on PATH), "apt PACKAGE..." (the
# distribution has it: Debian 12, Ubuntu 22.04 for 3.11), else "uv VERSION" (a standalone build uv fetches:
# Debian 13 ships 3.13 only, Ubuntu 24.04 3.12).
python_plan() {
  local base
  if base=$(python_at "$1"); then
    echo "found $base"
  elif apt_candidate "python$1-venv"; then
    echo "apt python$1 python$1-venv"
  else
    echo "uv $1"
  fi
}

# distro_postgres_major: the PostgreSQL major of the distribution's "postgresql" package (15 on Debian 12,
# 17 on Debian 13, 16 on Ubuntu 24.04), from what apt says it depends on.
distro_postgres_major() {
  command -v apt-cache >/dev/null || return 1
  apt-cache depends postgresql 2>/dev/null | sed -nE 's/^ *Depends: postgresql-([0-9]+)$/\1/p' | sort -n | tail -n1 | grep .
}

# online_clusters: "major port" per PostgreSQL cluster running here (Debian's and Ubuntu's pg_lsclusters), newest
# major first.
online_clusters() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters -h 2>/dev/null | awk '$4 ~ /^online/ { print $1, $3 }' | sort -rn | grep .
}

# os_name: "Debian GNU/Linux 13 (trixie)", "Ubuntu 24.04.1 LTS", "macOS 14.5" (FIELDLINE_OS_RELEASE: another file).
os_name() {
  local release=${FIELDLINE_OS_RELEASE:-/etc/os-release}
  if [[ -r $release ]]; then
    # shellcheck source=/dev/null
    (. "$release" && echo "${PRETTY_NAME:-${NAME:-unknown} ${VERSION_ID:-}}")
  elif command -v sw_vers >/dev/null; then
    echo "macOS $(sw_vers -productVersion)"
  else
    uname -s
  fi
}

# detach CMD...: CMD in a session of its own, so the terminal's Ctrl-C does not reach it: setsid (util-linux) where
# there is one; macOS has none, and a background job of a script ignores SIGINT anyway, so nohup suffices there.
detach() {
  if command -v setsid >/dev/null; then
    setsid "$@"
  else
    nohup "$@"
  fi
}

# is_process PID NAME: PID is alive and its command line names NAME (ps: Linux and macOS; /proc is Linux only).
is_process() {
  [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && ps -p "$1" -o command= 2>/dev/null | grep -q -- "$2"
}
