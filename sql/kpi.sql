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
WHERE o.is_sale AND o.order_date < (SELECT c360.as_of_date());  -- once per query, not per row

CREATE VIEW c360.kpi_summary AS
WITH per_customer AS (SELECT customer_id, count(*) AS orders FROM c360.sale_orders GROUP BY customer_id),
returns AS (SELECT count(*) AS orders, coalesce(sum(lines), 0) AS lines FROM c360.fact_orders
            WHERE is_return AND order_date < (SELECT c360.as_of_date()))
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

-- Short findings computed from the data, one row each; the query behind each
-- is the CTE of the same name below (README: "KPI views" documents them).
CREATE VIEW c360.insights AS
WITH
-- top_customers_share: revenue share of the top 20 % of customers by spend.
top_customers_share AS (
  SELECT 'top_customers_share'::text AS insight,
         format('Top 20%% of customers contribute %s%% of revenue', round(top_20pct_share * 100, 1)) AS headline,
         round(top_20pct_share * 100, 1) AS figure, 'percent'::text AS unit
  FROM c360.revenue_concentration WHERE customers > 0),
-- repeat_rate_trend: share of customers with 2+ orders, counting orders up to
-- the end of the latest quarter with sales, against the quarter before.
quarters AS (SELECT date_trunc('quarter', max(order_date))::date AS q FROM c360.sale_orders),
repeat_by_quarter AS (
  SELECT e.quarter_end,
         (SELECT count(*) FILTER (WHERE n >= 2)::numeric / nullif(count(*), 0)
          FROM (SELECT count(*) AS n FROM c360.sale_orders WHERE order_date < e.quarter_end GROUP BY customer_id) c) AS rate
  FROM quarters, LATERAL (VALUES ((q + interval '3 months')::date), (q)) e(quarter_end)),
repeat_rate_trend AS (
  SELECT 'repeat_rate_trend', format('Repeat rate %s%%, %s on the previous quarter',
           round(cur.rate * 100, 1),
           CASE sign(round((cur.rate - prev.rate) * 100, 1))
             WHEN 1 THEN format('up %s points', round((cur.rate - prev.rate) * 100, 1))
             WHEN -1 THEN format('down %s points', round((prev.rate - cur.rate) * 100, 1))
             ELSE 'unchanged' END),
         round(cur.rate * 100, 1), 'percent'
  FROM quarters q
  JOIN repeat_by_quarter cur ON cur.quarter_end = (q.q + interval '3 months')::date
  JOIN repeat_by_quarter prev ON prev.quarter_end = q.q
  WHERE cur.rate IS NOT NULL AND prev.rate IS NOT NULL),
-- fastest_growing_country: among countries with at least 1 % of all revenue,
-- the largest revenue growth of the latest quarter over the one before (no
-- row when none grew).
country_quarters AS (
  SELECT coalesce(c.country, 'Unknown') AS country,
         sum(o.revenue) FILTER (WHERE o.order_date >= q.q) AS cur,
         sum(o.revenue) FILTER (WHERE o.order_date >= (q.q - interval '3 months')::date AND o.order_date < q.q) AS prev,
         sum(o.revenue) AS total
  FROM c360.sale_orders o JOIN c360.customers c USING (customer_id), quarters q
  GROUP BY 1),
fastest_growing_country AS (
  SELECT 'fastest_growing_country', format('%s is the fastest-growing country: revenue %s%% on the previous quarter',
           country, to_char(round((cur / prev - 1) * 100, 1), 'FMSG999990.0')),
         round((cur / prev - 1) * 100, 1), 'percent'
  FROM country_quarters
  WHERE prev > 0 AND cur > prev AND total >= 0.01 * (SELECT sum(total) FROM country_quarters)
  ORDER BY cur / prev DESC, country LIMIT 1),
-- revenue_at_risk: the segment of tier At Risk or Churn Risk whose customers
-- have spent the most (as of the last refresh).
revenue_at_risk AS (
  SELECT 'revenue_at_risk', format('%s holds the most revenue at risk: %s from %s customers',
           segment, to_char(revenue, 'FM999,999,999,990.00'), customers),
         revenue, 'currency'
  FROM c360.segment_summary WHERE tier IN ('At Risk', 'Churn Risk')
  ORDER BY revenue DESC, segment LIMIT 1)
SELECT insight, headline, figure::numeric(19,4) AS figure, unit
FROM (SELECT * FROM top_customers_share
      UNION ALL SELECT * FROM repeat_rate_trend
      UNION ALL SELECT * FROM fastest_growing_country
      UNION ALL SELECT * FROM revenue_at_risk) findings;

