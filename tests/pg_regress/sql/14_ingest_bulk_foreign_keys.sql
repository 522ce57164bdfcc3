-- Large loads check their foreign keys and build their indexes once, at the
-- end, instead of row by row (setting bulk_load_min_rows, default 10000
-- rows): ingest drops the loaded table's foreign keys and indexes, writes,
-- and adds them back, which validates every row in one pass. Keys and
-- indexes come back exactly as declared and keys stay enforced; small loads,
-- and callers who do not own the tables, keep the row-by-row path.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
\getenv fixtures C360_FIXTURES
INSERT INTO c360.settings (name, value) VALUES ('source_timezone', 'Asia/Kuala_Lumpur');

CREATE TEMP TABLE keys_before AS
SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition, oid AS first_oid
FROM pg_constraint WHERE connamespace = 'c360'::regnamespace AND contype = 'f';
SELECT table_name, conname, definition FROM keys_before ORDER BY 1, 2;
-- which keys are no longer the constraint objects they were at the start
CREATE TEMP VIEW keys_now AS
SELECT b.table_name, b.conname, k.oid <> b.first_oid AS re_added, k.convalidated,
       pg_get_constraintdef(k.oid) = b.definition AS same_definition
FROM keys_before b LEFT JOIN pg_constraint k
  ON k.conrelid = b.table_name::regclass AND k.conname = b.conname AND k.contype = 'f';

-- The same for the indexes of the tables ingest writes in bulk.
CREATE TEMP TABLE indexes_before AS
SELECT i.indrelid::regclass::text AS table_name, c.relname AS index_name, pg_get_indexdef(i.indexrelid) AS definition,
       i.indexrelid AS first_oid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid IN ('c360.orders'::regclass, 'c360.order_items'::regclass, 'c360.payments'::regclass, 'c360.rejects'::regclass);
SELECT table_name, index_name, definition FROM indexes_before ORDER BY 1, 2;
CREATE TEMP VIEW indexes_now AS
SELECT b.table_name, b.index_name, c.oid <> b.first_oid AS re_created, n.indisvalid AS valid,
       pg_get_indexdef(c.oid) = b.definition AS same_definition
FROM indexes_before b
LEFT JOIN (pg_class c JOIN pg_index n ON n.indexrelid = c.oid) ON c.relname = b.index_name AND c.relnamespace = 'c360'::regnamespace;
-- a comment a DBA put on an index survives its re-creation
COMMENT ON INDEX c360.order_items_order_idx IS 'lines of an order';

-- Small loads (the default threshold): row-by-row checks, keys untouched.
\set f :fixtures '/customers.csv'
SELECT rows_read FROM c360.import_csv('customers', :'f');
\set f :fixtures '/products.csv'
SELECT rows_read FROM c360.import_csv('products', :'f');
\set f :fixtures '/orders.csv'
SELECT rows_read FROM c360.import_csv('orders', :'f');
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT * FROM keys_now ORDER BY 1, 2;

-- A threshold of one row makes every load a bulk load: the same rows land
-- and are rejected as on the row-by-row path (12_ingest_normalized).
INSERT INTO c360.settings (name, value) VALUES ('bulk_load_min_rows', '0');
INSERT INTO c360.settings (name, value) VALUES ('bulk_load_min_rows', '1');
\set f :fixtures '/order_items.csv'
SELECT rows_read FROM c360.import_csv('order_items', :'f');
\set f :fixtures '/payments.csv'
SELECT rows_read FROM c360.import_csv('payments', :'f');
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT source, line_no, reason FROM c360.rejects WHERE source IN ('order_items', 'payments') ORDER BY source, line_no;
SELECT order_item_id, order_id, product_id FROM c360.order_items ORDER BY order_item_id;
SELECT payment_id, order_id FROM c360.payments ORDER BY payment_id;
-- order_items, payments and rejects had their keys re-added; orders did not
-- load anything this time. Every key is validated and declared as before.
SELECT * FROM keys_now ORDER BY 1, 2;
-- Their indexes were dropped and built again, the same; orders' primary key,
-- which other tables' foreign keys rely on, never is.
SELECT * FROM indexes_now ORDER BY 1, 2;
SELECT obj_description('c360.order_items_order_idx'::regclass, 'pg_class') AS index_comment;
-- ... and enforced.
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
VALUES ('I-X', 'O-404', 'P-100', 1, 1.00, 0);
INSERT INTO c360.payments (payment_id, order_id, payment_amount, load_id) VALUES ('PAY-X', 'O-404', 1.00, 0);

-- A role that may run ingest but does not own the tables cannot drop their
-- keys: it keeps the row-by-row checks, with the same result.
DROP ROLE IF EXISTS c360_regress_etl;
CREATE ROLE c360_regress_etl;
GRANT USAGE ON SCHEMA c360 TO c360_regress_etl;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA c360 TO c360_regress_etl;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA c360 TO c360_regress_etl;
GRANT EXECUTE ON FUNCTION c360.ingest() TO c360_regress_etl;
-- a fresh snapshot of the keys (the bulk ingest above re-created some)
TRUNCATE keys_before;
INSERT INTO keys_before
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), oid
FROM pg_constraint WHERE connamespace = 'c360'::regnamespace AND contype = 'f';
GRANT SELECT ON keys_now, keys_before TO c360_regress_etl;
SET ROLE c360_regress_etl;
INSERT INTO c360.order_items_csv VALUES ('I-20', 'O-2', 'P-200', '3', '12.50'), ('I-21', 'O-404', 'P-200', '1', '12.50');
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT * FROM keys_now ORDER BY 1, 2;
RESET ROLE;
SELECT order_item_id, order_id, quantity FROM c360.order_items WHERE order_item_id IN ('I-20', 'I-21');
SELECT source, line_no, reason, message FROM c360.rejects WHERE source = 'order_items' AND line_no = 3 ORDER BY load_id DESC LIMIT 1;
DROP OWNED BY c360_regress_etl;
DROP ROLE c360_regress_etl;
