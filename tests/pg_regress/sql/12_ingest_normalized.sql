-- The normalized five-file shape: customers, products, orders, order_items,
-- payments. ingest() promotes parents before children and rejects orphans.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
\getenv fixtures C360_FIXTURES
-- Timestamps without an offset were written in Malaysia/Singapore time.
INSERT INTO c360.settings (name, value) VALUES ('source_timezone', 'Asia/Kuala_Lumpur');
SET TimeZone = 'UTC';

-- Imported children first on purpose: ingest() orders the loads itself.
\set f :fixtures '/payments.csv'
SELECT i.rows_read, i.rows_rejected FROM c360.import_csv('payments', :'f') AS i;
\set f :fixtures '/order_items.csv'
SELECT i.rows_read, i.rows_rejected FROM c360.import_csv('order_items', :'f') AS i;
\set f :fixtures '/orders.csv'
SELECT i.rows_read, i.rows_rejected FROM c360.import_csv('orders', :'f') AS i;
\set f :fixtures '/products.csv'
SELECT i.rows_read, i.rows_rejected FROM c360.import_csv('products', :'f') AS i;
\set f :fixtures '/customers.csv'
SELECT i.rows_read, i.rows_rejected FROM c360.import_csv('customers', :'f') AS i;

SELECT source, rows_read, rows_accepted, rows_rejected, rows_duplicate FROM c360.ingest();
SELECT source, line_no, reason, message FROM c360.rejects ORDER BY source, line_no;

SELECT * FROM c360.customers ORDER BY customer_id;
-- O-2 carried its own +08:00 offset; O-1 was read in source_timezone.
SELECT order_id, customer_id, order_status, order_date, order_timestamp FROM c360.orders ORDER BY order_id;
SELECT order_item_id, order_id, product_id, quantity, unit_price FROM c360.order_items ORDER BY order_item_id;
SELECT payment_id, order_id, payment_type, payment_amount, payment_date FROM c360.payments ORDER BY payment_id;
SELECT order_id, is_sale, revenue, lines, units FROM c360.fact_orders ORDER BY order_id;
SELECT order_item_id, revenue, is_sale, is_return FROM c360.fact_sales ORDER BY order_item_id;

-- fact_orders is fact_sales summed per order (every order, with lines or not).
\set checks :fixtures '/fact_orders_checks.sql'
\i :checks
SELECT * FROM fact_orders_differences;

-- An unknown status becomes known once the user adds it; re-staging the
-- file then accepts the order and counts the others as duplicates.
INSERT INTO c360.order_statuses VALUES ('teleported', true);
\set f :fixtures '/orders.csv'
SELECT rows_read FROM c360.import_csv('orders', :'f');
SELECT source, rows_read, rows_accepted, rows_rejected, rows_duplicate FROM c360.ingest();
SELECT order_id, order_status FROM c360.orders WHERE order_id = 'O-5';
SELECT * FROM fact_orders_differences;

-- Settings are validated.
INSERT INTO c360.settings (name, value) VALUES ('no_such_setting', 'x');
UPDATE c360.settings SET value = 'Mars/Olympus_Mons' WHERE name = 'source_timezone';
SELECT name, value, default_value, changed FROM c360.settings_overview ORDER BY name;
