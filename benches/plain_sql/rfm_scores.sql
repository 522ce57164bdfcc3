-- Plain-SQL RFM scoring shared by pipeline.sql and rfm_pipeline.sql: from
-- plain.customers (customer_id, recency_days, frequency, monetary), the
-- percentile_cont quintile cut points, CASE scores and the SPEC §5 segments,
-- as plain.rfm. Included with \i from the repository root.
DROP TABLE IF EXISTS plain.rfm;
CREATE TABLE plain.rfm AS
WITH breaks AS (
  SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days) AS r,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency) AS f,
         percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary) AS m
  FROM plain.customers),
scored AS (
  SELECT c.customer_id, c.recency_days, c.frequency, c.monetary,
    CASE WHEN recency_days < b.r[1] THEN 5 WHEN recency_days < b.r[2] THEN 4 WHEN recency_days < b.r[3] THEN 3
         WHEN recency_days < b.r[4] THEN 2 ELSE 1 END AS r,
    CASE WHEN frequency > b.f[4] THEN 5 WHEN frequency > b.f[3] THEN 4 WHEN frequency > b.f[2] THEN 3
         WHEN frequency > b.f[1] THEN 2 ELSE 1 END AS f,
    CASE WHEN monetary > b.m[4] THEN 5 WHEN monetary > b.m[3] THEN 4 WHEN monetary > b.m[2] THEN 3
         WHEN monetary > b.m[1] THEN 2 ELSE 1 END AS m
  FROM plain.customers c, breaks b)
SELECT *,
  CASE WHEN r = 5 AND f >= 4 THEN 'Champions' WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal'
       WHEN r >= 4 AND f IN (2, 3) THEN 'Potential Loyalist' WHEN r = 5 AND f = 1 THEN 'New Customers'
       WHEN r = 4 AND f = 1 THEN 'Promising' WHEN r = 3 AND f = 3 THEN 'Need Attention'
       WHEN r = 3 AND f <= 2 THEN 'About to Sleep' WHEN r <= 2 AND f IN (3, 4) THEN 'At Risk'
       WHEN r <= 2 AND f = 5 THEN 'Can''t Lose' ELSE 'Hibernating' END AS segment
FROM scored;
