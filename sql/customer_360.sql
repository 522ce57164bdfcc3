-- customer_360: one row per customer with a sale, for psql, dbt and Power BI.
-- Each capability's derived table joins in here (RFM, clusters, CLV).
CREATE VIEW c360.customer_360 AS
SELECT m.customer_id,
       c.country,
       c.city,
       c.state,
       m.first_order_date,
       m.last_order_date,
       m.tenure_days,
       m.recency_days,
       m.frequency,
       m.monetary::numeric(19,4) AS monetary,
       round(m.monetary / m.frequency, 4)::numeric(19,4) AS aov,
       s.r,
       s.f,
       s.m,
       s.rfm_score,
       s.segment,
       s.tier,
       k.cluster,
       round(v.p_alive::numeric, 6)::numeric(7,6) AS p_alive,
       round(v.expected_orders_90d::numeric, 4)::numeric(12,4) AS expected_orders_90d,
       v.expected_aov,
       v.predicted_clv_12m,
       m.as_of
FROM c360.customer_metrics m
JOIN c360.customers c ON c.customer_id = m.customer_id
LEFT JOIN c360.rfm_segments s ON s.customer_id = m.customer_id
LEFT JOIN c360.customer_clusters k ON k.customer_id = m.customer_id
LEFT JOIN c360.customer_clv v ON v.customer_id = m.customer_id;


COMMENT ON VIEW c360.customer_360 IS 'one row per customer with a sale: where they are, when and how much they buy, RFM scores, segment, tier, cluster and CLV predictions (as of the last refresh)';
COMMENT ON COLUMN c360.customer_360.customer_id IS 'customer key';
COMMENT ON COLUMN c360.customer_360.country IS 'country';
COMMENT ON COLUMN c360.customer_360.city IS 'city, if known';
COMMENT ON COLUMN c360.customer_360.state IS 'state or region, if known';
COMMENT ON COLUMN c360.customer_360.first_order_date IS 'date of the first sale order';
COMMENT ON COLUMN c360.customer_360.last_order_date IS 'date of the latest sale order';
COMMENT ON COLUMN c360.customer_360.tenure_days IS 'days from the first order to as_of';
COMMENT ON COLUMN c360.customer_360.recency_days IS 'days from the latest order to as_of';
COMMENT ON COLUMN c360.customer_360.frequency IS 'number of sale orders';
COMMENT ON COLUMN c360.customer_360.monetary IS 'total sale revenue';
COMMENT ON COLUMN c360.customer_360.aov IS 'average order value: monetary / frequency, rounded to 4 decimals';
COMMENT ON COLUMN c360.customer_360.r IS 'recency score 1-5';
COMMENT ON COLUMN c360.customer_360.f IS 'frequency score 1-5';
COMMENT ON COLUMN c360.customer_360.m IS 'monetary score 1-5';
COMMENT ON COLUMN c360.customer_360.rfm_score IS 'the three scores as a code, e.g. 545';
COMMENT ON COLUMN c360.customer_360.segment IS 'RFM segment';
COMMENT ON COLUMN c360.customer_360.tier IS 'tier of the segment';
COMMENT ON COLUMN c360.customer_360.as_of IS 'the date the figures are as of';COMMENT ON COLUMN c360.customer_360.cluster IS 'k-means cluster 1..k, numbered by ascending mean spend (see c360.cluster_profile); NULL when too few customers to cluster';
COMMENT ON COLUMN c360.customer_360.p_alive IS 'probability the customer is still active (BG/NBD), 6 decimals';
COMMENT ON COLUMN c360.customer_360.expected_orders_90d IS 'expected purchase days in the next clv_horizon_days (default 90), BG/NBD';
COMMENT ON COLUMN c360.customer_360.expected_aov IS 'expected average order value (Gamma-Gamma)';
COMMENT ON COLUMN c360.customer_360.predicted_clv_12m IS 'expected revenue of the next 12 months, discounted monthly (BG/NBD x Gamma-Gamma)';
