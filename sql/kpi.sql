-- KPI views (SPEC §4) and the star-schema face for BI (issue 6). The views
-- read the order-grain fact kept current by ingest(), so they are always
-- up to date; they count sale orders placed before as_of (c360.as_of_date(),
-- the same cut-off RFM uses). Column types are plain scalars with fixed
-- numeric scales, what Power BI maps cleanly: money numeric(19,4), shares
-- and rates numeric(9,6) as fractions (0.25 = 25 %).

-- Sale orders before as_of: the population every KPI counts.
CREATE VIEW c360.sale_orders AS
SELECT o.order_id, o.customer_id, o.order_date, o.order_timestamp, o.revenue, o.lines, o.units
FROM c360.fact_orders o
WHERE o.is_sale AND o.order_date < c360.as_of_date();

CREATE VIEW c360.kpi_summary AS
WITH per_customer AS (SELECT customer_id, count(*) AS orders FROM c360.sale_orders GROUP BY customer_id),
returns AS (SELECT count(DISTINCT order_id) AS orders, count(*) AS lines FROM c360.fact_sales
            WHERE is_return AND order_date < c360.as_of_date())
SELECT coalesce(sum(o.revenue), 0)::numeric(19,4) AS total_revenue,
       count(*) AS orders,
       (SELECT count(*) FROM per_customer) AS customers,
       round(coalesce(sum(o.revenue) / nullif(count(*), 0), 0), 4)::numeric(19,4) AS aov,
       round(coalesce((SELECT count(*) FILTER (WHERE orders >= 2)::numeric / nullif(count(*), 0) FROM per_customer), 0), 6)::numeric(9,6) AS repeat_rate,
       (SELECT orders FROM returns) AS return_orders,
       (SELECT lines FROM returns) AS return_lines,
       min(o.order_date) AS first_order_date,
       max(o.order_date) AS last_order_date,
       c360.as_of_date() AS as_of
FROM c360.sale_orders o;

CREATE VIEW c360.kpi_monthly AS
WITH firsts AS (SELECT customer_id, date_trunc('month', min(order_date))::date AS first_month
                FROM c360.sale_orders GROUP BY customer_id)
SELECT date_trunc('month', o.order_date)::date AS month,
       sum(o.revenue)::numeric(19,4) AS revenue,
       count(*) AS orders,
       count(DISTINCT o.customer_id) AS active_customers,
       count(DISTINCT o.customer_id) FILTER (WHERE f.first_month = date_trunc('month', o.order_date)::date) AS new_customers,
       count(DISTINCT o.customer_id) FILTER (WHERE f.first_month < date_trunc('month', o.order_date)::date) AS returning_customers,
       round(sum(o.revenue) / count(*), 4)::numeric(19,4) AS aov
FROM c360.sale_orders o JOIN firsts f USING (customer_id)
GROUP BY 1;

CREATE VIEW c360.revenue_by_country AS
SELECT coalesce(c.country, 'Unknown') AS country,
       sum(o.revenue)::numeric(19,4) AS revenue,
       count(*) AS orders,
       count(DISTINCT o.customer_id) AS customers,
       round(sum(o.revenue) / nullif(sum(sum(o.revenue)) OVER (), 0), 6)::numeric(9,6) AS revenue_share
FROM c360.sale_orders o JOIN c360.customers c USING (customer_id)
GROUP BY 1;

-- Every cohort gets every month from its first to the latest month of data,
-- with 0 active customers where nobody came back: a complete matrix.
CREATE VIEW c360.cohort_retention AS
WITH activity AS (SELECT DISTINCT customer_id, date_trunc('month', order_date)::date AS month FROM c360.sale_orders),
cohorts AS (SELECT customer_id, min(month) AS cohort_month FROM activity GROUP BY customer_id),
sizes AS (SELECT cohort_month, count(*) AS cohort_size FROM cohorts GROUP BY cohort_month),
active AS (SELECT c.cohort_month,
                  ((extract(year FROM a.month) - extract(year FROM c.cohort_month)) * 12
                   + extract(month FROM a.month) - extract(month FROM c.cohort_month))::integer AS months_since_first,
                  count(*) AS active_customers
           FROM activity a JOIN cohorts c USING (customer_id) GROUP BY 1, 2),
last_month AS (SELECT max(month) AS m FROM activity)
SELECT s.cohort_month,
       n.months_since_first,
       s.cohort_size,
       coalesce(a.active_customers, 0) AS active_customers,
       round(coalesce(a.active_customers, 0)::numeric / s.cohort_size, 6)::numeric(9,6) AS retention_rate
FROM sizes s
CROSS JOIN last_month l
CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.m) - extract(year FROM s.cohort_month)) * 12
                                       + extract(month FROM l.m) - extract(month FROM s.cohort_month))::integer) AS n(months_since_first)
LEFT JOIN active a ON a.cohort_month = s.cohort_month AND a.months_since_first = n.months_since_first;

CREATE VIEW c360.segment_summary AS
SELECT s.segment,
       s.tier,
       min(r.priority) AS sort_order,
       count(*) AS customers,
       sum(m.monetary)::numeric(19,4) AS revenue,
       round(sum(m.monetary) / nullif(sum(sum(m.monetary)) OVER (), 0), 6)::numeric(9,6) AS revenue_share,
       round(sum(m.monetary) / sum(m.frequency), 4)::numeric(19,4) AS aov
FROM c360.rfm_segments s
JOIN c360.customer_metrics m USING (customer_id)
LEFT JOIN c360.segment_rules r ON r.segment = s.segment
GROUP BY s.segment, s.tier;

-- Share of revenue from the top p % of customers by spend (the top
-- ceil(p % of customers), ties broken by customer_id), and the Gini
-- coefficient of customer spend (0 = everyone spends the same, 1 = one
-- customer spends everything).
CREATE VIEW c360.revenue_concentration AS
WITH spend AS (SELECT customer_id, sum(revenue) AS revenue FROM c360.sale_orders GROUP BY customer_id),
ranked AS (SELECT revenue,
                  row_number() OVER (ORDER BY revenue DESC, customer_id) AS rank_desc,
                  row_number() OVER (ORDER BY revenue, customer_id) AS rank_asc,
                  count(*) OVER () AS n,
                  sum(revenue) OVER () AS total
           FROM spend)
SELECT max(n) AS customers,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.01)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_1pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.05)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_5pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.10)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_10pct_share,
       round(sum(revenue) FILTER (WHERE rank_desc <= ceil(n * 0.20)) / nullif(max(total), 0), 6)::numeric(9,6) AS top_20pct_share,
       round(2 * sum(rank_asc * revenue) / nullif(max(n) * max(total), 0) - (max(n) + 1)::numeric / nullif(max(n), 0), 6)::numeric(9,6) AS gini
FROM ranked;
