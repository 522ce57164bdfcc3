#!/usr/bin/env bash
# Concurrency (issue 11, item 3): for about a minute (C360_WORKLOAD_SECONDS),
# three BI readers (as a grant_reader role), a loader (import_csv and
# client-side \copy of new customers, orders and items, then ingest) and two
# refreshers run in loops against one database.
# Asserted: no deadlock and no error except the documented refusal "another
# c360 refresh is running"; every read sees a consistent snapshot (totals
# that must agree within one statement do); every load reconciles; after the
# loop, one more refresh gives exactly what a refresh of the final data gives.
source "$(dirname "$0")/lib.bash"
db=c360_it_workload
seconds="${C360_WORKLOAD_SECONDS:-60}"
fresh_db "$db"
dir="$(work_dir)/workload"
rm -rf "$dir"; mkdir -p "$dir"; chown "$C360_PGUSER" "$dir"
q "$db" "CREATE EXTENSION c360; SET client_min_messages = warning;
         SELECT count(*) FROM c360.generate_sample(3000, 3); SELECT count(*) FROM c360.refresh_c360()" >/dev/null
q "$db" "SET client_min_messages = warning; DROP ROLE IF EXISTS c360_it_bi; CREATE ROLE c360_it_bi; SELECT count(*) FROM c360.grant_reader('c360_it_bi')" >/dev/null
end=$((SECONDS + seconds))

reader() {
  while [ $SECONDS -lt $end ]; do
    # One statement, one snapshot: figures of different views must agree.
    c360_psql -d "$db" -qtA -c "SET ROLE c360_it_bi" -c "
      SELECT (SELECT coalesce(sum(customers), 0) FROM c360.segment_summary)
               = (SELECT count(*) FROM c360.customer_360 WHERE segment IS NOT NULL)
         AND (SELECT coalesce(sum(customers), 0) FROM c360.cluster_profile)
               = (SELECT count(*) FROM c360.customer_360 WHERE cluster IS NOT NULL)
         AND (SELECT total_revenue FROM c360.kpi_summary) = (SELECT sum(revenue) FROM c360.kpi_monthly)
         AND (SELECT count(*) FROM c360.customer_360) > 0" 2>&1
  done
}

loader() {
  local i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    # 40 new customers, 3 orders each with 2 items, and 10 updated customers.
    q "$db" "COPY (SELECT CASE WHEN c <= 10 THEN 'C' || lpad((c + $i * 10)::text, 7, '0') ELSE 'W$i-' || c END AS customer_id,
                          '2024-05-01 09:00' AS created_at, 'Johor Bahru' AS city, 'Johor' AS state, 'Malaysia' AS country
                   FROM generate_series(1, 50) c) TO '$dir/customers_$i.csv' CSV HEADER;
             COPY (SELECT 'W$i-' || c || '-' || k AS order_id, 'W$i-' || c AS customer_id, 'completed' AS order_status,
                          date '2024-09-01' + (c * k + $i) % 90 AS order_date, '' AS order_timestamp
                   FROM generate_series(11, 50) c, generate_series(1, 3) k) TO '$dir/orders_$i.csv' CSV HEADER;
             COPY (SELECT 'W$i-' || c || '-' || k || ':' || j AS order_item_id, 'W$i-' || c || '-' || k AS order_id,
                          'P' || lpad((1 + (c + j) % 200)::text, 4, '0') AS product_id, j AS quantity, 12.50 * j AS unit_price
                   FROM generate_series(11, 50) c, generate_series(1, 3) k, generate_series(1, 2) j) TO '$dir/order_items_$i.csv' CSV HEADER" 2>&1
    for s in customers orders order_items; do
      if [ $((i % 2)) -eq 0 ]; then   # server-side
        q "$db" "SELECT 'imported' FROM c360.import_csv('$s', '$dir/${s}_$i.csv')" 2>&1
      else                             # client-side: psql's \copy into the staging view
        c360_psql -d "$db" -qtA -c "\\copy c360.${s}_csv FROM '$dir/${s}_$i.csv' CSV HEADER" 2>&1 && echo imported
      fi
    done
    q "$db" "SET client_min_messages = warning; SELECT 'ingested ' || count(*) FROM c360.ingest()" 2>&1
  done
}

refresher() {
  while [ $SECONDS -lt $end ]; do
    q "$db" "SET client_min_messages = warning; SELECT 'refreshed ' || count(*) FROM c360.refresh_c360()" 2>&1
    sleep 0.$((RANDOM % 5))
  done
}

started="$(q "$db" "SELECT pg_postmaster_start_time()")"
for r in 1 2 3; do reader >"$dir/reader_$r.out" & done
loader >"$dir/loader.out" &
refresher >"$dir/refresher_1.out" &
refresher >"$dir/refresher_2.out" &
wait

reads="$(cat "$dir"/reader_*.out | wc -l)"
echo "  ($reads reads, $(grep -c '^ingested' "$dir/loader.out") ingests, $(cat "$dir"/refresher_*.out | grep -c '^refreshed') refreshes, $(cat "$dir"/refresher_*.out | grep -c 'another c360 refresh is running') refused in ${seconds}s)"
check "readers: every read consistent (t)" 0 "$(cat "$dir"/reader_*.out | grep -vcx 't')"
check "readers: many reads" t "$([ "$reads" -ge 30 ] && echo t || echo "f ($reads)")"
check "loader: only import and ingest results" 0 "$(grep -vcE '^(imported|ingested 3)$' "$dir/loader.out")"
check "loader: at least 3 rounds" t "$([ "$(grep -c '^ingested 3$' "$dir/loader.out")" -ge 3 ] && echo t || echo f)"
check "refreshers: only successes or the documented refusal" 0 \
  "$(cat "$dir"/refresher_*.out | grep -vcE '^refreshed [0-9]+$|^ERROR:  another c360 refresh is running$|^DETAIL:  Held by pid [0-9]+|^HINT:  |^CONTEXT:  PL/pgSQL function c360.refresh_c360')"
check "refreshers: at least 2 refreshes succeeded" t "$([ "$(cat "$dir"/refresher_*.out | grep -c '^refreshed')" -ge 2 ] && echo t || echo f)"
check "no deadlock anywhere" 0 "$(cat "$dir"/*.out | grep -ci 'deadlock')"
check "refresh log: no failed run" 0 "$(q "$db" "SELECT count(*) FROM c360.refresh_log WHERE status <> 'succeeded'")"
check "every load reconciles" 0 "$(q "$db" "SELECT count(*) FROM c360.load_log WHERE status <> 'ingested' OR rows_read <> rows_accepted + rows_rejected OR rows_rejected <> 0")"
check "facts agree with the typed tables" t \
  "$(q "$db" "SELECT (SELECT count(*) FROM c360.fact_sales) = (SELECT count(*) FROM c360.order_items)
              AND (SELECT sum(revenue) FROM c360.fact_orders WHERE is_sale) = (SELECT sum(revenue) FROM c360.fact_sales WHERE is_sale)")"
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
check "final refresh covers every customer with a sale" t \
  "$(q "$db" "SELECT (SELECT count(*) FROM c360.customer_360) = (SELECT count(DISTINCT customer_id) FROM c360.fact_orders WHERE is_sale)")"
check "server never restarted" "$started" "$(q "$db" "SELECT pg_postmaster_start_time()")"
[ "$FAILED" -eq 0 ] && drop_db "$db" && q postgres "DROP ROLE c360_it_bi"
[ "$FAILED" -eq 0 ] && rm -rf "$dir"
finish
