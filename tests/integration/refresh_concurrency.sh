#!/usr/bin/env bash
# refresh_c360() with real connections (SPEC §8, issue 5):
#   - a second refresh while one runs fails at once with a clear message;
#   - readers are never blocked and see the old complete state or the new one;
#   - a cancelled or terminated refresh, and a server crash mid-refresh, keep
#     the previous results, get logged, and the next refresh succeeds.
# The reader polls customer_360 and kpi_summary. A refresh is held mid-run by a test session that locks rfm_thresholds,
# which the refresh rewrites after it has already rewritten customer_metrics
# and rfm_segments (readers of customer_360 do not touch rfm_thresholds).
source "$(dirname "$0")/lib.bash"
db=c360_it_refresh
fresh_db "$db"
dir="$(work_dir)"
q "$db" "CREATE EXTENSION c360"
# A shop of 3,000 customers written straight into the typed tables.
shop() {  # shop FIRST LAST: customers FIRST..LAST with 1-6 orders each
  q "$db" "INSERT INTO c360.customers (customer_id, country, load_id)
             SELECT 'C' || i, CASE WHEN i % 3 = 0 THEN 'Singapore' ELSE 'Malaysia' END, 0 FROM generate_series($1, $2) i;
           INSERT INTO c360.products VALUES ('P1', 'Toys', 'Lego', NULL, 0) ON CONFLICT DO NOTHING;
           INSERT INTO c360.orders SELECT 'O' || i || '-' || k, 'C' || i, 'completed', d, d + time '10:00', 0
             FROM generate_series($1, $2) i, generate_series(1, 1 + i % 6) k,
                  LATERAL (SELECT date '2024-01-01' + (i * 37 + k * 53) % 365 AS d) x;
           INSERT INTO c360.order_items SELECT o.order_id || ':1', o.order_id, 'P1', 1 + length(o.order_id) % 4, 9.90, 0
             FROM c360.orders o WHERE o.customer_id IN (SELECT 'C' || i FROM generate_series($1, $2) i)"
}
state() { q "$db" "SELECT count(*) || '/' || sum(monetary) || '/' || (SELECT count(*) FROM c360.rfm_segments)
                         || '/' || (SELECT total_revenue || ':' || customers FROM c360.kpi_summary) FROM c360.customer_360"; }
holder_pid() { q "$db" "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%refresh_c360()%' AND state = 'active' AND pid <> pg_backend_pid() LIMIT 1"; }
# hold_refresh SECONDS: lock rfm_thresholds for that long in the background.
hold_refresh() {
  c360_psql -d "$db" -qtA -c "BEGIN; LOCK TABLE c360.rfm_thresholds IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($1); COMMIT;" >/dev/null 2>&1 &
  sleep 0.5
}
wait_for_refresh_start() { for _ in $(seq 50); do [ -n "$(holder_pid)" ] && return 0; sleep 0.1; done; return 1; }

shop 1 3000
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
old="$(state)"
shop 3001 3600   # the next refresh adds 600 customers

# --- serialized and invisible until commit -------------------------------
hold_refresh 5
c360_psql -d "$db" -qtA -c "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >"$dir/r1.out" 2>&1 &
r1=$!
wait_for_refresh_start || echo "  (refresh did not show up in pg_stat_activity)"
# The reader polls until the refresh has committed, then a few times more
# (never past a minute): how long the refresh runs after the hold does not
# decide whether the new state is seen.
rm -f "$dir/refresh_done"
(
  end=$((SECONDS + 60)); after=0
  while [ $SECONDS -lt $end ] && [ $after -lt 5 ]; do
    state
    if [ -f "$dir/refresh_done" ]; then after=$((after + 1)); fi
  done
) >"$dir/reader.out" 2>&1 &
reader=$!
sleep 1
second="$(c360_psql -d "$db" -qtA -c "SELECT * FROM c360.refresh_c360()" 2>&1 || true)"
check "second refresh refused" "ERROR:  another c360 refresh is running" "$(echo "$second" | head -1)"
check "refusal names the holder" 1 "$(echo "$second" | grep -c 'DETAIL:  Held by pid')"
reads_during_hold="$(wc -l <"$dir/reader.out")"
wait "$r1"; touch "$dir/refresh_done"; wait "$reader"
new="$(state)"
check "refresh after the hold succeeded" "succeeded" "$(grep -qxE '[0-9]+' "$dir/r1.out" && q "$db" "SELECT status FROM c360.refresh_log ORDER BY run_id DESC LIMIT 1")"
check "new state differs from old" t "$([ "$old" != "$new" ] && echo t || echo f)"
check "reader was not blocked (reads while the refresh was held)" t "$([ "$reads_during_hold" -ge 5 ] && echo t || echo "f ($reads_during_hold)")"
check "reader saw only complete states" 0 "$(grep -vcxF -e "$old" -e "$new" "$dir/reader.out")"
check "reader saw the old state" t "$(grep -qxF "$old" "$dir/reader.out" && echo t || echo f)"
check "reader saw the new state" t "$(grep -qxF "$new" "$dir/reader.out" && echo t || echo f)"

# --- cancelled mid-run ----------------------------------------------------
shop 3601 4000
hold_refresh 4
c360_psql -d "$db" -qtA -c "SELECT count(*) FROM c360.refresh_c360()" >"$dir/r2.out" 2>&1 &
r2=$!
wait_for_refresh_start
q "$db" "SELECT pg_cancel_backend($(holder_pid))" >/dev/null
wait "$r2" || true
check "cancelled refresh reports the cancel" 1 "$(grep -c 'canceling statement due to user request' "$dir/r2.out")"
check "previous results kept after cancel" "$new" "$(state)"
sleep 1
logged=""; for _ in $(seq 50); do logged="$(q "$db" "SELECT error FROM c360.refresh_log WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1")"; [ -n "$logged" ] && break; sleep 0.2; done
check "cancel logged" "canceling statement due to user request (SQLSTATE 57014)" "$logged"

# --- terminated mid-run ---------------------------------------------------
sleep 3   # let the hold end
hold_refresh 4
c360_psql -d "$db" -qtA -c "SELECT count(*) FROM c360.refresh_c360()" >"$dir/r3.out" 2>&1 &
r3=$!
wait_for_refresh_start
killed_run="$(q "$db" "SELECT last_value FROM c360.refresh_run_id_seq")"
q "$db" "SELECT pg_terminate_backend($(holder_pid))" >/dev/null
wait "$r3" || true
check "previous results kept after terminate" "$new" "$(state)"
sleep 3
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
check "next refresh succeeded" succeeded "$(q "$db" "SELECT status FROM c360.refresh_log ORDER BY run_id DESC LIMIT 1")"
check "terminated run logged as failed" failed "$(q "$db" "SELECT status FROM c360.refresh_log WHERE run_id = $killed_run")"
check "after it, the shop has 4000 customers" 4000 "$(q "$db" "SELECT count(*) FROM c360.customer_360")"

# --- server crash mid-refresh ---------------------------------------------
committed="$(state)"
shop 4001 4100
hold_refresh 10
c360_psql -d "$db" -qtA -c "SELECT count(*) FROM c360.refresh_c360()" >"$dir/r4.out" 2>&1 &
r4=$!
wait_for_refresh_start
as_pg "$PG_BIN/pg_ctl" -D "$C360_PGDATA" -m immediate -w -t 60 restart -l "$(dirname "$C360_PGDATA")/postgres.log" >/dev/null
wait "$r4" || true
check "committed results survive a crash" "$committed" "$(state)"
check "typed rows committed before the crash survive" 4100 "$(q "$db" "SELECT count(*) FROM c360.customers")"
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
check "refresh after the crash" 4100 "$(q "$db" "SELECT count(*) FROM c360.customer_360")"
drop_db "$db"
finish
