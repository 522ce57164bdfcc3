-- c360 tables: the typed model, staging, rejects, load log, settings and the
-- fact tables kept current by ingest. Tables that hold user data are
-- registered with pg_extension_config_dump so pg_dump keeps their rows.

------------------------------------------------------------------------------
-- Settings
------------------------------------------------------------------------------
-- c360.settings holds only the values a user changed; the built-in defaults
-- live in c360.setting_defaults(). That way pg_dump keeps exactly the user's
-- choices and a restore never collides with rows CREATE EXTENSION inserted.
CREATE FUNCTION c360.setting_defaults()
RETURNS TABLE (name text, default_value text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$ VALUES
  ('source_timezone', 'UTC',
   'time zone in which source timestamps without an explicit UTC offset were written (any PostgreSQL time zone name, e.g. Asia/Kuala_Lumpur)'),
  ('as_of', 'auto',
   'date the RFM, cluster and CLV figures are computed as of: auto (the day after the latest sale) or a date such as 2011-12-10; only orders before it count'),
  ('rfm_method', 'quintile',
   'how R, F and M scores are binned: quintile (value-based cut points, ties share a score) or ntile (equal-size bins, ties broken by customer_id)'),
  ('cluster_k', '4',
   'number of k-means customer clusters (2 to 20), or auto to choose it by silhouette between 2 and cluster_k_max'),
  ('cluster_k_max', '8',
   'largest k tried when cluster_k is auto (2 to 20)'),
  ('cluster_seed', '42',
   'random seed of the k-means fit (any integer): the same data and seed give the same clusters'),
  ('clv_horizon_days', '90',
   'horizon of expected_orders_90d in customer_360, in days (1 to 3650)'),
  ('clv_monthly_discount_rate', '0.01',
   'monthly discount rate of predicted_clv_12m (0 to 1, e.g. 0.01 = 1% a month)'),
  ('bulk_load_min_rows', '10000',
   'loads of at least this many rows (and at least a tenth of the target table) check their foreign keys and build their indexes in one pass at the end of ingest instead of row by row; only when ingest runs as the table''s owner; locks that table and the tables it references until the ingest commits')
$$;
COMMENT ON FUNCTION c360.setting_defaults() IS 'the settings c360 knows, with default values and descriptions';

CREATE TABLE c360.settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE c360.settings IS 'settings changed from their defaults; see c360.settings_overview for all of them';
COMMENT ON COLUMN c360.settings.name IS 'setting name, one of c360.setting_defaults()';
COMMENT ON COLUMN c360.settings.value IS 'value, as text; validated when written';
COMMENT ON COLUMN c360.settings.changed_at IS 'when it was last changed';
SELECT pg_catalog.pg_extension_config_dump('c360.settings', '');

CREATE FUNCTION c360.validate_setting() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM c360.setting_defaults() d WHERE d.name = NEW.name) THEN
    RAISE EXCEPTION 'unknown setting "%"', NEW.name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The settings are listed in c360.settings_overview.';
  END IF;
  IF NEW.name = 'source_timezone' THEN
    BEGIN
      PERFORM now() AT TIME ZONE NEW.value;
    EXCEPTION WHEN invalid_parameter_value THEN
      RAISE EXCEPTION 'invalid value for setting "source_timezone": "%"', NEW.value
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = 'It must be a time zone name PostgreSQL knows.',
              HINT = 'See pg_timezone_names, e.g. Asia/Kuala_Lumpur, Asia/Singapore, Europe/London.';
    END;
  ELSIF NEW.name = 'as_of' AND NEW.value <> 'auto' THEN
    BEGIN
      IF NEW.value !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RAISE invalid_datetime_format;
      END IF;
      PERFORM NEW.value::date;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
      RAISE EXCEPTION 'invalid value for setting "as_of": "%"', NEW.value
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = 'It must be auto or an ISO date YYYY-MM-DD.',
              HINT = 'For example 2011-12-10, or auto for the day after the latest sale.';
    END;
  ELSIF NEW.name = 'rfm_method' AND NEW.value NOT IN ('quintile', 'ntile') THEN
    RAISE EXCEPTION 'invalid value for setting "rfm_method": "%"', NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It must be quintile or ntile.';
  ELSIF NEW.name IN ('cluster_k', 'cluster_k_max')
        AND NOT (CASE WHEN NEW.value ~ '^\d{1,2}$' THEN NEW.value::integer BETWEEN 2 AND 20
                      ELSE NEW.name = 'cluster_k' AND NEW.value = 'auto' END) THEN
    RAISE EXCEPTION 'invalid value for setting "%": "%"', NEW.name, NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = CASE NEW.name WHEN 'cluster_k' THEN 'It must be an integer from 2 to 20, or auto.'
                                   ELSE 'It must be an integer from 2 to 20.' END;
  ELSIF NEW.name = 'clv_horizon_days'
        AND NOT (CASE WHEN NEW.value ~ '^\d{1,4}$' THEN NEW.value::integer BETWEEN 1 AND 3650 ELSE false END) THEN
    RAISE EXCEPTION 'invalid value for setting "clv_horizon_days": "%"', NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It must be a whole number of days from 1 to 3650.';
  ELSIF NEW.name = 'clv_monthly_discount_rate'
        AND NOT (CASE WHEN NEW.value ~ '^(0|1)(\.\d+)?$' THEN NEW.value::numeric BETWEEN 0 AND 1 ELSE false END) THEN
    RAISE EXCEPTION 'invalid value for setting "clv_monthly_discount_rate": "%"', NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It must be a rate from 0 to 1, e.g. 0.01 for 1% a month.';
  ELSIF NEW.name = 'bulk_load_min_rows' AND NEW.value !~ '^[1-9]\d{0,17}$' THEN
    RAISE EXCEPTION 'invalid value for setting "bulk_load_min_rows": "%"', NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It must be a whole number of rows, 1 or more.';
  ELSIF NEW.name = 'cluster_seed' AND NEW.value !~ '^-?\d{1,18}$' THEN
    RAISE EXCEPTION 'invalid value for setting "cluster_seed": "%"', NEW.value
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It must be an integer.';
  END IF;
  NEW.changed_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION c360.validate_setting() IS 'trigger: refuses unknown settings and invalid values';
