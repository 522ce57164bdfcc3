-- import_csv on awkward files: byte-order mark, CRLF, renamed and reordered
-- header, empty and header-only files, invalid UTF-8, LATIN1, no header.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
\getenv fixtures C360_FIXTURES

-- BOM and CRLF; header spelled invoice_no, unit_price, ... is matched by name.
\set file :fixtures '/online_retail_bom_crlf.csv'
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'file');
SELECT line_no, invoiceno, description, customerid, country FROM c360.stage_online_retail ORDER BY line_no;

-- An empty file and a header-only file are loads of zero rows.
\set file :fixtures '/empty.csv'
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'file');
\set file :fixtures '/online_retail_header_only.csv'
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'file');

-- Invalid UTF-8 and a NUL byte reject only their own lines, raw bytes kept as \xNN.
\set file :fixtures '/online_retail_invalid_utf8.csv'
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'file');
SELECT line_no, reason, message, raw_text FROM c360.rejects ORDER BY load_id, line_no;

-- The same bytes read as LATIN1: the pound sign of the voucher survives.
\set file :fixtures '/online_retail_latin1.csv'
SELECT rows_read, rows_staged FROM c360.import_csv('online_retail', :'file', encoding => 'LATIN1');
SELECT description FROM c360.stage_online_retail WHERE invoiceno = '536402';

-- No header: detected, fields read by position; header => true refuses it.
\set file :fixtures '/online_retail_no_header.csv'
SELECT rows_read, rows_staged FROM c360.import_csv('online_retail', :'file');
SELECT line_no, invoiceno, quantity FROM c360.stage_online_retail WHERE invoiceno = '536403';
\set VERBOSITY default
SELECT * FROM c360.import_csv('online_retail', :'file', header => true);

-- Everything staged ingests; the load log reconciles for every load.
SELECT source, rows_read, rows_accepted, rows_rejected FROM c360.ingest();
SELECT count(*) AS loads, bool_and(rows_read = rows_accepted + rows_rejected) AS all_reconcile FROM c360.load_log;

-- Clear errors for what cannot be loaded at all.
SELECT * FROM c360.import_csv('invoices', :'file');
SELECT * FROM c360.import_csv('online_retail', '/nonexistent/dir/file.csv');
SELECT * FROM c360.import_csv('online_retail', :'file', delimiter => ';;');
SELECT * FROM c360.import_csv('online_retail', :'file', encoding => 'EBCDIC');
-- A failed import leaves no trace: its load row rolled back with it.
SELECT count(*) AS loads FROM c360.load_log;

-- Backslashes, tabs, line breaks inside quotes, a lone \. and an empty field
-- are staged exactly as written (import_csv hands rows to PostgreSQL's COPY
-- machinery, so these are the characters its text format escapes).
\set escapes :fixtures '/online_retail_escapes.csv'
SELECT rows_read, rows_staged, rows_rejected FROM c360.import_csv('online_retail', :'escapes');
SELECT line_no, stockcode, description, length(description) AS chars, description IS NULL AS is_null
FROM c360.stage_online_retail WHERE invoiceno = '536900' ORDER BY line_no;

-- Reading server files needs pg_read_server_files.
CREATE ROLE c360_analyst_no_files;
GRANT USAGE ON SCHEMA c360 TO c360_analyst_no_files;
SET ROLE c360_analyst_no_files;
SELECT * FROM c360.import_csv('online_retail', :'file');
RESET ROLE;
-- ... and INSERT on the staging table it writes.
GRANT pg_read_server_files TO c360_analyst_no_files;
SET ROLE c360_analyst_no_files;
SELECT * FROM c360.import_csv('online_retail', :'file');
RESET ROLE;
DROP OWNED BY c360_analyst_no_files;
DROP ROLE c360_analyst_no_files;
