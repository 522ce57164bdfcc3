#!/usr/bin/env bash
# RFM and refresh benchmark at N x Online Retail (default 10x: 5.4M file
# rows, ~4M sale lines, 185k orders, 43k customers), release build, against
# the project-local cluster. The 1x file is ingested once, then replicated
# in SQL with offset ids (customer_id + k*100000, order ids prefixed Rk-),
# same dates. Measured per run, each in a fresh connection (time, and the
# backend's peak RSS, VmHWM):
#   refresh        c360.refresh_c360() with the facts current (after ingest)
#   refresh_full   c360.refresh_c360(rebuild_facts => true): facts rebuilt too
#   plain_sql      benches/plain_sql/rfm_pipeline.sql from the typed tables
#   lower_bound    one GROUP BY customer_id scan of fact_sales (R, F, M only)
# (RFM scoring alone, c360 against percentile_cont + CASE: rfm_scoring.sh.)
# usage: bash benches/rfm_refresh.sh [scale] [runs]   (not part of make test)
set -euo pipefail
scale="${1:-10}"; runs="${2:-5}"
source "$(dirname "$0")/common.sh"
load_scale_db c360_bench_rfm "$scale"
c360_psql -d "$db" -qtA -c "SELECT format('data: %s sale lines, %s sale orders, %s customers', (SELECT count(*) FROM c360.fact_sales WHERE is_sale), (SELECT count(*) FROM c360.fact_orders WHERE is_sale), (SELECT count(*) FROM c360.customer_metrics))"

plain="$(cat benches/plain_sql/rfm_pipeline.sql)"
declare -A cases=(
  [refresh]="SELECT count(*) FROM c360.refresh_c360();"
  [refresh_full]="SELECT count(*) FROM c360.refresh_c360(rebuild_facts => true);"
  [plain_sql]="$plain"
  [lower_bound]="CREATE TEMP TABLE floor AS SELECT customer_id, max(order_date) AS last_purchase, count(DISTINCT order_id) AS frequency, sum(revenue) AS monetary FROM c360.fact_sales WHERE is_sale GROUP BY customer_id;"
)
order=(refresh refresh_full plain_sql lower_bound)
declare -A times rss
for i in $(seq "$runs"); do
  line="run $i:"
  for c in "${order[@]}"; do
    read -r t m < <(measure "${cases[$c]}")
    times[$c]+="$t "; rss[$c]+="$m "
    line+=" $c ${t}ms/${m}kB"
  done
  echo "$line"
done
check="$(c360_psql -d "$db" -qtA -c "SELECT count(*) FROM plain.rfm p JOIN c360.customer_360 c USING (customer_id) WHERE (p.r, p.f, p.m, p.segment) <> (c.r, c.f, c.m, c.segment)")"
echo "sanity: customers where plain SQL and c360 disagree: $check"
for c in "${order[@]}"; do
  echo "$c: ms $(stats "${times[$c]}"); peak RSS kB $(stats "${rss[$c]}")"
done
