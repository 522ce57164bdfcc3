-- KPI views on a shop small enough to check by hand. Four customers, seven
-- sale orders of one line each, and one cancelled order:
--   A (Malaysia):  2024-01-05 100, 2024-02-10 50, 2024-04-01 30
--   B (Malaysia):  2024-01-20 200            (and a cancelled order 2024-02-01)
--   C (Singapore): 2024-02-03 80, 2024-03-15 20
--   D (Singapore): 2024-03-01 400
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET TimeZone = 'UTC';
INSERT INTO c360.customers (customer_id, country, load_id)
VALUES ('A', 'Malaysia', 0), ('B', 'Malaysia', 0), ('C', 'Singapore', 0), ('D', 'Singapore', 0);
INSERT INTO c360.products (product_id, load_id) VALUES ('P', 0);
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT id, cust, status, d, d + time '12:00', 0 FROM (VALUES
  ('A1', 'A', 'completed', date '2024-01-05'), ('A2', 'A', 'completed', '2024-02-10'), ('A3', 'A', 'completed', '2024-04-01'),
  ('B1', 'B', 'completed', '2024-01-20'), ('BX', 'B', 'cancelled', '2024-02-01'),
  ('C1', 'C', 'completed', '2024-02-03'), ('C2', 'C', 'completed', '2024-03-15'),
  ('D1', 'D', 'completed', '2024-03-01')) v(id, cust, status, d);
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT id || ':1', id, 'P', 1, price, 0 FROM (VALUES
  ('A1', 100), ('A2', 50), ('A3', 30), ('B1', 200), ('BX', 999), ('C1', 80), ('C2', 20), ('D1', 400)) v(id, price);
SELECT step, rows FROM c360.refresh_c360();

-- 880 revenue in 7 orders from 4 customers; A and C came back: repeat rate 1/2.
SELECT * FROM c360.kpi_summary;
-- January: A and B are new. February: C new, A returning. March: D new, C returning. April: A.
SELECT * FROM c360.kpi_monthly ORDER BY month;
SELECT * FROM c360.revenue_by_country ORDER BY country;
-- January's cohort {A, B}: A is back in months 1 and 3; a complete matrix,
-- with zeros, up to the latest month of data (April).
SELECT * FROM c360.cohort_retention ORDER BY cohort_month, months_since_first;
-- Top 1 customer of 4 (ceil of 20 %) is D: 400 / 880. Gini of (100, 180, 200, 400).
SELECT * FROM c360.revenue_concentration;
SELECT segment, tier, customers, revenue, revenue_share, aov FROM c360.segment_summary ORDER BY sort_order;
SELECT insight, headline, figure, unit FROM c360.insights ORDER BY insight;

-- dim_date covers whole years of orders, one row a day, no gaps.
SELECT count(*) AS days, min(date_key), max(date_key), count(*) = max(date_key) - min(date_key) + 1 AS contiguous FROM c360.dim_date;
SELECT * FROM c360.dim_date WHERE date_key IN ('2024-01-01', '2024-02-29', '2024-12-29');
-- Star schema: every fact row finds its dimension rows.
SELECT count(*) AS fact_rows,
       count(c.customer_id) AS with_customer, count(p.product_id) AS with_product, count(d.date_key) AS with_date
FROM c360.fact_sales f
LEFT JOIN c360.dim_customer c USING (customer_id)
LEFT JOIN c360.dim_product p USING (product_id)
LEFT JOIN c360.dim_date d ON d.date_key = f.order_date;

-- BI-facing views use plain scalar types only (no arrays, json, enums,
-- composites; numeric with a fixed scale). Known exception, listed here so it
-- stays visible: the line-grain table fact_sales keeps exact unconstrained
-- numeric money and a timestamptz (see README, Power BI: open work).
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM c360.bi_relations() r JOIN pg_class c ON c.oid = r
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE format_type(a.atttypid, a.atttypmod) NOT IN ('text', 'integer', 'bigint', 'date', 'boolean', 'timestamp without time zone')
  AND format_type(a.atttypid, a.atttypmod) !~ '^numeric\(\d+,\d+\)$'
ORDER BY 1, 2;

-- A read-only role for Power BI: it reads the BI views and nothing else.
DROP ROLE IF EXISTS c360_regress_reader;
CREATE ROLE c360_regress_reader;
SELECT c360.grant_reader('c360_regress_reader') ORDER BY 1;
SELECT count(*) AS granted_again FROM c360.grant_reader('c360_regress_reader');
SET ROLE c360_regress_reader;
SELECT total_revenue, orders, customers FROM c360.kpi_summary;
SELECT count(*) AS customers FROM c360.customer_360;
SELECT count(*) FROM c360.stage_online_retail;
SELECT count(*) FROM c360.rejects;
SELECT count(*) FROM c360.settings;
SELECT count(*) FROM c360.orders;
DELETE FROM c360.fact_orders;
SELECT * FROM c360.refresh_c360();
SELECT * FROM c360.ingest();
SELECT * FROM c360.import_csv('online_retail', '/etc/passwd');
SELECT * FROM c360.generate_sample(10);
INSERT INTO c360.customers_csv VALUES ('X1', NULL, NULL, NULL, NULL);
UPDATE c360.settings SET value = '2011-12-10' WHERE name = 'as_of';
RESET ROLE;
SELECT c360.grant_reader('no_such_role');
DROP OWNED BY c360_regress_reader;
DROP ROLE c360_regress_reader;
