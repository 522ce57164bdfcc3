-- k-means on any query (kmeans_fit, kmeans_select_k, kmeans_assign) and the
-- refresh's customer clusters (cluster_models, customer_360.cluster,
-- cluster_profile).
SET client_min_messages = warning;
SET DateStyle = ISO, YMD;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
SET TimeZone = 'UTC';

-- Three well-separated blobs of 100 points each, with deterministic jitter.
CREATE TEMP TABLE blobs AS
SELECT b AS blob, i, ARRAY[cx + (i * 7919 % 101) / 100.0, cy + (i * 104729 % 97) / 100.0]::float8[] AS x
FROM (VALUES (1, 0, 0), (2, 20, 0), (3, 0, 20)) c(b, cx, cy), generate_series(1, 100) i;

-- Fitted with the defaults (k-means++, best of 10 restarts, standardized
-- features): every blob is exactly one cluster, and no two share one.
CREATE TEMP TABLE fit AS SELECT c360.kmeans_fit(x, 3) AS model FROM blobs;
SELECT blob, count(DISTINCT c360.kmeans_assign(x, model)) AS clusters_in_blob, count(*) AS points
FROM blobs, fit GROUP BY blob ORDER BY blob;
SELECT count(DISTINCT c360.kmeans_assign(x, model)) AS distinct_clusters FROM blobs, fit;

-- The model's text form is JSON: k, features, scaler, centroids, inertia,
-- iterations, cluster sizes, silhouette and the options of the fit.
SELECT j ->> 'k' AS k, j ->> 'features' AS features, jsonb_array_length(j -> 'centroids') AS centroids,
       j -> 'cluster_sizes' AS sizes, (j ->> 'iterations')::int BETWEEN 1 AND 300 AS iterated,
       (j ->> 'silhouette')::float8 > 0.9 AS well_separated, j -> 'options' AS options
FROM (SELECT model::text::jsonb AS j FROM fit) m;
-- Inertia is the sum of squared distances to the assigned centroids in the
-- standardized space; recomputed here in plain SQL from the JSON.
SELECT abs(sum(d) / max((j ->> 'inertia')::float8) - 1) < 1e-9 AS inertia_matches
FROM (SELECT j, (SELECT sum(((b.x[f] - (j -> 'mean' ->> (f - 1))::float8) / (j -> 'std' ->> (f - 1))::float8
                             - (j -> 'centroids' -> (c360.kmeans_assign(b.x, m.model) - 1) ->> (f - 1))::float8) ^ 2)
                 FROM generate_series(1, 2) f) AS d
      FROM blobs b, (SELECT model, model::text::jsonb AS j FROM fit) m) s;

-- The same seed gives the same model; the text form round-trips.
SELECT (SELECT c360.kmeans_fit(x, 3) FROM blobs)::text = model::text AS same_model,
       model::text::c360.kmeans_model::text = model::text AS round_trip
FROM fit;
-- Explicit options: n_init, max_iter, tolerance, seed, standardize.
SELECT (j -> 'options') AS options, j -> 'mean' IS NULL AS unscaled
FROM (SELECT c360.kmeans_fit(x, 3, 2, 50, 1e-6, 7, false)::text::jsonb AS j FROM blobs) s;

-- Parallel safe: a plan with parallel workers fits the same model (a
-- regular table: temporary ones are never scanned in parallel).
CREATE TABLE many AS SELECT i, ARRAY[(i % 3) * 10 + (i * 7919 % 101) / 100.0, (i * 104729::bigint % 97) / 100.0]::float8[] AS x
FROM generate_series(1, 30000) i;
ANALYZE many;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT c360.kmeans_fit(x, 3) AS model FROM many;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT c360.kmeans_fit(x, 3) FROM many;
-- Workers hand their rows to the leader in an order that changes from run
-- to run; the fit sorts the rows first, so the model is exactly the same.
SELECT (SELECT c360.kmeans_fit(x, 3) FROM many)::text = model::text AS same_as_serial,
       (SELECT count(*) FROM many WHERE c360.kmeans_assign(x, model)
          <> c360.kmeans_assign(x, (SELECT c360.kmeans_fit(x, 3) FROM many))) AS labels_differing
FROM serial_fit;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE many;

-- Choosing k: every k from k_min to k_max is fitted; the highest simplified
-- silhouette (distance to own vs nearest other centroid) wins.
CREATE TEMP TABLE auto AS SELECT c360.kmeans_select_k(x, 2, 6) AS model FROM blobs;
SELECT k, chosen, silhouette > 0.5 AS good, round(inertia::numeric, 1) > 0 AS has_inertia
FROM auto, c360.kmeans_k_scores(model) ORDER BY k;
SELECT k, chosen FROM fit, c360.kmeans_k_scores(model);

-- kmeans_reorder renumbers clusters: [3,1,2] makes old cluster 3 the new 1.
SELECT bool_and(c360.kmeans_assign(x, c360.kmeans_reorder(model, '{3,1,2}'))
                = (ARRAY[2, 3, 1])[c360.kmeans_assign(x, model)]) AS renumbered
FROM blobs, fit;
SELECT c360.kmeans_reorder(model, '{1,1,2}') FROM fit;

-- NULLs and bad input. NULL arrays are skipped, like other aggregates skip
-- NULL; no rows gives NULL; kmeans_assign is STRICT and gives NULL for a
-- vector with a NULL or NaN element.
SELECT c360.kmeans_fit(x, 2) IS NULL AS no_rows FROM blobs WHERE false;
SELECT (c360.kmeans_fit(x, 2)::text::jsonb ->> 'rows') AS rows_used
FROM (SELECT x FROM blobs UNION ALL SELECT NULL) s;
SELECT c360.kmeans_assign(NULL, model) IS NULL AS null_vector,
       c360.kmeans_assign('{1,NULL}', model) IS NULL AS null_element,
       c360.kmeans_assign('{1,NaN}', model) IS NULL AS nan_element
