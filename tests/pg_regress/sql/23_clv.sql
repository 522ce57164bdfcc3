-- Customer lifetime value: the BG/NBD and Gamma-Gamma building blocks on
-- any summary table, and the refresh's predictions in customer_360.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET TimeZone = 'UTC';
SET extra_float_digits = 0;

-- A model's text form is JSON; here the paper's CDNOW estimates (Fader,
-- Hardie & Lee 2005), in weeks.
CREATE TEMP TABLE paper AS
SELECT '{"r":0.243,"alpha":4.414,"a":0.793,"b":2.426,"log_likelihood":-9582.4,"customers":2357,"repeat_customers":1411,"converged":true,"iterations":0}'::c360.bgnbd_model AS bg,
       '{"p":6.25,"q":3.74,"v":15.44,"log_likelihood":0,"customers":946,"converged":true,"iterations":0}'::c360.gamma_gamma_model AS gg;
-- The paper's worked example: x = 2, t_x = 30.43, T = 38.86 → 1.226
-- purchases expected in the next 39 weeks.
SELECT round(c360.bgnbd_expected_purchases(bg, 39, 2, 30.43, 38.86)::numeric, 3) AS expected_39w FROM paper;
-- P(alive): 1 without repeat purchases; falls as the last purchase recedes.
SELECT round(c360.bgnbd_p_alive(bg, 0, 0, 38)::numeric, 4) AS no_repeat,
       round(c360.bgnbd_p_alive(bg, 3, 37, 38)::numeric, 4) AS bought_lately,
       round(c360.bgnbd_p_alive(bg, 3, 5, 38)::numeric, 4) AS long_ago
FROM paper;
-- Expected order value shrinks towards the population mean p·v/(q − 1) =
-- 35.22; exact numeric with 4 decimals.
SELECT c360.gamma_gamma_expected_value(gg, 0, 0) AS new_customer,
       c360.gamma_gamma_expected_value(gg, 1, 100) AS one_repeat_at_100,
       c360.gamma_gamma_expected_value(gg, 20, 100) AS twenty_repeats_at_100
FROM paper;
-- CLV over 12 months at 1% a month (4.348 weeks a month); more discount,
-- less value; no time, no value.
SELECT c360.clv(bg, gg, 2, 30.43, 38.86, 50) AS clv_12m,
       c360.clv(bg, gg, 2, 30.43, 38.86, 50, 12, 0.05) < c360.clv(bg, gg, 2, 30.43, 38.86, 50) AS discount_lowers,
       c360.clv(bg, gg, 2, 30.43, 38.86, 50, 0) AS zero_months
FROM paper;
-- It equals expected orders × expected value when nothing is discounted.
SELECT abs(c360.clv(bg, gg, 2, 30.43, 38.86, 50, 12, 0)
           - (c360.bgnbd_expected_purchases(bg, 12 * 4.348125, 2, 30.43, 38.86) * c360.gamma_gamma_expected_value(gg, 2, 50)::float8)::numeric) < 0.001 AS undiscounted_is_product
FROM paper;

-- Impossible inputs are errors that say why; NULL in, NULL out.
SELECT c360.bgnbd_p_alive(bg, 2, 40, 38) FROM paper;
SELECT c360.bgnbd_p_alive(bg, 0, 3, 38) FROM paper;
SELECT c360.bgnbd_expected_purchases(bg, -1, 2, 3, 38) FROM paper;
SELECT c360.bgnbd_p_alive(bg, NULL, 3, 38) IS NULL AS strict FROM paper;
SELECT '{"r":-1,"alpha":4.414,"a":0.793,"b":2.426,"log_likelihood":0,"customers":1,"repeat_customers":1,"converged":true,"iterations":0}'::c360.bgnbd_model;

-- Fitting: a synthetic summary of 400 customers with varied behaviour
-- (deterministic pseudo-random numbers from hashes).
CREATE TABLE summary AS
WITH u AS (SELECT i, (abs(hashint4(i)) % 10000) / 10000.0 AS u1, (abs(hashint4(i + 100000)) % 10000) / 10000.0 AS u2,
                  (abs(hashint4(i + 200000)) % 10000) / 10000.0 AS u3 FROM generate_series(1, 400) i)
