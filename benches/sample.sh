#!/usr/bin/env bash
# Sample-data benchmark (issue 9): c360.generate_sample() at several sizes,
# each into a fresh database, release build; the per-table times come from
# generate_sample's own result, plus the total and the backend's peak RSS.
# usage: bash benches/sample.sh [customers ...]   (default 100000 1000000; not part of make test)
set -euo pipefail
sizes=("${@:-100000 1000000}"); [ $# -gt 0 ] || sizes=(100000 1000000)
source "$(dirname "$0")/common.sh"
for n in "${sizes[@]}"; do
  fresh_db c360_bench_sample
  c360_psql -d "$db" -qc "CREATE EXTENSION c360"
  read -r t m < <(measure "CREATE TABLE public.timings AS SELECT * FROM c360.generate_sample($n, 42);")
  echo "customers $n: total $t ms, peak RSS $m kB; $(c360_psql -d "$db" -qtA -c "SELECT string_agg(format('%s %s rows %s ms', table_name, rows, ms), ', ') FROM public.timings")"
done
drop_db
