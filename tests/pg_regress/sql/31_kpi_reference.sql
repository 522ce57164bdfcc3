-- The KPI tables are written by the refresh from its customer-grain pass
-- (each customer's orders, revenue, first, second and last order day and
-- months with an order). Here, on a generated shop, every table is compared
-- with the same figures computed the direct way: plain SQL grouping the sale
-- orders themselves (the queries the KPI views ran before they became
-- tables). Then: the tables show the last refresh, not later loads.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SELECT sum(rows) > 0 AS sample_loaded FROM c360.generate_sample(customers => 1500, seed => 11);
-- Edge cases the sample may not have: two orders on one day (the second
-- order's day is the first's), a customer without a country, and an order
-- on the last day of a month next to one on the first of the next.
INSERT INTO c360.customers (customer_id, country, load_id) VALUES ('EDGE1', NULL, 0), ('EDGE2', 'Malaysia', 0);
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT id, cust, 'completed', d, d + time '10:00', 0 FROM (VALUES
  ('E1a', 'EDGE1', date '2024-03-31'), ('E1b', 'EDGE1', '2024-03-31'), ('E1c', 'EDGE1', '2024-04-01'),
  ('E2a', 'EDGE2', '2024-01-31'), ('E2b', 'EDGE2', '2024-02-01')) v(id, cust, d);
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT id || ':1', id, (SELECT min(product_id) FROM c360.products), 2, 9.99, 0 FROM unnest(ARRAY['E1a', 'E1b', 'E1c', 'E2a', 'E2b']) id;

-- The direct computations, over the live sale_orders view (same as_of).
CREATE TEMP VIEW ref_kpi_summary AS
WITH per_customer AS (SELECT customer_id, count(*) AS orders FROM c360.sale_orders GROUP BY customer_id),
returns AS (SELECT count(*) AS orders, coalesce(sum(lines), 0) AS lines FROM c360.fact_orders
            WHERE is_return AND order_date < (SELECT c360.as_of_date()))
SELECT coalesce(sum(o.revenue), 0)::numeric(19,4) AS total_revenue, count(*) AS orders,
       (SELECT count(*) FROM per_customer) AS customers,
       round(coalesce(sum(o.revenue) / nullif(count(*), 0), 0), 4)::numeric(19,4) AS aov,
       round(coalesce((SELECT count(*) FILTER (WHERE orders >= 2)::numeric / nullif(count(*), 0) FROM per_customer), 0), 6)::numeric(9,6) AS repeat_rate,
       (SELECT orders FROM returns) AS return_orders, (SELECT lines FROM returns) AS return_lines,
       min(o.order_date) AS first_order_date, max(o.order_date) AS last_order_date, c360.as_of_date() AS as_of
FROM c360.sale_orders o;
CREATE TEMP VIEW ref_kpi_monthly AS
WITH firsts AS (SELECT customer_id, date_trunc('month', min(order_date))::date AS first_month FROM c360.sale_orders GROUP BY customer_id)
SELECT date_trunc('month', o.order_date)::date AS month, sum(o.revenue)::numeric(19,4) AS revenue, count(*) AS orders,
       count(DISTINCT o.customer_id) AS active_customers,
       count(DISTINCT o.customer_id) FILTER (WHERE f.first_month = date_trunc('month', o.order_date)::date) AS new_customers,
       count(DISTINCT o.customer_id) FILTER (WHERE f.first_month < date_trunc('month', o.order_date)::date) AS returning_customers,
       round(sum(o.revenue) / count(*), 4)::numeric(19,4) AS aov
FROM c360.sale_orders o JOIN firsts f USING (customer_id) GROUP BY 1;
CREATE TEMP VIEW ref_revenue_by_country AS
SELECT coalesce(c.country, 'Unknown') AS country, sum(o.revenue)::numeric(19,4) AS revenue, count(*) AS orders,
       count(DISTINCT o.customer_id) AS customers,
       round(sum(o.revenue) / nullif(sum(sum(o.revenue)) OVER (), 0), 6)::numeric(9,6) AS revenue_share
FROM c360.sale_orders o JOIN c360.customers c USING (customer_id) GROUP BY 1;
CREATE TEMP VIEW ref_cohort_retention AS
WITH activity AS (SELECT DISTINCT customer_id, date_trunc('month', order_date)::date AS month FROM c360.sale_orders),
cohorts AS (SELECT customer_id, min(month) AS cohort_month FROM activity GROUP BY customer_id),
sizes AS (SELECT cohort_month, count(*) AS cohort_size FROM cohorts GROUP BY cohort_month),
active AS (SELECT c.cohort_month, ((extract(year FROM a.month) - extract(year FROM c.cohort_month)) * 12
                  + extract(month FROM a.month) - extract(month FROM c.cohort_month))::integer AS months_since_first,
                  count(*) AS active_customers
           FROM activity a JOIN cohorts c USING (customer_id) GROUP BY 1, 2),
