-- The RFM pipeline as a DBA would write it in plain PostgreSQL, from the
-- same typed tables c360 reads: clean sale lines, one row per order, one
-- row per customer, percentile_cont cut points, CASE scores and segments.
-- Written once, reasonably optimized (orders aggregated before customers,
-- no count(DISTINCT)), to compare with c360.refresh_c360() in benches/.
SET work_mem = '256MB';
DROP TABLE IF EXISTS public.plain_rfm;
CREATE TABLE public.plain_rfm AS
WITH order_totals AS (          -- cleaning: sale lines of revenue orders
  SELECT o.order_id, o.customer_id, o.order_date, sum(i.quantity * i.unit_price) AS revenue
  FROM c360.orders o
  JOIN c360.order_items i ON i.order_id = o.order_id
  WHERE o.order_status IN ('completed', 'complete', 'delivered', 'shipped', 'paid', 'invoiced', 'processing')
    AND i.quantity > 0 AND i.unit_price > 0
  GROUP BY o.order_id, o.customer_id, o.order_date),
as_of AS (SELECT max(order_date) + 1 AS d FROM order_totals),
customers AS (
  SELECT customer_id, (SELECT d FROM as_of) - max(order_date) AS recency_days,
         count(*) AS frequency, sum(revenue) AS monetary
  FROM order_totals GROUP BY customer_id),
breaks AS (
  SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days) AS r,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency) AS f,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary) AS m
  FROM customers),
scored AS (
  SELECT c.*,
    CASE WHEN recency_days < b.r[1] THEN 5 WHEN recency_days < b.r[2] THEN 4 WHEN recency_days < b.r[3] THEN 3
         WHEN recency_days < b.r[4] THEN 2 ELSE 1 END AS r,
    CASE WHEN frequency > b.f[4] THEN 5 WHEN frequency > b.f[3] THEN 4 WHEN frequency > b.f[2] THEN 3
         WHEN frequency > b.f[1] THEN 2 ELSE 1 END AS f,
    CASE WHEN monetary > b.m[4] THEN 5 WHEN monetary > b.m[3] THEN 4 WHEN monetary > b.m[2] THEN 3
         WHEN monetary > b.m[1] THEN 2 ELSE 1 END AS m
  FROM customers c, breaks b)
SELECT customer_id, recency_days, frequency, monetary, r, f, m,
  CASE WHEN r = 5 AND f >= 4 THEN 'Champions' WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal'
       WHEN r >= 4 AND f IN (2, 3) THEN 'Potential Loyalist' WHEN r = 5 AND f = 1 THEN 'New Customers'
       WHEN r = 4 AND f = 1 THEN 'Promising' WHEN r = 3 AND f = 3 THEN 'Need Attention'
       WHEN r = 3 AND f <= 2 THEN 'About to Sleep' WHEN r <= 2 AND f IN (3, 4) THEN 'At Risk'
       WHEN r <= 2 AND f = 5 THEN 'Can''t Lose' ELSE 'Hibernating' END AS segment
FROM scored;