SELECT i AS customer_id,
       floor(-ln(1 - u1) * 2)::float8 AS frequency,
       CASE WHEN floor(-ln(1 - u1) * 2) = 0 THEN 0 ELSE round((20 + 20 * u3) * u2, 2)::float8 END AS recency,
       round(20 + 20 * u3, 2)::float8 AS t,
       round((20 + 60 * u2 * u3)::numeric, 2) AS monetary
FROM u;
ANALYZE summary;
CREATE TEMP TABLE fitted AS
SELECT (SELECT c360.bgnbd_fit(frequency, recency, t) FROM summary) AS bg,
       (SELECT c360.gamma_gamma_fit(frequency, monetary) FROM summary WHERE frequency > 0) AS gg;
SELECT (bg::text::jsonb) ->> 'customers' AS customers, (bg::text::jsonb) ->> 'repeat_customers' AS repeat_customers,
       (gg::text::jsonb) ->> 'customers' AS gg_customers
FROM fitted;
-- Every prediction of the fitted models is in range. (That the fits find
-- the published maximum is checked on CDNOW: tests/integration/cdnow_clv.sh.)
SELECT count(*) AS customers,
       bool_and(c360.bgnbd_p_alive(bg, frequency, recency, t) BETWEEN 0 AND 1) AS p_alive_in_range,
       bool_and(c360.bgnbd_expected_purchases(bg, 52, frequency, recency, t) >= 0) AS expected_non_negative,
       bool_and(c360.clv(bg, gg, frequency, recency, t, monetary) >= 0) AS clv_non_negative
FROM summary, fitted;
-- Parallel safe: a parallel plan fits exactly the same model (rows are
-- sorted before fitting).
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT c360.bgnbd_fit(frequency, recency, t) FROM summary;
SELECT (SELECT c360.bgnbd_fit(frequency, recency, t) FROM summary)::text = bg::text AS same_bgnbd,
       (SELECT c360.gamma_gamma_fit(frequency, monetary) FROM summary WHERE frequency > 0)::text = gg::text AS same_gamma_gamma
FROM fitted;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- Rows with a NULL are skipped; no rows, NULL; bad rows are errors.
SELECT c360.bgnbd_fit(frequency, recency, t) IS NULL AS no_rows FROM summary WHERE false;
SELECT (c360.bgnbd_fit(frequency, recency, t)::text::jsonb ->> 'customers') AS used
FROM (SELECT frequency, recency, t FROM summary UNION ALL SELECT NULL, 1, 2) s;
SELECT c360.bgnbd_fit(frequency, recency, t) FROM (VALUES (1.0, 5.0, 3.0), (0, 0, 4)) v(frequency, recency, t);
SELECT c360.bgnbd_fit(frequency, recency, t) FROM (VALUES (0.0, 0.0, 3.0), (0, 0, 4)) v(frequency, recency, t);
SELECT c360.gamma_gamma_fit(frequency, monetary) FROM summary;
DROP TABLE summary;

-- The refresh: BTYD summary from the orders (purchases merged per day,
-- weeks), models stored per as_of, predictions in customer_360. A shop of
-- 300 customers buying at their own pace, some stopping.
INSERT INTO c360.customers (customer_id, country, load_id)
SELECT 'C' || i, 'Singapore', 0 FROM generate_series(1, 300) i;
INSERT INTO c360.products (product_id, category, load_id) VALUES ('P1', 'Toys', 0);
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT format('O%s-%s', i, n), 'C' || i, 'completed', d, d + time '10:00', 0
FROM generate_series(1, 300) i,
     LATERAL (SELECT 1 + abs(hashint4(i)) % 8 AS orders, abs(hashint4(i + 7)) % 300 AS start, 5 + abs(hashint4(i + 13)) % 60 AS gap) c,
     generate_series(1, c.orders) n,
     LATERAL (SELECT date '2024-01-01' + c.start + c.gap * (n - 1) + abs(hashint4(i * 31 + n)) % 9 AS d) x
