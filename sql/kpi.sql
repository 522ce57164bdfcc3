-- KPIs (SPEC §4) and the star-schema face for BI (issue 6). The KPI tables
-- are written by the refresh (c360._refresh_kpis, its last step) from the
-- customer-grain pass the refresh makes anyway, so a report reads a few
-- hundred rows instead of regrouping every order on each query, and every
-- BI relation shows the same refresh: the sale orders placed before that
-- refresh's as_of (the cut-off RFM uses). Column types are plain scalars
-- with fixed numeric scales, what Power BI maps cleanly: money
-- numeric(19,4), shares and rates numeric(9,6) as fractions (0.25 = 25 %).
-- Each step replaces its rows with DELETE + INSERT in the refresh's
-- transaction: readers see the previous refresh until it commits.

-- Sale orders before as_of: the population every KPI counts (live).
CREATE VIEW c360.sale_orders AS
SELECT o.order_id, o.customer_id, o.order_date, o.order_timestamp, o.revenue, o.lines, o.units
FROM c360.fact_orders o
WHERE o.is_sale AND o.order_date < (SELECT c360.as_of_date());  -- once per query, not per row

CREATE TABLE c360.kpi_summary (
    total_revenue    numeric(19,4) NOT NULL,
    orders           bigint NOT NULL,
    customers        bigint NOT NULL,
    aov              numeric(19,4) NOT NULL,
    repeat_rate      numeric(9,6) NOT NULL,
    return_orders    bigint NOT NULL,
    return_lines     bigint NOT NULL,
    first_order_date date,
    last_order_date  date,
    as_of            date
);

CREATE TABLE c360.kpi_monthly (
    month               date PRIMARY KEY,
    revenue             numeric(19,4) NOT NULL,
    orders              bigint NOT NULL,
    active_customers    bigint NOT NULL,
    new_customers       bigint NOT NULL,
    returning_customers bigint NOT NULL,
    aov                 numeric(19,4) NOT NULL
);

CREATE TABLE c360.revenue_by_country (
    country       text PRIMARY KEY,
    revenue       numeric(19,4) NOT NULL,
    orders        bigint NOT NULL,
    customers     bigint NOT NULL,
    revenue_share numeric(9,6)
);

CREATE TABLE c360.cohort_retention (
    cohort_month       date NOT NULL,
    months_since_first integer NOT NULL,
    cohort_size        bigint NOT NULL,
    active_customers   bigint NOT NULL,
    retention_rate     numeric(9,6) NOT NULL,
    PRIMARY KEY (cohort_month, months_since_first)
);

CREATE TABLE c360.segment_summary (
    segment       text NOT NULL,
    tier          text NOT NULL,
    sort_order    integer,
    customers     bigint NOT NULL,
    revenue       numeric(19,4),
    revenue_share numeric(9,6),
    aov           numeric(19,4),
    PRIMARY KEY (segment, tier)
);

CREATE TABLE c360.revenue_concentration (
    customers       bigint,
    top_1pct_share  numeric(9,6),
    top_5pct_share  numeric(9,6),
    top_10pct_share numeric(9,6),
    top_20pct_share numeric(9,6),
    gini            numeric(9,6)
);

CREATE TABLE c360.insights (
    insight  text PRIMARY KEY,
    headline text NOT NULL,
    figure   numeric(19,4),
    unit     text NOT NULL
);

-- The last refresh's results are kept by pg_dump, like customer_metrics.
SELECT pg_catalog.pg_extension_config_dump('c360.kpi_summary', '');
SELECT pg_catalog.pg_extension_config_dump('c360.kpi_monthly', '');
SELECT pg_catalog.pg_extension_config_dump('c360.revenue_by_country', '');
SELECT pg_catalog.pg_extension_config_dump('c360.cohort_retention', '');
SELECT pg_catalog.pg_extension_config_dump('c360.segment_summary', '');
SELECT pg_catalog.pg_extension_config_dump('c360.revenue_concentration', '');
SELECT pg_catalog.pg_extension_config_dump('c360.insights', '');