CREATE TRIGGER settings_validate BEFORE INSERT OR UPDATE ON c360.settings
  FOR EACH ROW EXECUTE FUNCTION c360.validate_setting();

CREATE VIEW c360.settings_overview AS
SELECT d.name, coalesce(s.value, d.default_value) AS value, d.default_value,
       s.name IS NOT NULL AS changed, d.description
FROM c360.setting_defaults() d LEFT JOIN c360.settings s ON s.name = d.name;
COMMENT ON VIEW c360.settings_overview IS 'every c360 setting with its current and default value';
COMMENT ON COLUMN c360.settings_overview.name IS 'setting name';
COMMENT ON COLUMN c360.settings_overview.value IS 'current value';
COMMENT ON COLUMN c360.settings_overview.default_value IS 'built-in default';
COMMENT ON COLUMN c360.settings_overview.changed IS 'true when c360.settings overrides the default';
COMMENT ON COLUMN c360.settings_overview.description IS 'what it controls';

CREATE FUNCTION c360.setting(setting_name text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog
AS $$ SELECT value FROM c360.settings_overview WHERE name = setting_name $$;
COMMENT ON FUNCTION c360.setting(text) IS 'current value of a c360 setting (NULL for an unknown name)';

------------------------------------------------------------------------------
-- Loads and rejects
------------------------------------------------------------------------------
CREATE TABLE c360.load_log (
    load_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,
    file_name      text,
    status         text NOT NULL DEFAULT 'staged'
                   CHECK (status IN ('importing', 'staged', 'ingested')),
    rows_read      bigint NOT NULL DEFAULT 0,
    rows_accepted  bigint NOT NULL DEFAULT 0,
    rows_rejected  bigint NOT NULL DEFAULT 0,
    rows_duplicate bigint NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    staged_at      timestamptz,
    finished_at    timestamptz,
    -- Nothing is lost: once ingested, every row read was accepted or rejected.
    CONSTRAINT load_log_reconciles CHECK (status <> 'ingested' OR rows_read = rows_accepted + rows_rejected),
    CONSTRAINT load_log_duplicates_are_accepted CHECK (rows_duplicate <= rows_accepted)
);
COMMENT ON TABLE c360.load_log IS 'one row per load (a file imported or copied into staging): rows read = accepted + rejected once ingested';
COMMENT ON COLUMN c360.load_log.load_id IS 'load identifier, referenced by staging rows and rejects';
COMMENT ON COLUMN c360.load_log.source IS 'source shape: online_retail, customers, orders, order_items, products or payments';
COMMENT ON COLUMN c360.load_log.file_name IS 'server path given to import_csv; NULL for a client-side \copy';
COMMENT ON COLUMN c360.load_log.status IS 'importing (import_csv running), staged (waiting for ingest) or ingested';
COMMENT ON COLUMN c360.load_log.rows_read IS 'data records read from the file (header excluded)';
COMMENT ON COLUMN c360.load_log.rows_accepted IS 'rows that landed in the typed tables (including duplicates)';
COMMENT ON COLUMN c360.load_log.rows_rejected IS 'rows recorded in c360.rejects, at import or at ingest';
COMMENT ON COLUMN c360.load_log.rows_duplicate IS 'accepted rows already present unchanged from an earlier load (a repeated load changes nothing)';
COMMENT ON COLUMN c360.load_log.started_at IS 'when the load started';
COMMENT ON COLUMN c360.load_log.staged_at IS 'when import_csv finished staging the file; for a client-side \copy, when its first row arrived';
COMMENT ON COLUMN c360.load_log.finished_at IS 'when ingest finished it';
SELECT pg_catalog.pg_extension_config_dump('c360.load_log', '');

CREATE TABLE c360.rejects (
    load_id     bigint NOT NULL REFERENCES c360.load_log ON DELETE CASCADE,
    source      text NOT NULL,
    line_no     bigint NOT NULL,
    reason      text NOT NULL,
    message     text NOT NULL,
    raw_text    text,
    raw_values  jsonb,
    rejected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (load_id, line_no)
);
COMMENT ON TABLE c360.rejects IS 'every input row that did not land in the typed tables, with why';
COMMENT ON COLUMN c360.rejects.load_id IS 'the load it came from (c360.load_log)';
COMMENT ON COLUMN c360.rejects.source IS 'source shape of the load';
COMMENT ON COLUMN c360.rejects.line_no IS 'line of the file on which the record starts (1 = header line)';
COMMENT ON COLUMN c360.rejects.reason IS 'stable reason code, e.g. missing_customer, non_positive_price, bad_timestamp, unknown_customer, wrong_field_count';
COMMENT ON COLUMN c360.rejects.message IS 'human message naming the column and the value';
COMMENT ON COLUMN c360.rejects.raw_text IS 'the raw line when it could not be split into fields (bad encoding, unterminated quote); invalid bytes written as \xNN';
COMMENT ON COLUMN c360.rejects.raw_values IS 'the raw field values: an object column -> value, or an array when the field count was wrong';
COMMENT ON COLUMN c360.rejects.rejected_at IS 'when the row was rejected';
-- No index on reason: the queries on rejects are per load (the primary
-- key's load_id) or GROUP BY reason, which reads the table anyway; a btree
-- on a handful of reason codes cost a tenth of a first bulk load's time
-- (its rebuild reads every reject again: 0.8 s of a 15 s load at 10x).
SELECT pg_catalog.pg_extension_config_dump('c360.rejects', '');

------------------------------------------------------------------------------
-- Staging: all text, one table per source file, columns as in its header.
-- Rows are written only by c360 (import_csv, the *_csv views) with a load id
-- it has just created, and deleted by ingest(); no foreign key to load_log,
-- whose per-row check cost more than the insert itself.
------------------------------------------------------------------------------
CREATE TABLE c360.stage_online_retail (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    invoiceno text, stockcode text, description text, quantity text,
    invoicedate text, unitprice text, customerid text, country text,
    PRIMARY KEY (load_id, line_no)
);
CREATE TABLE c360.stage_customers (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    customer_id text, created_at text, city text, state text, country text,
    PRIMARY KEY (load_id, line_no)
);
CREATE TABLE c360.stage_products (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    product_id text, category text, brand text,
    PRIMARY KEY (load_id, line_no)
);
CREATE TABLE c360.stage_orders (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    order_id text, customer_id text, order_status text, order_date text, order_timestamp text,
    PRIMARY KEY (load_id, line_no)
);
CREATE TABLE c360.stage_order_items (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    order_item_id text, order_id text, product_id text, quantity text, unit_price text,
    PRIMARY KEY (load_id, line_no)
);
CREATE TABLE c360.stage_payments (
    load_id bigint NOT NULL,
    line_no bigint NOT NULL,
    payment_id text, order_id text, payment_type text, payment_amount text, payment_date text,
    PRIMARY KEY (load_id, line_no)
);
COMMENT ON TABLE c360.stage_online_retail IS 'staged lines of the UCI Online Retail flat file, all text; c360.ingest() promotes them';
COMMENT ON TABLE c360.stage_customers IS 'staged rows of a customers.csv extract, all text; c360.ingest() promotes them';
COMMENT ON TABLE c360.stage_products IS 'staged rows of a products.csv extract, all text; c360.ingest() promotes them';
COMMENT ON TABLE c360.stage_orders IS 'staged rows of an orders.csv extract, all text; c360.ingest() promotes them';
COMMENT ON TABLE c360.stage_order_items IS 'staged rows of an order_items.csv extract, all text; c360.ingest() promotes them';
COMMENT ON TABLE c360.stage_payments IS 'staged rows of a payments.csv extract, all text; c360.ingest() promotes them';
-- Staged rows not yet ingested are user data too.
SELECT pg_catalog.pg_extension_config_dump('c360.stage_online_retail', '');
SELECT pg_catalog.pg_extension_config_dump('c360.stage_customers', '');
SELECT pg_catalog.pg_extension_config_dump('c360.stage_products', '');
SELECT pg_catalog.pg_extension_config_dump('c360.stage_orders', '');
SELECT pg_catalog.pg_extension_config_dump('c360.stage_order_items', '');
SELECT pg_catalog.pg_extension_config_dump('c360.stage_payments', '');

------------------------------------------------------------------------------
-- The typed model (SPEC.md §2)
------------------------------------------------------------------------------
-- Order statuses: the built-in list is c360.order_status_defaults(); users
-- add or override statuses in c360.order_statuses (kept by pg_dump).
CREATE FUNCTION c360.order_status_defaults()
RETURNS TABLE (order_status text, is_revenue boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$ VALUES
  ('completed', true), ('complete', true), ('delivered', true), ('shipped', true), ('paid', true),
  ('invoiced', true), ('processing', true),
  ('cancelled', false), ('canceled', false), ('returned', false), ('refunded', false),
  ('failed', false), ('pending', false), ('unavailable', false)
$$;
COMMENT ON FUNCTION c360.order_status_defaults() IS 'the order statuses c360 knows out of the box and whether each counts as revenue';

CREATE TABLE c360.order_statuses (
    order_status text PRIMARY KEY CHECK (order_status = lower(btrim(order_status)) AND order_status <> ''),
    is_revenue   boolean NOT NULL
);
COMMENT ON TABLE c360.order_statuses IS 'your own order statuses, or overrides of the built-in ones (c360.order_status_rules shows the result)';
COMMENT ON COLUMN c360.order_statuses.order_status IS 'status in lower case, as orders.csv writes it (compared case-insensitively)';
COMMENT ON COLUMN c360.order_statuses.is_revenue IS 'true when an order in this status is a sale (counted in revenue, orders, RFM)';
SELECT pg_catalog.pg_extension_config_dump('c360.order_statuses', '');

CREATE VIEW c360.order_status_rules AS
SELECT coalesce(u.order_status, d.order_status) AS order_status,
       coalesce(u.is_revenue, d.is_revenue) AS is_revenue,
       u.order_status IS NOT NULL AS user_defined,
       -- (the one place that says which statuses are returns)
       coalesce(u.order_status, d.order_status) IN ('cancelled', 'canceled', 'returned', 'refunded') AS is_return
FROM c360.order_status_defaults() d FULL JOIN c360.order_statuses u ON u.order_status = d.order_status;
COMMENT ON VIEW c360.order_status_rules IS 'the order statuses ingest accepts: built-in ones, overridden or extended by c360.order_statuses';
COMMENT ON COLUMN c360.order_status_rules.order_status IS 'status, lower case';
COMMENT ON COLUMN c360.order_status_rules.is_revenue IS 'true when orders in this status are sales';
COMMENT ON COLUMN c360.order_status_rules.user_defined IS 'true when it comes from c360.order_statuses';
COMMENT ON COLUMN c360.order_status_rules.is_return IS 'true for a cancelled, returned or refunded order: its lines are returns (fact_sales.is_return), never revenue';

CREATE TABLE c360.customers (
    customer_id text COLLATE "C" PRIMARY KEY,
    created_at  timestamptz,
    city        text,
    state       text,
    country     text,
    load_id     bigint NOT NULL
);
COMMENT ON TABLE c360.customers IS 'customers: from customers.csv, or from CustomerID + Country of the Online Retail file';
COMMENT ON COLUMN c360.customers.customer_id IS 'customer key as in the source (Online Retail: CustomerID without its .0)';
COMMENT ON COLUMN c360.customers.created_at IS 'when the customer account was created, if the source says';
COMMENT ON COLUMN c360.customers.city IS 'city';
COMMENT ON COLUMN c360.customers.state IS 'state or region';
COMMENT ON COLUMN c360.customers.country IS 'country (Online Retail: the country of the customer''s latest line)';
COMMENT ON COLUMN c360.customers.load_id IS 'the load that last inserted or changed the row';

CREATE TABLE c360.products (
    product_id  text COLLATE "C" PRIMARY KEY,
    category    text,
    brand       text,
    description text,
    load_id     bigint NOT NULL
);
COMMENT ON TABLE c360.products IS 'products: from products.csv, or StockCode + Description of the Online Retail file';
COMMENT ON COLUMN c360.products.product_id IS 'product key (Online Retail: StockCode)';
COMMENT ON COLUMN c360.products.category IS 'category';
COMMENT ON COLUMN c360.products.brand IS 'brand';
COMMENT ON COLUMN c360.products.description IS 'description (Online Retail: the latest non-empty Description of the code)';
COMMENT ON COLUMN c360.products.load_id IS 'the load that last inserted or changed the row';

CREATE TABLE c360.orders (
    order_id        text COLLATE "C" PRIMARY KEY,
    customer_id     text COLLATE "C" NOT NULL REFERENCES c360.customers,
    order_status    text NOT NULL,
    order_date      date NOT NULL,
    order_timestamp timestamptz NOT NULL,
    load_id         bigint NOT NULL
);
COMMENT ON TABLE c360.orders IS 'orders (Online Retail: one per InvoiceNo; C-invoices are cancelled orders)';
COMMENT ON COLUMN c360.orders.order_id IS 'order key (Online Retail: InvoiceNo)';
COMMENT ON COLUMN c360.orders.customer_id IS 'the customer who placed it';
COMMENT ON COLUMN c360.orders.order_status IS 'status in lower case, one of c360.order_status_rules';
COMMENT ON COLUMN c360.orders.order_date IS 'local calendar date of the order, as written in the source';
COMMENT ON COLUMN c360.orders.order_timestamp IS 'when the order was placed (source_timezone applies to timestamps without offset)';
COMMENT ON COLUMN c360.orders.load_id IS 'the load that last inserted or changed the row';
CREATE INDEX orders_customer_idx ON c360.orders (customer_id);
CREATE INDEX orders_date_idx ON c360.orders (order_date);

CREATE TABLE c360.order_items (
    order_item_id text COLLATE "C" PRIMARY KEY,
    order_id      text COLLATE "C" NOT NULL REFERENCES c360.orders,
    product_id    text COLLATE "C" NOT NULL REFERENCES c360.products,
    quantity      integer NOT NULL,
    unit_price    numeric NOT NULL,
    load_id       bigint NOT NULL
);
COMMENT ON TABLE c360.order_items IS 'order lines (Online Retail: one per invoice line, key InvoiceNo:position)';
COMMENT ON COLUMN c360.order_items.order_item_id IS 'line key (Online Retail: InvoiceNo, a colon, and the line''s position within the invoice in file order)';
COMMENT ON COLUMN c360.order_items.order_id IS 'the order it belongs to';
COMMENT ON COLUMN c360.order_items.product_id IS 'the product sold';
COMMENT ON COLUMN c360.order_items.quantity IS 'units (negative on Online Retail return lines)';
COMMENT ON COLUMN c360.order_items.unit_price IS 'price per unit, exact numeric';
COMMENT ON COLUMN c360.order_items.load_id IS 'the load that last inserted or changed the row';
CREATE INDEX order_items_order_idx ON c360.order_items (order_id);

CREATE TABLE c360.payments (
    payment_id     text COLLATE "C" PRIMARY KEY,
    order_id       text COLLATE "C" NOT NULL REFERENCES c360.orders,
    payment_type   text,
    payment_amount numeric NOT NULL,
    payment_date   date,
    load_id        bigint NOT NULL
);
COMMENT ON TABLE c360.payments IS 'payments of orders (none for Online Retail)';
COMMENT ON COLUMN c360.payments.payment_id IS 'payment key';
COMMENT ON COLUMN c360.payments.order_id IS 'the order paid';
COMMENT ON COLUMN c360.payments.payment_type IS 'payment method, e.g. card, fpx, grabpay, paynow';
COMMENT ON COLUMN c360.payments.payment_amount IS 'amount paid, exact numeric';
COMMENT ON COLUMN c360.payments.payment_date IS 'date of the payment';
COMMENT ON COLUMN c360.payments.load_id IS 'the load that last inserted or changed the row';
CREATE INDEX payments_order_idx ON c360.payments (order_id);

SELECT pg_catalog.pg_extension_config_dump('c360.customers', '');
SELECT pg_catalog.pg_extension_config_dump('c360.products', '');
SELECT pg_catalog.pg_extension_config_dump('c360.orders', '');
SELECT pg_catalog.pg_extension_config_dump('c360.order_items', '');
SELECT pg_catalog.pg_extension_config_dump('c360.payments', '');

------------------------------------------------------------------------------
-- Facts. fact_sales is a view: the line grain is order_items itself, joined
-- to its order and customer when read, so ingest writes each line once.
-- fact_orders is a table kept current by ingest (rebuilt for the orders a
-- load touches): the order grain every KPI, cohort and RFM step reads.
------------------------------------------------------------------------------
CREATE VIEW c360.fact_sales AS
SELECT i.order_item_id, o.order_id, o.customer_id, i.product_id, o.order_timestamp, o.order_date,
       i.quantity, i.unit_price, i.quantity * i.unit_price AS revenue, c.country, o.order_status,
       coalesce(r.is_revenue, false) AND i.quantity > 0 AS is_sale,
       coalesce(r.is_return, false) AS is_return
FROM c360.order_items i
JOIN c360.orders o ON o.order_id = i.order_id
-- LEFT: the foreign key guarantees the customer; a query that does not read
-- country then skips the join altogether
LEFT JOIN c360.customers c ON c.customer_id = o.customer_id
LEFT JOIN c360.order_status_rules r ON r.order_status = o.order_status;
COMMENT ON VIEW c360.fact_sales IS 'line-grain sales fact for BI: one row per order line (c360.order_items) with its order, customer country and sale/return flags; always current';
COMMENT ON COLUMN c360.fact_sales.order_item_id IS 'order line key (c360.order_items)';
COMMENT ON COLUMN c360.fact_sales.order_id IS 'order key (c360.orders)';
COMMENT ON COLUMN c360.fact_sales.customer_id IS 'customer key (c360.dim_customer)';
COMMENT ON COLUMN c360.fact_sales.product_id IS 'product key (c360.dim_product)';
COMMENT ON COLUMN c360.fact_sales.order_timestamp IS 'when the order was placed';
COMMENT ON COLUMN c360.fact_sales.order_date IS 'local order date (c360.dim_date)';
COMMENT ON COLUMN c360.fact_sales.quantity IS 'units';
COMMENT ON COLUMN c360.fact_sales.unit_price IS 'price per unit';
COMMENT ON COLUMN c360.fact_sales.revenue IS 'quantity x unit_price, exact';
COMMENT ON COLUMN c360.fact_sales.country IS 'customer country';
COMMENT ON COLUMN c360.fact_sales.order_status IS 'order status';
COMMENT ON COLUMN c360.fact_sales.is_sale IS 'true for a sale line: counted in revenue, orders and RFM';
COMMENT ON COLUMN c360.fact_sales.is_return IS 'true for a line of a cancelled, returned or refunded order (Online Retail: a C-invoice line); never revenue';

CREATE TABLE c360.fact_orders (
    order_id        text COLLATE "C" PRIMARY KEY,
    customer_id     text COLLATE "C" NOT NULL,
    order_timestamp timestamptz NOT NULL,
    order_date      date NOT NULL,
    order_status    text NOT NULL,
    is_sale         boolean NOT NULL,
    is_return       boolean NOT NULL,
    revenue         numeric NOT NULL,
    lines           integer NOT NULL,
    units           bigint NOT NULL
);
COMMENT ON TABLE c360.fact_orders IS 'order-grain fact kept current by c360.ingest(): the ~20x smaller input of KPIs, cohorts and RFM';
COMMENT ON COLUMN c360.fact_orders.order_id IS 'order key';
COMMENT ON COLUMN c360.fact_orders.customer_id IS 'customer key';
COMMENT ON COLUMN c360.fact_orders.order_timestamp IS 'when the order was placed';
COMMENT ON COLUMN c360.fact_orders.order_date IS 'local order date';
COMMENT ON COLUMN c360.fact_orders.order_status IS 'order status';
COMMENT ON COLUMN c360.fact_orders.is_sale IS 'true when the order is a sale with at least one sale line';
COMMENT ON COLUMN c360.fact_orders.is_return IS 'true when its lines are returns (a cancelled, returned or refunded order with lines)';
COMMENT ON COLUMN c360.fact_orders.revenue IS 'sum of the revenue of its sale lines, exact';
COMMENT ON COLUMN c360.fact_orders.lines IS 'number of its lines';
COMMENT ON COLUMN c360.fact_orders.units IS 'units on its lines (negative for Online Retail returns)';
CREATE INDEX fact_orders_customer_idx ON c360.fact_orders (customer_id);
CREATE INDEX fact_orders_date_idx ON c360.fact_orders (order_date);
-- Derived, but dumped too: a restored database is complete without a rebuild.
SELECT pg_catalog.pg_extension_config_dump('c360.fact_orders', '');

------------------------------------------------------------------------------
-- Derived per-customer tables (customer_metrics, rfm_segments,
-- customer_clusters, customer_clv) are rewritten by every refresh. Deleting
-- and re-inserting every row left a dead version per customer and refresh,
-- and each insert's unique check visited them all until autovacuum came:
-- refreshes slowed down one after the other. Rows are written in place
-- instead (changed rows updated, new ones inserted, vanished ones deleted),
-- into tables with room on each page (fillfactor 50) so the updates are HOT:
-- no new index entry, no unique check.
------------------------------------------------------------------------------
-- Makes c360.<target> hold exactly the rows of pg_temp.c360_new_rows (same
-- column names; extra columns are ignored), matched on the key column; drops
-- the temp table; returns its row count.
-- One MERGE (one join) updates the changed rows and inserts the new ones.
-- The new rows' keys are unique (MERGE fails loudly if not), so afterwards
-- the target holds every new row plus the vanished ones: a count tells
-- whether there are any to delete, and the anti-join runs only then.
CREATE FUNCTION c360._write_derived_rows(target text, key text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  all_cols text;
  set_cols text;
  t_cols text;
  s_cols text;
  s_all_cols text;
  n bigint;
  target_rows bigint;
BEGIN
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
         string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attname <> key),
         string_agg('t.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attname <> key),
         string_agg('s.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attname <> key),
         string_agg('s.' || quote_ident(a.attname), ', ' ORDER BY a.attnum)
  INTO all_cols, set_cols, t_cols, s_cols, s_all_cols
  FROM pg_attribute a
  WHERE a.attrelid = format('c360.%I', target)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  -- No ANALYZE of the new rows: it cost ~115 ms a call at 10x (four calls
  -- a refresh) and the plan, a hash join driven by the new rows, is the
  -- same with the size the planner reads from the file.
  SELECT count(*) INTO n FROM pg_temp.c360_new_rows;
  EXECUTE format('MERGE INTO c360.%1$I t USING pg_temp.c360_new_rows s ON t.%2$I = s.%2$I
                  WHEN MATCHED AND ROW(%5$s) IS DISTINCT FROM ROW(%4$s) THEN UPDATE SET (%3$s) = ROW(%4$s)
                  WHEN NOT MATCHED THEN INSERT (%6$s) VALUES (%7$s)',
                 target, key, set_cols, s_cols, t_cols, all_cols, s_all_cols);
  EXECUTE format('SELECT count(*) FROM c360.%I', target) INTO target_rows;
  IF target_rows > n THEN
    EXECUTE format('DELETE FROM c360.%1$I t WHERE NOT EXISTS (SELECT 1 FROM pg_temp.c360_new_rows s WHERE s.%2$I = t.%2$I)',
                   target, key);
  END IF;
  DROP TABLE pg_temp.c360_new_rows;
  RETURN n;
END
$$;
