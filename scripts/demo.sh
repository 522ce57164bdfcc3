#!/usr/bin/env bash
# The main job on a fresh machine: set up, build and install c360 (release),
# start the project-local cluster, create database c360_demo with the
# extension, and report what is there.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$C360_ROOT"

bash scripts/setup.sh
mkdir -p target
bash scripts/install.sh --release
bash scripts/cluster.sh start

DB="${C360_DEMO_DB:-c360_demo}"
if ! c360_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  log "createdb $DB"
  c360_psql -d postgres -qc "CREATE DATABASE $DB"
fi

log "c360 in database $DB"
c360_psql -d "$DB" -f scripts/demo.sql

cat <<MSG

Connect with psql:   psql -h $C360_PGSOCK -p $C360_PGPORT -U $C360_PGUSER $DB
Stop the cluster:    bash scripts/cluster.sh stop
MSG
