#!/usr/bin/env bash
# Installs what c360 needs on a fresh Debian machine, skipping what is there:
# apt packages, cargo-pgrx, and cargo-pgrx's registration of Debian's PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/env.sh"

[ "$(id -u)" = 0 ] || die "setup installs system packages: run it as root (or with sudo)"

# postgresql-N-cron: pg_cron, to show and test scheduled refreshes.
# python3-venv: the reference implementations (scikit-learn) tests compare against.
APT_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-cron libclang-dev clang sudo make pkg-config python3-venv)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: all packages present"
fi

command -v cargo >/dev/null || die "cargo not found: this machine kind ships Rust 1.95 via rustup"
if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
  log "cargo: installing cargo-pgrx $PGRX_VERSION (takes about five minutes)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --quiet
else
  log "cargo-pgrx $PGRX_VERSION present"
fi

if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$HOME/.pgrx/config.toml"; then
  log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG"
  cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG" >/dev/null
else
  log "cargo-pgrx knows pg$PG_MAJOR at $PG_CONFIG"
fi
