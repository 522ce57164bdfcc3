#!/usr/bin/env bash
# pg_dump / pg_restore of a database with c360 keeps the user's data: typed
# tables, facts' inputs, rejects, load log, settings, custom statuses, edited
# segment rules and the last refresh; a refresh after restore agrees.
source "$(dirname "$0")/lib.bash"
src=c360_it_dump_src; dst=c360_it_dump_dst
fresh_db "$src"; fresh_db "$dst"
fixture="$(server_copy "$C360_ROOT/tests/fixtures/online_retail_edge_cases.csv" edge.csv)"
q "$src" "CREATE EXTENSION c360"
q "$src" "INSERT INTO c360.settings (name, value) VALUES ('source_timezone', 'Asia/Singapore'), ('cluster_k', '2')"
q "$src" "INSERT INTO c360.order_statuses VALUES ('on_hold', false)"
q "$src" "SELECT c360.import_csv('online_retail', '$fixture')" >/dev/null
q "$src" "SELECT c360.ingest()" >/dev/null
q "$src" "INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority)
          VALUES ('Whales', 'Champions', 4, 5, 1, 5, 5, 5, 0)"
q "$src" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null

derived() {
  q "$1" "SELECT concat_ws('|',
    (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM c360.customer_metrics t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM c360.rfm_segments t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY measure, score)) FROM c360.rfm_thresholds t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM c360.customer_clusters t),
    (SELECT md5(string_agg(concat_ws('|', as_of, k, model), ',' ORDER BY as_of)) FROM c360.cluster_models))"
}
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
    (SELECT string_agg(order_status, ',') FROM c360.order_statuses),
    (SELECT string_agg(concat_ws(':', segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority), ',' ORDER BY segment, r_min, f_min, m_min) FROM c360.segment_rules),
    (SELECT string_agg(run_id || ':' || status, ',' ORDER BY run_id) FROM c360.refresh_log))"
}
before="$(snapshot "$src")"
dump="$(work_dir)/c360.dump"
as_pg "$PG_BIN/pg_dump" -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" -Fc -f "$dump" "$src"
as_pg "$PG_BIN/pg_restore" -h "$C360_PGSOCK" -p "$C360_PGPORT" -U "$C360_PGUSER" --exit-on-error -d "$dst" "$dump"
after="$(snapshot "$dst")"
check "restored data identical" "$before" "$after"
check "a Whales rule was kept" 1 "$(q "$dst" "SELECT count(*) FROM c360.segment_rules WHERE segment = 'Whales'")"
check "last refresh restored" "$(derived "$src")" "$(derived "$dst")"
q "$dst" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
check "refresh after restore gives the same results" "$(derived "$src")" "$(derived "$dst")"
check "refresh after restore logged as the next run" "1:succeeded,2:succeeded" "$(q "$dst" "SELECT string_agg(run_id || ':' || status, ',' ORDER BY run_id) FROM c360.refresh_log")"
# The identity sequence of the load log survives: the next load does not
# collide with a restored one.
next="$(server_copy "$C360_ROOT/tests/fixtures/online_retail_no_header.csv" next.csv)"
check "next load id after restore" 2 "$(q "$dst" "SELECT load_id FROM c360.import_csv('online_retail', '$next')")"
drop_db "$src"; drop_db "$dst"; rm -f "$dump"
finish
