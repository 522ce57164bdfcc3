#!/usr/bin/env bash
# Bad-input corpus (issue 11, item 1): for every source shape, a file mixing
# good rows with wrong field counts, an unterminated quote, invalid UTF-8, a
# NUL byte, a blank line, a BOM and CRLF (half the shapes), embedded newlines,
# dates in year 0 and 9999, 1e308 numbers, amounts of a trillion or more,
# negative prices, 10 MB fields,
# SQL-injection text in every text column, duplicate keys and orphans; plus an
# empty and a header-only file per shape. reference/bad_input_corpus.py writes
# the files and, independently of c360, the outcome of every record.
# Asserted: every record lands typed or as a reject with the expected reason
# on the expected line; the load log reconciles; injection text is stored
# verbatim and harms nothing; the 10 MB values are kept whole; the server
# never restarts; loading everything again changes nothing.
source "$(dirname "$0")/lib.bash"
db=c360_it_corpus
fresh_db "$db"
dir="$(work_dir)/corpus"
rm -rf "$dir"; mkdir -p "$dir"
python3 "$C360_ROOT/tests/integration/reference/bad_input_corpus.py" "$dir"
chown -R "$C360_PGUSER" "$dir"; chmod 644 "$dir"/*
q "$db" "CREATE EXTENSION c360"
started="$(q "$db" "SELECT pg_postmaster_start_time()")"
tables_before="$(q "$db" "SELECT count(*) FROM pg_tables WHERE schemaname = 'c360'")"

# Imports every corpus file, then one ingest (which orders parents first).
# Prints "file<TAB>load_id" per file.
load_all() {
  while IFS=$'\t' read -r file source _; do
    printf '%s\t%s\n' "$file" "$(q "$db" "SELECT load_id FROM c360.import_csv('$source', '$dir/$file')")"
  done <"$dir/manifest.tsv"
  q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.ingest()" >/dev/null
}

# Compares each load with the manifest.
check_loads() {  # check_loads ROUND LOADS_FILE
  while IFS=$'\t' read -r file source records accepted rejects; do
    load="$(awk -F'\t' -v f="$file" '$1 == f {print $2}' "$2")"
    got="$(q "$db" "SELECT rows_read || '/' || rows_accepted || '/' || rows_rejected || '/' || (rows_read = rows_accepted + rows_rejected)
                    FROM c360.load_log WHERE load_id = $load AND status = 'ingested'")"
    nrej=0; [ -n "$rejects" ] && nrej="$(tr ',' '\n' <<<"$rejects" | wc -l)"
    check "$1 $file read/accepted/rejected/reconciles" "$records/$accepted/$nrej/true" "$got"
    check "$1 $file rejects (line:reason)" "$rejects" \
      "$(q "$db" "SELECT coalesce(string_agg(line_no || ':' || reason, ',' ORDER BY line_no), '') FROM c360.rejects WHERE load_id = $load")"
  done <"$dir/manifest.tsv"
}

load_all >"$dir/loads1.tsv"
check_loads "first" "$dir/loads1.tsv"

inj0="'); DROP TABLE c360.customers; --"
inj1='Robert"); DELETE FROM c360.orders; --'
inj2='$$; SELECT pg_sleep(30); $$'
inj3="%I %L %s \$1 \\' \\\\ ; TRUNCATE c360.fact_sales"
lit() { printf "'%s'" "${1//\'/\'\'}"; }   # SQL literal of a shell string
check "no table dropped or created" "$tables_before" "$(q "$db" "SELECT count(*) FROM pg_tables WHERE schemaname = 'c360'")"
check "injection text stored verbatim in every customers text column" t \
  "$(q "$db" "SELECT city = $(lit "$inj1") AND state = $(lit "$inj2") AND country = $(lit "$inj3") FROM c360.customers WHERE customer_id = $(lit "$inj0")")"
check "the injection customer's order and its item reached fact_sales" "1/15.00" \
  "$(q "$db" "SELECT count(*) || '/' || sum(revenue) FROM c360.fact_sales WHERE customer_id = $(lit "$inj0")")"
check "injection invoice of the flat file is an order of its customer" t \
  "$(q "$db" "SELECT customer_id = $(lit "$inj3") FROM c360.orders WHERE order_id = $(lit "$inj0")")"
check "embedded newline kept" "Kuala
Lumpur" "$(q "$db" "SELECT city FROM c360.customers WHERE customer_id = 'BC1'")"
check "quoted comma and doubled quotes kept" 'Beauty, Health|The "Best" Brand' "$(q "$db" "SELECT category || '|' || brand FROM c360.products WHERE product_id = 'BP2'")"
md5="$(cat "$dir/big_text.md5")"
check "10 MB text values kept whole (customers, products, payments, online retail)" "$md5 $md5 $md5 $md5" \
  "$(q "$db" "SELECT (SELECT md5(city) FROM c360.customers WHERE customer_id = 'BC3') || ' ' ||
                     (SELECT md5(brand) FROM c360.products WHERE product_id = 'BP3') || ' ' ||
                     (SELECT md5(payment_type) FROM c360.payments WHERE payment_id = 'BY2') || ' ' ||
                     (SELECT md5(description) FROM c360.products WHERE product_id = 'B22423')")"
check "rejected 10 MB key kept whole in raw_values" "10000000" \
  "$(q "$db" "SELECT length(raw_values->>'customer_id') FROM c360.rejects WHERE source = 'customers' AND reason = 'key_too_long'")"
check "reject messages name the column and stay short" "0" \
  "$(q "$db" "SELECT count(*) FROM c360.rejects WHERE message = '' OR length(message) > 400")"
check "key_too_long message names the column" t \
  "$(q "$db" "SELECT bool_and(message LIKE 'customer_id \"K%(10000000 characters) is longer than the 256 characters an id may have')
              FROM c360.rejects WHERE source = 'customers' AND reason = 'key_too_long'")"
check "exact money: a 20-digit price survives to the last digit" "123456789012.34567890" \
  "$(q "$db" "SELECT unit_price FROM c360.order_items WHERE order_item_id = 'BI4'")"

counts() { q "$db" "SELECT (SELECT count(*) FROM c360.customers) || '/' || (SELECT count(*) FROM c360.products) || '/' ||
                           (SELECT count(*) FROM c360.orders) || '/' || (SELECT count(*) FROM c360.order_items) || '/' ||
                           (SELECT count(*) FROM c360.payments) || '/' || (SELECT count(*) || ':' || sum(revenue) FROM c360.fact_sales)"; }
before="$(counts)"
# Everything again: same rejects, every accepted row a duplicate, no change.
load_all >"$dir/loads2.tsv"
check_loads "second" "$dir/loads2.tsv"
check "second load: every accepted row counted as a duplicate" 0 \
  "$(q "$db" "SELECT count(*) FROM c360.load_log WHERE load_id >= $(cut -f2 "$dir/loads2.tsv" | sort -n | head -1) AND rows_duplicate <> rows_accepted")"
check "second load changed no typed table" "$before" "$(counts)"

# Client-side \copy is all or nothing: PostgreSQL's COPY stops at the first
# malformed line, names it, and nothing of the file is staged.
loads="$(q "$db" "SELECT count(*) FROM c360.load_log")"
out="$(c360_psql -d "$db" -qtA -c "\\copy c360.customers_csv FROM '$dir/customers.csv' CSV HEADER" 2>&1 || true)"
check "client-side copy of the corpus fails loudly, naming the line" 1 "$(grep -cE 'CONTEXT: +COPY customers_csv, line [0-9]+' <<<"$out")"
check "failed copy staged nothing and logged no load" "$loads/0" \
  "$(q "$db" "SELECT (SELECT count(*) FROM c360.load_log) || '/' || (SELECT count(*) FROM c360.stage_customers)")"

check "refresh runs on the corpus data" succeeded \
  "$(q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360(); SELECT status FROM c360.refresh_log ORDER BY run_id DESC LIMIT 1" | tail -1)"
check "server never restarted (no backend crash)" "$started" "$(q "$db" "SELECT pg_postmaster_start_time()")"
drop_db "$db"
rm -rf "$dir"
finish
