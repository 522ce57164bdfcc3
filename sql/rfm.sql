-- RFM (SPEC.md §5): the rfm_breaks aggregate, the editable segment rules,
-- the per-customer metrics and scores the refresh rebuilds.
-- The math (cut points, scores, rule resolution) is Rust: src/rfm/.

------------------------------------------------------------------------------
-- rfm_breaks: a parallel-safe aggregate (support functions in src/rfm/mod.rs).
-- Hand-written because pgrx 0.18's #[pg_aggregate] declares a wrong
-- deserialize signature for internal states (pgrx #2351).
------------------------------------------------------------------------------
-- The two functions called once per row are hand-written fmgr functions in
-- src/rfm/mod.rs (pgrx's per-call argument handling cost more than the work).
CREATE FUNCTION c360.rfm_breaks_transition(state internal, value float8) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'c360_rfm_breaks_transition';
CREATE FUNCTION c360.rfm_score(value float8, breaks float8[], lower_is_better boolean DEFAULT false) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'c360_rfm_score';

CREATE AGGREGATE c360.rfm_breaks(value float8) (
    SFUNC = c360.rfm_breaks_transition,
    STYPE = internal,
    FINALFUNC = c360.rfm_breaks_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.rfm_breaks_combine,
    SERIALFUNC = c360.rfm_breaks_serialize,
    DESERIALFUNC = c360.rfm_breaks_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE c360.rfm_breaks(value float8, bins integer) (
    SFUNC = c360.rfm_breaks_transition_bins,
    STYPE = internal,
    FINALFUNC = c360.rfm_breaks_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.rfm_breaks_combine,
    SERIALFUNC = c360.rfm_breaks_serialize,
    DESERIALFUNC = c360.rfm_breaks_deserialize,
    PARALLEL = SAFE
);

-- segment_map() (src/rfm/mod.rs) always returns the 125 cells; saying so
-- lets the planner hash-join the scores to it instead of sorting them.
ALTER FUNCTION c360.segment_map() ROWS 125;

------------------------------------------------------------------------------
-- Segment rules: pre-filled with the spec's grid, yours to edit.
------------------------------------------------------------------------------
CREATE TABLE c360.segment_rules (
    segment    text NOT NULL CHECK (btrim(segment) <> ''),
    tier       text NOT NULL CHECK (btrim(tier) <> ''),
    r_min      integer NOT NULL CHECK (r_min BETWEEN 1 AND 5),
    r_max      integer NOT NULL CHECK (r_max BETWEEN r_min AND 5),
    f_min      integer NOT NULL CHECK (f_min BETWEEN 1 AND 5),
    f_max      integer NOT NULL CHECK (f_max BETWEEN f_min AND 5),
    m_min      integer NOT NULL DEFAULT 1 CHECK (m_min BETWEEN 1 AND 5),
    m_max      integer NOT NULL DEFAULT 5 CHECK (m_max BETWEEN m_min AND 5),
    priority   integer NOT NULL,
    customized boolean NOT NULL DEFAULT false,
    PRIMARY KEY (segment, r_min, f_min, m_min)
);
INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority)
SELECT * FROM c360.segment_rule_defaults();

-- pg_dump keeps the rule set only once you changed it (customized rows).
-- Restoring such a dump inserts customized rows right after CREATE EXTENSION
-- put the defaults back; the first of them clears those defaults, so the
-- restored rule set is exactly yours.
CREATE FUNCTION c360.segment_rules_replace_defaults() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
  IF NEW.customized THEN
    DELETE FROM c360.segment_rules WHERE NOT customized;
  END IF;
  RETURN NEW;
END
$$;
CREATE FUNCTION c360.segment_rules_mark_customized() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
  IF pg_trigger_depth() = 1 AND current_setting('c360.resetting_rules', true) IS DISTINCT FROM 'on' THEN
    UPDATE c360.segment_rules SET customized = true WHERE NOT customized;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER segment_rules_replace_defaults BEFORE INSERT ON c360.segment_rules
  FOR EACH ROW EXECUTE FUNCTION c360.segment_rules_replace_defaults();
CREATE TRIGGER segment_rules_mark_customized AFTER INSERT OR UPDATE OR DELETE ON c360.segment_rules
  FOR EACH STATEMENT EXECUTE FUNCTION c360.segment_rules_mark_customized();
SELECT pg_catalog.pg_extension_config_dump('c360.segment_rules', 'WHERE customized');

CREATE FUNCTION c360.reset_segment_rules() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog
AS $$
DECLARE n bigint;
BEGIN
  PERFORM set_config('c360.resetting_rules', 'on', true);
  DELETE FROM c360.segment_rules;
  INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority)
  SELECT * FROM c360.segment_rule_defaults();
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('c360.resetting_rules', 'off', true);
  RETURN n;
END
$$;
REVOKE EXECUTE ON FUNCTION c360.reset_segment_rules() FROM PUBLIC;

------------------------------------------------------------------------------
-- Derived by the refresh: customer metrics and RFM scores
------------------------------------------------------------------------------
CREATE TABLE c360.customer_metrics (
    customer_id      text COLLATE "C" PRIMARY KEY,
    first_order_date date NOT NULL,
    last_order_date  date NOT NULL,
    tenure_days      integer NOT NULL,
    recency_days     integer NOT NULL,
    frequency        integer NOT NULL,
    monetary         numeric NOT NULL,
    as_of            date NOT NULL
) WITH (fillfactor = 50);  -- rewritten in place by every refresh (c360._write_derived_rows)

CREATE TABLE c360.rfm_segments (
    customer_id text COLLATE "C" PRIMARY KEY,
    r           integer NOT NULL,
    f           integer NOT NULL,
    m           integer NOT NULL,
    rfm_score   text NOT NULL,
    segment     text NOT NULL,
    tier        text NOT NULL,
    as_of       date NOT NULL
) WITH (fillfactor = 50);  -- rewritten in place by every refresh (c360._write_derived_rows)
CREATE INDEX rfm_segments_segment_idx ON c360.rfm_segments (segment);

-- The cut points of the last refresh, one row per measure and score: what a
-- report shows to explain a score ("F = 3 means 2 to 3 orders").
CREATE TABLE c360.rfm_thresholds (
    measure     text NOT NULL,
    score       integer NOT NULL,
    lower_bound numeric(19,4),
    upper_bound numeric(19,4),
    customers   bigint NOT NULL,
    as_of       date NOT NULL,
    PRIMARY KEY (measure, score)
);

-- as_of: the 'as_of' setting, or the day after the latest sale.
-- SECURITY DEFINER: the KPI views call it, and a BI reader may read them
-- without being allowed to read settings or fact_orders themselves.
CREATE FUNCTION c360.as_of_date() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog
AS $$
  SELECT CASE WHEN c360.setting('as_of') = 'auto'
              THEN (SELECT max(order_date) + 1 FROM c360.fact_orders WHERE is_sale)
              ELSE c360.setting('as_of')::date END
$$;

-- Step: one row per customer with a sale before as_of. A plain GROUP BY
-- customer_id over the order-grain fact: Citus pushes it to the shards.
CREATE FUNCTION c360._refresh_customer_metrics(as_of date) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE n bigint;
BEGIN
  -- pg_temp.c360_refresh_purchases: c360._customer_purchases(as_of), made by refresh_c360
  CREATE TEMP TABLE c360_new_rows ON COMMIT DROP AS
  SELECT customer_id, first_day AS first_order_date, last_day AS last_order_date,
         as_of - first_day AS tenure_days, as_of - last_day AS recency_days,
         orders AS frequency, revenue AS monetary, as_of AS as_of
  FROM pg_temp.c360_refresh_purchases;
  RETURN c360._write_derived_rows('customer_metrics', 'customer_id');
END
$$;

-- Step: R, F, M scores (quintile cut points, or ntile), segment and tier
-- from the checked rule set.
CREATE FUNCTION c360._refresh_rfm_segments(as_of date, method text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM c360.rfm_thresholds;
  CREATE TEMP TABLE c360_new_rows ON COMMIT DROP AS
  WITH breaks AS (
    SELECT c360.rfm_breaks(recency_days) AS r, c360.rfm_breaks(frequency) AS f, c360.rfm_breaks(monetary::float8) AS m
    FROM c360.customer_metrics WHERE method = 'quintile'),
  scores AS (
    SELECT customer_id, recency_days, frequency, monetary,
           c360.rfm_score(recency_days, b.r, true) AS r,
           c360.rfm_score(frequency, b.f) AS f,
           c360.rfm_score(monetary::float8, b.m) AS m
    FROM c360.customer_metrics, breaks b WHERE method = 'quintile'
    UNION ALL
    SELECT customer_id, recency_days, frequency, monetary,
           ntile(5) OVER (ORDER BY recency_days DESC, customer_id),
           ntile(5) OVER (ORDER BY frequency, customer_id),
           ntile(5) OVER (ORDER BY monetary, customer_id)
    FROM c360.customer_metrics WHERE method <> 'quintile')
  SELECT s.customer_id, s.r::integer AS r, s.f::integer AS f, s.m::integer AS m, concat(s.r, s.f, s.m) AS rfm_score,
         cell.segment, cell.tier, as_of AS as_of,
         s.recency_days, s.frequency, s.monetary  -- not written to rfm_segments: for rfm_thresholds
  FROM scores s JOIN c360.segment_map() cell USING (r, f, m);

  -- Each score's value range, measured on the scored customers.
  INSERT INTO c360.rfm_thresholds
  SELECT 'recency_days', s.r, min(s.recency_days), max(s.recency_days), count(*), _refresh_rfm_segments.as_of FROM pg_temp.c360_new_rows s GROUP BY s.r
  UNION ALL
  SELECT 'frequency', s.f, min(s.frequency), max(s.frequency), count(*), _refresh_rfm_segments.as_of FROM pg_temp.c360_new_rows s GROUP BY s.f
  UNION ALL
  SELECT 'monetary', s.m, min(s.monetary), max(s.monetary), count(*), _refresh_rfm_segments.as_of FROM pg_temp.c360_new_rows s GROUP BY s.m;

  -- Customers, revenue and orders per segment, for the KPI step's
  -- segment_summary (sql/kpi.sql), which so needs no join of the customers.
  IF to_regclass('pg_temp.c360_refresh_segments') IS NOT NULL THEN DROP TABLE pg_temp.c360_refresh_segments; END IF;
  CREATE TEMP TABLE c360_refresh_segments ON COMMIT DROP AS
  SELECT s.segment, s.tier, count(*) AS customers, sum(s.monetary) AS revenue, sum(s.frequency) AS orders
  FROM pg_temp.c360_new_rows s GROUP BY s.segment, s.tier;

  n := c360._write_derived_rows('rfm_segments', 'customer_id');
  RETURN n;
END
$$;

------------------------------------------------------------------------------
-- What \d+ and \df+ show
------------------------------------------------------------------------------
COMMENT ON AGGREGATE c360.rfm_breaks(float8) IS 'the 4 quintile cut points of a value (percentile_cont at 0.2, 0.4, 0.6, 0.8); NULLs ignored, NULL for no rows; parallel safe';
COMMENT ON AGGREGATE c360.rfm_breaks(float8, integer) IS 'the n-1 cut points splitting a value into n bins (percentile_cont at i/n), n from 1 to 100; NULLs ignored, NULL for no rows; parallel safe';
COMMENT ON TABLE c360.segment_rules IS 'RFM segment rules: each row maps a box of R, F, M scores (1-5) to a segment and tier; yours to edit (c360.check_segment_rules() validates, c360.reset_segment_rules() restores the defaults)';
COMMENT ON COLUMN c360.segment_rules.segment IS 'segment name, e.g. Champions';
COMMENT ON COLUMN c360.segment_rules.tier IS 'coarse tier for executives (default: Champions, Loyal, At Risk, Churn Risk); one per segment';
COMMENT ON COLUMN c360.segment_rules.r_min IS 'lowest recency score the rule covers (1-5)';
COMMENT ON COLUMN c360.segment_rules.r_max IS 'highest recency score the rule covers';
COMMENT ON COLUMN c360.segment_rules.f_min IS 'lowest frequency score the rule covers (1-5)';
COMMENT ON COLUMN c360.segment_rules.f_max IS 'highest frequency score the rule covers';
COMMENT ON COLUMN c360.segment_rules.m_min IS 'lowest monetary score the rule covers (1-5; default rules span all)';
COMMENT ON COLUMN c360.segment_rules.m_max IS 'highest monetary score the rule covers';
COMMENT ON COLUMN c360.segment_rules.priority IS 'where rules overlap, the lowest number wins; two segments tied on a cell is an error. Also the display order of segments (1 = best)';
COMMENT ON COLUMN c360.segment_rules.customized IS 'managed by c360: true once the rule set was edited, so pg_dump keeps it';
COMMENT ON FUNCTION c360.segment_rules_replace_defaults() IS 'trigger: a restored customized rule replaces the defaults CREATE EXTENSION inserted';
COMMENT ON FUNCTION c360.segment_rules_mark_customized() IS 'trigger: marks the rule set customized once edited, so pg_dump keeps it';
COMMENT ON FUNCTION c360.reset_segment_rules() IS 'restores the default segment rules (SPEC §5 grid); returns the number of rules';

COMMENT ON TABLE c360.customer_metrics IS 'derived by c360.refresh_c360(): recency, frequency and monetary value of every customer with a sale before as_of';
COMMENT ON COLUMN c360.customer_metrics.customer_id IS 'customer key';
COMMENT ON COLUMN c360.customer_metrics.first_order_date IS 'date of the first sale order';
COMMENT ON COLUMN c360.customer_metrics.last_order_date IS 'date of the latest sale order before as_of';
COMMENT ON COLUMN c360.customer_metrics.tenure_days IS 'as_of minus first_order_date, in days';
COMMENT ON COLUMN c360.customer_metrics.recency_days IS 'as_of minus last_order_date, in days';
COMMENT ON COLUMN c360.customer_metrics.frequency IS 'number of distinct sale orders';
COMMENT ON COLUMN c360.customer_metrics.monetary IS 'sum of sale revenue, exact';
COMMENT ON COLUMN c360.customer_metrics.as_of IS 'the date the figures are as of (setting as_of)';

COMMENT ON TABLE c360.rfm_segments IS 'derived by c360.refresh_c360(): R, F, M scores, segment and tier of every customer in customer_metrics';
COMMENT ON COLUMN c360.rfm_segments.customer_id IS 'customer key';
COMMENT ON COLUMN c360.rfm_segments.r IS 'recency score 1-5 (5 = most recent)';
COMMENT ON COLUMN c360.rfm_segments.f IS 'frequency score 1-5 (5 = most orders)';
COMMENT ON COLUMN c360.rfm_segments.m IS 'monetary score 1-5 (5 = highest spend)';
COMMENT ON COLUMN c360.rfm_segments.rfm_score IS 'the three scores as a code, e.g. 545';
COMMENT ON COLUMN c360.rfm_segments.segment IS 'segment from c360.segment_rules';
COMMENT ON COLUMN c360.rfm_segments.tier IS 'tier of the segment';
COMMENT ON COLUMN c360.rfm_segments.as_of IS 'the date the scores are as of';

COMMENT ON TABLE c360.rfm_thresholds IS 'derived by c360.refresh_c360(): the value range behind each R, F and M score, to explain a score';
COMMENT ON COLUMN c360.rfm_thresholds.measure IS 'recency_days, frequency or monetary';
COMMENT ON COLUMN c360.rfm_thresholds.score IS 'score 1-5';
COMMENT ON COLUMN c360.rfm_thresholds.lower_bound IS 'smallest value among customers with this score';
COMMENT ON COLUMN c360.rfm_thresholds.upper_bound IS 'largest value among customers with this score';
COMMENT ON COLUMN c360.rfm_thresholds.customers IS 'customers with this score';
COMMENT ON COLUMN c360.rfm_thresholds.as_of IS 'the date the scores are as of';

COMMENT ON FUNCTION c360.as_of_date() IS 'the date RFM, clusters and CLV are computed as of: setting as_of, or the day after the latest sale';
COMMENT ON FUNCTION c360._refresh_customer_metrics(date) IS 'internal refresh step: rebuilds c360.customer_metrics';
COMMENT ON FUNCTION c360._refresh_rfm_segments(date, text) IS 'internal refresh step: rebuilds c360.rfm_segments and c360.rfm_thresholds';


-- The last refresh's results are kept by pg_dump too: a restored database
-- answers the same until its next refresh.
SELECT pg_catalog.pg_extension_config_dump('c360.customer_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('c360.rfm_segments', '');
SELECT pg_catalog.pg_extension_config_dump('c360.rfm_thresholds', '');
