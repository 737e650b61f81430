#!/usr/bin/env bash
# Builds the web apps (web/, npm workspaces) when their sources changed since the last build, and makes sure
# the tools are here: Node.js >= 20.19 and npm from Debian's packages when missing, Debian's Chromium for
# the browser tests (Playwright never downloads a browser). Called by bootstrap.sh; `make web` forces a build.
# The hash of the sources is kept in .run/web.stamp. Nothing is fetched at run time: the built apps are
# plain files the gateway serves.
#
#   deploy/local/web.sh [--force]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WEB="$ROOT/web"
RUN="$ROOT/.run"
STAMP="$RUN/web.stamp"
mkdir -p "$RUN"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { printf 'web: %s\n' "$*" >&2; }
die() { printf 'web: error: %s\n' "$*" >&2; exit 1; }

apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "missing system packages; run: sudo apt-get update && sudo apt-get install -y $*"
  fi
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt (a parallel bootstrap) rather than fail on its lock.
  apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" >/dev/null
}

node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

need=()
node_ok || need+=(nodejs npm)
# the browser tests' browser, Debian's (Playwright downloads none); elsewhere (macOS) the web apps build without it
if [[ ! -x /usr/bin/chromium && -f /etc/debian_version ]]; then need+=(chromium); fi
if ((${#need[@]})); then
  apt_install "${need[@]}"
fi
node_ok || die "Node.js >= 20.19 with npm is needed for Vite (found: $(node --version 2>/dev/null || echo none))"

# The sources that make the build: everything under web/ but dependencies and outputs.
sources_hash() {
  (cd "$WEB" && find . \( -name node_modules -o -name dist \) -prune -o -type f -print | LC_ALL=C sort |
    xargs sha256sum | sha256sum | cut -d' ' -f1)
}

hash=$(sources_hash)
# Every app of the workspace (web/<app>/ beside shared/) must have its build.
apps_built() {
  local app
  for app in "$WEB"/*/package.json; do
    app=$(dirname "$app")
    [[ $(basename "$app") == shared || -f $app/dist/index.html ]] || return 1
  done
}

if [[ ${1:-} != --force && -f $STAMP && $(cat "$STAMP") == "$hash" ]] && apps_built; then
  exit 0
fi
log "building web/ (sources changed)"
cd "$WEB"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
npm run build --silent >&2
printf '%s\n' "$hash" >"$STAMP"
log "built: $(cd "$WEB" && echo */dist)"
