-- The RFM pipeline as a DBA would write it in plain PostgreSQL, from the
-- same typed tables c360 reads: clean sale lines, one row per order, one
-- row per customer, then percentile_cont cut points, CASE scores and
-- segments (rfm_scores.sql) into plain.rfm. Written once, reasonably
-- optimized (orders aggregated before customers, no count(DISTINCT)), to
-- compare with c360.refresh_c360() in benches/rfm_refresh.sh.
SET work_mem = '256MB';
CREATE SCHEMA IF NOT EXISTS plain;
DROP TABLE IF EXISTS plain.customers;
CREATE TABLE plain.customers AS
WITH order_totals AS (          -- cleaning: sale lines of revenue orders
  SELECT o.order_id, o.customer_id, o.order_date, sum(i.quantity * i.unit_price) AS revenue
  FROM c360.orders o
  JOIN c360.order_items i ON i.order_id = o.order_id
  WHERE o.order_status IN ('completed', 'complete', 'delivered', 'shipped', 'paid', 'invoiced', 'processing')
    AND i.quantity > 0 AND i.unit_price > 0
  GROUP BY o.order_id, o.customer_id, o.order_date),
as_of AS (SELECT max(order_date) + 1 AS d FROM order_totals)
SELECT customer_id, (SELECT d FROM as_of) - max(order_date) AS recency_days,
       count(*) AS frequency, sum(revenue) AS monetary
FROM order_totals GROUP BY customer_id;
\i benches/plain_sql/rfm_scores.sql
