#!/usr/bin/env bash
# The README's main job (scripts/demo.sql, what `make demo` runs) on a fresh
# database: it completes, and the figures of its report agree with the
# tables, computed independently here.
source "$(dirname "$0")/lib.bash"
db=c360_it_demo
fresh_db "$db"
out="$(c360_psql -d "$db" -v customers=2000 -v seed=42 -f "$C360_ROOT/scripts/demo.sql" 2>&1)" || { echo "$out"; echo "  FAIL demo.sql"; exit 1; }
has() { if grep -qF -- "$2" <<< "$out"; then echo "  ok   report shows $1: $2"; else echo "  FAIL report should show $1: '$2'"; FAILED=1; fi; }

for section in "1. sample data" "2. refresh" "3. KPI summary" "4. monthly revenue" "5. RFM segments" "6. customer clusters" "7. top 10 customers" "8. what the data says"; do
  has "section" "== $section"
done
has "generated order lines" "order_items | $(q "$db" "SELECT count(*) FROM c360.order_items")"
has "the refresh total" "total"
# Revenue: sale lines of revenue statuses before as_of, straight from the typed tables.
has "total revenue" "$(q "$db" "SELECT sum(i.quantity * i.unit_price)::numeric(19,4) FROM c360.order_items i JOIN c360.orders o USING (order_id)
   JOIN c360.order_status_rules r USING (order_status) WHERE r.is_revenue AND o.order_date < (SELECT as_of FROM c360.kpi_summary)")"
has "customers" "$(q "$db" "SELECT count(DISTINCT o.customer_id) FROM c360.orders o JOIN c360.order_status_rules r USING (order_status) WHERE r.is_revenue")"
check "segments add up to the customers" "$(q "$db" "SELECT customers FROM c360.kpi_summary")" "$(q "$db" "SELECT sum(customers) FROM c360.segment_summary")"
check "clusters add up to the customers" "$(q "$db" "SELECT customers FROM c360.kpi_summary")" "$(q "$db" "SELECT sum(customers) FROM c360.cluster_profile")"
check "segment revenue adds up" "$(q "$db" "SELECT total_revenue FROM c360.kpi_summary")" "$(q "$db" "SELECT sum(revenue) FROM c360.segment_summary")"
# The top customer by CLV, recomputed from the stored models and the summary.
top="$(q "$db" "SELECT s.customer_id FROM c360.btyd_summary(c360.as_of_date(), 'week') s, c360.clv_models m
   ORDER BY c360.clv(m.bgnbd, m.gamma_gamma, s.frequency, s.recency, s.t, s.monetary, 12, 0.01, 365.25 / 12 / 7) DESC, s.customer_id LIMIT 1")"
has "the top customer by predicted CLV" " $top "
check "every customer has a prediction" 0 "$(q "$db" "SELECT count(*) FROM c360.customer_360 WHERE predicted_clv_12m IS NULL OR cluster IS NULL OR segment IS NULL")"
has "an insight" "Top 20% of customers contribute"
drop_db "$db"
finish
