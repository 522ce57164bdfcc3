# Shared settings for c360's scripts. Sourced, never run.
# Every value can be overridden from the environment.
C360_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/${PG_MAJOR}/bin}"
PG_CONFIG="${PG_CONFIG:-${PG_BIN}/pg_config}"
PGRX_VERSION="0.18.0"
# The project-local cluster: its own data directory, port and socket directory,
# run as the `postgres` OS user because PostgreSQL refuses to run as root.
C360_PGDATA="${C360_PGDATA:-${C360_ROOT}/target/c360-cluster/data}"
C360_PGSOCK="${C360_PGSOCK:-${C360_ROOT}/target/c360-cluster/run}"
C360_PGPORT="${C360_PGPORT:-54360}"
C360_PGUSER="${C360_PGUSER:-postgres}"
# The database cargo-pgrx starts for its #[pg_test]s lives apart from ours.
C360_PGRX_TEST_PGDATA="${C360_PGRX_TEST_PGDATA:-/tmp/c360-pgrx-test-pgdata}"
export PATH="${HOME}/.cargo/bin:${PATH}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as the cluster's OS user (root cannot run PostgreSQL).
as_pg() {
  # sudo resets the environment; PGOPTIONS is how callers pass settings.
  if [ "$(id -un)" = "$C360_PGUSER" ]; then "$@"; else sudo -u "$C360_PGUSER" -- env PGOPTIONS="${PGOPTIONS:-}" "$@"; fi
}

# psql against the project-local cluster; extra arguments are passed through.
c360_psql() {
  as_pg "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" "$@"
}

# The Python interpreter of target/venv, with tests/requirements.txt (the
# reference implementations tests and benches compare against); made on
# first use and again when the requirements change.
c360_python() {
  local venv="$C360_ROOT/target/venv" req="$C360_ROOT/tests/requirements.txt"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
    log "python: installing tests/requirements.txt into target/venv"
    python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 \
      && cp "$req" "$venv/requirements.txt" || die "could not create the Python venv (needs python3-venv and network access to PyPI)"
  fi
  echo "$venv/bin/python"
}
