-- RFM building blocks, usable on any table (a dbt model's, not only c360's):
-- rfm_breaks (cut points), rfm_score (1..n), rfm_segment / rfm_tier (the
-- default grid), and the editable rule set with its checker.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET extra_float_digits = 0;

-- Cut points are percentile_cont at 0.2, 0.4, 0.6, 0.8 (or i/n for n bins).
SELECT c360.rfm_breaks(x) AS quintiles, c360.rfm_breaks(x, 4) AS quartiles, c360.rfm_breaks(x, 2) AS median
FROM generate_series(1, 10) x;
-- ... the very same numbers PostgreSQL's percentile_cont gives.
SELECT c360.rfm_breaks(x) = percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY x) AS same
FROM (SELECT (i * 7919 % 1000) / 7.0 AS x FROM generate_series(1, 5000) i) s;

-- NULLs are ignored; no values at all gives NULL, like percentile_cont.
SELECT c360.rfm_breaks(x) FROM (VALUES (1.0), (NULL), (3.0)) v(x);
SELECT c360.rfm_breaks(x) IS NULL AS no_rows FROM generate_series(1, 0) x;
SELECT c360.rfm_breaks(NULL::float8) IS NULL AS only_nulls;
-- Per group, like any aggregate.
SELECT g, c360.rfm_breaks(x, 2) FROM (VALUES ('a', 1), ('a', 3), ('b', 10), ('b', 20), ('b', 60)) v(g, x)
GROUP BY g ORDER BY g;

-- The number of bins is checked.
SELECT c360.rfm_breaks(x, 0) FROM generate_series(1, 3) x;
SELECT c360.rfm_breaks(x, 101) FROM generate_series(1, 3) x;
SELECT c360.rfm_breaks(x, NULL) FROM generate_series(1, 3) x;
SELECT c360.rfm_breaks(x, x::int) FROM generate_series(1, 3) x;

-- Scores: F and M count the cut points a value is above; R (lower is
-- better) counts those it is below. Equal values always share a score.
SELECT v, c360.rfm_score(v, '{10,20,30,40}') AS higher_is_better,
          c360.rfm_score(v, '{10,20,30,40}', lower_is_better => true) AS lower_is_better
FROM unnest(ARRAY[5, 10, 10.5, 20, 35, 40, 99]::float8[]) v;
-- STRICT: a NULL value or NULL breaks give NULL.
SELECT c360.rfm_score(NULL, '{1,2}') IS NULL AS null_value, c360.rfm_score(1, NULL) IS NULL AS null_breaks;
-- Breaks must be ascending and non-NULL.
SELECT c360.rfm_score(1, '{3,2,1}');
SELECT c360.rfm_score(1, '{1,NULL}');
-- rfm_score keeps the last cut points it parsed; rows that bring other
-- cut points (per-group breaks, here a different array on every row, some
-- long enough to be stored compressed) are scored against their own: it
-- agrees with counting the cut points directly, row by row.
CREATE TEMP TABLE varying_breaks AS
SELECT i, (i % 7)::float8 * 3 AS v,
       ARRAY(SELECT (g + i % 3)::float8 FROM generate_series(1, CASE WHEN i % 5 = 0 THEN 3000 ELSE 4 END) g) AS breaks
FROM generate_series(1, 200) i;
SELECT count(*) FILTER (WHERE pg_column_compression(breaks) IS NOT NULL) > 0 AS some_compressed,
       count(*) FILTER (WHERE c360.rfm_score(v, breaks) <> 1 + (SELECT count(*) FROM unnest(breaks) b WHERE v > b)
                          OR c360.rfm_score(v, breaks, true) <> 1 + (SELECT count(*) FROM unnest(breaks) b WHERE v < b)) AS disagreements,
       count(DISTINCT c360.rfm_score(v, breaks)) > 3 AS several_scores
FROM varying_breaks;
-- A bad array after good ones is still refused.
SELECT c360.rfm_score(1, b) FROM (VALUES (1, '{1,2}'::float8[]), (2, '{2,1}')) t(i, b) ORDER BY i;

-- The default segment grid of SPEC §5 (on R and F; M does not change it).
SELECT r, string_agg(c360.rfm_segment(r, f, 3), ' | ' ORDER BY f) AS "f = 1 | 2 | 3 | 4 | 5"
FROM generate_series(1, 5) r, generate_series(1, 5) f GROUP BY r ORDER BY r DESC;
SELECT DISTINCT c360.rfm_segment(r, f, m) AS segment, c360.rfm_tier(c360.rfm_segment(r, f, m)) AS tier
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m ORDER BY tier, segment;
SELECT c360.rfm_segment(6, 1, 1);
SELECT c360.rfm_tier('Whales') IS NULL AS unknown_segment_has_no_tier;