-- Step: every KPI table. Customer-grain figures come from the refresh's
-- pass over fact_orders (pg_temp.c360_refresh_purchases: each customer's
-- orders, revenue, first, second and last order day, the months with an
-- order and the revenue of the last two quarters) and the rfm_segments
-- step's per-segment totals (pg_temp.c360_refresh_segments); the one
-- order-grain read left is a GROUP BY month.
CREATE FUNCTION c360._refresh_kpis(as_of date) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE written bigint;
BEGIN
  DELETE FROM c360.kpi_summary;
  DELETE FROM c360.kpi_monthly;
  DELETE FROM c360.revenue_by_country;
  DELETE FROM c360.cohort_retention;
  DELETE FROM c360.segment_summary;
  DELETE FROM c360.revenue_concentration;
  DELETE FROM c360.insights;

  -- Sale revenue and orders, return orders and lines, per month.
  CREATE TEMP TABLE c360_kpi_months ON COMMIT DROP AS
  SELECT date_trunc('month', o.order_date::timestamp)::date AS month,
         count(*) FILTER (WHERE o.is_sale) AS orders,
         sum(o.revenue) FILTER (WHERE o.is_sale) AS revenue,
         count(*) FILTER (WHERE o.is_return) AS return_orders,
         sum(o.lines) FILTER (WHERE o.is_return) AS return_lines
  FROM c360.fact_orders o
  WHERE (o.is_sale OR o.is_return) AND o.order_date < _refresh_kpis.as_of
  GROUP BY 1;
  -- Customers active per (cohort month, month): each customer's months,
  -- the first of which is the cohort (unnest in the select list: no per-row
  -- function scan and tuplestore).
  CREATE TEMP TABLE c360_kpi_activity ON COMMIT DROP AS
  SELECT cohort_month, month, count(*) AS customers
  FROM (SELECT p.months[1] AS cohort_month, unnest(p.months) AS month FROM pg_temp.c360_refresh_purchases p) a
  GROUP BY 1, 2;
  -- Per country, also the revenue of the latest sale's quarter and of the
  -- one before (the customer pass summed them per customer).
  CREATE TEMP TABLE c360_kpi_countries ON COMMIT DROP AS
  SELECT coalesce(c.country, 'Unknown') AS country, sum(p.revenue) AS revenue, sum(p.orders) AS orders, count(*) AS customers,
         sum(p.revenue_last_quarter) AS revenue_last_quarter, sum(p.revenue_prev_quarter) AS revenue_prev_quarter
  FROM pg_temp.c360_refresh_purchases p JOIN c360.customers c ON c.customer_id = p.customer_id COLLATE "C"
  GROUP BY 1;

  INSERT INTO c360.kpi_summary
  SELECT coalesce(sum(p.revenue), 0), coalesce(sum(p.orders), 0), count(*),
         round(coalesce(sum(p.revenue) / nullif(sum(p.orders), 0), 0), 4),
         round(coalesce(count(*) FILTER (WHERE p.orders >= 2)::numeric / nullif(count(*), 0), 0), 6),
         (SELECT coalesce(sum(return_orders), 0) FROM pg_temp.c360_kpi_months),
         (SELECT coalesce(sum(return_lines), 0) FROM pg_temp.c360_kpi_months),
         min(p.first_day), max(p.last_day), _refresh_kpis.as_of
  FROM pg_temp.c360_refresh_purchases p;

  INSERT INTO c360.kpi_monthly
  SELECT m.month, m.revenue, m.orders, a.active, a.new, a.active - a.new, round(m.revenue / m.orders, 4)
  FROM pg_temp.c360_kpi_months m
  JOIN (SELECT month, sum(customers) AS active, coalesce(sum(customers) FILTER (WHERE month = cohort_month), 0) AS new
        FROM pg_temp.c360_kpi_activity GROUP BY month) a USING (month)
  WHERE m.orders > 0;

  INSERT INTO c360.revenue_by_country
  SELECT country, revenue, orders, customers, round(revenue / nullif(sum(revenue) OVER (), 0), 6)
  FROM pg_temp.c360_kpi_countries;

  -- Every cohort gets every month from its first to the latest month of
  -- data, with 0 active customers where nobody came back: a complete matrix.
  INSERT INTO c360.cohort_retention
  WITH cells AS (
    SELECT cohort_month,
           ((extract(year FROM month) - extract(year FROM cohort_month)) * 12
            + extract(month FROM month) - extract(month FROM cohort_month))::integer AS months_since_first,
           customers
    FROM pg_temp.c360_kpi_activity),
  sizes AS (SELECT cohort_month, customers AS cohort_size FROM cells WHERE months_since_first = 0),
  last_month AS (SELECT max(month) AS m FROM pg_temp.c360_kpi_activity)
  SELECT s.cohort_month, n.months_since_first, s.cohort_size, coalesce(c.customers, 0),
         round(coalesce(c.customers, 0)::numeric / s.cohort_size, 6)
  FROM sizes s
  CROSS JOIN last_month l
  CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.m) - extract(year FROM s.cohort_month)) * 12
                                         + extract(month FROM l.m) - extract(month FROM s.cohort_month))::integer) AS n(months_since_first)
  LEFT JOIN cells c ON c.cohort_month = s.cohort_month AND c.months_since_first = n.months_since_first;

  -- From the rfm_segments step's per-segment totals (pg_temp.c360_refresh_segments).
  -- The sort order is the segment's best rule priority, looked up apart: a
  -- segment drawn as several boxes of scores has several rules, and joining
  -- them would count its customers once per rule.
  INSERT INTO c360.segment_summary
  SELECT s.segment, s.tier, (SELECT min(r.priority) FROM c360.segment_rules r WHERE r.segment = s.segment),
         s.customers, s.revenue,
         round(s.revenue / nullif(sum(s.revenue) OVER (), 0), 6),
         round(s.revenue / s.orders, 4)
  FROM pg_temp.c360_refresh_segments s;
  DROP TABLE pg_temp.c360_refresh_segments;

  -- Share of revenue from the top p % of customers by spend (the top
  -- ceil(p % of customers)), and the Gini coefficient of customer spend
  -- (0 = everyone spends the same, 1 = one customer spends everything).
  -- One sort, by spend alone: customers with equal spend swap ranks among
  -- themselves, which changes no sum below, so no tie-breaker is needed;
  -- the ascending rank is n + 1 - the descending one.
  INSERT INTO c360.revenue_concentration
  -- The top ranks are computed once, not per row (numeric arithmetic).
  WITH totals AS (SELECT count(*) AS n, sum(revenue) AS total,
                         ceil(count(*) * 0.01)::bigint AS top1, ceil(count(*) * 0.05)::bigint AS top5,
                         ceil(count(*) * 0.10)::bigint AS top10, ceil(count(*) * 0.20)::bigint AS top20
                  FROM pg_temp.c360_refresh_purchases),
  ranked AS (
    SELECT p.revenue, p.rank_desc, t.n + 1 - p.rank_desc AS rank_asc, t.*
    FROM (SELECT revenue, row_number() OVER (ORDER BY revenue DESC) AS rank_desc
          FROM pg_temp.c360_refresh_purchases) p
    CROSS JOIN totals t)
  SELECT max(n),
         round(sum(revenue) FILTER (WHERE rank_desc <= top1) / nullif(max(total), 0), 6),
         round(sum(revenue) FILTER (WHERE rank_desc <= top5) / nullif(max(total), 0), 6),
         round(sum(revenue) FILTER (WHERE rank_desc <= top10) / nullif(max(total), 0), 6),
         round(sum(revenue) FILTER (WHERE rank_desc <= top20) / nullif(max(total), 0), 6),
         round(2 * sum(rank_asc * revenue) / nullif(max(n) * max(total), 0) - (max(n) + 1)::numeric / nullif(max(n), 0), 6)
  FROM ranked;

  -- Short findings, one row each (README: "KPIs and BI" documents them).
  INSERT INTO c360.insights
  WITH
  -- top_customers_share: revenue share of the top 20 % of customers by spend.
  top_customers_share AS (
    SELECT 'top_customers_share'::text AS insight,
           format('Top 20%% of customers contribute %s%% of revenue', round(top_20pct_share * 100, 1)) AS headline,
           round(top_20pct_share * 100, 1) AS figure, 'percent'::text AS unit
    FROM c360.revenue_concentration WHERE customers > 0),
  -- repeat_rate_trend: share of customers with 2+ orders, counting orders up
  -- to the end of the latest quarter with sales, against the quarter before.
  -- A customer had 2+ orders before a date when the second one was before it.
  -- The latest sale is kpi_summary's, written above; both rates in one scan.
  quarters AS (SELECT date_trunc('quarter', last_order_date::timestamp)::date AS q FROM c360.kpi_summary),
  repeat_rates AS (
    SELECT count(*) FILTER (WHERE p.second_day < (q.q + interval '3 months')::date)::numeric
             / nullif(count(*) FILTER (WHERE p.first_day < (q.q + interval '3 months')::date), 0) AS cur,
           count(*) FILTER (WHERE p.second_day < q.q)::numeric / nullif(count(*) FILTER (WHERE p.first_day < q.q), 0) AS prev
    FROM quarters q, pg_temp.c360_refresh_purchases p),
  repeat_rate_trend AS (
    SELECT 'repeat_rate_trend', format('Repeat rate %s%%, %s on the previous quarter',
             round(cur * 100, 1),
             CASE sign(round((cur - prev) * 100, 1))
               WHEN 1 THEN format('up %s points', round((cur - prev) * 100, 1))
               WHEN -1 THEN format('down %s points', round((prev - cur) * 100, 1))
               ELSE 'unchanged' END),
           round(cur * 100, 1), 'percent'
    FROM repeat_rates
    WHERE cur IS NOT NULL AND prev IS NOT NULL),
  -- fastest_growing_country: among countries with at least 1 % of all
  -- revenue, the largest revenue growth of the latest quarter over the one
  -- before (no row when none grew).
  fastest_growing_country AS (
    SELECT 'fastest_growing_country', format('%s is the fastest-growing country: revenue %s%% on the previous quarter',
             q.country, to_char(round((q.cur / q.prev - 1) * 100, 1), 'FMSG999990.0')),
           round((q.cur / q.prev - 1) * 100, 1), 'percent'
    FROM (SELECT country, revenue, revenue_last_quarter AS cur, revenue_prev_quarter AS prev FROM pg_temp.c360_kpi_countries) q
    WHERE q.prev > 0 AND q.cur > q.prev AND q.revenue >= 0.01 * (SELECT sum(revenue) FROM pg_temp.c360_kpi_countries)
    ORDER BY q.cur / q.prev DESC, q.country LIMIT 1),
  -- revenue_at_risk: the segment of tier At Risk or Churn Risk whose
  -- customers have spent the most.
  revenue_at_risk AS (
    SELECT 'revenue_at_risk', format('%s holds the most revenue at risk: %s from %s customers',
             segment, to_char(revenue, 'FM999,999,999,990.00'), customers),
           revenue, 'currency'
    FROM c360.segment_summary WHERE tier IN ('At Risk', 'Churn Risk')
    ORDER BY revenue DESC, segment LIMIT 1)
  SELECT insight, headline, figure, unit
  FROM (SELECT * FROM top_customers_share
        UNION ALL SELECT * FROM repeat_rate_trend
        UNION ALL SELECT * FROM fastest_growing_country
        UNION ALL SELECT * FROM revenue_at_risk) findings;

  -- rows written: the seven tables' together
  SELECT (SELECT count(*) FROM c360.kpi_summary) + (SELECT count(*) FROM c360.kpi_monthly)
         + (SELECT count(*) FROM c360.revenue_by_country) + (SELECT count(*) FROM c360.cohort_retention)
         + (SELECT count(*) FROM c360.segment_summary) + (SELECT count(*) FROM c360.revenue_concentration)
         + (SELECT count(*) FROM c360.insights) INTO written;
  DROP TABLE pg_temp.c360_kpi_months, pg_temp.c360_kpi_activity, pg_temp.c360_kpi_countries;
  RETURN written;
