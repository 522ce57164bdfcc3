-- c360 comments: runs last (finalize), when every object exists, so it can
-- describe the functions pgrx generates from Rust. What \d+ and \df+ show.
COMMENT ON FUNCTION c360.import_csv(text, text, boolean, text, text, text) IS
  'reads a CSV file on the database server into c360.stage_<source> (one load); malformed lines go to c360.rejects; needs pg_read_server_files; follow with c360.ingest()';
COMMENT ON FUNCTION c360.check_value(text, text, text, boolean) IS
  'NULL when a staged text value is acceptable as kind text/key/integer/decimal/money/timestamp/date, else {reason, message}';
COMMENT ON FUNCTION c360.online_retail_line_problem(text, text, text, text, text, text) IS
  'NULL for an Online Retail sale or return line (SPEC §3), else {reason, message}';
COMMENT ON FUNCTION c360.order_line_problem(text, text) IS
  'NULL when an order_items quantity and unit_price are acceptable (quantity > 0, price >= 0, amount < 10^12), else {reason, message}';
COMMENT ON FUNCTION c360._check_online_retail_load(bigint) IS
  'internal (ingest): checks the staged lines of an Online Retail load in file order into pg_temp.c360_checked_lines (accepted) and c360_refused_lines, and its orders, customers and products into pg_temp.c360_checked_orders, _customers and _products';
COMMENT ON FUNCTION c360._check_online_retail_file(text, boolean, text, text, text, boolean, boolean, boolean) IS
  'internal (load_csv): registers a load and checks the lines of an Online Retail file on the server as they are read, into the work tables of _check_online_retail_load, or (a first bulk load) straight into c360.order_items and c360.rejects, and (no orders yet) the orders'' facts into c360.fact_orders; malformed records go to c360.rejects';
COMMENT ON FUNCTION c360._server_file_size(text) IS 'internal (load_csv): the size in bytes of a file on the database server, for roles that may read server files';
COMMENT ON FUNCTION c360._online_retail_work_tables() IS 'internal: creates the work tables of an Online Retail checking pass';
COMMENT ON FUNCTION c360._begin_ingest() IS 'internal: takes the ingest lock and sets the transaction''s time zone and memory for an ingest; returns the time zone to restore';
COMMENT ON FUNCTION c360._end_ingest(text) IS 'internal: restores what _begin_ingest set';
COMMENT ON FUNCTION c360._ingest_load(bigint) IS 'internal: promotes one load into the typed tables or c360.rejects and closes its load_log row (called by ingest and load_csv)';
COMMENT ON FUNCTION c360.normalize_customer_id(text) IS 'Online Retail CustomerID as stored: 17850.0 -> 17850';
COMMENT ON FUNCTION c360.version() IS 'version of the installed c360 library';
COMMENT ON FUNCTION c360._ingest_online_retail(bigint) IS 'internal: promotes one staged Online Retail load (called by c360.ingest)';
COMMENT ON FUNCTION c360._ingest_customers(bigint) IS 'internal: promotes one staged customers load (called by c360.ingest)';
COMMENT ON FUNCTION c360._ingest_products(bigint) IS 'internal: promotes one staged products load (called by c360.ingest)';
COMMENT ON FUNCTION c360._ingest_orders(bigint) IS 'internal: promotes one staged orders load (called by c360.ingest)';
COMMENT ON FUNCTION c360._ingest_order_items(bigint) IS 'internal: promotes one staged order_items load (called by c360.ingest)';
COMMENT ON FUNCTION c360._ingest_payments(bigint) IS 'internal: promotes one staged payments load (called by c360.ingest)';
COMMENT ON FUNCTION c360._reject_checked_rows(bigint, text) IS 'internal: records the rows of the current load that failed a check';
COMMENT ON FUNCTION c360._begin_bulk_write(regclass, bigint, boolean) IS 'internal: drops a table''s indexes and (unless kept) foreign keys before a bulk load when that is cheaper than row-by-row checks and index inserts, returning the statements that add them back (NULL: row-by-row path)';
COMMENT ON FUNCTION c360._checkable_foreign_keys(regclass) IS 'internal: the foreign keys of a table that a direct writer may check itself, once per distinct key';
COMMENT ON FUNCTION c360._defer_foreign_key_checks(regclass) IS 'internal: registers the checks of a table''s foreign keys for a direct writer, with a work table of keys each (all of them must qualify: _checkable_foreign_keys)';
COMMENT ON FUNCTION c360._check_deferred_foreign_keys() IS 'internal: looks up the keys a direct writer recorded in their referenced tables, raising a foreign-key violation for the first missing one';
COMMENT ON FUNCTION c360._end_bulk_write(text[]) IS 'internal: adds back the foreign keys and indexes _begin_bulk_write dropped, validating every row';
COMMENT ON FUNCTION c360._reject_repeated_keys(text, text) IS 'internal: marks rows repeating a key seen earlier in the same load';
COMMENT ON FUNCTION c360._reject_unknown_refs(text, text, text, text) IS 'internal: marks rows referencing a key that does not exist';
COMMENT ON FUNCTION c360._order_status_kinds() IS 'internal: the revenue and the return statuses of c360.order_status_rules, as two arrays';
COMMENT ON FUNCTION c360._create_touched() IS 'internal: creates pg_temp.c360_touched, the orders whose facts a load or a rebuild writes from their lines';
COMMENT ON FUNCTION c360._refresh_touched_facts() IS 'internal: rebuilds the fact_orders rows of the orders a load touched';