WHERE x.d < date '2024-12-31';
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT order_id || ':1', order_id, 'P1', 1, 10 + abs(hashint4(length(order_id) + ascii(right(order_id, 1)) * 7 + ascii(substr(order_id, 2, 1)))) % 90, 0
FROM c360.orders;
SELECT step, rows FROM c360.refresh_c360() WHERE step IN ('customer_metrics', 'clv');
SELECT as_of, time_unit, customers, repeat_customers, r > 0 AND alpha > 0 AND a > 0 AND b > 0 AS bgnbd_fitted,
       p > 0 AND q > 1 AND v > 0 AS gamma_gamma_fitted
FROM c360.clv_models;
-- The summary agrees with the orders: frequency = purchase days − 1.
SELECT count(*) AS customers_checked FROM c360.customer_clv v
JOIN (SELECT customer_id, count(DISTINCT order_date) - 1 AS repeat_days FROM c360.fact_orders WHERE is_sale GROUP BY 1) o USING (customer_id)
WHERE v.frequency = o.repeat_days;
-- customer_360's predictions are what the stored models give.
SELECT count(*) FILTER (WHERE c.predicted_clv_12m = c360.clv(m.bgnbd, m.gamma_gamma, s.frequency, s.recency, s.t, s.monetary, 12, 0.01, 365.25 / 12 / 7)
                          AND c.p_alive = round(c360.bgnbd_p_alive(m.bgnbd, s.frequency, s.recency, s.t)::numeric, 6)) AS consistent,
       count(*) AS customers,
       bool_and(c.expected_orders_90d BETWEEN 0 AND 100 AND c.expected_aov BETWEEN 10 AND 100) AS sane
FROM c360.customer_360 c JOIN c360.btyd_summary(c360.as_of_date(), 'week') s USING (customer_id), c360.clv_models m;
-- Settings: horizon and discount rate.
INSERT INTO c360.settings (name, value) VALUES ('clv_horizon_days', '0');
INSERT INTO c360.settings (name, value) VALUES ('clv_monthly_discount_rate', '5%');
INSERT INTO c360.settings (name, value) VALUES ('clv_horizon_days', '180');
CREATE TEMP TABLE before AS SELECT customer_id, expected_orders_90d FROM c360.customer_360;
SELECT step, rows FROM c360.refresh_c360() WHERE step = 'clv';
SELECT bool_and(c.expected_orders_90d >= b.expected_orders_90d) AND bool_or(c.expected_orders_90d > b.expected_orders_90d) AS longer_horizon_more_orders
FROM c360.customer_360 c JOIN before b USING (customer_id);
-- The BTYD summary equals its definition written plainly: purchases merged
-- per day, frequency = days - 1, monetary = mean revenue of the days after
-- the first. Some customers get a second order on their first day and one a
-- later order on an earlier day, so the first day's revenue is a sum and the
-- first day changes along the way.
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT 'X' || customer_id, customer_id, 'completed', min(order_date), min(order_date) + time '18:00', 0
FROM c360.orders WHERE customer_id IN ('C2', 'C3', 'C5', 'C8', 'C13') GROUP BY customer_id
UNION ALL SELECT 'Y21', 'C21', 'completed', date '2023-12-01', date '2023-12-01' + time '09:00', 0;
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT order_id || ':1', order_id, 'P1', 3, 12.345, 0 FROM c360.orders WHERE order_id ~ '^[XY]';
SELECT count(*) FROM c360.refresh_c360(rebuild_facts => true) WHERE step = 'facts';
WITH days AS (
  SELECT customer_id, order_date AS day, sum(revenue) AS revenue FROM c360.fact_orders
  WHERE is_sale AND order_date < date '2025-01-01' GROUP BY 1, 2),