last_month AS (SELECT max(month) AS m FROM activity)
SELECT s.cohort_month, n.months_since_first, s.cohort_size, coalesce(a.active_customers, 0) AS active_customers,
       round(coalesce(a.active_customers, 0)::numeric / s.cohort_size, 6)::numeric(9,6) AS retention_rate
FROM sizes s CROSS JOIN last_month l
CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.m) - extract(year FROM s.cohort_month)) * 12
                                       + extract(month FROM l.m) - extract(month FROM s.cohort_month))::integer) AS n(months_since_first)
LEFT JOIN active a ON a.cohort_month = s.cohort_month AND a.months_since_first = n.months_since_first;
CREATE TEMP VIEW ref_revenue_concentration AS
WITH spend AS (SELECT customer_id, sum(revenue) AS revenue FROM c360.sale_orders GROUP BY customer_id),
ranked AS (SELECT revenue, row_number() OVER (ORDER BY revenue DESC, customer_id) AS rank_desc,
                  row_number() OVER (ORDER BY revenue, customer_id) AS rank_asc, count(*) OVER () AS n, sum(revenue) OVER () AS total
           FROM spend)
SELECT max(n) AS customers,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.01)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_1pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.05)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_5pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.10)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_10pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.20)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_20pct_share,
       round(2 * sum(rank_asc * revenue) / nullif(max(n) * max(total), 0) - (max(n) + 1)::numeric / nullif(max(n), 0), 6)::numeric(9,6) AS gini
FROM ranked;
-- Repeat rate counting orders before a date, per customer from their orders.
CREATE TEMP VIEW ref_repeat_rates AS
WITH q AS (SELECT date_trunc('quarter', max(order_date))::date AS q FROM c360.sale_orders)
SELECT e.quarter_end,
       round((SELECT count(*) FILTER (WHERE n >= 2)::numeric / nullif(count(*), 0)
              FROM (SELECT count(*) AS n FROM c360.sale_orders WHERE order_date < e.quarter_end GROUP BY customer_id) c) * 100, 1) AS rate
FROM q, LATERAL (VALUES ((q + interval '3 months')::date), (q)) e(quarter_end);
CREATE TEMP VIEW ref_fastest_growing_country AS
WITH q AS (SELECT date_trunc('quarter', max(order_date))::date AS q FROM c360.sale_orders),
cq AS (SELECT coalesce(c.country, 'Unknown') AS country,
              sum(o.revenue) FILTER (WHERE o.order_date >= q.q) AS cur,
              sum(o.revenue) FILTER (WHERE o.order_date >= (q.q - interval '3 months')::date AND o.order_date < q.q) AS prev,
              sum(o.revenue) AS total
       FROM c360.sale_orders o JOIN c360.customers c USING (customer_id), q GROUP BY 1)
SELECT country, round((cur / prev - 1) * 100, 1) AS growth FROM cq
WHERE prev > 0 AND cur > prev AND total >= 0.01 * (SELECT sum(total) FROM cq)
ORDER BY cur / prev DESC, country LIMIT 1;

-- differences: rows in one and not the other, both ways (0 = identical).
CREATE TEMP VIEW kpi_differences AS
SELECT 'kpi_summary' AS kpi, (SELECT count(*) FROM (SELECT * FROM c360.kpi_summary EXCEPT ALL SELECT * FROM ref_kpi_summary) a)
     + (SELECT count(*) FROM (SELECT * FROM ref_kpi_summary EXCEPT ALL SELECT * FROM c360.kpi_summary) b) AS differences,
       (SELECT count(*) FROM c360.kpi_summary) AS table_rows
UNION ALL SELECT 'kpi_monthly', (SELECT count(*) FROM (SELECT * FROM c360.kpi_monthly EXCEPT ALL SELECT * FROM ref_kpi_monthly) a)
     + (SELECT count(*) FROM (SELECT * FROM ref_kpi_monthly EXCEPT ALL SELECT * FROM c360.kpi_monthly) b), (SELECT count(*) FROM c360.kpi_monthly)
UNION ALL SELECT 'revenue_by_country', (SELECT count(*) FROM (SELECT * FROM c360.revenue_by_country EXCEPT ALL SELECT * FROM ref_revenue_by_country) a)
     + (SELECT count(*) FROM (SELECT * FROM ref_revenue_by_country EXCEPT ALL SELECT * FROM c360.revenue_by_country) b), (SELECT count(*) FROM c360.revenue_by_country)