------------------------------------------------------------------------------
-- Star schema for BI: fact_sales (line grain) -> dim_customer, dim_product,
-- dim_date, each joined on one column, many-to-one.
------------------------------------------------------------------------------
CREATE VIEW c360.dim_customer AS
SELECT customer_id, country, city, state, created_at::date AS created_date
FROM c360.customers;

CREATE VIEW c360.dim_product AS
SELECT product_id, category, brand, description
FROM c360.products;

-- A real table, one row a day from the first to the last order date
-- (whole years, so a date slicer never runs off its end): what Power BI's
-- "mark as date table" asks for. Rebuilt by refresh_c360().
CREATE TABLE c360.dim_date (
    date_key     date PRIMARY KEY,
    year         integer NOT NULL,
    quarter      integer NOT NULL,
    month        integer NOT NULL,
    month_name   text NOT NULL,
    month_start  date NOT NULL,
    iso_year     integer NOT NULL,
    iso_week     integer NOT NULL,
    weekday      integer NOT NULL,
    weekday_name text NOT NULL,
    is_weekend   boolean NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('c360.dim_date', '');

CREATE FUNCTION c360._refresh_dim_date() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM c360.dim_date;
  INSERT INTO c360.dim_date
  SELECT d::date, extract(year FROM d)::int, extract(quarter FROM d)::int, extract(month FROM d)::int,
         to_char(d, 'FMMonth'), date_trunc('month', d)::date,
         extract(isoyear FROM d)::int, extract(week FROM d)::int,
         extract(isodow FROM d)::int, to_char(d, 'FMDay'), extract(isodow FROM d) IN (6, 7)
  FROM (SELECT date_trunc('year', min(order_date)) AS first_day,
               date_trunc('year', max(order_date)) + interval '1 year - 1 day' AS last_day
        FROM c360.fact_orders) r,
       generate_series(r.first_day, r.last_day, interval '1 day') d;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- When the figures were last refreshed: for a report's "data as of" card.
CREATE VIEW c360.refresh_status AS
SELECT (SELECT max(finished_at) FROM c360.refresh_log WHERE status = 'succeeded') AT TIME ZONE 'UTC' AS last_refreshed_utc,
       (SELECT as_of FROM c360.refresh_log WHERE status = 'succeeded' ORDER BY run_id DESC LIMIT 1) AS as_of,
       (SELECT max(finished_at) FROM c360.load_log) AT TIME ZONE 'UTC' AS last_loaded_utc;

------------------------------------------------------------------------------
-- A read-only BI role
------------------------------------------------------------------------------
CREATE FUNCTION c360.bi_relations() RETURNS SETOF regclass
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$ SELECT unnest(ARRAY[
  'c360.kpi_summary', 'c360.kpi_monthly', 'c360.revenue_by_country', 'c360.cohort_retention',
  'c360.segment_summary', 'c360.revenue_concentration', 'c360.insights', 'c360.customer_360',
  'c360.fact_sales', 'c360.dim_customer', 'c360.dim_product', 'c360.dim_date',
  'c360.rfm_thresholds', 'c360.refresh_status', 'c360.cluster_profile']::regclass[]) $$;

CREATE FUNCTION c360.grant_reader(reader name) RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog
AS $$
DECLARE rel regclass;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
    RAISE EXCEPTION 'role "%" does not exist', reader
      USING ERRCODE = 'undefined_object', HINT = 'CREATE ROLE ... LOGIN PASSWORD ... first.';
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA c360 TO %I', reader);
  FOR rel IN SELECT * FROM c360.bi_relations() LOOP
    EXECUTE format('GRANT SELECT ON %s TO %I', rel, reader);
    RETURN NEXT rel;
  END LOOP;
END
$$;


-- Granting is for the DBA's roles, not PUBLIC.
REVOKE EXECUTE ON FUNCTION c360.grant_reader(name) FROM PUBLIC;

------------------------------------------------------------------------------
-- What \d+ and \df+ show (and Power BI shows as column descriptions)
------------------------------------------------------------------------------
COMMENT ON VIEW c360.sale_orders IS 'sale orders placed before as_of: the population every KPI view counts';
COMMENT ON COLUMN c360.sale_orders.order_id IS 'order key';
COMMENT ON COLUMN c360.sale_orders.customer_id IS 'customer key';
COMMENT ON COLUMN c360.sale_orders.order_date IS 'local order date';
COMMENT ON COLUMN c360.sale_orders.order_timestamp IS 'when the order was placed';
COMMENT ON COLUMN c360.sale_orders.revenue IS 'revenue of its sale lines, exact';
COMMENT ON COLUMN c360.sale_orders.lines IS 'number of lines';
COMMENT ON COLUMN c360.sale_orders.units IS 'units on its lines';

COMMENT ON VIEW c360.kpi_summary IS 'one row: the headline KPIs over sale orders before as_of';
COMMENT ON COLUMN c360.kpi_summary.total_revenue IS 'sum of sale revenue';
COMMENT ON COLUMN c360.kpi_summary.orders IS 'number of sale orders';
COMMENT ON COLUMN c360.kpi_summary.customers IS 'customers with at least one sale order';
COMMENT ON COLUMN c360.kpi_summary.aov IS 'average order value: total_revenue / orders';
COMMENT ON COLUMN c360.kpi_summary.repeat_rate IS 'share of customers with 2 or more orders (0.65 = 65 %)';
COMMENT ON COLUMN c360.kpi_summary.return_orders IS 'cancelled, returned or refunded orders (Online Retail: C-invoices)';
COMMENT ON COLUMN c360.kpi_summary.return_lines IS 'lines of those orders';
COMMENT ON COLUMN c360.kpi_summary.first_order_date IS 'date of the first sale order';
COMMENT ON COLUMN c360.kpi_summary.last_order_date IS 'date of the latest sale order';
COMMENT ON COLUMN c360.kpi_summary.as_of IS 'orders before this date count (setting as_of)';

COMMENT ON VIEW c360.kpi_monthly IS 'one row per calendar month with sales';
COMMENT ON COLUMN c360.kpi_monthly.month IS 'first day of the month';
COMMENT ON COLUMN c360.kpi_monthly.revenue IS 'sale revenue in the month';
COMMENT ON COLUMN c360.kpi_monthly.orders IS 'sale orders in the month';
COMMENT ON COLUMN c360.kpi_monthly.active_customers IS 'customers who ordered in the month';
COMMENT ON COLUMN c360.kpi_monthly.new_customers IS 'active customers whose first order was in the month';
COMMENT ON COLUMN c360.kpi_monthly.returning_customers IS 'active customers who first ordered in an earlier month';
COMMENT ON COLUMN c360.kpi_monthly.aov IS 'average order value in the month';

COMMENT ON VIEW c360.revenue_by_country IS 'sale revenue, orders and customers per customer country';
COMMENT ON COLUMN c360.revenue_by_country.country IS 'customer country (Unknown when missing)';
COMMENT ON COLUMN c360.revenue_by_country.revenue IS 'sale revenue';
COMMENT ON COLUMN c360.revenue_by_country.orders IS 'sale orders';
COMMENT ON COLUMN c360.revenue_by_country.customers IS 'customers with a sale';
COMMENT ON COLUMN c360.revenue_by_country.revenue_share IS 'share of all revenue (0.10 = 10 %)';

COMMENT ON VIEW c360.cohort_retention IS 'monthly cohorts (month of first order) and the share active in each later month, up to the latest month of data';
COMMENT ON COLUMN c360.cohort_retention.cohort_month IS 'first day of the month of the customers'' first order';
COMMENT ON COLUMN c360.cohort_retention.months_since_first IS 'months since the cohort month (0 = the cohort month)';
COMMENT ON COLUMN c360.cohort_retention.cohort_size IS 'customers in the cohort';
COMMENT ON COLUMN c360.cohort_retention.active_customers IS 'cohort customers who ordered in that month';
COMMENT ON COLUMN c360.cohort_retention.retention_rate IS 'active_customers / cohort_size';

COMMENT ON VIEW c360.segment_summary IS 'customers and revenue per RFM segment (as of the last refresh)';
COMMENT ON COLUMN c360.segment_summary.segment IS 'RFM segment';
COMMENT ON COLUMN c360.segment_summary.tier IS 'tier of the segment';
COMMENT ON COLUMN c360.segment_summary.sort_order IS 'priority of the segment in c360.segment_rules: sort legends by it';
COMMENT ON COLUMN c360.segment_summary.customers IS 'customers in the segment';
COMMENT ON COLUMN c360.segment_summary.revenue IS 'their sale revenue';
COMMENT ON COLUMN c360.segment_summary.revenue_share IS 'share of all scored customers'' revenue';
COMMENT ON COLUMN c360.segment_summary.aov IS 'their average order value';

COMMENT ON VIEW c360.revenue_concentration IS 'how concentrated revenue is: share from the top 1/5/10/20 % of customers by spend, and the Gini coefficient';
COMMENT ON COLUMN c360.revenue_concentration.customers IS 'customers with a sale';
COMMENT ON COLUMN c360.revenue_concentration.top_1pct_share IS 'revenue share of the ceil(1 % of customers) biggest spenders';
COMMENT ON COLUMN c360.revenue_concentration.top_5pct_share IS 'revenue share of the top 5 %';
COMMENT ON COLUMN c360.revenue_concentration.top_10pct_share IS 'revenue share of the top 10 %';
COMMENT ON COLUMN c360.revenue_concentration.top_20pct_share IS 'revenue share of the top 20 %';
COMMENT ON COLUMN c360.revenue_concentration.gini IS 'Gini coefficient of customer spend, 0 (equal) to 1 (one customer spends everything)';

COMMENT ON VIEW c360.dim_customer IS 'customer dimension: fact_sales.customer_id -> dim_customer.customer_id, many to one';
COMMENT ON COLUMN c360.dim_customer.customer_id IS 'customer key';
COMMENT ON COLUMN c360.dim_customer.country IS 'country';
COMMENT ON COLUMN c360.dim_customer.city IS 'city';
COMMENT ON COLUMN c360.dim_customer.state IS 'state or region';
COMMENT ON COLUMN c360.dim_customer.created_date IS 'date the account was created, if known';
COMMENT ON VIEW c360.dim_product IS 'product dimension: fact_sales.product_id -> dim_product.product_id, many to one';
COMMENT ON COLUMN c360.dim_product.product_id IS 'product key';
COMMENT ON COLUMN c360.dim_product.category IS 'category';
COMMENT ON COLUMN c360.dim_product.brand IS 'brand';
COMMENT ON COLUMN c360.dim_product.description IS 'description';
COMMENT ON TABLE c360.dim_date IS 'date dimension, one row a day over whole years of orders (fact_sales.order_date -> dim_date.date_key); rebuilt by refresh';
COMMENT ON COLUMN c360.dim_date.date_key IS 'the day';
COMMENT ON COLUMN c360.dim_date.year IS 'calendar year';
COMMENT ON COLUMN c360.dim_date.quarter IS 'quarter 1-4';
COMMENT ON COLUMN c360.dim_date.month IS 'month 1-12';
COMMENT ON COLUMN c360.dim_date.month_name IS 'month name, e.g. January';
COMMENT ON COLUMN c360.dim_date.month_start IS 'first day of the month';
COMMENT ON COLUMN c360.dim_date.iso_year IS 'ISO 8601 week-numbering year';
COMMENT ON COLUMN c360.dim_date.iso_week IS 'ISO 8601 week 1-53';
COMMENT ON COLUMN c360.dim_date.weekday IS 'ISO weekday, 1 = Monday ... 7 = Sunday';
COMMENT ON COLUMN c360.dim_date.weekday_name IS 'weekday name, e.g. Monday';
COMMENT ON COLUMN c360.dim_date.is_weekend IS 'Saturday or Sunday';
COMMENT ON FUNCTION c360._refresh_dim_date() IS 'internal refresh step: rebuilds c360.dim_date';
COMMENT ON VIEW c360.refresh_status IS 'one row: when data was last loaded and refreshed, for a report''s "data as of" card';
COMMENT ON COLUMN c360.refresh_status.last_refreshed_utc IS 'when the last successful refresh committed (UTC)';
COMMENT ON COLUMN c360.refresh_status.as_of IS 'as_of date of that refresh';
COMMENT ON COLUMN c360.refresh_status.last_loaded_utc IS 'when the last load was ingested (UTC)';
COMMENT ON FUNCTION c360.bi_relations() IS 'the views and tables a BI reader needs (what grant_reader grants)';
COMMENT ON FUNCTION c360.grant_reader(name) IS 'grants a role read access to the BI views and tables only (USAGE on c360, SELECT on c360.bi_relations()); idempotent; returns what it granted';
COMMENT ON VIEW c360.insights IS 'plain-language findings computed from the data (top customers'' share, repeat-rate trend, fastest-growing country, revenue at risk); each is a CTE of the same name in the view definition';
COMMENT ON COLUMN c360.insights.insight IS 'stable key: top_customers_share, repeat_rate_trend, fastest_growing_country, revenue_at_risk';
COMMENT ON COLUMN c360.insights.headline IS 'the finding as one sentence';
COMMENT ON COLUMN c360.insights.figure IS 'its main figure';
COMMENT ON COLUMN c360.insights.unit IS 'unit of the figure: percent or currency';
