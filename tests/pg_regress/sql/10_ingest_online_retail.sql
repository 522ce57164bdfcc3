-- Loading an Online Retail file server-side: every line lands as a sale, a
-- return or a reject with its reason; loading it again changes nothing.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
\getenv fixtures C360_FIXTURES
\set file :fixtures '/online_retail_edge_cases.csv'

-- 17 records on the 18 lines after the header (one description spans two).
-- The unterminated quote on line 18 is rejected at import; reading resumes
-- on line 19.
SELECT * FROM c360.import_csv('online_retail', :'file');
SELECT * FROM c360.ingest();

-- Each rejected line, with the reason and a message naming column and value.
SELECT line_no, reason, message FROM c360.rejects ORDER BY line_no;

-- Raw values are kept in full, by column name (or as the raw line).
SELECT line_no, raw_values->>'quantity' AS quantity, raw_values->>'unitprice' AS unit_price, raw_text
FROM c360.rejects WHERE line_no IN (11, 12, 18) ORDER BY line_no;
SELECT line_no, raw_values FROM c360.rejects WHERE line_no IN (4, 11) ORDER BY line_no;

-- What landed: lines keyed InvoiceNo:position; the exact duplicate (line 6)
-- is a separate line; the C-invoice is a cancelled order, not revenue.
SELECT order_item_id, customer_id, product_id, quantity, unit_price, revenue, is_sale, is_return
FROM c360.fact_sales ORDER BY order_id, order_item_id;
SELECT order_id, customer_id, order_status, order_date, is_sale, revenue, lines FROM c360.fact_orders ORDER BY order_id;
SELECT customer_id, country FROM c360.customers ORDER BY customer_id;
SELECT product_id, description FROM c360.products ORDER BY product_id;

-- The load log reconciles: read = accepted + rejected.
SELECT load_id, source, rows_read, rows_accepted, rows_rejected, rows_duplicate,
       rows_read = rows_accepted + rows_rejected AS reconciles,
       started_at <= staged_at AND staged_at <= finished_at AS timestamps_in_order
FROM c360.load_log ORDER BY load_id;

-- Loading the same file again: every accepted row is a duplicate, nothing
-- is counted twice.
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'file');
SELECT source, rows_read, rows_accepted, rows_rejected, rows_duplicate FROM c360.ingest();
SELECT count(*) AS fact_lines, sum(revenue) FILTER (WHERE is_sale) AS revenue FROM c360.fact_sales;
-- Staging is emptied once its rows are typed or rejected.
SELECT count(*) AS still_staged FROM c360.stage_online_retail;

-- Positions follow line numbers, wherever the rows lie in the staging
-- table: here a load stored out of line order (inserted backwards).
INSERT INTO c360.load_log (source, file_name, status, staged_at) VALUES ('online_retail', NULL, 'staged', clock_timestamp());
INSERT INTO c360.stage_online_retail (load_id, line_no, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country)
SELECT currval('c360.load_log_load_id_seq'), line, '900001', 'P' || line, 'line ' || line, line::text, '2011-01-05 10:00', '1.00', '12345.0', 'Malaysia'
FROM generate_series(4, 2, -1) line;
SELECT line_no FROM c360.stage_online_retail ORDER BY ctid;
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT order_item_id, product_id, quantity FROM c360.order_items WHERE order_id = '900001' ORDER BY order_item_id;

-- A load mixing a known order that gains a line (900001: its facts sum
-- its earlier lines too), a new order (900002) and a new order whose 200
-- lines' amounts are too precise to sum exactly in the checking pass
-- (900003: 28 significant digits each, summed in SQL instead): each
-- order's facts are its lines summed.
INSERT INTO c360.load_log (source, file_name, status, staged_at) VALUES ('online_retail', NULL, 'staged', clock_timestamp());
INSERT INTO c360.stage_online_retail (load_id, line_no, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country)
SELECT currval('c360.load_log_load_id_seq'), v.line_no, v.invoiceno, v.stockcode, 'mixed', v.quantity, '2011-01-05 10:00', v.unitprice, '12345.0', 'Malaysia'
FROM (VALUES (2, '900001', 'P2', '2', '1.00'), (3, '900001', 'P3', '3', '1.00'), (4, '900001', 'P4', '4', '1.00'),
             (5, '900001', 'P5', '5', '2.50'),
             (6, '900002', 'P6', '2', '3.25'), (7, '900002', 'P7', '1', '0.10')) v (line_no, invoiceno, stockcode, quantity, unitprice)
UNION ALL
SELECT currval('c360.load_log_load_id_seq'), 7 + n, '900003', 'P8', 'mixed', '90000000', '2011-01-05 10:00', '9999.999999999999999999999999', '12345.0', 'Malaysia'
FROM generate_series(1, 200) n;
SELECT source, rows_read, rows_accepted, rows_rejected, rows_duplicate FROM c360.ingest();
SELECT f.order_id, f.lines, f.units, f.revenue,
       (f.lines, f.units, f.revenue) = (s.lines, s.units, s.revenue) AS facts_are_the_lines_summed
FROM c360.fact_orders f
JOIN (SELECT order_id, count(*) AS lines, sum(quantity) AS units, sum(quantity * unit_price) FILTER (WHERE quantity > 0) AS revenue
      FROM c360.order_items GROUP BY order_id) s USING (order_id)
WHERE f.order_id IN ('900001', '900002', '900003') ORDER BY f.order_id;

-- The same new orders as a first load (no orders or facts yet: ingest
-- writes them with three plain scans of its work table): a facts row for
-- each order, the too-precise one summed from its lines in SQL.
DROP EXTENSION c360 CASCADE;
CREATE EXTENSION c360;
INSERT INTO c360.load_log (source, file_name, status, staged_at) VALUES ('online_retail', NULL, 'staged', clock_timestamp());
INSERT INTO c360.stage_online_retail (load_id, line_no, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country)
SELECT currval('c360.load_log_load_id_seq'), v.line_no, v.invoiceno, v.stockcode, 'mixed', v.quantity, '2011-01-05 10:00', v.unitprice, '12345.0', 'Malaysia'
FROM (VALUES (6, '900002', 'P6', '2', '3.25'), (7, '900002', 'P7', '1', '0.10')) v (line_no, invoiceno, stockcode, quantity, unitprice)
UNION ALL
SELECT currval('c360.load_log_load_id_seq'), 7 + n, '900003', 'P8', 'mixed', '90000000', '2011-01-05 10:00', '9999.999999999999999999999999', '12345.0', 'Malaysia'
FROM generate_series(1, 200) n;
SELECT source, rows_read, rows_accepted, rows_rejected, rows_duplicate FROM c360.ingest();
SELECT f.order_id, f.lines, f.units, f.revenue,
       (f.lines, f.units, f.revenue) = (s.lines, s.units, s.revenue) AS facts_are_the_lines_summed
FROM c360.fact_orders f
JOIN (SELECT order_id, count(*) AS lines, sum(quantity) AS units, sum(quantity * unit_price) FILTER (WHERE quantity > 0) AS revenue
      FROM c360.order_items GROUP BY order_id) s USING (order_id)
ORDER BY f.order_id;
SELECT count(*) AS orders, (SELECT count(*) FROM c360.fact_orders) AS fact_rows FROM c360.orders;
