#!/usr/bin/env bash
# Ingest benchmark: the UCI Online Retail file at scale N (1x: the file
# itself; N x: replicated with offset invoice and customer ids, see
# replicate_file in common.sh), release build, project-local cluster, a
# fresh database per load. Side by side in each run: a plain COPY into an
# all-text table plus the plain-SQL cleaning (benches/plain_sql/cleaning.sql),
# c360.load_csv (one step, no staging), and import_csv + ingest(). Reports
# each run and the medians, and load_csv's peak backend memory (VmHWM, which
# counts the shared buffers it touched).
# Each run's own ratio load_csv / (COPY + cleaning) is reported too, and
# their median: on a noisy machine the two medians of times can come from
# different runs. INGEST_TWO_STEP=0 skips import_csv + ingest() (at 100x it
# takes longer than the other two together).
# usage: bash benches/ingest.sh [runs] [scale]   (default 3 1; not part of `make test`)
set -euo pipefail
runs="${1:-3}"; scale="${2:-1}"
source "$(dirname "$0")/common.sh"
online_retail_copy
file="$(replicate_file "$scale")"

ms() { printf "%s\n" "SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0 \\gset
$1
SELECT round(extract(epoch FROM clock_timestamp()) * 1000 - :t0)" | c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 | tail -1; }
two_step="${INGEST_TWO_STEP:-1}"
declare -a cpy cln one mem imp ing ratio
for i in $(seq "$runs"); do
  fresh_db c360_bench
  c360_psql -d "$db" -qc "CREATE SCHEMA plain" -c "CREATE TABLE plain.raw ($raw_columns)"
  cpy+=("$(ms "COPY plain.raw FROM '$file' CSV HEADER;")")
  cln+=("$(ms "$(cat benches/plain_sql/cleaning.sql)")")
  fresh_db c360_bench
  c360_psql -d "$db" -qc "CREATE EXTENSION c360"
  read -r t kb <<< "$(measure "SELECT count(*) FROM c360.load_csv('online_retail', '$file');")"
  one+=("$t"); mem+=("$((kb / 1024))")
  ratio+=("$(awk "BEGIN {printf \"%.2f\", ${one[-1]} / (${cpy[-1]} + ${cln[-1]})}")")
  if [ "$two_step" = 1 ]; then
    fresh_db c360_bench
    c360_psql -d "$db" -qc "CREATE EXTENSION c360"
    imp+=("$(ms "SELECT count(*) FROM c360.import_csv('online_retail', '$file');")")
    ing+=("$(ms "SELECT count(*) FROM c360.ingest();")")
  else
    imp+=(0); ing+=(0)
  fi
  echo "run $i: plain COPY ${cpy[-1]} ms + cleaning ${cln[-1]} ms; load_csv ${one[-1]} ms (${ratio[-1]} x, peak ${mem[-1]} MB); import_csv ${imp[-1]} ms + ingest ${ing[-1]} ms"
done
c=$(median "${cpy[*]}"); k=$(median "${cln[*]}"); o=$(median "${one[*]}"); i=$(median "${imp[*]}"); g=$(median "${ing[*]}")
echo "${scale}x, median of $runs: plain COPY $c + cleaning $k = $((c + k)) ms; load_csv $o ms ($(awk "BEGIN {printf \"%.2f\", $o / ($c + $k)}") x plain; median of the runs' ratios $(median "${ratio[*]}") x; peak memory up to $(printf '%s\n' "${mem[@]}" | sort -n | tail -1) MB); import_csv $i + ingest $g = $((i + g)) ms ($(awk "BEGIN {printf \"%.2f\", ($i + $g) / ($c + $k)}") x plain)"
drop_db
