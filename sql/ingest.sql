-- c360 ingest: client-side staging views and c360.ingest(), which promotes
-- staged rows into the typed tables or c360.rejects. Set-based SQL; the
-- per-value checks are the Rust functions c360.check_value and
-- c360.order_line_problem, and the Online Retail checking pass is
-- c360._check_online_retail_load (src/ingest/).

SELECT pg_catalog.pg_extension_config_dump('c360.load_log_load_id_seq', '');

------------------------------------------------------------------------------
-- Client-side loading: \copy c360.<source>_csv FROM 'file.csv' CSV HEADER
-- The views have exactly the CSV's columns; their trigger numbers the rows
-- and opens one load per transaction (psql runs each \copy in its own).
------------------------------------------------------------------------------
CREATE FUNCTION c360.copy_row_position(source text, OUT load_id bigint, OUT line_no bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog
AS $$
DECLARE
  open_load text := current_setting('c360.copy_load_' || source, true);
BEGIN
  IF coalesce(open_load, '') = '' THEN
    INSERT INTO c360.load_log (source, file_name, status, staged_at) VALUES (source, NULL, 'staged', clock_timestamp())
    RETURNING c360.load_log.load_id INTO load_id;
    line_no := 2;  -- line 1 is the header
  ELSE
    load_id := split_part(open_load, ':', 1)::bigint;
    line_no := split_part(open_load, ':', 2)::bigint + 1;
  END IF;
  PERFORM set_config('c360.copy_load_' || source, load_id || ':' || line_no, true);
END
$$;
COMMENT ON FUNCTION c360.copy_row_position(text) IS 'internal: load id and line number of the next row copied into a c360.<source>_csv view in this transaction';

CREATE VIEW c360.online_retail_csv AS
  SELECT invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country FROM c360.stage_online_retail;
CREATE VIEW c360.customers_csv AS
  SELECT customer_id, created_at, city, state, country FROM c360.stage_customers;
CREATE VIEW c360.products_csv AS
  SELECT product_id, category, brand FROM c360.stage_products;
CREATE VIEW c360.orders_csv AS
  SELECT order_id, customer_id, order_status, order_date, order_timestamp FROM c360.stage_orders;
CREATE VIEW c360.order_items_csv AS
  SELECT order_item_id, order_id, product_id, quantity, unit_price FROM c360.stage_order_items;
CREATE VIEW c360.payments_csv AS
  SELECT payment_id, order_id, payment_type, payment_amount, payment_date FROM c360.stage_payments;

CREATE FUNCTION c360.stage_copied_row() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
  pos record;
BEGIN
  pos := c360.copy_row_position(TG_ARGV[0]);
  -- TG_ARGV[0] is one of six fixed source names set in CREATE TRIGGER below.
  CASE TG_ARGV[0]
    WHEN 'online_retail' THEN INSERT INTO c360.stage_online_retail SELECT pos.load_id, pos.line_no, NEW.*;
    WHEN 'customers'     THEN INSERT INTO c360.stage_customers     SELECT pos.load_id, pos.line_no, NEW.*;
    WHEN 'products'      THEN INSERT INTO c360.stage_products      SELECT pos.load_id, pos.line_no, NEW.*;
    WHEN 'orders'        THEN INSERT INTO c360.stage_orders        SELECT pos.load_id, pos.line_no, NEW.*;
    WHEN 'order_items'   THEN INSERT INTO c360.stage_order_items   SELECT pos.load_id, pos.line_no, NEW.*;
    WHEN 'payments'      THEN INSERT INTO c360.stage_payments      SELECT pos.load_id, pos.line_no, NEW.*;
  END CASE;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION c360.stage_copied_row() IS 'trigger: stages a row written into a c360.<source>_csv view';
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.online_retail_csv FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('online_retail');
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.customers_csv     FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('customers');
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.products_csv      FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('products');
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.orders_csv        FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('orders');
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.order_items_csv   FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('order_items');
CREATE TRIGGER stage INSTEAD OF INSERT ON c360.payments_csv      FOR EACH ROW EXECUTE FUNCTION c360.stage_copied_row('payments');
COMMENT ON VIEW c360.online_retail_csv IS 'client-side load target: \copy c360.online_retail_csv FROM ''online_retail.csv'' CSV HEADER, then SELECT * FROM c360.ingest()';
COMMENT ON VIEW c360.customers_csv IS 'client-side load target for customers.csv (\copy ... CSV HEADER), then c360.ingest()';
COMMENT ON VIEW c360.products_csv IS 'client-side load target for products.csv (\copy ... CSV HEADER), then c360.ingest()';
COMMENT ON VIEW c360.orders_csv IS 'client-side load target for orders.csv (\copy ... CSV HEADER), then c360.ingest()';
COMMENT ON VIEW c360.order_items_csv IS 'client-side load target for order_items.csv (\copy ... CSV HEADER), then c360.ingest()';
COMMENT ON VIEW c360.payments_csv IS 'client-side load target for payments.csv (\copy ... CSV HEADER), then c360.ingest()';

------------------------------------------------------------------------------
-- Promotion. Each c360._ingest_<source>(load) builds the temp table
-- pg_temp.c360_checked (line_no, problem text[] or NULL, + its columns; for
-- Online Retail a view over its accepted and refused lines' tables),
-- upserts the rows without a problem, adds the orders it changed to
-- pg_temp.c360_touched and returns how many rows it inserted or updated.
-- c360._ingest_load() does the bookkeeping common to all sources.
------------------------------------------------------------------------------

-- Records the rows of pg_temp.c360_checked that have a problem as rejects,
-- with their raw staged values: its raw_values column when it has one, else
-- built from the staged row.
CREATE FUNCTION c360._reject_checked_rows(p_load bigint, p_source text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
  stage regclass := format('c360.%I', 'stage_' || p_source);
  raw_values text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'pg_temp.c360_checked'::regclass AND attname = 'raw_values') THEN
    -- the checking pass kept them (Online Retail)
    INSERT INTO c360.rejects (load_id, source, line_no, reason, message, raw_values)
    SELECT p_load, p_source, c.line_no, c.problem[1], c.problem[2], c.raw_values
    FROM pg_temp.c360_checked c WHERE c.problem IS NOT NULL;
  ELSE
    -- jsonb_build_object of the staged columns: a third cheaper than
    -- to_jsonb(row) minus the load_id and line_no keys, same result
    SELECT string_agg(format('%L, s.%I', a.attname, a.attname), ', ' ORDER BY a.attnum) INTO raw_values
    FROM pg_attribute a
    WHERE a.attrelid = stage AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('load_id', 'line_no');
    EXECUTE format($q$
      INSERT INTO c360.rejects (load_id, source, line_no, reason, message, raw_values)
      SELECT $1, $2, c.line_no, c.problem[1], c.problem[2], jsonb_build_object(%s)
      FROM pg_temp.c360_checked c
      JOIN %s s ON s.load_id = $1 AND s.line_no = c.line_no
      WHERE c.problem IS NOT NULL$q$, raw_values, stage)
    USING p_load, p_source;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- Marks later rows of the same load that repeat a key seen on an earlier line.
CREATE FUNCTION c360._reject_repeated_keys(key_column text, key_label text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format($q$
    UPDATE pg_temp.c360_checked c
    SET problem = ARRAY['duplicate_key', format('%%s %%s already appears on line %%s of this load', %L, quote_literal(f.key), f.first_line)]
    FROM (SELECT line_no, btrim(%I) AS key,
                 min(line_no) OVER (PARTITION BY btrim(%I)) AS first_line
          FROM pg_temp.c360_checked WHERE problem IS NULL) f
    WHERE c.line_no = f.line_no AND f.line_no <> f.first_line$q$,
    key_label, key_column, key_column);
END
$$;

-- Marks rows whose reference does not exist in the typed table.
CREATE FUNCTION c360._reject_unknown_refs(ref_column text, ref_table text, ref_key text, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format($q$
    UPDATE pg_temp.c360_checked c
    SET problem = ARRAY[%L, format('%%s %%s is not a known %%s', %L, quote_literal(btrim(c.%I)), %L)]
    WHERE c.problem IS NULL
      AND NOT EXISTS (SELECT 1 FROM c360.%I t WHERE t.%I = btrim(c.%I))$q$,
    reason, ref_column, ref_column, ref_key, ref_table, ref_key, ref_column);
END
$$;

-- Bulk loads. PostgreSQL checks a foreign key with one query per inserted
-- row (~5 us each, two per order line) and inserts into every index row by
-- row; for a load that is large next to its table it is several times
-- cheaper to drop the table's foreign keys and indexes, write, and add them
-- back: ADD CONSTRAINT validates every row in one anti-join and CREATE INDEX
-- sorts once. The transaction's exclusive locks keep other sessions out
-- meanwhile. Ingest has already rejected unknown references and repeated
-- keys, so the re-checks are a guarantee, not a filter.
-- Returns the statements that restore what was dropped, or NULL when the
-- row-by-row path is kept: small load, large table, a caller who does not
-- own the table, or a table another session is using. Kept in place: indexes
-- that another table's foreign key or a replica identity relies on,
-- clustered ones, and ones in another tablespace (their definition alone
-- would not restore them); and the foreign keys when p_keep_foreign_keys,
-- for a writer that checks them itself (src/ingest/typed_rows.rs).
CREATE FUNCTION c360._begin_bulk_write(p_table regclass, p_rows bigint, p_keep_foreign_keys boolean DEFAULT false)
RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  restore text[] := '{}';
  dropped record;
  target record;
BEGIN
  SELECT c.reltuples, c.relowner INTO target FROM pg_class c WHERE c.oid = p_table;
  IF p_rows < c360.setting('bulk_load_min_rows')::bigint
     -- re-validating and re-indexing cost a pass over the whole table
     OR p_rows * 10 < target.reltuples
     OR NOT pg_has_role(target.relowner, 'USAGE') THEN
    RETURN NULL;
  END IF;
  -- Take the locks the ALTERs need (this table and the ones it references)
  -- without waiting: a session reading them meanwhile, e.g. a refresh, keeps
  -- its snapshot and ingest takes the row-by-row path instead of queueing
  -- behind it or deadlocking with it.
  BEGIN
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT',
                   (SELECT string_agg(DISTINCT r::regclass::text, ', ')
                    FROM (SELECT p_table::oid AS r
                          UNION SELECT k.confrelid FROM pg_constraint k WHERE k.conrelid = p_table AND k.contype = 'f') t));
  EXCEPTION WHEN lock_not_available THEN
    RETURN NULL;
  END;
  FOR dropped IN
    SELECT CASE WHEN k.oid IS NULL THEN format('DROP INDEX %s', o.index_oid::regclass)
                ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', p_table, k.conname) END AS drop_it,
           CASE WHEN k.oid IS NULL THEN pg_get_indexdef(o.index_oid)
                ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', p_table, k.conname, pg_get_constraintdef(k.oid)) END AS restore_it,
           CASE WHEN k.oid IS NULL THEN obj_description(o.index_oid, 'pg_class') ELSE obj_description(k.oid, 'pg_constraint') END AS remark,
           CASE WHEN k.oid IS NULL THEN format('INDEX %s', o.index_oid::regclass)
                ELSE format('CONSTRAINT %I ON %s', k.conname, p_table) END AS remark_on
    -- the foreign keys, then the indexes (through their constraint when they
    -- back a primary key, unique or exclusion constraint)
    FROM (SELECT k.oid AS constraint_oid, NULL::oid AS index_oid
          FROM pg_constraint k WHERE k.conrelid = p_table AND k.contype = 'f' AND NOT p_keep_foreign_keys
          UNION ALL
          SELECT k.oid, i.indexrelid
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = p_table AND k.contype IN ('p', 'u', 'x')
          WHERE i.indrelid = p_table AND i.indisvalid AND NOT i.indisclustered AND NOT i.indisreplident
            AND ic.reltablespace = 0
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.conindid = i.indexrelid AND f.contype = 'f')) o
    LEFT JOIN pg_constraint k ON k.oid = o.constraint_oid
  LOOP
    EXECUTE dropped.drop_it;
    restore := restore || dropped.restore_it;
    IF dropped.remark IS NOT NULL THEN
      restore := restore || format('COMMENT ON %s IS %L', dropped.remark_on, dropped.remark);
    END IF;
  END LOOP;
  RETURN restore;
END
$$;

-- Foreign keys checked once per distinct key. A writer that stores rows
-- straight into a table during a bulk load (src/ingest/typed_rows.rs) fires
-- no triggers, so it checks the table's foreign keys itself, as PostgreSQL's
-- own check trigger would, but once per distinct key written instead of
-- once per row, and after the load has written the referenced rows (orders
-- before their lines): it records the keys in a work table per foreign key,
-- and _check_deferred_foreign_keys looks each one up in the referenced
-- table before the load ends. Only single-column, not deferrable foreign
-- keys whose two columns have the same type (text, integer or bigint) and
-- collation qualify: _checkable_foreign_keys lists them.
CREATE FUNCTION c360._checkable_foreign_keys(p_table regclass)
RETURNS TABLE (constraint_id oid, column_name name, column_type regtype, column_collation oid, referenced regclass)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT k.oid, a.attname, a.atttypid::regtype, a.attcollation, k.confrelid::regclass
  FROM pg_constraint k
  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
  JOIN pg_attribute p ON p.attrelid = k.confrelid AND p.attnum = k.confkey[1]
  WHERE k.conrelid = p_table AND k.contype = 'f' AND cardinality(k.conkey) = 1 AND NOT k.condeferrable
    AND a.atttypid = p.atttypid AND a.attcollation = p.attcollation
    AND a.atttypid IN ('text'::regtype, 'integer'::regtype, 'bigint'::regtype)
$$;

-- Registers the checks of p_table's foreign keys for a writer that records
-- the keys it writes: one work table of keys per foreign key (returned with
-- the column it holds the values of), listed in
-- pg_temp.c360_deferred_key_checks. The referenced tables are locked as
-- ADD FOREIGN KEY locks them, so no referenced row can go before commit.
-- (The writer has made sure every foreign key qualifies.)
CREATE FUNCTION c360._defer_foreign_key_checks(p_table regclass)
RETURNS TABLE (column_name name, keys_table text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE fk record;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = p_table AND k.contype = 'f'
             AND k.oid NOT IN (SELECT c.constraint_id FROM c360._checkable_foreign_keys(p_table) c)) THEN
    RAISE EXCEPTION 'c360 cannot check the foreign keys of % itself', p_table USING ERRCODE = 'internal_error';
  END IF;
  IF to_regclass('pg_temp.c360_deferred_key_checks') IS NULL THEN
    CREATE TEMP TABLE c360_deferred_key_checks (constraint_id oid, keys regclass) ON COMMIT DROP;
  END IF;
  FOR fk IN SELECT * FROM c360._checkable_foreign_keys(p_table) LOOP
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', fk.referenced);
    keys_table := 'c360_keys_of_' || fk.constraint_id;
    IF to_regclass(format('pg_temp.%I', keys_table)) IS NOT NULL THEN
      EXECUTE format('DROP TABLE pg_temp.%I', keys_table);
    END IF;
    -- (the key column's type and collation, for the lookup's equality)
    EXECUTE format('CREATE TEMP TABLE %I (key %s %s) ON COMMIT DROP',
                   keys_table, fk.column_type,
                   (SELECT format('COLLATE %I.%I', n.nspname, l.collname)
                    FROM pg_collation l JOIN pg_namespace n ON n.oid = l.collnamespace WHERE l.oid = fk.column_collation));
    DELETE FROM pg_temp.c360_deferred_key_checks d WHERE d.constraint_id = fk.constraint_id;
    INSERT INTO pg_temp.c360_deferred_key_checks VALUES (fk.constraint_id, format('pg_temp.%I', keys_table)::regclass);
    column_name := fk.column_name;
    RETURN NEXT;
  END LOOP;
END
$$;

-- Looks up every key recorded for a deferred check in its referenced table
-- and raises what PostgreSQL's check raises for the first one missing.
CREATE FUNCTION c360._check_deferred_foreign_keys() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  fk record;
  missing text;
BEGIN
  IF to_regclass('pg_temp.c360_deferred_key_checks') IS NULL THEN
    RETURN;
  END IF;
  FOR fk IN
    SELECT d.keys, k.conname, fc.relname AS fk_table, fn.nspname AS fk_schema, fa.attname AS fk_column,
           k.confrelid::regclass AS referenced, pc.relname AS pk_table, pc.relkind AS pk_kind, pa.attname AS pk_column
    FROM pg_temp.c360_deferred_key_checks d
    JOIN pg_constraint k ON k.oid = d.constraint_id
    JOIN pg_class fc ON fc.oid = k.conrelid
    JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    JOIN pg_attribute fa ON fa.attrelid = k.conrelid AND fa.attnum = k.conkey[1]
    JOIN pg_class pc ON pc.oid = k.confrelid
    JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
  LOOP
    -- One anti-join (ONLY, as PostgreSQL's check reads a plain referenced
    -- table); the smallest key missing, if any (with LIMIT 1 instead, the
    -- planner probes the index once per key: 1.7x slower when none is).
    EXECUTE format('SELECT min(k.key)::text FROM %s k WHERE NOT EXISTS (SELECT 1 FROM %s %s p WHERE p.%I OPERATOR(pg_catalog.=) k.key)',
                   fk.keys, CASE WHEN fk.pk_kind = 'p' THEN '' ELSE 'ONLY' END, fk.referenced, fk.pk_column)
      INTO missing;
    -- (no key recorded is NULL: the writer skips them, as the check does)
    IF missing IS NOT NULL THEN
      RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', fk.fk_table, fk.conname
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (%s)=(%s) is not present in table "%s".', fk.fk_column, missing, fk.pk_table),
              SCHEMA = fk.fk_schema, TABLE = fk.fk_table, CONSTRAINT = fk.conname;
    END IF;
    EXECUTE format('DROP TABLE %s', fk.keys);
  END LOOP;
  DROP TABLE pg_temp.c360_deferred_key_checks;
END
$$;

-- Restores what _begin_bulk_write dropped (nothing for NULL).
CREATE FUNCTION c360._end_bulk_write(statements text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY coalesce(statements, '{}') LOOP
    EXECUTE s;
  END LOOP;
END
$$;

-- The work tables of an Online Retail checking pass (src/ingest/
-- online_retail_load.rs): each line's problem (SPEC §3 rules; one customer
-- per invoice), its position within its invoice, counting every line so
-- keys never shift with the rules, and the typed values of an accepted line
-- or the raw values of a refused one; and, from the accepted lines, the
-- load's orders (customer, kind, earliest time and date), customers
-- (country of their latest line) and products (description of their latest
-- line that has one).
CREATE FUNCTION c360._online_retail_work_tables() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- accepted and refused lines apart: writing the order lines then reads
  -- no messages or raw values (most of the bytes)
  CREATE TEMP TABLE c360_checked_lines (
    line_no bigint, order_id text, order_item_id text, product_id text, quantity integer, unit_price numeric
  ) ON COMMIT DROP;
  CREATE TEMP TABLE c360_refused_lines (line_no bigint, problem text[], raw_values jsonb) ON COMMIT DROP;
  -- every line as ingest's bookkeeping and rejects read them for any source
  -- (_ingest_load drops the view and its tables after each load)
  CREATE TEMP VIEW c360_checked AS
    SELECT line_no, NULL::text[] AS problem, NULL::jsonb AS raw_values FROM pg_temp.c360_checked_lines
    UNION ALL
    SELECT line_no, problem, raw_values FROM pg_temp.c360_refused_lines;
  -- has_facts: lines, units and sale_amount are the order's sums over its
  -- accepted lines (false when a price was too large to sum exactly there)
  CREATE TEMP TABLE c360_checked_orders (
    order_id text, customer_id text, order_status text, order_date date, order_timestamp timestamptz,
    has_facts boolean, lines bigint, units bigint, sale_amount numeric
  ) ON COMMIT DROP;
  CREATE TEMP TABLE c360_checked_customers (customer_id text, country text) ON COMMIT DROP;
  CREATE TEMP TABLE c360_checked_products (product_id text, description text) ON COMMIT DROP;
  -- one row: the lines accepted and refused, and how many of each the pass
  -- stored straight into c360.order_items and c360.rejects (a first load
  -- through load_csv) rather than into the line tables above; and the
  -- facts rows it stored straight into c360.fact_orders (NULL: none, the
  -- facts are left to ingest; a first load of orders through load_csv)
  CREATE TEMP TABLE c360_checked_counts (accepted bigint, refused bigint, accepted_stored bigint, refused_stored bigint,
                                         facts_stored bigint)
    ON COMMIT DROP;
END
$$;

CREATE FUNCTION c360._ingest_online_retail(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  changed bigint; inserted bigint; new_orders bigint; load_orders bigint;
  stored_lines bigint; stored_facts bigint;
  restore_orders text[]; restore_facts text[];
BEGIN
  -- One pass in Rust over the staged lines in file order, unless load_csv
  -- has checked this load straight from its file into the work tables.
  IF current_setting('c360.checked_load', true) IS DISTINCT FROM p_load::text THEN
    PERFORM c360._online_retail_work_tables();
    PERFORM c360._check_online_retail_load(p_load);
  END IF;
  -- The work tables are not analyzed up front (0.34 s of a 2.7 s load at
  -- 1x): the planner sizes a never-analyzed table from its pages, enough for
  -- the joins below, whose typed side has its own statistics and keys. The
  -- lines are analyzed when the load repeats known orders (below).

  -- Customers whose country changed, then the new ones: an update and an
  -- anti-joined insert, as for the orders and lines below (ON CONFLICT's
  -- speculative insertion took 270 ms for the 43,710 customers of a first
  -- 10x load; ingest holds its lock, so no other writer races for the keys).
  -- The orders of changed customers have their facts rebuilt.
  WITH updated AS (
    UPDATE c360.customers t SET country = c.country, load_id = p_load
    FROM pg_temp.c360_checked_customers c
    WHERE t.customer_id = c.customer_id AND t.country IS DISTINCT FROM c.country
    RETURNING t.customer_id),
  inserted AS (
    INSERT INTO c360.customers (customer_id, country, load_id)
    SELECT c.customer_id, c.country, p_load FROM pg_temp.c360_checked_customers c
    WHERE NOT EXISTS (SELECT 1 FROM c360.customers t WHERE t.customer_id = c.customer_id)
    RETURNING customer_id)
  INSERT INTO pg_temp.c360_touched
  SELECT o.order_id FROM c360.orders o
  JOIN (SELECT customer_id FROM updated UNION ALL SELECT customer_id FROM inserted) up USING (customer_id)
  ON CONFLICT DO NOTHING;

  -- a load that gives no description keeps the known one
  INSERT INTO c360.products AS t (product_id, description, load_id)
  SELECT product_id, description, p_load FROM pg_temp.c360_checked_products
  ON CONFLICT (product_id) DO UPDATE SET description = EXCLUDED.description, load_id = EXCLUDED.load_id
  WHERE EXCLUDED.description IS NOT NULL AND t.description IS DISTINCT FROM EXCLUDED.description;

  -- Update the orders that changed, insert the new ones (as for the lines
  -- below); a large load checks their customers and builds their other
  -- indexes once, as for the lines (_begin_bulk_write).
  SELECT count(*) INTO load_orders FROM pg_temp.c360_checked_orders;
  SELECT c.accepted_stored, c.facts_stored INTO stored_lines, stored_facts FROM pg_temp.c360_checked_counts c;
  restore_orders := c360._begin_bulk_write('c360.orders', load_orders);
  -- the facts of the orders new to c360 are written with them (below)
  restore_facts := c360._begin_bulk_write('c360.fact_orders', load_orders);
  IF NOT EXISTS (SELECT 1 FROM c360.orders)
     AND (stored_facts IS NOT NULL OR NOT EXISTS (SELECT 1 FROM c360.fact_orders)) THEN
    -- A first load: every order is new and none has facts yet (but those
    -- the checking pass stored itself), so the statement below reduces to
    -- plain scans of the work table, with no anti-joins and no materialized
    -- CTE (100x: 10.5 s -> 5.9 s, and 3.1 s once the pass stores the facts).
    INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
    SELECT c.order_id, c.customer_id, c.order_status, c.order_date, c.order_timestamp, p_load
    FROM pg_temp.c360_checked_orders c;
    GET DIAGNOSTICS new_orders = ROW_COUNT;
    -- (has_facts: the facts are in the work table to write, or were stored)
    IF stored_facts IS NULL THEN
      -- (the facts the general statement's "facts" step writes below, and
      -- FactRows in src/ingest/online_retail_load.rs when the pass stores them)
      INSERT INTO c360.fact_orders (order_id, customer_id, order_timestamp, order_date, order_status, is_sale, is_return, revenue, lines, units)
      SELECT c.order_id, c.customer_id, c.order_timestamp, c.order_date, c.order_status,
             c.order_status = ANY (s.revenue) AND c.sale_amount IS NOT NULL,
             c.order_status = ANY (s.returns),
             CASE WHEN c.order_status = ANY (s.revenue) THEN coalesce(c.sale_amount, 0) ELSE 0 END,
             c.lines, c.units
      FROM pg_temp.c360_checked_orders c CROSS JOIN c360._order_status_kinds() s
      WHERE c.has_facts;
    END IF;
    INSERT INTO pg_temp.c360_touched (order_id)
    SELECT c.order_id FROM pg_temp.c360_checked_orders c WHERE NOT c.has_facts
    ON CONFLICT DO NOTHING;
  ELSE
    -- (the work table read directly by each step: a CTE over it would be
    -- materialized, spilling to disk at 100x)
    WITH updated AS (
      UPDATE c360.orders t
      SET customer_id = c.customer_id, order_status = c.order_status, order_date = c.order_date,
          order_timestamp = c.order_timestamp, load_id = p_load
      FROM pg_temp.c360_checked_orders c
      WHERE t.order_id = c.order_id
        AND (t.customer_id, t.order_status, t.order_date, t.order_timestamp)
            IS DISTINCT FROM (c.customer_id, c.order_status, c.order_date, c.order_timestamp)
      RETURNING t.order_id),
    -- the orders new to c360 (all CTEs see the orders as they were before
    -- this statement)
    fresh AS (
      SELECT c.* FROM pg_temp.c360_checked_orders c WHERE NOT EXISTS (SELECT 1 FROM c360.orders t WHERE t.order_id = c.order_id)),
    inserted AS (
      INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
      SELECT c.order_id, c.customer_id, c.order_status, c.order_date, c.order_timestamp, p_load FROM fresh c
      RETURNING 1),
    -- (updated and fresh orders are distinct; the anti-join against the
    -- orders listed before this statement does what ON CONFLICT DO NOTHING
    -- did, without a speculative insertion per order). An order new to c360
    -- has no lines but this load's (a line key names its order), so the line
    -- sums the pass kept are its facts' sums: its fact_orders row is written
    -- here, as _refresh_touched_facts would write it, instead of reading its
    -- lines back. Left to _refresh_touched_facts: the updated orders, those
    -- without sums (a price too large to sum in the pass), and those that
    -- still have a facts row (an order deleted outside ingest keeps it until
    -- the next refresh; _refresh_touched_facts replaces it).
    facts AS (
      INSERT INTO c360.fact_orders (order_id, customer_id, order_timestamp, order_date, order_status, is_sale, is_return, revenue, lines, units)
      SELECT c.order_id, c.customer_id, c.order_timestamp, c.order_date, c.order_status,
             c.order_status = ANY (s.revenue) AND c.sale_amount IS NOT NULL,
             c.order_status = ANY (s.returns),
             CASE WHEN c.order_status = ANY (s.revenue) THEN coalesce(c.sale_amount, 0) ELSE 0 END,
             c.lines, c.units
      FROM fresh c CROSS JOIN c360._order_status_kinds() s
      WHERE c.has_facts AND NOT EXISTS (SELECT 1 FROM c360.fact_orders f WHERE f.order_id = c.order_id)),
    touched AS (
      INSERT INTO pg_temp.c360_touched (order_id)
      SELECT u.order_id FROM (
        SELECT order_id FROM updated
        UNION ALL
        SELECT c.order_id FROM fresh c
        WHERE NOT c.has_facts OR EXISTS (SELECT 1 FROM c360.fact_orders f WHERE f.order_id = c.order_id)) u
      WHERE NOT EXISTS (SELECT 1 FROM pg_temp.c360_touched k WHERE k.order_id = u.order_id))
    SELECT count(*) INTO new_orders FROM inserted;
  END IF;
  PERFORM c360._end_bulk_write(restore_orders);
  PERFORM c360._end_bulk_write(restore_facts);
  IF new_orders < load_orders THEN
    -- lines that may update known ones: without statistics the update
    -- below merge-joins (2.5x slower than the hash join it takes with them
    -- when a whole file is loaded again)
    ANALYZE pg_temp.c360_checked_lines (order_item_id);
  END IF;

  -- Update the lines that changed, then insert the new ones (ON CONFLICT's
  -- speculative insertion costs more, and would need the primary key a bulk
  -- load drops and rebuilds afterwards; ingest holds its lock, so no other
  -- writer races for the keys).
  WITH updated AS (
    UPDATE c360.order_items t
    SET order_id = c.order_id, product_id = c.product_id, quantity = c.quantity, unit_price = c.unit_price, load_id = p_load
    FROM pg_temp.c360_checked_lines c
    WHERE t.order_item_id = c.order_item_id
      AND (t.order_id, t.product_id, t.quantity, t.unit_price) IS DISTINCT FROM (c.order_id, c.product_id, c.quantity, c.unit_price)
    RETURNING t.order_id),
  touched AS (INSERT INTO pg_temp.c360_touched SELECT DISTINCT order_id FROM updated ON CONFLICT DO NOTHING)
  SELECT count(*) INTO changed FROM updated;
  -- no RETURNING: handing 400k rows back cost a third of the insert
  INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
  SELECT c.order_item_id, c.order_id, c.product_id, c.quantity, c.unit_price, p_load
  FROM pg_temp.c360_checked_lines c
  WHERE NOT EXISTS (SELECT 1 FROM c360.order_items t WHERE t.order_item_id = c.order_item_id);
  GET DIAGNOSTICS inserted = ROW_COUNT;
  -- lines the pass stored in order_items itself are new lines too
  inserted := inserted + stored_lines;
  IF inserted > 0 AND new_orders < load_orders THEN
    -- New lines belong to the load's orders: their facts are rebuilt (all
    -- of them, a superset when the load also repeats unchanged orders).
    -- The orders this load wrote are done: the updated ones are listed
    -- already, and the new ones have their facts or are listed too.
    INSERT INTO pg_temp.c360_touched (order_id)
    SELECT c.order_id FROM pg_temp.c360_checked_orders c
    WHERE NOT EXISTS (SELECT 1 FROM c360.orders o WHERE o.order_id = c.order_id AND o.load_id = p_load)
    ON CONFLICT DO NOTHING;
  END IF;
  changed := changed + inserted;
  -- (the line tables stay for ingest's bookkeeping and rejects)
  DROP TABLE pg_temp.c360_checked_orders, pg_temp.c360_checked_customers, pg_temp.c360_checked_products;
  RETURN changed;
END
$$;

-- The five normalized extracts. Each checks its values, rejects repeated keys
-- and unknown references, then upserts what is left.
CREATE FUNCTION c360._ingest_customers(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE c360_checked ON COMMIT DROP AS
  SELECT s.line_no,
         coalesce(c360.check_value('customer_id', s.customer_id, 'key', true),
                  c360.check_value('created_at', s.created_at, 'timestamp', false)) AS problem,
         s.customer_id, s.created_at, s.city, s.state, s.country
  FROM c360.stage_customers s WHERE s.load_id = p_load;
  ANALYZE pg_temp.c360_checked;
  PERFORM c360._reject_repeated_keys('customer_id', 'customer_id');
  WITH up AS (
    INSERT INTO c360.customers AS t (customer_id, created_at, city, state, country, load_id)
    SELECT btrim(customer_id), nullif(btrim(created_at), '')::timestamptz, nullif(btrim(city), ''),
           nullif(btrim(state), ''), nullif(btrim(country), ''), p_load
    FROM pg_temp.c360_checked WHERE problem IS NULL
    ON CONFLICT (customer_id) DO UPDATE
      SET created_at = EXCLUDED.created_at, city = EXCLUDED.city, state = EXCLUDED.state,
          country = EXCLUDED.country, load_id = EXCLUDED.load_id
    WHERE (t.created_at, t.city, t.state, t.country)
          IS DISTINCT FROM (EXCLUDED.created_at, EXCLUDED.city, EXCLUDED.state, EXCLUDED.country)
    RETURNING t.customer_id),
  n AS (SELECT count(*) AS n FROM up),
  touched AS (INSERT INTO pg_temp.c360_touched SELECT o.order_id FROM c360.orders o JOIN up USING (customer_id) ON CONFLICT DO NOTHING)
  SELECT n.n INTO changed FROM n;
  RETURN changed;
END
$$;

CREATE FUNCTION c360._ingest_products(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE c360_checked ON COMMIT DROP AS
  SELECT s.line_no,
         c360.check_value('product_id', s.product_id, 'key', true) AS problem,
         s.product_id, s.category, s.brand
  FROM c360.stage_products s WHERE s.load_id = p_load;
  ANALYZE pg_temp.c360_checked;
  PERFORM c360._reject_repeated_keys('product_id', 'product_id');
  WITH up AS (
    INSERT INTO c360.products AS t (product_id, category, brand, load_id)
    SELECT btrim(product_id), nullif(btrim(category), ''), nullif(btrim(brand), ''), p_load
    FROM pg_temp.c360_checked WHERE problem IS NULL
    ON CONFLICT (product_id) DO UPDATE
      SET category = EXCLUDED.category, brand = EXCLUDED.brand, load_id = EXCLUDED.load_id
    WHERE (t.category, t.brand) IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.brand)
    RETURNING 1)
  SELECT count(*) INTO changed FROM up;
  RETURN changed;
END
$$;

CREATE FUNCTION c360._ingest_orders(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE c360_checked ON COMMIT DROP AS
  SELECT s.line_no,
         coalesce(c360.check_value('order_id', s.order_id, 'key', true),
                  c360.check_value('customer_id', s.customer_id, 'key', true),
                  c360.check_value('order_status', s.order_status, 'key', true),
                  c360.check_value('order_date', s.order_date, 'date', false),
                  c360.check_value('order_timestamp', s.order_timestamp, 'timestamp', false),
                  CASE WHEN nullif(btrim(s.order_date), '') IS NULL AND nullif(btrim(s.order_timestamp), '') IS NULL
                       THEN ARRAY['missing_value', 'order_date and order_timestamp are both empty; one is required'] END,
                  CASE WHEN NOT EXISTS (SELECT 1 FROM c360.order_status_rules r WHERE r.order_status = lower(btrim(s.order_status)))
                       THEN ARRAY['unknown_order_status', format('order_status %s is not a known status', quote_literal(s.order_status))] END
         ) AS problem,
         s.order_id, s.customer_id, s.order_status, s.order_date, s.order_timestamp
  FROM c360.stage_orders s WHERE s.load_id = p_load;
  ANALYZE pg_temp.c360_checked;
  PERFORM c360._reject_repeated_keys('order_id', 'order_id');
  PERFORM c360._reject_unknown_refs('customer_id', 'customers', 'customer_id', 'unknown_customer');
  WITH typed AS (
    SELECT btrim(order_id) AS order_id, btrim(customer_id) AS customer_id, lower(btrim(order_status)) AS order_status,
           nullif(btrim(order_date), '')::date AS order_date, nullif(btrim(order_timestamp), '')::timestamptz AS order_timestamp,
           nullif(btrim(order_timestamp), '')::timestamp AS written_timestamp
    FROM pg_temp.c360_checked WHERE problem IS NULL),
  up AS (
    INSERT INTO c360.orders AS t (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
    SELECT order_id, customer_id, order_status,
           coalesce(order_date, written_timestamp::date),
           coalesce(order_timestamp, order_date::timestamptz), p_load
    FROM typed
    ON CONFLICT (order_id) DO UPDATE
      SET customer_id = EXCLUDED.customer_id, order_status = EXCLUDED.order_status,
          order_date = EXCLUDED.order_date, order_timestamp = EXCLUDED.order_timestamp, load_id = EXCLUDED.load_id
    WHERE (t.customer_id, t.order_status, t.order_date, t.order_timestamp)
          IS DISTINCT FROM (EXCLUDED.customer_id, EXCLUDED.order_status, EXCLUDED.order_date, EXCLUDED.order_timestamp)
    RETURNING t.order_id),
  n AS (SELECT count(*) AS n FROM up),
  touched AS (INSERT INTO pg_temp.c360_touched SELECT order_id FROM up ON CONFLICT DO NOTHING)
  SELECT n.n INTO changed FROM n;
  RETURN changed;
END
$$;

CREATE FUNCTION c360._ingest_order_items(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE c360_checked ON COMMIT DROP AS
  SELECT s.line_no,
         coalesce(c360.check_value('order_item_id', s.order_item_id, 'key', true),
                  c360.check_value('order_id', s.order_id, 'key', true),
                  c360.check_value('product_id', s.product_id, 'key', true),
                  c360.order_line_problem(s.quantity, s.unit_price)) AS problem,
         s.order_item_id, s.order_id, s.product_id, s.quantity, s.unit_price
  FROM c360.stage_order_items s WHERE s.load_id = p_load;
  ANALYZE pg_temp.c360_checked;
  PERFORM c360._reject_repeated_keys('order_item_id', 'order_item_id');
  PERFORM c360._reject_unknown_refs('order_id', 'orders', 'order_id', 'unknown_order');
  PERFORM c360._reject_unknown_refs('product_id', 'products', 'product_id', 'unknown_product');
  -- update what changed, insert what is new (see _ingest_online_retail)
  WITH typed AS (
    SELECT btrim(order_item_id) AS order_item_id, btrim(order_id) AS order_id, btrim(product_id) AS product_id,
           btrim(quantity)::integer AS quantity, btrim(unit_price)::numeric AS unit_price
    FROM pg_temp.c360_checked WHERE problem IS NULL),
  updated AS (
    UPDATE c360.order_items t
    SET order_id = c.order_id, product_id = c.product_id, quantity = c.quantity, unit_price = c.unit_price, load_id = p_load
    FROM typed c
    WHERE t.order_item_id = c.order_item_id
      AND (t.order_id, t.product_id, t.quantity, t.unit_price) IS DISTINCT FROM (c.order_id, c.product_id, c.quantity, c.unit_price)
    RETURNING t.order_id),
  inserted AS (
    INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
    SELECT c.order_item_id, c.order_id, c.product_id, c.quantity, c.unit_price, p_load
    FROM typed c WHERE NOT EXISTS (SELECT 1 FROM c360.order_items t WHERE t.order_item_id = c.order_item_id)
    RETURNING order_id),
  up AS (SELECT order_id FROM updated UNION ALL SELECT order_id FROM inserted),
  n AS (SELECT count(*) AS n FROM up),
  touched AS (INSERT INTO pg_temp.c360_touched SELECT DISTINCT order_id FROM up ON CONFLICT DO NOTHING)
  SELECT n.n INTO changed FROM n;
  RETURN changed;
END
$$;

CREATE FUNCTION c360._ingest_payments(p_load bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE c360_checked ON COMMIT DROP AS
  SELECT s.line_no,
         coalesce(c360.check_value('payment_id', s.payment_id, 'key', true),
                  c360.check_value('order_id', s.order_id, 'key', true),
                  c360.check_value('payment_amount', s.payment_amount, 'money', true),
                  c360.check_value('payment_date', s.payment_date, 'date', false)) AS problem,
         s.payment_id, s.order_id, s.payment_type, s.payment_amount, s.payment_date
  FROM c360.stage_payments s WHERE s.load_id = p_load;
  ANALYZE pg_temp.c360_checked;
  PERFORM c360._reject_repeated_keys('payment_id', 'payment_id');
  PERFORM c360._reject_unknown_refs('order_id', 'orders', 'order_id', 'unknown_order');
  -- update what changed, insert what is new (see _ingest_online_retail)
  WITH typed AS (
    SELECT btrim(payment_id) AS payment_id, btrim(order_id) AS order_id, nullif(btrim(payment_type), '') AS payment_type,
           btrim(payment_amount)::numeric AS payment_amount, nullif(btrim(payment_date), '')::date AS payment_date
    FROM pg_temp.c360_checked WHERE problem IS NULL),
  updated AS (
    UPDATE c360.payments t
    SET order_id = c.order_id, payment_type = c.payment_type, payment_amount = c.payment_amount,
        payment_date = c.payment_date, load_id = p_load
    FROM typed c
    WHERE t.payment_id = c.payment_id
      AND (t.order_id, t.payment_type, t.payment_amount, t.payment_date)
          IS DISTINCT FROM (c.order_id, c.payment_type, c.payment_amount, c.payment_date)
    RETURNING 1),
  inserted AS (
    INSERT INTO c360.payments (payment_id, order_id, payment_type, payment_amount, payment_date, load_id)
    SELECT c.payment_id, c.order_id, c.payment_type, c.payment_amount, c.payment_date, p_load
    FROM typed c WHERE NOT EXISTS (SELECT 1 FROM c360.payments t WHERE t.payment_id = c.payment_id)
    RETURNING 1),
  up AS (SELECT 1 FROM updated UNION ALL SELECT 1 FROM inserted)
  SELECT count(*) INTO changed FROM up;
  RETURN changed;
END
$$;

-- The revenue and return statuses of c360.order_status_rules, as two arrays:
-- the facts test an order's status against them. Joined to the view
-- instead, whose 14 rows the planner cannot estimate (a function and a
-- table that is usually empty), the facts statements sorted every order by
-- status for a merge join: an external sort of 2.2M orders at 100x.
CREATE FUNCTION c360._order_status_kinds(OUT revenue text[], OUT returns text[])
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(array_agg(r.order_status) FILTER (WHERE r.is_revenue), '{}'),
         coalesce(array_agg(r.order_status) FILTER (WHERE r.is_return), '{}')
  FROM c360.order_status_rules r
$$;

-- The orders whose facts a load or a rebuild must write: pg_temp.c360_touched.
CREATE FUNCTION c360._create_touched() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  CREATE TEMP TABLE c360_touched (order_id text COLLATE "C" PRIMARY KEY) ON COMMIT DROP;
END
$$;

-- Rebuilds the fact_orders rows of the orders in pg_temp.c360_touched, from
-- their lines: the order-grain sums of what the fact_sales view shows per
-- line, taken from order_items directly rather than through the view's
-- joins (is_sale: a revenue status and a line with units; revenue: the sale
-- lines' amounts; is_return: a return status and at least one line).
-- (_ingest_online_retail writes the facts of new orders the same way from
-- the checking pass's sums.)
CREATE FUNCTION c360._refresh_touched_facts() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM c360.fact_orders f USING pg_temp.c360_touched t WHERE f.order_id = t.order_id;
  INSERT INTO c360.fact_orders (order_id, customer_id, order_timestamp, order_date, order_status, is_sale, is_return, revenue, lines, units)
  SELECT o.order_id, o.customer_id, o.order_timestamp, o.order_date, o.order_status,
         o.order_status = ANY (s.revenue) AND coalesce(l.has_units, false),
         o.order_status = ANY (s.returns) AND l.order_id IS NOT NULL,
         CASE WHEN o.order_status = ANY (s.revenue) THEN coalesce(l.sale_amount, 0) ELSE 0 END,
         coalesce(l.lines, 0),
         coalesce(l.units, 0)
  FROM pg_temp.c360_touched t
  JOIN c360.orders o ON o.order_id = t.order_id
  CROSS JOIN c360._order_status_kinds() s
  LEFT JOIN (SELECT i.order_id, count(*) AS lines, sum(i.quantity) AS units,
                    sum(i.quantity * i.unit_price) FILTER (WHERE i.quantity > 0) AS sale_amount,
                    bool_or(i.quantity > 0) AS has_units
             FROM c360.order_items i
             WHERE i.order_id IN (SELECT k.order_id FROM pg_temp.c360_touched k)
             GROUP BY i.order_id) l ON l.order_id = o.order_id;
END
$$;

CREATE FUNCTION c360._begin_ingest() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE old_tz text := current_setting('TimeZone');
BEGIN
  -- One ingest at a time: two would race on the same keys.
  PERFORM pg_advisory_xact_lock(hashtext('c360.ingest'));
  -- ingest keeps the facts current itself: its changes do not mark them stale
  PERFORM set_config('c360.ingesting', 'on', true);
  -- Staged timestamps without an offset are local times of the source.
  PERFORM set_config('TimeZone', c360.setting('source_timezone'), true);
  -- Transaction-local memory for the sorts and hashes over a whole file
  -- (default 4MB spills them to disk), and for the temp work tables when
  -- this session has not used temp tables yet (PostgreSQL refuses later).
  PERFORM set_config('work_mem', '256MB', true);
  -- (maintenance_work_mem is left as it is: the bulk path's key builds at
  -- 100x took 43-48 s with the default 64MB, 51 s with 256MB and 55-63 s
  -- with 1GB, which also raised the load's peak memory by 0.6 GB; the
  -- external merge is cheaper than a cache-missing sort in memory.)
  -- Ingest's statements run once over whole work tables: compiling them
  -- (their costs are all above jit_above_cost) buys nothing.
  PERFORM set_config('jit', 'off', true);
  BEGIN
    PERFORM set_config('temp_buffers', '256MB', true);
  EXCEPTION WHEN invalid_parameter_value OR cant_change_runtime_param THEN
    NULL;
  END;
  RETURN old_tz;
END
$$;

CREATE FUNCTION c360._end_ingest(old_tz text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM set_config('TimeZone', old_tz, true);
  PERFORM set_config('c360.ingesting', 'off', true);
END
$$;

-- Promotes one load (staged, or checked from its file by load_csv) into the
-- typed tables or c360.rejects, keeps the facts current, clears its staged
-- rows and closes its load_log row, which it returns.
CREATE FUNCTION c360._ingest_load(p_load bigint)
RETURNS TABLE (load_id bigint, source text, rows_read bigint, rows_accepted bigint, rows_rejected bigint, rows_duplicate bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  l record;
  changed bigint;
  accepted bigint;
  rejected_now bigint;
  others boolean;
  staged_rows boolean;
  bulk_table regclass;
  staged bigint;
  stored_rejects bigint;
  restore_bulk text[];
BEGIN
  SELECT g.load_id, g.source INTO l FROM c360.load_log g WHERE g.load_id = p_load;
  PERFORM c360._create_touched();
  -- the line- or row-grain table this source writes most of, when it has
  -- foreign keys or indexes a bulk load may drop
  bulk_table := CASE l.source WHEN 'online_retail' THEN 'c360.order_items' WHEN 'order_items' THEN 'c360.order_items'
                              WHEN 'orders' THEN 'c360.orders' WHEN 'payments' THEN 'c360.payments' END;
  IF bulk_table IS NOT NULL THEN
    -- the load's size decides the path: import_csv or load_csv counted it
    -- (it need not be exact), a client-side \copy did not
    SELECT g.rows_read - g.rows_rejected INTO staged FROM c360.load_log g WHERE g.load_id = l.load_id;
    IF to_regclass('pg_temp.c360_checked_counts') IS NOT NULL THEN
      -- load_csv's checking pass has run: only the lines it did not store
      -- in order_items itself are left to write
      SELECT c.accepted - c.accepted_stored INTO staged FROM pg_temp.c360_checked_counts c;
    ELSIF staged IS NULL THEN
      EXECUTE format('SELECT count(*) FROM c360.%I WHERE load_id = $1', 'stage_' || l.source) INTO staged USING l.load_id;
    END IF;
    restore_bulk := c360._begin_bulk_write(bulk_table, staged);
  END IF;
  EXECUTE format('SELECT c360.%I($1)', '_ingest_' || l.source) INTO changed USING l.load_id;
  IF bulk_table IS NOT NULL THEN
    PERFORM c360._end_bulk_write(restore_bulk);
  END IF;
  IF to_regclass('pg_temp.c360_checked_counts') IS NOT NULL THEN
    -- counted by the checking pass (Online Retail), which may have stored
    -- refused lines as rejects itself
    SELECT c.accepted, c.refused, c.refused_stored INTO accepted, rejected_now, stored_rejects FROM pg_temp.c360_checked_counts c;
  ELSE
    SELECT count(*) FILTER (WHERE problem IS NULL), count(*) FILTER (WHERE problem IS NOT NULL), 0
    INTO accepted, rejected_now, stored_rejects FROM pg_temp.c360_checked;
  END IF;
  restore_bulk := c360._begin_bulk_write('c360.rejects', rejected_now - stored_rejects);
  rejected_now := stored_rejects + c360._reject_checked_rows(l.load_id, l.source);
  PERFORM c360._end_bulk_write(restore_bulk);
  -- the facts of a large load's orders: fact_orders' keys built once too
  restore_bulk := c360._begin_bulk_write('c360.fact_orders', (SELECT count(*) FROM pg_temp.c360_touched));
  PERFORM c360._refresh_touched_facts();
  PERFORM c360._end_bulk_write(restore_bulk);
  -- the foreign keys of rows the checking pass stored itself, now that
  -- their orders and products are in
  PERFORM c360._check_deferred_foreign_keys();
  DROP TABLE pg_temp.c360_touched;
  -- a table, or the Online Retail view over its line tables (the next
  -- load of the same ingest creates them again)
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'pg_temp.c360_checked'::regclass) = 'v' THEN
    DROP VIEW pg_temp.c360_checked;
    DROP TABLE pg_temp.c360_checked_lines, pg_temp.c360_refused_lines, pg_temp.c360_checked_counts;
  ELSE
    DROP TABLE pg_temp.c360_checked;
  END IF;
  -- Staged rows now live on typed or as rejects (a load read by load_csv
  -- has none). TRUNCATE when the load is all the table holds: deleting
  -- millions of rows one by one is slow. (range probes of the primary key,
  -- not a scan past the whole load)
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM c360.%I WHERE load_id = $1)', 'stage_' || l.source)
    INTO staged_rows USING l.load_id;
  IF staged_rows THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM c360.%1$I WHERE load_id < $1) OR EXISTS (SELECT 1 FROM c360.%1$I WHERE load_id > $1)',
                   'stage_' || l.source)
      INTO others USING l.load_id;
    IF others THEN
      EXECUTE format('DELETE FROM c360.%I WHERE load_id = $1', 'stage_' || l.source) USING l.load_id;
    ELSE
      EXECUTE format('TRUNCATE c360.%I', 'stage_' || l.source);
    END IF;
  END IF;
  RETURN QUERY
  UPDATE c360.load_log g
  SET status = 'ingested',
      -- a client-side \copy load has no import step: what was staged was read
      rows_read = CASE WHEN g.file_name IS NULL THEN accepted + rejected_now ELSE g.rows_read END,
      rows_accepted = accepted, rows_rejected = g.rows_rejected + rejected_now,
      -- accepted rows that changed nothing were already there: duplicates
      rows_duplicate = accepted - changed, finished_at = clock_timestamp()
  WHERE g.load_id = l.load_id
  RETURNING g.load_id, g.source, g.rows_read, g.rows_accepted, g.rows_rejected, g.rows_duplicate;
END
$$;

CREATE FUNCTION c360.ingest()
RETURNS TABLE (load_id bigint, source text, rows_read bigint, rows_accepted bigint, rows_rejected bigint, rows_duplicate bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  staged_load bigint;
  old_tz text := c360._begin_ingest();
BEGIN
  -- The loads are listed (and locked) up front rather than by an open
  -- cursor: a cursor on load_log would keep _begin_bulk_write from
  -- altering rejects, whose foreign key points at load_log.
  FOREACH staged_load IN ARRAY ARRAY(
    SELECT g.load_id FROM c360.load_log g
    WHERE g.status = 'staged'
    -- parents before children, then in load order
    ORDER BY array_position(ARRAY['online_retail','customers','products','orders','order_items','payments'], g.source), g.load_id
    FOR UPDATE)
  LOOP
    RETURN QUERY SELECT * FROM c360._ingest_load(staged_load);
  END LOOP;
  PERFORM c360._end_ingest(old_tz);
END
$$;
-- Changes data: for the DBA's roles, not PUBLIC (GRANT EXECUTE to an ETL role).
REVOKE EXECUTE ON FUNCTION c360.ingest() FROM PUBLIC;

-- Import and ingest in one transaction. An Online Retail file is checked
-- as it is read, with no staging (the lines are never written as text and
-- read back); other sources go through import_csv. Only this load is
-- promoted: loads staged before wait for ingest().
CREATE FUNCTION c360.load_csv(
  source text, path text, header boolean DEFAULT NULL, delimiter text DEFAULT ',',
  quote text DEFAULT '"', encoding text DEFAULT 'UTF8')
RETURNS TABLE (load_id bigint, rows_read bigint, rows_accepted bigint, rows_rejected bigint, rows_duplicate bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_tz text := c360._begin_ingest();
  this_load bigint;
  estimated_lines bigint;
  restore_lines text[];
  restore_rejects text[];
  restore_facts text[];
  lines_direct boolean;
  facts_direct boolean;
BEGIN
  IF load_csv.source IS NULL OR load_csv.path IS NULL OR delimiter IS NULL OR quote IS NULL OR encoding IS NULL THEN
    RAISE EXCEPTION 'load_csv needs a source and a path, and a delimiter, quote and encoding that are not NULL'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Call c360.load_csv(''online_retail'', ''/path/on/the/server.csv''); header => NULL detects a header.';
  END IF;
  IF load_csv.source = 'online_retail' THEN
    PERFORM c360._online_retail_work_tables();
    -- A first load (no order lines yet) large enough for the bulk path
    -- (_begin_bulk_write: the indexes dropped now, rebuilt at the end) has
    -- its accepted lines and its refused ones stored straight into
    -- order_items and rejects by the checking pass, with no work table in
    -- between. Every line key is then new: none can collide with a stored
    -- one. The foreign keys stay: the pass checks them itself, once per
    -- distinct key (_check_deferred_foreign_keys); were it to fall back on
    -- the work tables, _ingest_load drops them for its INSERT. (The load's
    -- size is estimated from the file's: at least 64 bytes a line.) When
    -- c360 holds no orders and no facts either, the pass stores the facts
    -- of the load's orders in fact_orders too, its keys built at the end:
    -- every order is new, and its facts are its lines summed by the pass.
    IF NOT EXISTS (SELECT 1 FROM c360.order_items) THEN
      estimated_lines := c360._server_file_size(path) / 64;
      restore_lines := c360._begin_bulk_write('c360.order_items', estimated_lines, true);
      IF restore_lines IS NOT NULL THEN
        restore_rejects := c360._begin_bulk_write('c360.rejects', estimated_lines, true);
        -- (orders is locked already: order_items' foreign key references it)
        IF NOT EXISTS (SELECT 1 FROM c360.orders) AND NOT EXISTS (SELECT 1 FROM c360.fact_orders) THEN
          restore_facts := c360._begin_bulk_write('c360.fact_orders', estimated_lines);
        END IF;
      END IF;
    END IF;
    -- (order_items, orders and fact_orders are still empty, now that the
    -- bulk path holds their locks)
    lines_direct := restore_lines IS NOT NULL AND NOT EXISTS (SELECT 1 FROM c360.order_items);
    facts_direct := lines_direct AND restore_facts IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM c360.orders) AND NOT EXISTS (SELECT 1 FROM c360.fact_orders);
    this_load := c360._check_online_retail_file(path, header, delimiter, quote, encoding, lines_direct, restore_rejects IS NOT NULL,
                                                facts_direct);
    PERFORM set_config('c360.checked_load', this_load::text, true);
  ELSE
    SELECT i.load_id INTO this_load FROM c360.import_csv(load_csv.source, path, header, delimiter, quote, encoding) i;
  END IF;
  RETURN QUERY SELECT i.load_id, i.rows_read, i.rows_accepted, i.rows_rejected, i.rows_duplicate FROM c360._ingest_load(this_load) i;
  PERFORM c360._end_bulk_write(restore_facts);
  PERFORM c360._end_bulk_write(restore_rejects);
  PERFORM c360._end_bulk_write(restore_lines);
  PERFORM set_config('c360.checked_load', '', true);
  PERFORM c360._end_ingest(old_tz);
END
$$;
REVOKE EXECUTE ON FUNCTION c360.load_csv(text, text, boolean, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION c360.load_csv(text, text, boolean, text, text, text) IS 'reads a CSV file on the server and promotes it into the typed tables or c360.rejects in one transaction (import_csv + ingest of this load; an Online Retail file is checked as it is read, without staging); returns its load_log row';
COMMENT ON FUNCTION c360.ingest() IS 'promotes every staged load into the typed tables or c360.rejects (parents first), keeps fact_sales/fact_orders current, and returns one row per load: read = accepted + rejected';
