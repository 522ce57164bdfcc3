-- Plain-SQL cleaning of the raw Online Retail file (SPEC §3), as a DBA would
-- write it after `COPY plain.raw FROM 'online_retail.csv' CSV HEADER`: sale
-- lines (customer, not a C-invoice, quantity > 0, price > 0) and return lines
-- (C-invoices with a customer), typed, in one table. No rejects table, no
-- load log, no normalization, no keys: the cheapest honest version.
SET work_mem = '256MB';
DROP TABLE IF EXISTS plain.lines;
CREATE TABLE plain.lines AS
SELECT invoiceno AS invoice, stockcode AS product_id, quantity::integer AS quantity,
       invoicedate::timestamp AS invoice_ts, unitprice::numeric AS unit_price,
       regexp_replace(customerid, '\.0$', '') AS customer_id, country,
       invoiceno LIKE 'C%' AS is_return
FROM plain.raw
WHERE coalesce(customerid, '') <> ''
  AND (invoiceno LIKE 'C%' OR (quantity::integer > 0 AND unitprice::numeric > 0));
