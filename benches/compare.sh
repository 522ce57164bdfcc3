#!/usr/bin/env bash
# c360 against what users would do instead (issue 10), side by side in one
# run, at several scales of UCI Online Retail. Release build, project-local
# cluster; every measurement in a fresh connection; median, min and max of
# RUNS repetitions; peak memory = the backend's VmHWM for in-database work,
# the process's ru_maxrss for Python.
#
#   c360       load_csv() of the raw file (one step, no staging), and
#              import_csv + ingest(); refresh_c360() (total and
#              per step); refresh + reading the KPI tables it writes; kmeans_fit and
#              bgnbd_fit on their own
#   plain SQL  COPY of the raw file + benches/plain_sql/cleaning.sql, then
#              benches/plain_sql/pipeline.sql (orders, customers, breaks,
#              segments, KPI summary, monthly KPIs, cohort retention)
#   notebook   benches/python/notebook_rfm.py: pandas + scikit-learn, pulling
#              the sale lines (as the notebooks do) or a per-customer aggregate
#   floor      one GROUP BY customer_id scan of the cleaned sale lines (R, F, M),
#              at the server's default work_mem, as the issue's baseline
#
# Scales: N x the file. Up to 10x the raw file itself is replicated (invoice
# numbers + k*1,000,000, customer ids + k*100,000, same dates and products)
# and loaded both ways. Above 10x, loading the raw file would take most of an
# hour, so the typed tables and the cleaned lines are replicated in SQL from
# the 1x load instead (import/ingest, cleaning and the notebook's line pull
# are not measured there).
# usage: bash benches/compare.sh [scale ...]    (default: 1 10; RUNS=3;
#        INGEST=0 builds every scale in SQL, skipping the raw-file loads)
# Writes target/bench/compare.tsv (every measurement) and prints a summary.
set -euo pipefail
scales=("$@"); [ ${#scales[@]} -gt 0 ] || scales=(1 10)
runs="${RUNS:-3}"
source "$(dirname "$0")/common.sh"
online_retail_copy
out="$C360_ROOT/target/bench"; mkdir -p "$out"
tsv="$out/compare.tsv"; : >"$tsv"

venv="$C360_ROOT/target/venv-bench"; req="$C360_ROOT/benches/python/requirements.txt"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
  log "python: installing benches/python/requirements.txt into target/venv-bench"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" && cp "$req" "$venv/requirements.txt"
fi

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$tsv"; }   # scale case run ms rss_kb
sql_case() {  # sql_case SCALE RUN CASE SQL
  local t m; read -r t m < <(measure "$4"); record "$1" "$3" "$2" "$t" "$m"; echo "  ${1}x run $2: $3 ${t} ms, ${m} kB"
}
py_case() {   # py_case SCALE RUN CASE VARIANT
  local t m n
  read -r t m n < <("$venv/bin/python" "$C360_ROOT/benches/python/notebook_rfm.py" \
    "host=$C360_PGSOCK port=$C360_PGPORT user=$C360_PGUSER dbname=$db" "$4")
  record "$1" "$3" "$2" "$t" "$m"; echo "  ${1}x run $2: $3 ${t} ms, ${m} kB ($n customers)"
}

for scale in "${scales[@]}"; do
  log "${scale}x Online Retail"
  db="c360_cmp_${scale}x"
  if [ "$scale" -le 10 ] && [ "${INGEST:-1}" = 1 ]; then
    file="$(replicate_file "$scale")"
    for run in $(seq "$runs"); do
      fresh_db "$db"
      c360_psql -d "$db" -qc "CREATE EXTENSION c360" -c "CREATE SCHEMA plain"
      sql_case "$scale" "$run" c360_import "SELECT count(*) FROM c360.import_csv('online_retail', '$file');"
      sql_case "$scale" "$run" c360_ingest "SELECT count(*) FROM c360.ingest();"
      sql_case "$scale" "$run" plain_copy "CREATE TABLE plain.raw ($raw_columns); COPY plain.raw FROM '$file' CSV HEADER;"
      sql_case "$scale" "$run" plain_cleaning "$(cat benches/plain_sql/cleaning.sql)"
      # the one-step load (no staging), into its own database
      main_db="$db"; fresh_db "${main_db}_one_step"
      c360_psql -d "$db" -qc "CREATE EXTENSION c360"
      sql_case "$scale" "$run" c360_load_csv "SELECT count(*) FROM c360.load_csv('online_retail', '$file');"
      drop_db; db="$main_db"
    done
  else
    build_scale_db "$db" "$scale"
  fi
  c360_psql -d "$db" -qc "VACUUM ANALYZE" -c "SET client_min_messages = warning" -c "SELECT count(*) FROM c360.refresh_c360()" >/dev/null
  c360_psql -d "$db" -qtA -c "SELECT format('  data: %s sale lines, %s sale orders, %s customers (plain: %s sale lines)',
      (SELECT sum(lines) FROM c360.fact_orders WHERE is_sale), (SELECT count(*) FROM c360.fact_orders WHERE is_sale),
      (SELECT count(*) FROM c360.customer_metrics), (SELECT count(*) FROM plain.lines WHERE NOT is_return))"
  for run in $(seq "$runs"); do
    sql_case "$scale" "$run" c360_refresh "SELECT count(*) FROM c360.refresh_c360();"
    sql_case "$scale" "$run" c360_refresh_and_kpis "SELECT count(*) FROM c360.refresh_c360();
      SELECT count(*) FROM c360.kpi_summary; SELECT count(*) FROM c360.kpi_monthly;
      SELECT count(*) FROM c360.cohort_retention; SELECT count(*) FROM c360.segment_summary;"
    sql_case "$scale" "$run" c360_kmeans_fit "SELECT c360.kmeans_fit(c360.cluster_features(recency_days, frequency, monetary), 4, 10, 300, 1e-4, 42, true) IS NOT NULL FROM c360.customer_metrics;"
    sql_case "$scale" "$run" c360_bgnbd_fit "SELECT c360.bgnbd_fit(frequency, recency, t) IS NOT NULL FROM c360.btyd_summary(c360.as_of_date(), 'week');"
    sql_case "$scale" "$run" plain_pipeline "$(cat benches/plain_sql/pipeline.sql)"
    # Materialized: under a bare count(*) the planner drops the unused aggregates.
    sql_case "$scale" "$run" floor "CREATE TEMP TABLE floor AS SELECT customer_id, max(invoice_ts) AS last_purchase, count(DISTINCT invoice) AS frequency, sum(quantity * unit_price) AS monetary FROM plain.lines WHERE NOT is_return GROUP BY customer_id;"
    py_case "$scale" "$run" notebook_customers customers
    if [ "$scale" -le 10 ]; then py_case "$scale" "$run" notebook_lines lines; fi
  done
  c360_psql -d "$db" -qtA -c "SELECT '  refresh steps of the last run (ms): ' || string_agg((s->>'step') || ' ' || round((s->>'ms')::numeric), ', ')
                                FROM (SELECT steps FROM c360.refresh_log WHERE status = 'succeeded' ORDER BY run_id DESC LIMIT 1) l, jsonb_array_elements(l.steps) s" | tee -a "$out/compare_steps.txt"
  c360_psql -d "$db" -qtA -c "SELECT '  agreement: customers whose c360 R/F/M or segment differs from plain SQL: ' || count(*)
                                FROM plain.rfm p JOIN c360.customer_360 c USING (customer_id)
                                WHERE (p.r, p.f, p.m, p.segment) IS DISTINCT FROM (c.r, c.f, c.m, c.segment)"
  drop_db
done

log "summary (median ms / peak MB; ratios of medians)"
python3 "$C360_ROOT/benches/python/summarize.py" "$tsv" | tee "$out/compare_summary.txt"
