#!/usr/bin/env bash
# Ingest benchmark: the full UCI Online Retail file (1x), release build,
# against the project-local cluster. Reports each run and the median of
# import_csv, ingest(), and a plain COPY into an all-text table for scale.
# usage: bash benches/ingest.sh [runs]   (default 3; not part of `make test`)
set -euo pipefail
runs="${1:-3}"
source "$(dirname "$0")/common.sh"
online_retail_copy

ms() { printf "%s\n" "$1" | c360_psql -d c360_bench -qtA | tail -1; }
declare -a imp ing cpy
for i in $(seq "$runs"); do
  fresh_db c360_bench
  c360_psql -d c360_bench -qc "CREATE EXTENSION c360" -c "CREATE TABLE public.plain_copy (invoiceno text, stockcode text, description text, quantity text, invoicedate text, unitprice text, customerid text, country text)"
  t=$(ms "SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0 \\gset
          COPY public.plain_copy FROM '$dir/online_retail.csv' CSV HEADER;
          SELECT round(extract(epoch FROM clock_timestamp()) * 1000 - :t0)")
  cpy+=("$t")
  t=$(ms "SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0 \\gset
          SELECT c360.import_csv('online_retail', '$dir/online_retail.csv');
          SELECT round(extract(epoch FROM clock_timestamp()) * 1000 - :t0)")
  imp+=("$t")
  t=$(ms "SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0 \\gset
          SELECT c360.ingest();
          SELECT round(extract(epoch FROM clock_timestamp()) * 1000 - :t0)")
  ing+=("$t")
  echo "run $i: plain COPY ${cpy[-1]} ms, import_csv ${imp[-1]} ms, ingest ${ing[-1]} ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median of $runs: plain COPY $(median "${cpy[@]}") ms, import_csv $(median "${imp[@]}") ms, ingest $(median "${ing[@]}") ms"
drop_db
