-- The main job, as `make demo` runs it in a fresh demo database: install
-- c360, generate the built-in sample shop, refresh everything, report.
-- Variables: customers (default 5000), seed (default 42).
\set QUIET on
\pset footer off
SET client_min_messages = warning;
\if :{?customers} \else \set customers 5000 \endif
\if :{?seed} \else \set seed 42 \endif
CREATE EXTENSION c360;
\set QUIET off

\echo
\echo '== 1. sample data: c360.generate_sample(customers => ':customers', seed => ':seed')'
SELECT table_name, rows, ms FROM c360.generate_sample(:customers, :seed);

\echo '== 2. refresh: c360.refresh_c360()'
SELECT step, rows, ms FROM c360.refresh_c360();

\echo '== 3. KPI summary (c360.kpi_summary)'
SELECT total_revenue, orders, customers, aov, repeat_rate, return_orders, first_order_date, last_order_date, as_of
FROM c360.kpi_summary;

\echo '== 4. monthly revenue, last 6 months (c360.kpi_monthly)'
SELECT * FROM (SELECT month, revenue, orders, active_customers, new_customers, returning_customers, aov
               FROM c360.kpi_monthly ORDER BY month DESC LIMIT 6) m ORDER BY month;

\echo '== 5. RFM segments (c360.segment_summary)'
SELECT segment, tier, customers, revenue, round(100 * revenue_share, 1) AS revenue_pct, aov
FROM c360.segment_summary ORDER BY sort_order;

\echo '== 6. customer clusters (c360.cluster_profile; 1 = lowest spend)'
SELECT cluster, customers, avg_recency_days, avg_frequency, avg_monetary, round(100 * revenue_share, 1) AS revenue_pct
FROM c360.cluster_profile ORDER BY cluster;

\echo '== 7. top 10 customers by predicted 12-month CLV (c360.customer_360)'
SELECT customer_id, city, country, frequency AS orders, monetary, segment, cluster, p_alive, expected_orders_90d, predicted_clv_12m
FROM c360.customer_360 ORDER BY predicted_clv_12m DESC NULLS LAST, customer_id LIMIT 10;

\echo '== 8. what the data says (c360.insights)'
SELECT headline FROM c360.insights;
