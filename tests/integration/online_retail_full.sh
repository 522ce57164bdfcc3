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

# RFM (SPEC §5) after a refresh, against an independent plain-SQL computation
# straight from the sale lines: its own customer aggregate, percentile_cont
# cut points and CASE scores, written separately from c360's code.
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360()" >/dev/null
q "$db" "CREATE TABLE indep AS
  WITH cust AS (
    SELECT customer_id, (SELECT max(order_date) FROM c360.fact_sales WHERE is_sale) + 1 - max(order_date) AS recency,
           count(DISTINCT order_id) AS frequency, sum(quantity * unit_price) AS monetary
    FROM c360.fact_sales WHERE is_sale GROUP BY customer_id),
  b AS (SELECT percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY recency) AS r,
               percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY frequency) AS f,
               percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY monetary::float8) AS m FROM cust)
  SELECT c.customer_id, c.recency, c.frequency, c.monetary, b.r AS rb, b.f AS fb, b.m AS mb,
    CASE WHEN recency < b.r[1] THEN 5 WHEN recency < b.r[2] THEN 4 WHEN recency < b.r[3] THEN 3 WHEN recency < b.r[4] THEN 2 ELSE 1 END AS r,
    CASE WHEN frequency > b.f[4] THEN 5 WHEN frequency > b.f[3] THEN 4 WHEN frequency > b.f[2] THEN 3 WHEN frequency > b.f[1] THEN 2 ELSE 1 END AS f,
    CASE WHEN monetary::float8 > b.m[4] THEN 5 WHEN monetary::float8 > b.m[3] THEN 4 WHEN monetary::float8 > b.m[2] THEN 3 WHEN monetary::float8 > b.m[1] THEN 2 ELSE 1 END AS m
  FROM cust c, b"
check "rfm customers"        4338 "$(q "$db" "SELECT count(*) FROM c360.customer_360 WHERE rfm_score IS NOT NULL")"
check "cut points (R, F, M) equal percentile_cont" t "$(q "$db" "SELECT bool_and(rb = (SELECT c360.rfm_breaks(recency_days) FROM c360.customer_metrics)
   AND fb = (SELECT c360.rfm_breaks(frequency) FROM c360.customer_metrics)
   AND mb = (SELECT c360.rfm_breaks(monetary::float8) FROM c360.customer_metrics)) FROM indep")"
check "metrics equal"        0 "$(q "$db" "SELECT count(*) FROM indep i JOIN c360.customer_360 c USING (customer_id)
   WHERE (i.recency, i.frequency, i.monetary) IS DISTINCT FROM (c.recency_days, c.frequency, c.monetary)")"
check "R score counts"       "$(q "$db" "SELECT string_agg(r || ':' || n, ' ' ORDER BY r) FROM (SELECT r, count(*) n FROM indep GROUP BY r) x")" \
                             "$(q "$db" "SELECT string_agg(r || ':' || n, ' ' ORDER BY r) FROM (SELECT r, count(*) n FROM c360.customer_360 GROUP BY r) x")"
check "F score counts"       "$(q "$db" "SELECT string_agg(f || ':' || n, ' ' ORDER BY f) FROM (SELECT f, count(*) n FROM indep GROUP BY f) x")" \
                             "$(q "$db" "SELECT string_agg(f || ':' || n, ' ' ORDER BY f) FROM (SELECT f, count(*) n FROM c360.customer_360 GROUP BY f) x")"
check "M score counts"       "$(q "$db" "SELECT string_agg(m || ':' || n, ' ' ORDER BY m) FROM (SELECT m, count(*) n FROM indep GROUP BY m) x")" \
                             "$(q "$db" "SELECT string_agg(m || ':' || n, ' ' ORDER BY m) FROM (SELECT m, count(*) n FROM c360.customer_360 GROUP BY m) x")"
check "scores per customer"  0 "$(q "$db" "SELECT count(*) FROM indep i JOIN c360.customer_360 c USING (customer_id) WHERE (i.r, i.f, i.m) <> (c.r, c.f, c.m)")"
check "ties share a score"   0 "$(q "$db" "SELECT (SELECT count(*) FROM (SELECT recency_days FROM c360.customer_360 GROUP BY 1 HAVING count(DISTINCT r) > 1) a)
  + (SELECT count(*) FROM (SELECT frequency FROM c360.customer_360 GROUP BY 1 HAVING count(DISTINCT f) > 1) b)
  + (SELECT count(*) FROM (SELECT monetary FROM c360.customer_360 GROUP BY 1 HAVING count(DISTINCT m) > 1) c)")"
# Segments by the spec's table, written out as CASE.
check "segments per customer" 0 "$(q "$db" "SELECT count(*) FROM indep i JOIN c360.customer_360 c USING (customer_id) WHERE c.segment <> CASE
    WHEN i.r = 5 AND i.f >= 4 THEN 'Champions' WHEN i.r IN (3,4) AND i.f >= 4 THEN 'Loyal'
    WHEN i.r >= 4 AND i.f IN (2,3) THEN 'Potential Loyalist' WHEN i.r = 5 AND i.f = 1 THEN 'New Customers'
    WHEN i.r = 4 AND i.f = 1 THEN 'Promising' WHEN i.r = 3 AND i.f = 3 THEN 'Need Attention'
    WHEN i.r = 3 AND i.f <= 2 THEN 'About to Sleep' WHEN i.r <= 2 AND i.f IN (3,4) THEN 'At Risk'
    WHEN i.r <= 2 AND i.f = 5 THEN 'Can''t Lose' ELSE 'Hibernating' END")"
check "top monetary quintile" 868 "$(q "$db" "SELECT count(*) FROM c360.customer_360 WHERE m = 5")"

q "$db" "SELECT c360.import_csv('online_retail', '$file')" >/dev/null
q "$db" "SELECT c360.ingest()" >/dev/null
check "second load: all accepted rows are duplicates" t \
  "$(q "$db" "SELECT rows_duplicate = rows_accepted AND rows_accepted = 406789 FROM c360.load_log WHERE load_id = 2")"
check "second load: lines unchanged" 406789 "$(q "$db" "SELECT count(*) FROM c360.fact_sales")"
check "second load: revenue unchanged" 8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_sales WHERE is_sale")"
check "second load: facts not stale" f "$(q "$db" "SELECT facts_stale FROM c360.refresh_state")"
drop_db "$db"; rm -f "$file"
finish
