#!/usr/bin/env bash
# Faults during loading (issue 11, item 2): an import_csv terminated mid-file,
# an ingest() terminated mid-run and the server crashing mid-ingest
# (pg_ctl restart -m immediate) leave the previous state exactly as it was:
# typed tables, facts, staged loads and the load log. The next ingest then
# succeeds and gives exactly what an uninterrupted run gives (a control
# database that loaded the same files without faults).
# A run is held mid-way by a test session locking the table it would write
# next: staging for import_csv, fact_sales for ingest() (by then ingest() has
# already upserted the customers of the first load).
source "$(dirname "$0")/lib.bash"
db=c360_it_faults
control=c360_it_faults_control
dir="$(work_dir)/faults"
rm -rf "$dir"; mkdir -p "$dir"; chown "$C360_PGUSER" "$dir"

# The previous state: a sample shop, refreshed. Then three extract files of
# new customers and their orders, plus updates of 500 existing customers.
for d in "$db" "$control"; do
  fresh_db "$d"
  q "$d" "CREATE EXTENSION c360; SET client_min_messages = warning;
          SELECT count(*) FROM c360.generate_sample(2000, 7); SELECT count(*) FROM c360.refresh_c360()" >/dev/null
done
q "$db" "COPY (SELECT CASE WHEN i <= 500 THEN 'C' || lpad(i::text, 7, '0') ELSE 'F' || i END AS customer_id,
                      '2024-06-01 10:00' AS created_at, 'Penang' AS city, 'Pulau Pinang' AS state, 'Malaysia' AS country
               FROM generate_series(1, 8000) i) TO '$dir/customers.csv' CSV HEADER;
         COPY (SELECT 'FO' || i || '-' || k AS order_id, 'F' || i AS customer_id, 'completed' AS order_status,
                      date '2024-07-01' + (i * 7 + k) % 120 AS order_date, '' AS order_timestamp
               FROM generate_series(501, 8000) i, generate_series(1, 3) k) TO '$dir/orders.csv' CSV HEADER;
         COPY (SELECT 'FO' || i || '-' || k || ':' || j AS order_item_id, 'FO' || i || '-' || k AS order_id,
                      'P' || lpad((1 + (i + j) % 200)::text, 4, '0') AS product_id, 1 + j AS quantity, (9.90 + j)::text AS unit_price
               FROM generate_series(501, 8000) i, generate_series(1, 3) k, generate_series(1, 2) j) TO '$dir/order_items.csv' CSV HEADER"
stage_files() {  # stage_files DB
  for s in customers orders order_items; do q "$1" "SELECT count(*) FROM c360.import_csv('$s', '$dir/$s.csv')" >/dev/null; done
}
fingerprint() {  # everything a load or ingest can change, without load ids
  q "$1" "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
            SELECT 'c' || row(customer_id, created_at, city, state, country)::text AS t FROM c360.customers
            UNION ALL SELECT 'p' || row(product_id, category, brand, description)::text FROM c360.products
            UNION ALL SELECT 'o' || row(order_id, customer_id, order_status, order_date, order_timestamp)::text FROM c360.orders
            UNION ALL SELECT 'i' || row(order_item_id, order_id, product_id, quantity, unit_price)::text FROM c360.order_items
            UNION ALL SELECT 'y' || row(payment_id, order_id, payment_type, payment_amount, payment_date)::text FROM c360.payments
            UNION ALL SELECT 'f' || row(f.*)::text FROM c360.fact_sales f
            UNION ALL SELECT 'g' || row(g.*)::text FROM c360.fact_orders g
            UNION ALL SELECT 'r' || row(reason, line_no, message)::text FROM c360.rejects) x"
}
loads() { q "$db" "SELECT string_agg(source || ':' || status || ':' || coalesce(rows_read, -1), ',' ORDER BY load_id) FROM c360.load_log"; }
staged() { q "$db" "SELECT (SELECT count(*) FROM c360.stage_customers) || '/' || (SELECT count(*) FROM c360.stage_orders) || '/' || (SELECT count(*) FROM c360.stage_order_items)"; }
# hold TABLE SECONDS: an exclusive lock on TABLE, in the background.
hold() {
  c360_psql -d "$db" -qtA -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($2); COMMIT;" >/dev/null 2>&1 &
  sleep 0.5
}
# waiting_pid PATTERN: the backend running PATTERN once it waits on a lock.
waiting_pid() {
  for _ in $(seq 100); do
    pid="$(q "$db" "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '$1' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1")"
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.1
  done
  return 1
}

