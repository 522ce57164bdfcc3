#!/usr/bin/env bash
# pg_dump / pg_restore of a database with c360 keeps the user's data: typed
# tables, facts' inputs, rejects, load log, settings and custom statuses.
source "$(dirname "$0")/lib.bash"
src=c360_it_dump_src; dst=c360_it_dump_dst
fresh_db "$src"; fresh_db "$dst"
fixture="$(server_copy "$C360_ROOT/tests/fixtures/online_retail_edge_cases.csv" edge.csv)"
q "$src" "CREATE EXTENSION c360"
q "$src" "INSERT INTO c360.settings (name, value) VALUES ('source_timezone', 'Asia/Singapore')"
q "$src" "INSERT INTO c360.order_statuses VALUES ('on_hold', false)"
q "$src" "SELECT c360.import_csv('online_retail', '$fixture')" >/dev/null
q "$src" "SELECT c360.ingest()" >/dev/null

snapshot() {
  q "$1" "SELECT concat_ws('|',
    (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM c360.customers t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY order_id)) FROM c360.orders t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY order_item_id)) FROM c360.order_items t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY product_id)) FROM c360.products t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY order_item_id)) FROM c360.fact_sales t),
    (SELECT count(*) FROM c360.rejects),
    (SELECT string_agg(load_id || ':' || rows_read || ':' || rows_accepted, ',') FROM c360.load_log),
    (SELECT string_agg(name || '=' || value, ',') FROM c360.settings),
    (SELECT string_agg(order_status, ',') FROM c360.order_statuses))"
}
before="$(snapshot "$src")"
dump="$(work_dir)/c360.dump"
as_pg "$PG_BIN/pg_dump" -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" -Fc -f "$dump" "$src"
as_pg "$PG_BIN/pg_restore" -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" --exit-on-error -d "$dst" "$dump"
after="$(snapshot "$dst")"
check "restored data identical" "$before" "$after"
# The identity sequence of the load log survives: the next load does not
# collide with a restored one.
next="$(server_copy "$C360_ROOT/tests/fixtures/online_retail_no_header.csv" next.csv)"
check "next load id after restore" 2 "$(q "$dst" "SELECT load_id FROM c360.import_csv('online_retail', '$next')")"
drop_db "$src"; drop_db "$dst"; rm -f "$dump"
finish
