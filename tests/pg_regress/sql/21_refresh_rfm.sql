-- refresh_c360() end to end on a constructed shop: 25 customers, one for
-- every (recency, frequency) cell of the quintile grid, so every default
-- segment is reached. Rows go straight into the typed tables (as a DBA's
-- own ETL might); the refresh notices and rebuilds the facts.
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET TimeZone = 'UTC';

-- Customer C<i><j>: last order 10 * (6 - i) days before 2024-07-01 (i = 5
-- is the most recent), j orders in all, spending 100 * (i + j) per order.
INSERT INTO c360.customers (customer_id, country, load_id)
SELECT format('C%s%s', i, j), CASE WHEN i % 2 = 0 THEN 'Malaysia' ELSE 'Singapore' END, 0
FROM generate_series(1, 5) i, generate_series(1, 5) j;
INSERT INTO c360.products (product_id, category, load_id) VALUES ('P1', 'Toys', 0);
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT format('O%s%s-%s', i, j, k), format('C%s%s', i, j), 'completed', d, d + time '12:00', 0
FROM generate_series(1, 5) i, generate_series(1, 5) j, generate_series(1, j) k,
     LATERAL (SELECT date '2024-07-01' - 10 * (6 - i) - 60 * (k - 1) AS d) x;
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT order_id || ':1', order_id, 'P1', 1, 100 * (substr(order_id, 2, 1)::int + substr(order_id, 3, 1)::int), 0
FROM c360.orders;
-- One cancelled order: never revenue.
INSERT INTO c360.orders VALUES ('X1', 'C55', 'cancelled', '2024-06-30', '2024-06-30 10:00', 0);
INSERT INTO c360.order_items VALUES ('X1:1', 'X1', 'P1', 1, 999, 0);

-- Changed outside ingest(): the facts are stale until the next refresh.
SELECT facts_stale, stale_because FROM c360.refresh_state;

-- The run returns its steps (and says them as NOTICEs as it goes).
SELECT step, rows FROM c360.refresh_c360();
SELECT facts_stale FROM c360.refresh_state;
SELECT count(*) AS lines, sum(revenue) FILTER (WHERE is_sale) AS revenue FROM c360.fact_sales;

-- as_of defaults to the day after the latest sale.
SELECT DISTINCT as_of FROM c360.customer_360;
SELECT * FROM c360.rfm_thresholds WHERE measure <> 'monetary' ORDER BY measure, score;
-- Every cell of the grid is reached, so every default segment is.
SELECT r, string_agg(format('%s:%s', f, segment), ' | ' ORDER BY f) AS "f:segment"
FROM c360.customer_360 GROUP BY r ORDER BY r DESC;
SELECT s.segment, s.tier, count(*) AS customers
FROM c360.rfm_segments s JOIN c360.segment_rules USING (segment) GROUP BY s.segment, s.tier, priority ORDER BY priority;
SELECT customer_id, country, first_order_date, last_order_date, tenure_days, recency_days, frequency, monetary, aov, rfm_score, segment
FROM c360.customer_360 WHERE customer_id IN ('C55', 'C11', 'C35') ORDER BY customer_id;

-- Idempotent: a second refresh leaves every derived table identical.
CREATE TEMP VIEW checksums AS
SELECT 'fact_sales' AS t, md5(string_agg(f::text, ',' ORDER BY f.order_item_id)) AS sum FROM c360.fact_sales f
UNION ALL SELECT 'fact_orders', md5(string_agg(f::text, ',' ORDER BY f.order_id)) FROM c360.fact_orders f
UNION ALL SELECT 'customer_metrics', md5(string_agg(m::text, ',' ORDER BY m.customer_id)) FROM c360.customer_metrics m
UNION ALL SELECT 'rfm_segments', md5(string_agg(s::text, ',' ORDER BY s.customer_id)) FROM c360.rfm_segments s
UNION ALL SELECT 'rfm_thresholds', md5(string_agg(t::text, ',' ORDER BY t.measure, t.score)) FROM c360.rfm_thresholds t
UNION ALL SELECT 'customer_clusters', md5(string_agg(c::text, ',' ORDER BY c.customer_id)) FROM c360.customer_clusters c
UNION ALL SELECT 'cluster_models', md5(string_agg(concat_ws('|', m.as_of, m.k, m.model), ',' ORDER BY m.as_of)) FROM c360.cluster_models m;
CREATE TEMP TABLE before AS SELECT * FROM checksums;
SELECT step, rows FROM c360.refresh_c360(rebuild_facts => true);
SELECT b.t, b.sum = a.sum AS identical FROM before b JOIN checksums a USING (t) ORDER BY b.t;

