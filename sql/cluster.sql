-- Clusters (SPEC.md §6): the k-means aggregates, the stored models, each
-- customer's cluster and the cluster profile for BI.
-- The math (linfa k-means, scaler, silhouette) is Rust: src/cluster/.

------------------------------------------------------------------------------
-- kmeans_fit / kmeans_select_k: parallel-safe aggregates over any query
-- (support functions in src/cluster/mod.rs). Workers collect rows; the
-- leader fits once. Hand-written for the reason given in sql/rfm.sql.
------------------------------------------------------------------------------
CREATE AGGREGATE c360.kmeans_fit(features float8[], k integer) (
    SFUNC = c360.kmeans_fit_transition,
    STYPE = internal,
    FINALFUNC = c360.kmeans_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.kmeans_combine,
    SERIALFUNC = c360.kmeans_serialize,
    DESERIALFUNC = c360.kmeans_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE c360.kmeans_fit(features float8[], k integer, n_init integer, max_iter integer,
                                 tolerance float8, seed bigint, standardize boolean) (
    SFUNC = c360.kmeans_fit_transition_options,
    STYPE = internal,
    FINALFUNC = c360.kmeans_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.kmeans_combine,
    SERIALFUNC = c360.kmeans_serialize,
    DESERIALFUNC = c360.kmeans_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE c360.kmeans_select_k(features float8[], k_min integer, k_max integer) (
    SFUNC = c360.kmeans_select_k_transition,
    STYPE = internal,
    FINALFUNC = c360.kmeans_select_k_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.kmeans_combine,
    SERIALFUNC = c360.kmeans_serialize,
    DESERIALFUNC = c360.kmeans_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE c360.kmeans_select_k(features float8[], k_min integer, k_max integer, n_init integer,
                                      max_iter integer, tolerance float8, seed bigint, standardize boolean) (
    SFUNC = c360.kmeans_select_k_transition_options,
    STYPE = internal,
    FINALFUNC = c360.kmeans_select_k_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.kmeans_combine,
    SERIALFUNC = c360.kmeans_serialize,
    DESERIALFUNC = c360.kmeans_deserialize,
    PARALLEL = SAFE
);

------------------------------------------------------------------------------
-- What the refresh keeps: one model per as_of date, one cluster per customer.
------------------------------------------------------------------------------
CREATE TABLE c360.cluster_models (
    as_of       date PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    features    text[] NOT NULL,
    k           integer NOT NULL,
    chosen_by   text NOT NULL CHECK (chosen_by IN ('setting', 'silhouette')),
    customers   bigint NOT NULL,
    inertia     float8 NOT NULL,
    silhouette  float8 NOT NULL,
    model       c360.kmeans_model NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('c360.cluster_models', '');

CREATE TABLE c360.customer_clusters (
    customer_id text COLLATE "C" PRIMARY KEY,
    cluster     integer NOT NULL,
    as_of       date NOT NULL
) WITH (fillfactor = 50);  -- rewritten in place by every refresh (c360._write_derived_rows)
SELECT pg_catalog.pg_extension_config_dump('c360.customer_clusters', '');

-- Step: fit on every customer in customer_metrics (k from the cluster_k
-- setting, or chosen by silhouette when it is auto), number the clusters
-- 1..k by ascending mean monetary value so labels keep their meaning from
-- one refresh to the next, store the model and assign every customer.
-- Fewer customers than k: no clusters this time (NOTICE), not a failure.
CREATE FUNCTION c360._refresh_clusters(as_of date) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
  k_setting text := c360.setting('cluster_k');
  seed bigint := c360.setting('cluster_seed')::bigint;
  customers bigint;
  n_clusters integer;
  model c360.kmeans_model;
  cluster_order integer[];
  n bigint;
BEGIN
  DELETE FROM c360.cluster_models m WHERE m.as_of = _refresh_clusters.as_of;
  SELECT count(*) INTO customers FROM c360.customer_metrics;
  n_clusters := CASE WHEN k_setting = 'auto' THEN least(c360.setting('cluster_k_max')::integer, customers)
            ELSE k_setting::integer END;
  IF customers < greatest(n_clusters, 2) THEN
    RAISE NOTICE 'c360: % customer(s), too few for % clusters; no clusters this refresh', customers, greatest(n_clusters, 2);
    DELETE FROM c360.customer_clusters;
    RETURN 0;
  END IF;
  IF k_setting = 'auto' THEN
    SELECT c360.kmeans_select_k(c360.cluster_features(recency_days, frequency, monetary), 2, n_clusters, 10, 300, 1e-4, seed, true)
      INTO model FROM c360.customer_metrics;
    SELECT s.k INTO n_clusters FROM c360.kmeans_k_scores(model) s WHERE s.chosen;
  ELSE
    SELECT c360.kmeans_fit(c360.cluster_features(recency_days, frequency, monetary), n_clusters, 10, 300, 1e-4, seed, true)
      INTO model FROM c360.customer_metrics;
  END IF;
  -- One assignment pass; clusters are then renumbered by average monetary,
  -- lowest first, in the model (kmeans_reorder) and in the rows alike.
  IF to_regclass('pg_temp.c360_assigned') IS NOT NULL THEN DROP TABLE pg_temp.c360_assigned; END IF;
  CREATE TEMP TABLE c360_assigned ON COMMIT DROP AS
  SELECT customer_id, c360.kmeans_assign(c360.cluster_features(recency_days, frequency, monetary), model) AS cluster, monetary
  FROM c360.customer_metrics;
  SELECT array_agg(g ORDER BY a.avg_monetary NULLS FIRST, g) INTO cluster_order
  FROM generate_series(1, n_clusters) g
  LEFT JOIN (SELECT cluster, avg(monetary) AS avg_monetary FROM c360_assigned GROUP BY 1) a ON a.cluster = g;
  model := c360.kmeans_reorder(model, cluster_order);
  CREATE TEMP TABLE c360_new_rows ON COMMIT DROP AS
  SELECT customer_id, array_position(cluster_order, cluster) AS cluster, _refresh_clusters.as_of AS as_of
  FROM c360_assigned;
  DROP TABLE c360_assigned;
  n := c360._write_derived_rows('customer_clusters', 'customer_id');
  INSERT INTO c360.cluster_models (as_of, features, k, chosen_by, customers, inertia, silhouette, model)
  SELECT _refresh_clusters.as_of, ARRAY['log1p(recency_days)', 'log1p(frequency)', 'log1p(monetary)'], n_clusters,
         CASE WHEN k_setting = 'auto' THEN 'silhouette' ELSE 'setting' END, customers, s.inertia, s.silhouette, model
  FROM c360.kmeans_k_scores(model) s WHERE s.chosen;
  RETURN n;
END
$$;

------------------------------------------------------------------------------
-- For Power BI: one row per cluster.
------------------------------------------------------------------------------
CREATE VIEW c360.cluster_profile AS
SELECT c.cluster,
       count(*) AS customers,
       round(avg(m.recency_days), 1)::numeric(10,1) AS avg_recency_days,
       round(avg(m.frequency), 2)::numeric(12,2) AS avg_frequency,
       round(avg(m.monetary), 4)::numeric(19,4) AS avg_monetary,
       sum(m.monetary)::numeric(19,4) AS revenue,
       round(sum(m.monetary) / nullif(sum(sum(m.monetary)) OVER (), 0), 6)::numeric(9,6) AS revenue_share,
       c.as_of
FROM c360.customer_clusters c
JOIN c360.customer_metrics m USING (customer_id)
GROUP BY c.cluster, c.as_of;

------------------------------------------------------------------------------
-- What \d+ and \df+ show
------------------------------------------------------------------------------
COMMENT ON TYPE c360.kmeans_model IS 'a fitted k-means model (centroids, z-score scaler, inertia, iterations, k, feature count, fit options); its text form is JSON';
COMMENT ON FUNCTION c360.kmeans_model_in(cstring) IS 'type input: the JSON form of a k-means model, checked for consistency';
COMMENT ON FUNCTION c360.kmeans_model_out(c360.kmeans_model) IS 'type output: a k-means model as JSON';
COMMENT ON AGGREGATE c360.kmeans_fit(float8[], integer) IS 'fits k-means (linfa, k-means++ seeding, best of 10 restarts, max 300 iterations, tolerance 1e-4, seed 42, z-score standardized) on the feature vectors of the rows; NULL arrays skipped, NULL/NaN/infinite elements are errors; NULL for no rows; parallel safe';
COMMENT ON AGGREGATE c360.kmeans_fit(float8[], integer, integer, integer, float8, bigint, boolean) IS 'fits k-means with explicit n_init (restarts), max_iter, tolerance (relative to the mean feature variance, as scikit-learn), seed and standardize';
COMMENT ON AGGREGATE c360.kmeans_select_k(float8[], integer, integer) IS 'fits k-means for every k from k_min to k_max and returns the model with the highest simplified silhouette (to centroids); c360.kmeans_k_scores lists every k tried';
COMMENT ON AGGREGATE c360.kmeans_select_k(float8[], integer, integer, integer, integer, float8, bigint, boolean) IS 'c360.kmeans_select_k with explicit n_init, max_iter, tolerance, seed and standardize';
COMMENT ON FUNCTION c360.kmeans_fit_transition(internal, float8[], integer) IS 'support function of c360.kmeans_fit';
COMMENT ON FUNCTION c360.kmeans_fit_transition_options(internal, float8[], integer, integer, integer, float8, bigint, boolean) IS 'support function of c360.kmeans_fit';
COMMENT ON FUNCTION c360.kmeans_select_k_transition(internal, float8[], integer, integer) IS 'support function of c360.kmeans_select_k';
COMMENT ON FUNCTION c360.kmeans_select_k_transition_options(internal, float8[], integer, integer, integer, integer, float8, bigint, boolean) IS 'support function of c360.kmeans_select_k';
COMMENT ON FUNCTION c360.kmeans_combine(internal, internal) IS 'support function of c360.kmeans_fit and c360.kmeans_select_k: merges parallel partial states';
COMMENT ON FUNCTION c360.kmeans_serialize(internal) IS 'support function of c360.kmeans_fit and c360.kmeans_select_k';
COMMENT ON FUNCTION c360.kmeans_deserialize(bytea, internal) IS 'support function of c360.kmeans_fit and c360.kmeans_select_k';
COMMENT ON FUNCTION c360.kmeans_fit_final(internal) IS 'support function of c360.kmeans_fit: runs the fit';
COMMENT ON FUNCTION c360.kmeans_select_k_final(internal) IS 'support function of c360.kmeans_select_k: runs the fits';
COMMENT ON FUNCTION c360.kmeans_assign(float8[], c360.kmeans_model) IS 'the cluster (1..k) of a feature vector: nearest centroid after the model''s scaling; NULL if an element is NULL, NaN or infinite; error if its length differs from the model''s';
COMMENT ON FUNCTION c360.kmeans_reorder(c360.kmeans_model, integer[]) IS 'the model with clusters renumbered: new_order[j] is the old number of the cluster that becomes j';
COMMENT ON FUNCTION c360.kmeans_k_scores(c360.kmeans_model) IS 'inertia and simplified silhouette of every k c360.kmeans_select_k tried (one row for a kmeans_fit model); chosen marks the model''s k';
COMMENT ON FUNCTION c360.cluster_features(integer, integer, numeric) IS 'the clustering features of a customer: log1p of recency_days, frequency and monetary (sign-preserving for negative values)';
COMMENT ON FUNCTION c360._refresh_clusters(date) IS 'refresh step: fits the customer clusters, numbers them by mean monetary value and assigns every customer';

COMMENT ON TABLE c360.cluster_models IS 'derived by c360.refresh_c360(): the k-means model of each as_of date (the latest is the one in use)';
COMMENT ON COLUMN c360.cluster_models.as_of IS 'the date the customer figures were as of';
COMMENT ON COLUMN c360.cluster_models.created_at IS 'when the refresh fitted it';
COMMENT ON COLUMN c360.cluster_models.features IS 'the features, in the order the model expects them (c360.cluster_features computes them)';
COMMENT ON COLUMN c360.cluster_models.k IS 'number of clusters';
COMMENT ON COLUMN c360.cluster_models.chosen_by IS 'setting (cluster_k) or silhouette (cluster_k = auto)';
COMMENT ON COLUMN c360.cluster_models.customers IS 'customers it was fitted on';
COMMENT ON COLUMN c360.cluster_models.inertia IS 'sum of squared distances to the centroids, in standardized units';
COMMENT ON COLUMN c360.cluster_models.silhouette IS 'mean simplified silhouette (to centroids), -1 to 1';
COMMENT ON COLUMN c360.cluster_models.model IS 'the model: c360.kmeans_assign(c360.cluster_features(recency_days, frequency, monetary), model) gives a customer''s cluster';

COMMENT ON TABLE c360.customer_clusters IS 'derived by c360.refresh_c360(): the cluster of every customer in customer_metrics';
COMMENT ON COLUMN c360.customer_clusters.customer_id IS 'customer key';
COMMENT ON COLUMN c360.customer_clusters.cluster IS 'cluster 1..k, numbered by ascending mean monetary value (k = highest spenders)';
COMMENT ON COLUMN c360.customer_clusters.as_of IS 'the date the figures are as of';

COMMENT ON VIEW c360.cluster_profile IS 'one row per customer cluster: size, mean recency, frequency and spend, revenue share (as of the last refresh)';
COMMENT ON COLUMN c360.cluster_profile.cluster IS 'cluster 1..k (k = highest mean spend)';
COMMENT ON COLUMN c360.cluster_profile.customers IS 'customers in the cluster';
COMMENT ON COLUMN c360.cluster_profile.avg_recency_days IS 'mean days since their latest order';
COMMENT ON COLUMN c360.cluster_profile.avg_frequency IS 'mean number of sale orders';
COMMENT ON COLUMN c360.cluster_profile.avg_monetary IS 'mean sale revenue per customer';
COMMENT ON COLUMN c360.cluster_profile.revenue IS 'their sale revenue';
COMMENT ON COLUMN c360.cluster_profile.revenue_share IS 'share of all clustered customers'' revenue';
COMMENT ON COLUMN c360.cluster_profile.as_of IS 'the date the figures are as of';
