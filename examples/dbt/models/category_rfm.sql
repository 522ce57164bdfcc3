-- RFM per product category: each customer scored against the other buyers
-- of the same category, with c360's building blocks (quintile cut points
-- from c360.rfm_breaks, scores from c360.rfm_score, c360's default segments).
with as_of as (select as_of from {{ source('c360', 'kpi_summary') }}),
per_customer as (
    select category, customer_id,
           (select as_of from as_of) - max(order_date) as recency_days,
           count(distinct order_id)::int as frequency,
           sum(revenue) as monetary
    from {{ ref('category_sales') }}
    group by category, customer_id
),
breaks as (
    select category,
           c360.rfm_breaks(recency_days) as r_breaks,
           c360.rfm_breaks(frequency) as f_breaks,
           c360.rfm_breaks(monetary::float8) as m_breaks
    from per_customer
    group by category
),
scored as (
    select c.category, c.customer_id, c.recency_days, c.frequency, c.monetary,
           c360.rfm_score(c.recency_days, b.r_breaks, lower_is_better => true) as r,
           c360.rfm_score(c.frequency, b.f_breaks) as f,
           c360.rfm_score(c.monetary::float8, b.m_breaks) as m
    from per_customer c join breaks b using (category)
)
select category || ':' || customer_id as category_customer_key, *,
       c360.rfm_segment(r, f, m) as segment,
       c360.rfm_tier(c360.rfm_segment(r, f, m)) as tier
from scored
