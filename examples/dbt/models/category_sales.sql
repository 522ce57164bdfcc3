-- Sale lines before c360's as_of date, with the product category.
{{ config(materialized='view') }}
select f.customer_id, f.order_id, f.order_date, f.revenue, coalesce(p.category, 'Unknown') as category
from {{ source('c360', 'fact_sales') }} f
join {{ source('c360', 'dim_product') }} p using (product_id)
where f.is_sale and f.order_date < (select as_of from {{ source('c360', 'kpi_summary') }})
