#!/usr/bin/env bash
# Sets up a fresh machine and runs every c360 test:
#   1. cargo pgrx test   - Rust unit/property tests and #[pg_test]s inside PostgreSQL
#   2. pg_regress        - tests/pg_regress/sql/*.sql against expected/*.out
#   3. integration       - tests/integration/*.sh: multi-connection, dump/restore, upgrade
# Exits non-zero if anything fails; the last line is the overall summary.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$C360_ROOT"

bash scripts/setup.sh || exit 1
mkdir -p target

passed=0; failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

log "1/3 cargo pgrx test pg$PG_MAJOR"
rm -rf "$C360_PGRX_TEST_PGDATA"
cargo pgrx test "pg$PG_MAJOR" --runas "$C360_PGUSER" --pgdata "$C360_PGRX_TEST_PGDATA" 2>&1 | tee target/pgrx-test.log
rc=${PIPESTATUS[0]}
p=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' target/pgrx-test.log | awk '{s+=$4} END {print s+0}')
f=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' target/pgrx-test.log | awk '{s+=$6} END {print s+0}')
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # a build failure counts as a failure
count "$p" "$f"

# The regression and integration suites run against the project-local
# cluster with a normal (non-test) build of the extension installed.
bash scripts/install.sh || { count 0 1; echo "tests: $passed passed, $failed failed"; exit 1; }
bash scripts/cluster.sh start || { count 0 1; echo "tests: $passed passed, $failed failed"; exit 1; }

log "2/3 pg_regress (tests/pg_regress)"
bash scripts/regress.sh
rc=$?
# PostgreSQL 15's pg_regress prints "test name ... ok" or "... FAILED".
p=$(grep -cE '\.\.\. ok' target/pg_regress/summary.txt 2>/dev/null || true)
f=$(grep -cE '\.\.\. FAILED' target/pg_regress/summary.txt 2>/dev/null || true)
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
count "$p" "$f"

log "3/3 integration (tests/integration)"
for t in tests/integration/*.sh; do
  [ -e "$t" ] || continue
  if bash "$t"; then echo "ok $(basename "$t")"; count 1 0; else echo "not ok $(basename "$t")"; count 0 1; fi
done

log "all suites done in ${SECONDS}s"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