UNION ALL SELECT 'cohort_retention', (SELECT count(*) FROM (SELECT * FROM c360.cohort_retention EXCEPT ALL SELECT * FROM ref_cohort_retention) a)
     + (SELECT count(*) FROM (SELECT * FROM ref_cohort_retention EXCEPT ALL SELECT * FROM c360.cohort_retention) b), (SELECT count(*) FROM c360.cohort_retention)
UNION ALL SELECT 'revenue_concentration', (SELECT count(*) FROM (SELECT * FROM c360.revenue_concentration EXCEPT ALL SELECT * FROM ref_revenue_concentration) a)
     + (SELECT count(*) FROM (SELECT * FROM ref_revenue_concentration EXCEPT ALL SELECT * FROM c360.revenue_concentration) b), (SELECT count(*) FROM c360.revenue_concentration)
UNION ALL SELECT 'repeat_rate_trend',
       (SELECT count(*) FROM c360.insights i WHERE i.insight = 'repeat_rate_trend'
          AND (i.figure IS DISTINCT FROM (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end DESC LIMIT 1)
               OR i.headline NOT LIKE format('Repeat rate %s%%, %%', (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end DESC LIMIT 1))
               OR (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end LIMIT 1) = (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end DESC LIMIT 1)
                  AND i.headline NOT LIKE '%unchanged%'
               OR (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end LIMIT 1) <> (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end DESC LIMIT 1)
                  AND i.headline NOT LIKE format('%% %s points on the previous quarter',
                        abs((SELECT rate FROM ref_repeat_rates ORDER BY quarter_end DESC LIMIT 1) - (SELECT rate FROM ref_repeat_rates ORDER BY quarter_end LIMIT 1)))))
     + (SELECT count(*) FROM ref_repeat_rates WHERE rate IS NULL), (SELECT count(*) FROM c360.insights WHERE insight = 'repeat_rate_trend')
UNION ALL SELECT 'fastest_growing_country',
       (SELECT count(*) FROM (SELECT headline FROM c360.insights WHERE insight = 'fastest_growing_country'
                              EXCEPT ALL SELECT format('%s is the fastest-growing country: revenue %s%% on the previous quarter', country, to_char(growth, 'FMSG999990.0'))
                              FROM ref_fastest_growing_country) a)
     + (SELECT count(*) FROM ref_fastest_growing_country) - (SELECT count(*) FROM c360.insights WHERE insight = 'fastest_growing_country'),
       (SELECT count(*) FROM c360.insights WHERE insight = 'fastest_growing_country')
UNION ALL SELECT 'segment_summary (customers and revenue add up)',
       (SELECT count(*) FROM c360.kpi_summary k WHERE (k.customers, k.total_revenue) IS DISTINCT FROM
          (SELECT (sum(customers)::bigint, sum(revenue)) FROM c360.segment_summary)), (SELECT count(*) FROM c360.segment_summary);

-- as_of automatic: the day after the latest sale.
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
SELECT * FROM kpi_differences;
-- as_of in the middle of the data: later orders drop out of every table.
INSERT INTO c360.settings (name, value) VALUES ('as_of', '2024-04-01');
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
SELECT as_of, last_order_date < as_of AS only_earlier_orders FROM c360.kpi_summary;
SELECT * FROM kpi_differences;

-- The tables show the last refresh: a new sale after it changes nothing
-- until the next refresh, which counts it (refresh_status says when).
DELETE FROM c360.settings WHERE name = 'as_of';
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
CREATE TEMP TABLE before AS SELECT orders, total_revenue, as_of FROM c360.kpi_summary;
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT 'LATE1', 'EDGE2', 'completed', as_of, as_of + time '10:00', 0 FROM before;
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT 'LATE1:1', 'LATE1', min(product_id), 1, 100, 0 FROM c360.products;
SELECT k.orders = b.orders AND k.total_revenue = b.total_revenue AS unchanged_before_refresh
FROM c360.kpi_summary k, before b;
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
SELECT k.orders - b.orders AS new_orders, k.total_revenue - b.total_revenue AS new_revenue, k.as_of - b.as_of AS as_of_moved
FROM c360.kpi_summary k, before b;
SELECT * FROM kpi_differences;

-- A segment drawn as two boxes of scores (two rules): its customers and
-- revenue are counted once in segment_summary, not once per rule.
UPDATE c360.segment_rules SET r_max = 1 WHERE segment = 'Hibernating';
INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority)
VALUES ('Hibernating', 'Churn Risk', 2, 2, 1, 2, 1, 5, 11);
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
SELECT segment, sort_order, customers > 0 AS has_customers FROM c360.segment_summary WHERE segment = 'Hibernating';
SELECT * FROM kpi_differences;
SELECT c360.reset_segment_rules() AS rules;
