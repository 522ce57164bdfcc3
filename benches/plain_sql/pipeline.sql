-- The derived part of the pipeline in plain PostgreSQL, from the cleaned
-- lines (cleaning.sql): one row per order, one row per customer, percentile_cont
-- cut points, CASE scores and segments, the KPI summary, monthly KPIs and
-- cohort retention, each materialized as a table the BI tool reads. Written
-- once, reasonably optimized (orders aggregated before customers, no
-- count(DISTINCT), work_mem raised as c360's refresh does).
SET work_mem = '256MB';
DROP TABLE IF EXISTS plain.orders, plain.customers, plain.kpi_summary, plain.kpi_monthly, plain.cohort_retention;
CREATE TABLE plain.orders AS
SELECT invoice AS order_id, min(customer_id) AS customer_id, min(invoice_ts)::date AS order_date,
       sum(quantity * unit_price) AS revenue, count(*) AS lines
FROM plain.lines WHERE NOT is_return GROUP BY invoice;
CREATE TABLE plain.customers AS
SELECT customer_id, (SELECT max(order_date) + 1 FROM plain.orders) - max(order_date) AS recency_days,
       count(*) AS frequency, sum(revenue) AS monetary, min(order_date) AS first_order
FROM plain.orders GROUP BY customer_id;
\i benches/plain_sql/rfm_scores.sql
CREATE TABLE plain.kpi_summary AS
SELECT sum(revenue) AS total_revenue, count(*) AS orders,
       (SELECT count(*) FROM plain.customers) AS customers, sum(revenue) / count(*) AS aov,
       (SELECT count(*) FILTER (WHERE frequency >= 2)::numeric / count(*) FROM plain.customers) AS repeat_rate,
       (SELECT count(*) FROM (SELECT DISTINCT invoice FROM plain.lines WHERE is_return) r) AS return_orders,
       min(order_date) AS first_order_date, max(order_date) AS last_order_date
FROM plain.orders;
CREATE TABLE plain.kpi_monthly AS
SELECT date_trunc('month', o.order_date)::date AS month, sum(o.revenue) AS revenue, count(*) AS orders,
       count(DISTINCT o.customer_id) AS customers, sum(o.revenue) / count(*) AS aov
FROM plain.orders o GROUP BY 1;
CREATE TABLE plain.cohort_retention AS
WITH activity AS (
  SELECT DISTINCT o.customer_id, date_trunc('month', c.first_order)::date AS cohort_month,
         (extract(year FROM age(date_trunc('month', o.order_date), date_trunc('month', c.first_order))) * 12
          + extract(month FROM age(date_trunc('month', o.order_date), date_trunc('month', c.first_order))))::int AS months_since_first
  FROM plain.orders o JOIN plain.customers c USING (customer_id)),
sizes AS (SELECT cohort_month, count(*) AS cohort_size FROM activity WHERE months_since_first = 0 GROUP BY 1)
SELECT a.cohort_month, a.months_since_first, s.cohort_size, count(*) AS active_customers,
       round(count(*)::numeric / s.cohort_size, 6) AS retention_rate
FROM activity a JOIN sizes s USING (cohort_month) GROUP BY 1, 2, 3;