END
$$;

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

COMMENT ON TABLE c360.kpi_summary IS 'derived by c360.refresh_c360(): one row, the headline KPIs over sale orders before the refresh''s as_of';
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

COMMENT ON TABLE c360.kpi_monthly IS 'derived by c360.refresh_c360(): one row per calendar month with sales before as_of';
COMMENT ON COLUMN c360.kpi_monthly.month IS 'first day of the month';
COMMENT ON COLUMN c360.kpi_monthly.revenue IS 'sale revenue in the month';
COMMENT ON COLUMN c360.kpi_monthly.orders IS 'sale orders in the month';
COMMENT ON COLUMN c360.kpi_monthly.active_customers IS 'customers who ordered in the month';
COMMENT ON COLUMN c360.kpi_monthly.new_customers IS 'active customers whose first order was in the month';
COMMENT ON COLUMN c360.kpi_monthly.returning_customers IS 'active customers who first ordered in an earlier month';
COMMENT ON COLUMN c360.kpi_monthly.aov IS 'average order value in the month';

COMMENT ON TABLE c360.revenue_by_country IS 'derived by c360.refresh_c360(): sale revenue, orders and customers per customer country';
COMMENT ON COLUMN c360.revenue_by_country.country IS 'customer country (Unknown when missing)';
COMMENT ON COLUMN c360.revenue_by_country.revenue IS 'sale revenue';
COMMENT ON COLUMN c360.revenue_by_country.orders IS 'sale orders';
COMMENT ON COLUMN c360.revenue_by_country.customers IS 'customers with a sale';
COMMENT ON COLUMN c360.revenue_by_country.revenue_share IS 'share of all revenue (0.10 = 10 %)';