-- Staging tables and copy views: every column is the raw text of the CSV
-- column of the same name; say so once, for all of them.
DO $$
DECLARE col record;
BEGIN
  FOR col IN
    SELECT c.oid::regclass AS rel, a.attname
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = 'c360'::regnamespace AND c.relkind IN ('r', 'v')
      AND (c.relname LIKE 'stage\_%' OR c.relname LIKE '%\_csv')
  LOOP
    EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', col.rel, col.attname,
      CASE col.attname
        WHEN 'load_id' THEN 'the load the row belongs to (c360.load_log)'
        WHEN 'line_no' THEN 'line of the file on which the record starts (1 = header)'
        ELSE format('raw text of the CSV column %s, as read', col.attname)
      END);
  END LOOP;
END
$$;

-- RFM (src/rfm)
COMMENT ON FUNCTION c360.rfm_breaks_transition(internal, float8) IS 'internal: transition function of c360.rfm_breaks(value)';
COMMENT ON FUNCTION c360.rfm_breaks_transition_bins(internal, float8, integer) IS 'internal: transition function of c360.rfm_breaks(value, n)';
COMMENT ON FUNCTION c360.rfm_breaks_combine(internal, internal) IS 'internal: combines partial rfm_breaks states (parallel plans)';
COMMENT ON FUNCTION c360.rfm_breaks_serialize(internal) IS 'internal: serializes an rfm_breaks state for a parallel worker';
COMMENT ON FUNCTION c360.rfm_breaks_deserialize(bytea, internal) IS 'internal: deserializes an rfm_breaks state from a parallel worker';
COMMENT ON FUNCTION c360.rfm_breaks_final(internal) IS 'internal: final function of c360.rfm_breaks';
COMMENT ON FUNCTION c360.rfm_score(float8, float8[], boolean) IS 'score 1..n of a value against ascending cut points: 1 + cut points below it (or above it when lower_is_better, as for recency); ties share a score';
COMMENT ON FUNCTION c360.rfm_segment(integer, integer, integer) IS 'default RFM segment (SPEC §5 grid) of R, F, M scores 1-5';
COMMENT ON FUNCTION c360.rfm_tier(text) IS 'default tier of a segment name (Champions, Loyal, At Risk, Churn Risk); NULL for other names';
COMMENT ON FUNCTION c360.segment_rule_defaults() IS 'the default segment rules (SPEC §5 grid)';
COMMENT ON FUNCTION c360.check_segment_rules() IS 'problems of c360.segment_rules: unmapped or ambiguous cells, unreachable segments, mixed tiers; no rows = usable';
COMMENT ON FUNCTION c360.segment_map() IS 'all 125 (r, f, m) cells with the segment and tier c360.segment_rules gives them; errors on a broken rule set';
COMMENT ON FUNCTION c360.rfm_segment_by_rules(integer, integer, integer) IS 'RFM segment of R, F, M scores by c360.segment_rules (read once per query)';

-- refresh (src/refresh.rs)
COMMENT ON FUNCTION c360._log_refresh_failure(bigint, timestamptz, text, text) IS 'internal: logs a failed refresh run from a background worker, since the run''s own transaction rolls back';
COMMENT ON FUNCTION c360._write_derived_rows(text, text) IS 'internal refresh helper: makes a derived per-customer table hold exactly the rows of pg_temp.c360_new_rows, updating changed rows in place';

