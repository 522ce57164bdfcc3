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
# What the load left, table by table (md5 of every row as text, load ids
# aside), to compare with the one-step c360.load_csv below.
snapshot() {
  q "$1" "SELECT string_agg(t || ':' || h, ' ' ORDER BY t) FROM (
    SELECT 'order_items' t, md5(string_agg((to_jsonb(x) - 'load_id')::text, '|' ORDER BY order_item_id)) h FROM c360.order_items x
    UNION ALL SELECT 'orders', md5(string_agg((to_jsonb(x) - 'load_id')::text, '|' ORDER BY order_id)) FROM c360.orders x
    UNION ALL SELECT 'customers', md5(string_agg((to_jsonb(x) - 'load_id')::text, '|' ORDER BY customer_id)) FROM c360.customers x
    UNION ALL SELECT 'products', md5(string_agg((to_jsonb(x) - 'load_id')::text, '|' ORDER BY product_id)) FROM c360.products x
    UNION ALL SELECT 'fact_orders', md5(string_agg(to_jsonb(x)::text, '|' ORDER BY order_id)) FROM c360.fact_orders x
    UNION ALL SELECT 'rejects', md5(string_agg((to_jsonb(x) - 'load_id' - 'rejected_at')::text, '|' ORDER BY line_no)) FROM c360.rejects x
    UNION ALL SELECT 'load_log', string_agg(concat_ws('/', source, status, rows_read, rows_accepted, rows_rejected, rows_duplicate), ',') FROM c360.load_log) s"
}
two_step="$(snapshot "$db")"

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
# Every order's facts (here the checking pass's own per-order sums: all the
# orders were new) equal its lines summed in SQL, display scale included.
check "fact_orders = lines summed per order" 0 "$(q "$db" "SELECT count(*) FROM c360.fact_orders f FULL JOIN (
    SELECT o.order_id, count(i.order_item_id) AS lines, coalesce(sum(i.quantity), 0) AS units,
           coalesce(sum(i.quantity * i.unit_price) FILTER (WHERE i.quantity > 0 AND o.order_status = 'completed'), 0) AS revenue
    FROM c360.orders o LEFT JOIN c360.order_items i USING (order_id) GROUP BY o.order_id) l USING (order_id)
  WHERE (f.lines, f.units, f.revenue::text) IS DISTINCT FROM (l.lines, l.units, l.revenue::text)")"
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
# KPI views (SPEC §4) against plain SQL over the typed tables (orders and
# order lines), written separately from the views and the facts.
q "$db" "CREATE TABLE indep_orders AS
  SELECT o.order_id, o.customer_id, o.order_date, sum(i.quantity * i.unit_price) AS revenue
  FROM c360.orders o JOIN c360.order_items i USING (order_id)
  WHERE o.order_id NOT LIKE 'C%' AND i.quantity > 0 AND i.unit_price > 0
  GROUP BY 1, 2, 3"
check "kpi_summary" "$(q "$db" "SELECT concat_ws('|', sum(revenue), count(*), count(DISTINCT customer_id), round(sum(revenue) / count(*), 4),
    round((SELECT count(*) FILTER (WHERE n >= 2)::numeric / count(*) FROM (SELECT count(*) n FROM indep_orders GROUP BY customer_id) c), 6)) FROM indep_orders")" \
  "$(q "$db" "SELECT concat_ws('|', total_revenue::numeric(20,3), orders, customers, aov, repeat_rate) FROM c360.kpi_summary")"
check "kpi_monthly" "$(q "$db" "WITH f AS (SELECT customer_id, min(date_trunc('month', order_date)) fm FROM indep_orders GROUP BY 1)
    SELECT string_agg(concat_ws(':', m, rev::numeric(20,3), n, act, new), ' ' ORDER BY m) FROM (
      SELECT date_trunc('month', order_date)::date m, sum(revenue) rev, count(*) n, count(DISTINCT o.customer_id) act,
             count(DISTINCT o.customer_id) FILTER (WHERE fm = date_trunc('month', order_date)) new
      FROM indep_orders o JOIN f USING (customer_id) GROUP BY 1) x")" \
  "$(q "$db" "SELECT string_agg(concat_ws(':', month, revenue::numeric(20,3), orders, active_customers, new_customers), ' ' ORDER BY month) FROM c360.kpi_monthly")"
check "revenue_by_country" "$(q "$db" "SELECT md5(string_agg(concat_ws(':', country, rev::numeric(20,3), n), ' ' ORDER BY country)) FROM (
      SELECT c.country, sum(revenue) rev, count(*) n FROM indep_orders o JOIN c360.customers c USING (customer_id) GROUP BY 1) x")" \
  "$(q "$db" "SELECT md5(string_agg(concat_ws(':', country, revenue::numeric(20,3), orders), ' ' ORDER BY country)) FROM c360.revenue_by_country")"
