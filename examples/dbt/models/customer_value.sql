-- A view on c360.customer_360 for reports: c360's refresh replaces the rows
-- underneath (never drops its views), so this keeps working.
{{ config(materialized='view') }}
select customer_id, country, segment, tier, cluster, p_alive, predicted_clv_12m,
       case when predicted_clv_12m >= 1000 then 'high'
            when predicted_clv_12m >= 100 then 'medium'
            else 'low' end as value_band
from {{ source('c360', 'customer_360') }}
