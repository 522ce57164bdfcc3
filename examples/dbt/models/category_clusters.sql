-- k-means per product category (k = 3) on c360's clustering features,
-- fitted with c360.kmeans_fit and applied with c360.kmeans_assign.
with features as (
    select category_customer_key, category, customer_id,
           c360.cluster_features(recency_days, frequency, monetary) as x
    from {{ ref('category_rfm') }}
),
models as (
    select category, c360.kmeans_fit(x, 3) as model
    from features
    group by category
    having count(*) >= 3
)
select f.category_customer_key, f.category, f.customer_id, c360.kmeans_assign(f.x, m.model) as cluster
from features f join models m using (category)
