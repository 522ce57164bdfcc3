-- Installing c360: one CREATE EXTENSION puts everything in schema c360.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;

-- The library and the installed SQL agree on the version, the schema is
-- c360 and the extension cannot be relocated.
SELECT e.extname, e.extversion = c360.version() AS versions_match,
       n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'c360';

-- No object of the extension lives outside schema c360.
SELECT obj.type, obj.identity
FROM pg_depend d
JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) AS obj
WHERE e.extname = 'c360' AND d.deptype = 'e'
  AND obj.schema IS DISTINCT FROM 'c360';

-- Every function that runs SQL pins its search_path, so objects a user
-- creates in another schema can never be picked up by c360's code. The
-- exceptions are Rust functions that run no SQL at all (pure computations
-- called once per row, where SET search_path would cost a configuration
-- save and restore on every call: 3.6x slower scoring); this is their list.
SELECT p.oid::regprocedure AS function_without_pinned_search_path
FROM pg_proc p
WHERE p.pronamespace = 'c360'::regnamespace
  AND p.prokind <> 'a'  -- aggregates run their support functions
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
  AND NOT (p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.proname IN (
        'version', 'check_value', 'online_retail_line_problem', 'order_line_problem', 'normalize_customer_id',
        '_latest_value_transition', '_latest_value_final',
        'rfm_breaks_transition', 'rfm_breaks_transition_bins', 'rfm_breaks_combine',
        'rfm_breaks_serialize', 'rfm_breaks_deserialize', 'rfm_breaks_final',
        '_purchase_days_transition', '_purchase_days_final', '_first_day_revenue_final', '_first_purchase_day_final',
        '_last_purchase_day_final', '_purchase_count_final', '_purchase_revenue_final',
        '_second_purchase_day_final', '_purchase_months_final',
        'rfm_score', 'rfm_segment', 'rfm_tier', 'segment_rule_defaults',
        'kmeans_fit_transition', 'kmeans_fit_transition_options', 'kmeans_select_k_transition',
        'kmeans_select_k_transition_options', 'kmeans_combine', 'kmeans_serialize', 'kmeans_deserialize',
        'kmeans_fit_final', 'kmeans_select_k_final', 'kmeans_assign', 'kmeans_reorder', 'kmeans_k_scores',
        'kmeans_model_in', 'kmeans_model_out', 'cluster_features',
        'bgnbd_fit_transition', 'gamma_gamma_fit_transition', 'btyd_rows_combine', 'btyd_rows_serialize',
        'btyd_rows_deserialize', 'bgnbd_fit_final', 'gamma_gamma_fit_final', 'bgnbd_p_alive',
        'bgnbd_expected_purchases', 'gamma_gamma_expected_value', 'clv',
        'bgnbd_model_in', 'bgnbd_model_out', 'gamma_gamma_model_in', 'gamma_gamma_model_out',
        '_sample_customers', '_sample_products', '_sample_orders', '_sample_order_items', '_sample_payments'));

-- SECURITY DEFINER is used once: as_of_date() lets a grant_reader role read
-- the KPI views, which call it, without reading settings or fact_orders. It
-- takes no argument and pins its search_path.
SELECT p.oid::regprocedure AS security_definer, p.proconfig
FROM pg_proc p WHERE p.pronamespace = 'c360'::regnamespace AND p.prosecdef;

-- Every table, view, column and function carries a COMMENT, which is what
-- \d+ and \df+ show a DBA.
SELECT c.oid::regclass AS relation_without_comment
FROM pg_class c
WHERE c.relnamespace = 'c360'::regnamespace AND c.relkind IN ('r', 'v', 'm')
  AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.oid::regclass AS relation, a.attname AS column_without_comment
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'c360'::regnamespace AND c.relkind IN ('r', 'v', 'm')
  AND col_description(c.oid, a.attnum) IS NULL;
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_proc p
WHERE p.pronamespace = 'c360'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;

-- Keys compare byte by byte (COLLATE "C") whatever the database's locale:
-- ids are opaque codes, their order is the same on every server, and their
-- indexes build without locale-aware comparisons. Every id column of a
-- table (not staging, which keeps the file's text as it came) is one.
SELECT c.relname AS table_with_a_locale_sorted_key, a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'c360'::regnamespace AND c.relkind = 'r' AND c.relname NOT LIKE 'stage\_%'
  AND a.attname IN ('customer_id', 'product_id', 'order_id', 'order_item_id', 'payment_id')
  AND a.attcollation <> 'pg_catalog."C"'::regcollation
ORDER BY 1, 2;
-- Joining them to a table of the database's own collation just works.
CREATE TEMP TABLE crm (customer_id text);
INSERT INTO crm VALUES ('17850');
SELECT count(*) AS joined FROM crm JOIN c360.customers USING (customer_id);