-- A dbt-style use on any table: score products by revenue and order count.
CREATE TEMP TABLE product_sales AS
SELECT 'P' || i AS product, (i * 37 % 101) AS revenue, (i % 13) + 1 AS orders FROM generate_series(1, 50) i;
WITH b AS (SELECT c360.rfm_breaks(revenue) AS m, c360.rfm_breaks(orders) AS f FROM product_sales)
SELECT c360.rfm_score(orders, b.f) AS f, count(*) AS products, min(orders), max(orders)
FROM product_sales, b GROUP BY 1 ORDER BY 1;

-- The editable rule set starts as the default grid and is usable.
SELECT segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority FROM c360.segment_rules ORDER BY priority;
SELECT count(*) AS problems FROM c360.check_segment_rules();
SELECT count(*) AS cells, count(DISTINCT segment) AS segments FROM c360.segment_map();
SELECT bool_and(c360.rfm_segment_by_rules(r, f, m) = c360.rfm_segment(r, f, m)) AS same_as_default
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;

-- Edit it: big spenders among Champions become Whales (a lower priority
-- number wins the overlap).
INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority)
VALUES ('Whales', 'Champions', 5, 5, 4, 5, 5, 5, 0);
SELECT count(*) AS problems FROM c360.check_segment_rules();
SELECT c360.rfm_segment_by_rules(5, 5, 5) AS r5_f5_m5, c360.rfm_segment_by_rules(5, 5, 4) AS r5_f5_m4;
-- An edited rule set is marked customized, so pg_dump keeps it.
SELECT bool_and(customized) FROM c360.segment_rules;

-- Broken rule sets are reported: a gap, an ambiguous tie, an unreachable segment.
DELETE FROM c360.segment_rules WHERE segment = 'Promising';
INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, priority)
VALUES ('Sleepers', 'At Risk', 3, 3, 2, 2, 7),     -- ties About to Sleep (priority 7) on r=3 f=2
       ('Ghosts', 'Churn Risk', 1, 1, 1, 1, 99);   -- Hibernating always wins these cells
SELECT problem, segment, count(*) AS cells, min(detail) AS example
FROM c360.check_segment_rules() GROUP BY problem, segment ORDER BY problem, segment;
-- ... and refused where they would be used.
SELECT c360.rfm_segment_by_rules(4, 1, 1);
SELECT * FROM c360.segment_map();
-- Ranges are checked on entry.
INSERT INTO c360.segment_rules (segment, tier, r_min, r_max, f_min, f_max, priority) VALUES ('Bad', 'Loyal', 4, 6, 1, 1, 1);
-- Back to the defaults.
SELECT c360.reset_segment_rules();
SELECT count(*) AS problems, (SELECT bool_or(customized) FROM c360.segment_rules) AS customized FROM c360.check_segment_rules();

-- rfm_breaks is parallel safe: a plan that forces parallel workers and
-- partial aggregation gives the same cut points as a serial one.
CREATE TABLE rfm_values AS SELECT i AS id, ((i * 7919) % 100003) / 3.0 AS v FROM generate_series(1, 200000) i;
ANALYZE rfm_values;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_breaks AS SELECT c360.rfm_breaks(v) AS b, c360.rfm_breaks(v, 10) AS b10 FROM rfm_values;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT c360.rfm_breaks(v), c360.rfm_breaks(v, 10) FROM rfm_values;
SELECT p.b = s.b AS quintiles_same, p.b10 = s.b10 AS deciles_same
FROM (SELECT c360.rfm_breaks(v) AS b, c360.rfm_breaks(v, 10) AS b10 FROM rfm_values) p, serial_breaks s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE rfm_values;

-- The rule-reading functions run fine where a transaction has already
-- written and the planner would go parallel, as in a dbt model's
-- CREATE TABLE AS (they are parallel unsafe: their SPI read of the rules
-- would be refused inside a parallel plan).
CREATE TABLE rfm_cells AS SELECT i FROM generate_series(0, 124) g(i), generate_series(1, 80) copies;
ANALYZE rfm_cells;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TABLE rfm_cell_segments AS
SELECT c360.rfm_segment_by_rules(1 + i % 5, 1 + (i / 5) % 5, 1 + i / 25) AS segment FROM rfm_cells;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT count(*) AS rows, count(DISTINCT segment) AS segments FROM rfm_cell_segments;
SELECT p.proname, p.proparallel FROM pg_proc p
WHERE p.pronamespace = 'c360'::regnamespace AND p.proname IN ('segment_map', 'check_segment_rules', 'rfm_segment_by_rules')
ORDER BY 1;
DROP TABLE rfm_cells, rfm_cell_segments;
