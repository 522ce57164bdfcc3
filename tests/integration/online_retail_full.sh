#!/usr/bin/env bash
# The full UCI Online Retail file reproduces SPEC.md §3 exactly, and loading
# it a second time changes nothing.
source "$(dirname "$0")/lib.bash"
src="$SHARED_DATA/online_retail/online_retail.csv.gz"
if [ ! -f "$src" ]; then echo "  SKIP online_retail_full: $src not found (../shared/data is absent in a fresh clone)"; exit 0; fi
db=c360_it_online_retail
fresh_db "$db"
file="$(work_dir)/online_retail.csv"
gunzip -c "$src" > "$file" && chmod 644 "$file"
q "$db" "CREATE EXTENSION c360"
q "$db" "SELECT c360.import_csv('online_retail', '$file')" >/dev/null
q "$db" "SELECT c360.ingest()" >/dev/null

check "rows read"            541909 "$(q "$db" "SELECT rows_read FROM c360.load_log")"
check "read = accepted + rejected" t "$(q "$db" "SELECT rows_read = rows_accepted + rows_rejected FROM c360.load_log")"
check "sale lines"           397884 "$(q "$db" "SELECT count(*) FROM c360.fact_sales WHERE is_sale")"
check "return lines"         8905   "$(q "$db" "SELECT count(*) FROM c360.fact_sales WHERE is_return")"
check "rejected"             135120 "$(q "$db" "SELECT count(*) FROM c360.rejects")"
check "missing customer"     135080 "$(q "$db" "SELECT count(*) FROM c360.rejects WHERE reason = 'missing_customer'")"
check "non-positive price"   40     "$(q "$db" "SELECT count(*) FROM c360.rejects WHERE reason = 'non_positive_price'")"
check "orders"               18532  "$(q "$db" "SELECT count(*) FROM c360.fact_orders WHERE is_sale")"
check "customers"            4338   "$(q "$db" "SELECT count(DISTINCT customer_id) FROM c360.fact_orders WHERE is_sale")"
check "revenue"              8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_sales WHERE is_sale")"
check "order-grain revenue"  8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_orders")"
# Line revenue is exact numeric: the typed column is numeric, never float.
check "revenue type"         numeric "$(q "$db" "SELECT data_type FROM information_schema.columns WHERE table_schema='c360' AND table_name='fact_sales' AND column_name='revenue'")"

q "$db" "SELECT c360.import_csv('online_retail', '$file')" >/dev/null
q "$db" "SELECT c360.ingest()" >/dev/null
check "second load: all accepted rows are duplicates" t \
  "$(q "$db" "SELECT rows_duplicate = rows_accepted AND rows_accepted = 406789 FROM c360.load_log WHERE load_id = 2")"
check "second load: lines unchanged" 406789 "$(q "$db" "SELECT count(*) FROM c360.fact_sales")"
check "second load: revenue unchanged" 8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_sales WHERE is_sale")"
drop_db "$db"; rm -f "$file"
finish
