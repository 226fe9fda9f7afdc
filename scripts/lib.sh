# Shared by scripts/serve, scripts/test and scripts/bench: finds or installs what they need.
# Installs are idempotent and quick when everything is present.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly, or through sudo when it is there.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

APT_UPDATED=
# need_packages <command>:<debian package> ...: installs the packages whose command is missing.
need_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1 || ! as_root true 2>/dev/null; then
    die "missing: ${missing[*]}. Install these packages (Debian/Ubuntu names) and run again."
  fi
  log "installing ${missing[*]} with apt-get"
  if [ -z "$APT_UPDATED" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_rust_wasm() {
  command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust with rustup (https://rustup.rs) first."
  # gcc builds native SQLite; clang and llvm-ar build SQLite for wasm32.
  need_packages cc:gcc clang:clang llvm-ar:llvm
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    command -v rustup >/dev/null 2>&1 || die "the wasm32-unknown-unknown target is missing and rustup is not there to add it."
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
}

# The exact wasm-bindgen version in Cargo.lock: the CLI must match it.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen_cli() {
  local want have
  want=$(wasm_bindgen_version)
  [ -n "$want" ] || die "Cargo.lock names no wasm-bindgen version"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "$want" >&2
  fi
}

ensure_node_packages() {
  need_packages node:nodejs npm:npm
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

ensure_chromium() {
  need_packages chromium:chromium chromedriver:chromium-driver
}

CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)
export CHROMIUM
