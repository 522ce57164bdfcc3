-- Built-in sample data: c360.generate_sample() fills empty typed tables
-- with a synthetic Malaysian and Singaporean shop, deterministically.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET TimeZone = 'UTC';

SELECT table_name, rows FROM c360.generate_sample(customers => 400, seed => 7);
-- Logged as a load that reconciles, and the facts are current.
SELECT source, file_name, status, rows_read = rows_accepted AS reconciles FROM c360.load_log;
SELECT facts_stale FROM c360.refresh_state;
SELECT (SELECT count(*) FROM c360.fact_sales) = (SELECT count(*) FROM c360.order_items) AS every_line_in_facts;

-- Deterministic: the same seed gives the same rows, another seed others.
SELECT count(*) AS lines_differing_from_the_generator
FROM c360._sample_order_items(400, 7) t FULL JOIN c360.order_items i USING (order_item_id)
WHERE (t.order_id, t.product_id, t.quantity, t.unit_price_cents * 0.01) IS DISTINCT FROM (i.order_id, i.product_id, i.quantity, i.unit_price);
SELECT (SELECT md5(string_agg(t::text, ',')) FROM c360._sample_orders(400, 7) t)
     = (SELECT md5(string_agg(t::text, ',')) FROM c360._sample_orders(400, 7) t) AS same_seed_same_orders,
       (SELECT md5(string_agg(t::text, ',')) FROM c360._sample_orders(400, 7) t)
     <> (SELECT md5(string_agg(t::text, ',')) FROM c360._sample_orders(400, 8) t) AS other_seed_other_orders;

-- Both countries, their cities and states.
SELECT country, count(*) > 0 AS has_customers, count(DISTINCT state) > 1 AS several_states
FROM c360.customers GROUP BY country ORDER BY country;
-- Statuses include cancellations and returns, which are not revenue.
SELECT o.order_status, r.is_revenue, count(*) > 0 AS present
FROM c360.orders o JOIN c360.order_status_rules r USING (order_status)
GROUP BY o.order_status, r.is_revenue ORDER BY o.order_status;
-- Payments match order totals exactly; cancelled orders are not paid.
SELECT count(*) AS orders_paid_wrongly FROM (
  SELECT o.order_id, o.order_status, coalesce(p.paid, 0) AS paid, t.total
  FROM c360.orders o
  JOIN (SELECT order_id, sum(quantity * unit_price) AS total FROM c360.order_items GROUP BY 1) t USING (order_id)
  LEFT JOIN (SELECT order_id, sum(payment_amount) AS paid FROM c360.payments GROUP BY 1) p USING (order_id)) x
WHERE (order_status = 'cancelled' AND paid <> 0) OR (order_status <> 'cancelled' AND paid <> total);
-- A mix of one-time and repeat buyers; festive peaks (11.11 busier than
-- the average November day); categories and brands.
SELECT count(*) FILTER (WHERE n = 1) > 0 AS one_time_buyers, count(*) FILTER (WHERE n >= 5) > 0 AS loyal_buyers
FROM (SELECT customer_id, count(*) AS n FROM c360.orders GROUP BY 1) c;
SELECT count(*) FILTER (WHERE extract(day FROM order_date) = 11) > count(*) / 30.0 AS eleven_eleven_peak
FROM c360.orders WHERE extract(month FROM order_date) = 11;
SELECT count(DISTINCT category) AS categories, count(DISTINCT brand) AS brands, count(*) AS products FROM c360.products;

-- Never mixes with existing data.
SELECT * FROM c360.generate_sample(10);
SELECT * FROM c360.generate_sample(0);

-- The whole pipeline runs on it.
SELECT step, rows > 0 AS has_rows FROM c360.refresh_c360() WHERE step <> 'total';