COMMENT ON TABLE c360.cohort_retention IS 'derived by c360.refresh_c360(): monthly cohorts (month of first order) and the share active in each later month, up to the latest month of data';
COMMENT ON COLUMN c360.cohort_retention.cohort_month IS 'first day of the month of the customers'' first order';
COMMENT ON COLUMN c360.cohort_retention.months_since_first IS 'months since the cohort month (0 = the cohort month)';
COMMENT ON COLUMN c360.cohort_retention.cohort_size IS 'customers in the cohort';
COMMENT ON COLUMN c360.cohort_retention.active_customers IS 'cohort customers who ordered in that month';
COMMENT ON COLUMN c360.cohort_retention.retention_rate IS 'active_customers / cohort_size';

COMMENT ON TABLE c360.segment_summary IS 'derived by c360.refresh_c360(): customers and revenue per RFM segment';
COMMENT ON COLUMN c360.segment_summary.segment IS 'RFM segment';
COMMENT ON COLUMN c360.segment_summary.tier IS 'tier of the segment';
COMMENT ON COLUMN c360.segment_summary.sort_order IS 'priority of the segment in c360.segment_rules: sort legends by it';
COMMENT ON COLUMN c360.segment_summary.customers IS 'customers in the segment';
COMMENT ON COLUMN c360.segment_summary.revenue IS 'their sale revenue';
COMMENT ON COLUMN c360.segment_summary.revenue_share IS 'share of all scored customers'' revenue';
COMMENT ON COLUMN c360.segment_summary.aov IS 'their average order value';

