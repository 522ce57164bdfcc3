#!/usr/bin/env bash
# RFM scoring alone (issue 4): c360's rfm_breaks + rfm_score against the
# plain-SQL equivalent, percentile_cont + CASE, on customer_metrics at
# N x Online Retail (default 10x: 43,380 customers). Each query runs many
# times in one connection (pgbench), alternating c360 and SQL in rounds so
# both see the same machine; per round the mean latency, then the median
# and spread over rounds. Three queries per side:
#   breaks   the three cut-point aggregates (recency, frequency, monetary)
#   scores   the three scores against fixed cut points
#   both     cut points and scores of every customer into a temp table
# The two sides' scores are checked equal for every customer first.
# usage: bash benches/rfm_scoring.sh [scale] [rounds] [transactions per round]
set -euo pipefail
scale="${1:-10}"; rounds="${2:-7}"; tx="${3:-30}"
source "$(dirname "$0")/common.sh"
load_scale_db c360_bench_scoring "$scale"
echo "data: $(c360_psql -d "$db" -qtA -c "SELECT count(*) FROM c360.customer_metrics") customers"

# Each side's three cut points and three scores (b: the cut points r, f, m).
breaks_c360="c360.rfm_breaks(recency_days) r, c360.rfm_breaks(frequency) f, c360.rfm_breaks(monetary::float8) m"
breaks_sql="percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency_days) r, percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY frequency) f, percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY monetary::float8) m"
scores_c360=(
  "c360.rfm_score(recency_days, b.r, true)"
  "c360.rfm_score(frequency, b.f)"
  "c360.rfm_score(monetary::float8, b.m)")
scores_sql=(
  "CASE WHEN recency_days < b.r[1] THEN 5 WHEN recency_days < b.r[2] THEN 4 WHEN recency_days < b.r[3] THEN 3 WHEN recency_days < b.r[4] THEN 2 ELSE 1 END"
  "CASE WHEN frequency > b.f[4] THEN 5 WHEN frequency > b.f[3] THEN 4 WHEN frequency > b.f[2] THEN 3 WHEN frequency > b.f[1] THEN 2 ELSE 1 END"
  "CASE WHEN monetary::float8 > b.m[4] THEN 5 WHEN monetary::float8 > b.m[3] THEN 4 WHEN monetary::float8 > b.m[2] THEN 3 WHEN monetary::float8 > b.m[1] THEN 2 ELSE 1 END")
fixed="(SELECT '{30,60,120,250}'::float8[] r, '{1,2,3,6}'::float8[] f, '{300,650,1300,3300}'::float8[] m) b"

declare -A both
for side in c360 sql; do
  breaks="breaks_$side"; scores="scores_$side[@]"; s=("${!scores}")
  both[$side]="WITH b AS (SELECT ${!breaks} FROM c360.customer_metrics)
SELECT customer_id, ${s[0]} r, ${s[1]} f, ${s[2]} m FROM c360.customer_metrics, b"
  echo "SELECT ${!breaks} FROM c360.customer_metrics;" > "$dir/breaks_$side.sql"
  echo "SELECT sum(${s[0]}), sum(${s[1]}), sum(${s[2]}) FROM c360.customer_metrics, $fixed;" > "$dir/scores_$side.sql"
  printf 'CREATE TEMP TABLE s AS %s;\nDROP TABLE s;\n' "${both[$side]}" > "$dir/both_$side.sql"
done
chmod a+r "$dir"/*.sql

diff="$(c360_psql -d "$db" -qtA -c "SELECT count(*) FROM (${both[c360]}) c FULL JOIN (${both[sql]}) s USING (customer_id) WHERE (c.r, c.f, c.m) IS DISTINCT FROM (s.r, s.f, s.m)")"
echo "sanity: customers whose scores differ between c360 and SQL: $diff"
[ "$diff" = 0 ] || die "c360 and SQL scores differ"

pgbench_ms() {  # script: mean latency in ms of $tx runs in one connection
  as_pg "$PG_BIN/pgbench" -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" -n -t "$tx" -f "$dir/$1.sql" "$db" 2>&1 \
    | awk '/latency average/ {print $4}'
}
declare -A ms
for r in $(seq "$rounds"); do
  line="round $r:"
  for q in breaks scores both; do
    for side in c360 sql; do
      t="$(pgbench_ms "${q}_$side")"; ms[${q}_$side]+="$t "; line+=" ${q}_$side ${t}ms"
    done
  done
  echo "$line"
done
for q in breaks scores both; do
  for side in c360 sql; do echo "${q}_$side: ms $(stats "${ms[${q}_$side]}")"; done
  c="$(median "${ms[${q}_c360]}")"; s="$(median "${ms[${q}_sql]}")"
  echo "${q}: c360 / SQL = $(awk -v c="$c" -v s="$s" 'BEGIN {printf "%.2f", c / s}')"
done
