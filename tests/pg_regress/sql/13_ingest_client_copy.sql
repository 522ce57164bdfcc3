-- Client-side loading with psql's \copy into c360.<source>_csv: nothing is
-- typed on the way in, so no value can make the copy fail; ingest() then
-- validates exactly as for server-side imports.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
-- (The regression runner puts the fixtures in /tmp/c360_regress_fixtures.)
\copy c360.online_retail_csv FROM '/tmp/c360_regress_fixtures/online_retail_bom_crlf.csv' CSV HEADER
\copy c360.online_retail_csv FROM '/tmp/c360_regress_fixtures/online_retail_header_only.csv' CSV HEADER
\copy c360.online_retail_csv FROM '/tmp/c360_regress_fixtures/online_retail_no_header.csv' CSV

-- Each \copy is one load; lines are numbered from 2 (line 1 is the header).
SELECT load_id, source, file_name, status, staged_at IS NOT NULL AS staged_at_set FROM c360.load_log ORDER BY load_id;
SELECT load_id, line_no, invoiceno, quantity, customerid FROM c360.stage_online_retail ORDER BY load_id, line_no;
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT order_item_id, customer_id, revenue FROM c360.fact_sales ORDER BY order_item_id;

-- A value that is not a number is staged as text and rejected at ingest.
INSERT INTO c360.online_retail_csv VALUES ('536500', '22111', 'HOT WATER BOTTLE', 'lots', '2010-12-02 10:00:00', '4.95', '12431.0', 'Australia');
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT line_no, reason, message FROM c360.rejects;