FROM fit;
SELECT c360.kmeans_assign('{1,2,3}', model) FROM fit;
SELECT c360.kmeans_fit(x, 3) FROM (VALUES ('{1,2}'::float8[]), ('{1,2,3}')) v(x);
SELECT c360.kmeans_fit(x, 2) FROM (VALUES ('{1,2}'::float8[]), ('{1,NULL}')) v(x);
SELECT c360.kmeans_fit(x, 2) FROM (VALUES ('{1,2}'::float8[]), ('{1,Infinity}')) v(x);
SELECT c360.kmeans_fit(x, 3) FROM (VALUES ('{1,2}'::float8[]), ('{3,4}')) v(x);
SELECT c360.kmeans_fit(x, i::int) FROM blobs;
SELECT c360.kmeans_fit(x, 0) FROM blobs;
SELECT c360.kmeans_fit(x, 2, 0, 10, 1e-4, 1, true) FROM blobs;
SELECT c360.kmeans_select_k(x, 1, 4) FROM blobs;
SELECT '{"k": 2}'::c360.kmeans_model;
SELECT 'not json'::c360.kmeans_model;

-- The refresh clusters customers on log1p recency, frequency and monetary,
-- standardized. A shop of three kinds of customer, ten each: lapsed
-- one-time buyers, regulars, and big spenders who order every week.
INSERT INTO c360.customers (customer_id, country, load_id)
SELECT format('%s%s', kind, i), 'Malaysia', 0 FROM unnest(ARRAY['L', 'R', 'B']) kind, generate_series(1, 10) i;
INSERT INTO c360.products (product_id, category, load_id) VALUES ('P1', 'Toys', 0);
INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
SELECT format('%s%s-%s', kind, i, n), format('%s%s', kind, i), 'completed', d, d + time '12:00', 0
FROM (VALUES ('L', 1, 300, 0), ('R', 5, 20, 30), ('B', 20, 3, 7)) k(kind, orders, last_days_ago, gap),
     generate_series(1, 10) i, generate_series(1, orders) n,
     LATERAL (SELECT date '2024-07-01' - last_days_ago - i - gap * (n - 1) AS d) x;
INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
SELECT order_id || ':1', order_id, 'P1', 1,
       CASE left(order_id, 1) WHEN 'L' THEN 15 WHEN 'R' THEN 60 ELSE 400 END + substr(order_id, 2, 1)::int, 0
FROM c360.orders;
INSERT INTO c360.settings (name, value) VALUES ('cluster_k', '3');
SELECT step, rows FROM c360.refresh_c360() WHERE step IN ('customer_metrics', 'clusters');

-- Clusters are numbered by mean monetary value: 1 = lapsed, 3 = big spenders.
SELECT left(customer_id, 1) AS kind, min(cluster) AS cluster, count(DISTINCT cluster) AS clusters, count(*) AS customers
FROM c360.customer_360 GROUP BY 1 ORDER BY 2;
SELECT cluster, customers, avg_recency_days, avg_frequency, avg_monetary, revenue, revenue_share
FROM c360.cluster_profile ORDER BY cluster;
SELECT sum(revenue) = (SELECT sum(monetary) FROM c360.customer_360) AS revenue_adds_up,
       round(sum(revenue_share), 4) AS total_share FROM c360.cluster_profile;
-- The stored model gives every customer their cluster, from their metrics.
SELECT as_of, features, k, chosen_by, customers, silhouette > 0.5 AS separated
FROM c360.cluster_models;
SELECT count(*) FILTER (WHERE c360.kmeans_assign(c360.cluster_features(recency_days, frequency, monetary), m.model)
                        = c.cluster) AS assigned_by_model, count(*) AS customers
FROM c360.customer_360 c, c360.cluster_models m;
-- cluster_features is log1p of each, sign-preserving for negative input.
SELECT c360.cluster_features(0, 1, 0) AS zeros, c360.cluster_features(9, 99, -999) AS negative_money;

-- cluster_k = auto chooses k by silhouette, up to cluster_k_max.
UPDATE c360.settings SET value = 'auto' WHERE name = 'cluster_k';
INSERT INTO c360.settings (name, value) VALUES ('cluster_k_max', '6');
SELECT step, rows FROM c360.refresh_c360() WHERE step = 'clusters';
SELECT k, chosen_by FROM c360.cluster_models;
SELECT count(*) AS ks_tried, max(s.k) AS k_max FROM c360.cluster_models m, c360.kmeans_k_scores(m.model) s;
-- Settings are checked.
INSERT INTO c360.settings (name, value) VALUES ('cluster_seed', 'abc');
UPDATE c360.settings SET value = '1' WHERE name = 'cluster_k';
UPDATE c360.settings SET value = 'auto' WHERE name = 'cluster_k_max';

-- Fewer customers than k: the refresh succeeds without clusters.
UPDATE c360.settings SET value = '3' WHERE name = 'cluster_k';
DELETE FROM c360.order_items WHERE order_id NOT LIKE 'B1-%' AND order_id NOT LIKE 'R1-%';
DELETE FROM c360.orders WHERE order_id NOT LIKE 'B1-%' AND order_id NOT LIKE 'R1-%';
SELECT step, rows FROM c360.refresh_c360() WHERE step IN ('customer_metrics', 'clusters');
SELECT customer_id, cluster FROM c360.customer_360 ORDER BY customer_id;
SELECT count(*) AS profile_rows FROM c360.cluster_profile;
-- ... and no model for this as_of (the earlier one, of the same date, is replaced).
SELECT as_of, k FROM c360.cluster_models ORDER BY as_of;