reference AS (
  SELECT d.customer_id, (count(*) - 1)::integer AS frequency, (max(d.day) - f.first_day) / 7.0 AS recency,
         (date '2025-01-01' - f.first_day) / 7.0 AS t, coalesce(avg(d.revenue) FILTER (WHERE d.day > f.first_day), 0) AS monetary
  FROM days d JOIN (SELECT customer_id, min(day) AS first_day FROM days GROUP BY 1) f USING (customer_id)
  GROUP BY d.customer_id, f.first_day)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (r.frequency, r.recency, r.t, r.monetary) IS DISTINCT FROM (s.frequency, s.recency, s.t, s.monetary)) AS differences
FROM reference r FULL JOIN c360.btyd_summary('2025-01-01', 'week') s USING (customer_id);
-- Its per-customer aggregates on their own: rows in any order, NULL revenue
-- ignored (NULL when the first day has none), NULL days skipped, no rows.
SELECT c360._purchase_days(d, r) AS days, c360._first_day_revenue(d, r) AS first_day_revenue
FROM (VALUES (date '2024-03-05', 5.5), ('2024-03-01', NULL), ('2024-03-05', 1), ('2024-03-01', 2.25),
             ('2024-03-01', 0.005), (NULL, 100), ('2024-03-09', 7)) v(d, r);
SELECT c360._purchase_days(d, r) AS days, c360._first_day_revenue(d, r) IS NULL AS no_first_day_revenue
FROM (VALUES (date '2024-03-05', 5.5), ('2024-03-01', NULL)) v(d, r);
SELECT c360._purchase_days(d, r) AS days, c360._first_day_revenue(d, r) IS NULL AS no_revenue
FROM (VALUES (date '2024-03-05', 5.5)) v(d, r) WHERE false;
-- The other purchase aggregates (one shared state with the two above) give
-- exactly what min, max, count(*) and sum(numeric) give, display scale
-- included: random values of many scales, NULLs, a sum past 38 digits
-- (PostgreSQL's numeric arithmetic takes over), NaN.
CREATE TEMP TABLE purchase_rows AS
SELECT g % 50 AS k, date '2024-01-01' + (g * 37) % 400 AS d,
       CASE WHEN g % 97 = 0 THEN NULL ELSE round(((random() * 2 - 1) * 10 ^ (g % 12))::numeric, g % 6) END AS r
FROM generate_series(1, 20000) g
UNION ALL VALUES (51, date '2024-01-01', 1.25), (51, '2024-02-01', 10::numeric ^ 40 + 0.5), (51, '2024-03-01', -3),
                 (52, '2024-01-02', 1), (52, '2024-01-01', 'NaN'), (53, NULL, 2.5), (54, '2024-01-05', NULL);
SELECT count(*) AS groups,
       count(*) FILTER (WHERE (a.first_day, a.last_day, a.orders, a.revenue::text)
                              IS DISTINCT FROM (b.first_day, b.last_day, b.orders, b.revenue::text)) AS differences
FROM (SELECT k, c360._first_purchase_day(d, r) AS first_day, c360._last_purchase_day(d, r) AS last_day,
             c360._purchase_count(d, r) AS orders, c360._purchase_revenue(d, r) AS revenue
      FROM purchase_rows GROUP BY k) a
JOIN (SELECT k, min(d), max(d), count(*)::integer, sum(r) FROM purchase_rows GROUP BY k) b(k, first_day, last_day, orders, revenue) USING (k);
SELECT k, c360._first_purchase_day(d, r) AS first_day, c360._last_purchase_day(d, r) AS last_day,
       c360._purchase_count(d, r) AS orders, c360._purchase_revenue(d, r) AS revenue,
       c360._purchase_days(d, r) AS days, c360._first_day_revenue(d, r) AS first_day_revenue
FROM purchase_rows WHERE k > 50 GROUP BY k ORDER BY k;
-- The BTYD summary helper, in days.
SELECT customer_id, frequency, recency, t, monetary FROM c360.btyd_summary('2025-01-01', 'day') ORDER BY customer_id LIMIT 3;
SELECT * FROM c360.btyd_summary('2025-01-01', 'month');
