#!/usr/bin/env bash
# The project-local PostgreSQL cluster: start | stop | status | restart | psql ...
# Data, socket and log live under target/c360-cluster; it never touches the
# system's default cluster. `start` is idempotent: a running cluster is reused,
# a stale postmaster.pid or socket from a killed run is cleaned up first.
set -euo pipefail
source "$(dirname "$0")/env.sh"

is_running() { as_pg "$PG_BIN/pg_ctl" -D "$C360_PGDATA" status >/dev/null 2>&1; }

start() {
  local top; top="$(dirname "$C360_PGDATA")"
  mkdir -p "$top" "$C360_PGSOCK"
  chown "$C360_PGUSER" "$top" "$C360_PGSOCK"
  if [ ! -s "$C360_PGDATA/PG_VERSION" ]; then
    log "initdb $C360_PGDATA"
    rm -rf "$C360_PGDATA"
    as_pg "$PG_BIN/initdb" -D "$C360_PGDATA" -U "$C360_PGUSER" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$C360_PGDATA/postgresql.conf" <<CONF
# c360 project-local cluster
listen_addresses = ''
unix_socket_directories = '$C360_PGSOCK'
port = $C360_PGPORT
fsync = off
max_worker_processes = 16
max_parallel_workers_per_gather = 2
shared_buffers = 512MB
include_if_exists = 'c360_extra.conf'
CONF
  fi
  # Rewritten on every start, so older clusters pick up new settings on restart.
  {
    echo "# written by scripts/cluster.sh"
    if [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
      echo "shared_preload_libraries = 'pg_cron'   # scheduled refreshes (README: Scheduling)"
      echo "cron.database_name = 'postgres'"
      echo "cron.use_background_workers = on   # jobs run in background workers: no TCP connection needed"
    fi
  } > "$C360_PGDATA/c360_extra.conf"
  chown "$C360_PGUSER" "$C360_PGDATA/c360_extra.conf"
  if is_running; then
    log "cluster already running on port $C360_PGPORT (socket $C360_PGSOCK)"
    return
  fi
  # A killed postmaster leaves its pid file and socket lock behind; pg_ctl
  # status above said nothing runs, so they are stale.
  rm -f "$C360_PGDATA/postmaster.pid" "$C360_PGSOCK/.s.PGSQL.$C360_PGPORT" "$C360_PGSOCK/.s.PGSQL.$C360_PGPORT.lock"
  log "starting cluster on port $C360_PGPORT (socket $C360_PGSOCK)"
  as_pg "$PG_BIN/pg_ctl" -D "$C360_PGDATA" -l "$(dirname "$C360_PGDATA")/postgres.log" -w -t 60 start >/dev/null \
    || { tail -20 "$(dirname "$C360_PGDATA")/postgres.log" >&2; die "cluster did not start"; }
}

stop() {
  if is_running; then
    log "stopping cluster"
    as_pg "$PG_BIN/pg_ctl" -D "$C360_PGDATA" -m fast -w stop >/dev/null
  fi
}

cmd="${1:-status}"; shift || true
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if is_running; then echo "running: psql -h $C360_PGSOCK -p $C360_PGPORT -U $C360_PGUSER"; else echo "stopped"; fi ;;
  psql) c360_psql "$@" ;;
  *) die "usage: $0 start|stop|restart|status|psql [args]" ;;
esac
