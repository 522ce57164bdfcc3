#!/usr/bin/env bash
# A bulk ingest (bulk_load_min_rows reached) drops and re-adds the loaded
# table's foreign keys, which needs exclusive locks. It takes them without
# waiting: while another session reads the tables, ingest keeps the
# row-by-row checks instead of queueing behind the reader (or deadlocking
# with it), and the reader is never disturbed. Once nobody reads, the next
# bulk ingest takes the fast path. Both give the same rows.
source "$(dirname "$0")/lib.bash"
db=c360_it_bulk_locks
fresh_db "$db"
fixtures="$C360_ROOT/tests/fixtures"
for f in customers products orders order_items; do server_copy "$fixtures/$f.csv" "bulk_$f.csv" >/dev/null; done
dir="$(work_dir)"
q "$db" "CREATE EXTENSION c360;
         SELECT count(*) FROM c360.import_csv('customers', '$dir/bulk_customers.csv');
         SELECT count(*) FROM c360.import_csv('products', '$dir/bulk_products.csv');
         SELECT count(*) FROM c360.import_csv('orders', '$dir/bulk_orders.csv');
         SELECT count(*) FROM c360.ingest();
         INSERT INTO c360.settings (name, value) VALUES ('bulk_load_min_rows', '1')" >/dev/null
key_oids() { q "$db" "SELECT string_agg(oid::text, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'c360.order_items'::regclass AND contype = 'f'"; }
reader_active() { q "$db" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%c360_bulk_reader%' AND state <> 'idle' AND pid <> pg_backend_pid()"; }

# A reader holds order_items open for 20 s.
before="$(key_oids)"
c360_psql -d "$db" -qtA -c "BEGIN; SELECT count(*) FROM c360.order_items; SELECT pg_sleep(20) AS c360_bulk_reader; COMMIT;" >/dev/null 2>&1 &
reader=$!
for _ in $(seq 50); do [ "$(reader_active)" = 1 ] && break; sleep 0.1; done
check "reader is running" 1 "$(reader_active)"
q "$db" "SELECT count(*) FROM c360.import_csv('order_items', '$dir/bulk_order_items.csv')" >/dev/null
check "ingest while read: accepted/rejected" "4/6" "$(q "$db" "SELECT rows_accepted || '/' || rows_rejected FROM c360.ingest()")"
check "reader still reading when ingest returned (ingest did not wait)" 1 "$(reader_active)"
check "keys kept as they were (row-by-row path)" "$before" "$(key_oids)"
q "$db" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%c360_bulk_reader%' AND pid <> pg_backend_pid()" >/dev/null
wait "$reader" 2>/dev/null || true
first="$(q "$db" "SELECT string_agg(order_item_id || ':' || order_id || ':' || quantity, ' ' ORDER BY order_item_id) FROM c360.order_items")"

# Nobody reading: the same file again takes the bulk path (keys re-added),
# and changes nothing (every accepted row is a duplicate).
q "$db" "SELECT count(*) FROM c360.import_csv('order_items', '$dir/bulk_order_items.csv')" >/dev/null
check "bulk ingest: accepted/rejected/duplicate" "4/6/4" "$(q "$db" "SELECT rows_accepted || '/' || rows_rejected || '/' || rows_duplicate FROM c360.ingest()")"
after="$(key_oids)"
[ "$after" != "$before" ] && re_added=yes || re_added=no
check "keys re-added (bulk path)" yes "$re_added"
check "keys validated" "t" "$(q "$db" "SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'c360.order_items'::regclass AND contype = 'f'")"
check "same rows both ways" "$first" "$(q "$db" "SELECT string_agg(order_item_id || ':' || order_id || ':' || quantity, ' ' ORDER BY order_item_id) FROM c360.order_items")"
drop_db "$db"
finish