-- Every run is logged with its steps.
SELECT run_id, status, as_of, jsonb_array_length(steps) AS steps, steps -> 1 ->> 'step' AS second_step,
       (steps -> 1 ->> 'rows')::int AS second_rows, error, finished_at >= started_at AS timed
FROM c360.refresh_log ORDER BY run_id;

-- Settings steer it, and bad values are refused with a clear error.
INSERT INTO c360.settings (name, value) VALUES ('as_of', '2024-06-01');
INSERT INTO c360.settings (name, value) VALUES ('rfm_method', 'deciles');
INSERT INTO c360.settings (name, value) VALUES ('as_of', 'yesterday');
UPDATE c360.settings SET value = '2024-02-30' WHERE name = 'as_of';
INSERT INTO c360.settings (name, value) VALUES ('rfm_method', 'ntile');
SELECT name, value, changed FROM c360.settings_overview ORDER BY name;
SELECT step, rows FROM c360.refresh_c360();
-- Only orders before as_of count; ntile bins hold 5 customers each.
SELECT DISTINCT as_of, max(last_order_date) OVER () AS latest_order FROM c360.customer_360;
SELECT count(*) AS customers, count(DISTINCT r) AS r_bins, min(n) AS min_per_bin, max(n) AS max_per_bin
FROM (SELECT r, count(*) OVER (PARTITION BY r) AS n FROM c360.rfm_segments) s;
-- Customers whose first sale is after as_of left the per-customer tables
-- (this small data set has too few repeat buyers for CLV: its table stays empty).
WITH expected AS (SELECT DISTINCT customer_id FROM c360.fact_orders WHERE is_sale AND order_date < date '2024-06-01')
SELECT t.name, t.customers, t.customers = (SELECT count(*) FROM expected) AS all_expected,
       t.missing + t.extra AS differences
FROM (
  SELECT 'customer_metrics' AS name, (SELECT count(*) FROM c360.customer_metrics) AS customers,
         (SELECT count(*) FROM expected e WHERE NOT EXISTS (SELECT 1 FROM c360.customer_metrics x WHERE x.customer_id = e.customer_id)) AS missing,
         (SELECT count(*) FROM c360.customer_metrics x WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE x.customer_id = e.customer_id)) AS extra
  UNION ALL
  SELECT 'rfm_segments', (SELECT count(*) FROM c360.rfm_segments),
         (SELECT count(*) FROM expected e WHERE NOT EXISTS (SELECT 1 FROM c360.rfm_segments x WHERE x.customer_id = e.customer_id)),
         (SELECT count(*) FROM c360.rfm_segments x WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE x.customer_id = e.customer_id))
  UNION ALL
  SELECT 'customer_clusters', (SELECT count(*) FROM c360.customer_clusters),
         (SELECT count(*) FROM expected e WHERE NOT EXISTS (SELECT 1 FROM c360.customer_clusters x WHERE x.customer_id = e.customer_id)),
         (SELECT count(*) FROM c360.customer_clusters x WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE x.customer_id = e.customer_id))
) t ORDER BY t.name;
DELETE FROM c360.settings;

-- A broken rule set: the refresh refuses it, changes nothing, and the
-- failed run is logged (by a background worker, as the run rolls back).
SELECT count(*) AS customers_before FROM c360.customer_360;
DELETE FROM c360.segment_rules WHERE segment = 'Champions';
SELECT step, rows FROM c360.refresh_c360();
SELECT count(*) AS customers_after, count(*) FILTER (WHERE segment = 'Champions') AS champions FROM c360.customer_360;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM c360.refresh_log WHERE status = 'failed');
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT run_id, status, error, started_at IS NOT NULL AS has_start FROM c360.refresh_log WHERE status = 'failed';
SELECT c360.reset_segment_rules();
SELECT step, rows FROM c360.refresh_c360() WHERE step = 'rfm_segments';

-- A refresh whose statements are planned in parallel (costs that make every
-- scan parallel) gives exactly the same customers, scores, clusters and CLV.
CREATE TEMP TABLE serial_result AS SELECT * FROM c360.customer_360;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) > 0 AS refreshed FROM c360.refresh_c360();
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT (SELECT count(*) FROM (SELECT * FROM c360.customer_360 EXCEPT SELECT * FROM serial_result) a)
     + (SELECT count(*) FROM (SELECT * FROM serial_result EXCEPT SELECT * FROM c360.customer_360) b) AS differences,
       (SELECT count(*) FROM serial_result) AS customers;
