#!/usr/bin/env bash
# Runs the SQL regression suite (tests/pg_regress/sql/*.sql, compared with
# expected/*.out) with PostgreSQL's own pg_regress against the running
# project-local cluster. The order is the file names' order.
# usage: regress.sh [test ...]    (names without .sql; default: all)
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$C360_ROOT"
PG_REGRESS="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress"
[ -x "$PG_REGRESS" ] || die "pg_regress not found at $PG_REGRESS (package postgresql-server-dev-$PG_MAJOR)"

out="$C360_ROOT/target/pg_regress"
rm -rf "$out"; mkdir -p "$out"; chown "$C360_PGUSER" "$out"
if [ $# -gt 0 ]; then tests=("$@"); else
  tests=(); for f in tests/pg_regress/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done
fi
# Tests may read data files (CSV fixtures) from the database server: the
# server runs as postgres, so give it a readable copy of the fixtures.
# A fixed path keeps file names in expected output independent of the checkout.
fixtures=/tmp/c360_regress_fixtures; rm -rf "$fixtures"; cp -r tests/fixtures "$fixtures"
chown -R "$C360_PGUSER" "$fixtures"
# A fresh database each run, so results never depend on a previous run.
PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS c360_regress WITH (FORCE)" -c "CREATE DATABASE c360_regress" || exit 1
as_pg env PGHOST="$C360_PGSOCK" PGPORT="$C360_PGPORT" PGUSER="$C360_PGUSER" \
  C360_FIXTURES="$fixtures" C360_SHARED_DATA="$(cd "$C360_ROOT/.." && pwd)/shared/data" \
  "$PG_REGRESS" --use-existing --bindir="$PG_BIN" --dbname=c360_regress \
  --inputdir=tests/pg_regress --outputdir="$out" "${tests[@]}" 2>&1 | tee "$out/summary.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && [ -s "$out/regression.diffs" ]; then
  echo "--- differences (target/pg_regress/regression.diffs) ---"
  head -200 "$out/regression.diffs"
fi
exit "$rc"