check "cohort_retention (non-zero cells)" "$(q "$db" "WITH a AS (SELECT DISTINCT customer_id, date_trunc('month', order_date)::date m FROM indep_orders),
      c AS (SELECT customer_id, min(m) cm FROM a GROUP BY 1)
    SELECT md5(string_agg(concat_ws(':', cm, k, n), ' ' ORDER BY cm, k)) FROM (
      SELECT cm, (extract(year FROM age(m, cm)) * 12 + extract(month FROM age(m, cm)))::int k, count(*) n FROM a JOIN c USING (customer_id) GROUP BY 1, 2) x")" \
  "$(q "$db" "SELECT md5(string_agg(concat_ws(':', cohort_month, months_since_first, active_customers), ' ' ORDER BY cohort_month, months_since_first)) FROM c360.cohort_retention WHERE active_customers > 0")"
check "top 20% share (868 biggest spenders)" "$(q "$db" "SELECT round(sum(rev) / (SELECT sum(revenue) FROM indep_orders), 6) FROM (
      SELECT sum(revenue) rev FROM indep_orders GROUP BY customer_id ORDER BY 1 DESC LIMIT 868) t")" \
  "$(q "$db" "SELECT top_20pct_share FROM c360.revenue_concentration")"
check "insight: top 20% contribute 74.6%" "Top 20% of customers contribute 74.6% of revenue" "$(q "$db" "SELECT headline FROM c360.insights WHERE insight = 'top_customers_share'")"
# Gini by its mean-absolute-difference definition, over all pairs of customers.
check "gini" "$(q "$db" "WITH s AS (SELECT sum(revenue) x FROM indep_orders GROUP BY customer_id)
    SELECT round((SELECT sum(abs(a.x - b.x)) FROM s a, s b) / (2 * count(*) * sum(x)), 6) FROM s")" \
  "$(q "$db" "SELECT gini FROM c360.revenue_concentration")"
check "dim_date contiguous over the order range" t "$(q "$db" "SELECT count(*) = max(date_key) - min(date_key) + 1 AND min(date_key) <= '2010-12-01' AND max(date_key) >= '2011-12-09' FROM c360.dim_date")"

check "top monetary quintile" 868 "$(q "$db" "SELECT count(*) FROM c360.customer_360 WHERE m = 5")"

# Clusters (SPEC §6, k = 4): c360's inertia is within 1% of scikit-learn's
# best-of-10 k-means++ on the same standardized log1p features.
sk_inertia="$(q "$db" "COPY (SELECT recency_days, frequency, monetary FROM c360.customer_metrics) TO STDOUT WITH (FORMAT csv)" \
  | "$(c360_python)" "$(dirname "$0")/reference/kmeans_inertia.py" 4)"
c360_inertia="$(q "$db" "SELECT inertia FROM c360.cluster_models")"
echo "  info k-means inertia: c360 $c360_inertia, scikit-learn $sk_inertia"
check "k-means inertia within 1% of scikit-learn" t "$(q "$db" "SELECT abs($c360_inertia / $sk_inertia - 1) <= 0.01")"
check "every customer clustered" "4338 4" "$(q "$db" "SELECT count(cluster) || ' ' || count(DISTINCT cluster) FROM c360.customer_360")"
check "clusters numbered by mean spend" t "$(q "$db" "SELECT bool_and(ordered) FROM (
    SELECT avg_monetary >= lag(avg_monetary, 1, 0::numeric) OVER (ORDER BY cluster) AS ordered FROM c360.cluster_profile) s")"

q "$db" "SELECT c360.import_csv('online_retail', '$file')" >/dev/null
q "$db" "SELECT c360.ingest()" >/dev/null
check "second load: all accepted rows are duplicates" t \
  "$(q "$db" "SELECT rows_duplicate = rows_accepted AND rows_accepted = 406789 FROM c360.load_log WHERE load_id = 2")"
check "second load: lines unchanged" 406789 "$(q "$db" "SELECT count(*) FROM c360.fact_sales")"
check "second load: revenue unchanged" 8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_sales WHERE is_sale")"
check "second load: facts not stale" f "$(q "$db" "SELECT facts_stale FROM c360.refresh_state")"
drop_db "$db"

# The same file in one step (load_csv: checked as it is read, no staging)
# lands exactly the same rows; loading it again changes nothing.
db=c360_it_online_retail_one_step
fresh_db "$db"
q "$db" "CREATE EXTENSION c360"
check "load_csv: read, accepted, rejected" "541909|406789|135120" "$(q "$db" "SELECT concat_ws('|', rows_read, rows_accepted, rows_rejected) FROM c360.load_csv('online_retail', '$file')")"
check "load_csv: nothing staged" 0 "$(q "$db" "SELECT count(*) FROM c360.stage_online_retail")"
check "load_csv: same rows as import_csv + ingest" "$two_step" "$(snapshot "$db")"
check "load_csv again: all accepted rows are duplicates" "406789|406789" "$(q "$db" "SELECT concat_ws('|', rows_accepted, rows_duplicate) FROM c360.load_csv('online_retail', '$file')")"
check "load_csv again: facts unchanged" 8911407.904 "$(q "$db" "SELECT sum(revenue) FROM c360.fact_orders")"
drop_db "$db"; rm -f "$file"
finish