before="$(fingerprint "$db")"
loads_before="$(loads)"

# --- import_csv terminated mid-file -----------------------------------------
hold c360.stage_customers 30
c360_psql -d "$db" -qtA -c "SELECT * FROM c360.import_csv('customers', '$dir/customers.csv')" >"$dir/import.out" 2>&1 &
imp=$!
pid="$(waiting_pid '%import_csv%')" || echo "  (import_csv never waited on the lock)"
q "$db" "SELECT pg_terminate_backend($pid)" >/dev/null
wait "$imp" || true
check "terminated import reported" 1 "$(grep -c 'terminating connection due to administrator command' "$dir/import.out")"
check "terminated import left no load and no staged row" "$loads_before|0/0/0" "$(loads)|$(staged)"
q "$db" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null
wait

# --- ingest() terminated mid-run ---------------------------------------------
stage_files "$db"
staged_loads="$(loads)"
staged_rows="$(staged)"
check "three loads staged" "0/3" "$(q "$db" "SELECT count(*) FILTER (WHERE status <> 'staged' AND source <> 'sample') || '/' || count(*) FILTER (WHERE status = 'staged') FROM c360.load_log")"
hold c360.fact_sales 60
c360_psql -d "$db" -qtA -c "SELECT * FROM c360.ingest()" >"$dir/ingest1.out" 2>&1 &
ing=$!
pid="$(waiting_pid '%c360.ingest()%')" || echo "  (ingest never waited on the lock)"
check "ingest had already upserted customers when it was held" t \
  "$(q "$db" "SELECT count(*) > 0 FROM pg_locks WHERE pid = $pid AND relation = 'c360.customers'::regclass AND mode = 'RowExclusiveLock'")"
q "$db" "SELECT pg_terminate_backend($pid)" >/dev/null
wait "$ing" || true
q "$db" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null
wait
check "terminated ingest reported" 1 "$(grep -c 'terminating connection due to administrator command' "$dir/ingest1.out")"
check "after the terminated ingest: typed tables and facts as before" "$before" "$(fingerprint "$db")"
check "after the terminated ingest: loads still staged, staged rows all there" "$staged_loads|$staged_rows" "$(loads)|$(staged)"

# --- server crash mid-ingest -------------------------------------------------
hold c360.fact_sales 60
c360_psql -d "$db" -qtA -c "SELECT * FROM c360.ingest()" >"$dir/ingest2.out" 2>&1 &
ing=$!
waiting_pid '%c360.ingest()%' >/dev/null || echo "  (ingest never waited on the lock)"
as_pg "$PG_BIN/pg_ctl" -D "$C360_PGDATA" -m immediate -w -t 60 restart -l "$(dirname "$C360_PGDATA")/postgres.log" >/dev/null
wait || true
check "after the crash: typed tables and facts as before" "$before" "$(fingerprint "$db")"
check "after the crash: loads still staged, staged rows all there" "$staged_loads|$staged_rows" "$(loads)|$(staged)"

# --- the next ingest succeeds, exactly like an uninterrupted one --------------
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.ingest()" >/dev/null
stage_files "$control"
q "$control" "SET client_min_messages = warning; SELECT count(*) FROM c360.ingest()" >/dev/null
check "next ingest: loads reconcile" "3/3" \
  "$(q "$db" "SELECT count(*) FILTER (WHERE rows_read = rows_accepted + rows_rejected) || '/' || count(*) FROM c360.load_log WHERE status = 'ingested' AND source <> 'sample'")"
check "next ingest: 7,500 new customers, 22,500 orders, 45,000 items" "9500/22500/45000" \
  "$(q "$db" "SELECT (SELECT count(*) FROM c360.customers) || '/' || (SELECT count(*) FROM c360.orders WHERE order_id LIKE 'FO%') || '/' || (SELECT count(*) FROM c360.order_items WHERE order_id LIKE 'FO%')")"
check "next ingest: same data as the uninterrupted control run" "$(fingerprint "$control")" "$(fingerprint "$db")"
check "refresh after the faults" succeeded \
  "$(q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360(); SELECT status FROM c360.refresh_log ORDER BY run_id DESC LIMIT 1" | tail -1)"
drop_db "$db"; drop_db "$control"
rm -rf "$dir"
finish
