#!/usr/bin/env bash
# Builds c360 and installs it into the system PostgreSQL (Debian's, via pg_config).
# usage: install.sh [--release]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$C360_ROOT"
profile=()
[ "${1:-}" = "--release" ] && profile=(--release)
mkdir -p "$C360_ROOT/target"
log "cargo pgrx install ${profile[*]:-(debug)} into $("$PG_CONFIG" --pkglibdir)"
cargo pgrx install "${profile[@]}" --pg-config "$PG_CONFIG" >"$C360_ROOT/target/install.log" 2>&1 \
  || { tail -40 "$C360_ROOT/target/install.log" >&2; die "build or install failed (full log: target/install.log)"; }
