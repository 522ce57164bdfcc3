# Helpers for the integration tests: each test is a bash script run by
# scripts/test.sh against the project-local cluster; exit 0 = pass.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
SHARED_DATA="$(cd "$C360_ROOT/.." && pwd)/shared/data"

# q DB SQL: run SQL, print unaligned tuples only.
q() { local db="$1"; shift; c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 -c "$@"; }

fresh_db() {
  local db="$1"
  PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
}

drop_db() { PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }

check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "  ok   $1 = $3"; else echo "  FAIL $1: expected '$2', got '$3'"; FAILED=1; fi
}
FAILED=0
finish() { [ "$FAILED" -eq 0 ]; }

# A scratch directory the server (running as postgres) can read and write.
work_dir() { local dir=/tmp/c360_integration; mkdir -p "$dir"; chown "$C360_PGUSER" "$dir"; chmod 755 "$dir"; echo "$dir"; }

# A server-readable copy of a file (the server runs as postgres).
server_copy() {  # server_copy SRC NAME -> prints the path
  local dir; dir="$(work_dir)"
  cp "$1" "$dir/$2"; chmod 644 "$dir/$2"; echo "$dir/$2"
}