COMMENT ON TABLE c360.revenue_concentration IS 'derived by c360.refresh_c360(): how concentrated revenue is, share from the top 1/5/10/20 % of customers by spend and the Gini coefficient';
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
COMMENT ON FUNCTION c360._refresh_kpis(date) IS 'internal refresh step: rebuilds the KPI tables (kpi_summary, kpi_monthly, revenue_by_country, cohort_retention, segment_summary, revenue_concentration, insights)';
COMMENT ON VIEW c360.refresh_status IS 'one row: when data was last loaded and refreshed, for a report''s "data as of" card';
COMMENT ON COLUMN c360.refresh_status.last_refreshed_utc IS 'when the last successful refresh committed (UTC)';
COMMENT ON COLUMN c360.refresh_status.as_of IS 'as_of date of that refresh';
COMMENT ON COLUMN c360.refresh_status.last_loaded_utc IS 'when the last load was ingested (UTC)';
COMMENT ON FUNCTION c360.bi_relations() IS 'the views and tables a BI reader needs (what grant_reader grants)';
COMMENT ON FUNCTION c360.grant_reader(name) IS 'grants a role read access to the BI views and tables only (USAGE on c360, SELECT on c360.bi_relations()); idempotent; returns what it granted';
COMMENT ON TABLE c360.insights IS 'plain-language findings computed from the data (top customers'' share, repeat-rate trend, fastest-growing country, revenue at risk); derived by c360.refresh_c360(); each is a CTE of the same name in c360._refresh_kpis';
COMMENT ON COLUMN c360.insights.insight IS 'stable key: top_customers_share, repeat_rate_trend, fastest_growing_country, revenue_at_risk';
COMMENT ON COLUMN c360.insights.headline IS 'the finding as one sentence';
COMMENT ON COLUMN c360.insights.figure IS 'its main figure';
COMMENT ON COLUMN c360.insights.unit IS 'unit of the figure: percent or currency';
