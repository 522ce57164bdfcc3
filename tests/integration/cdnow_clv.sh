#!/usr/bin/env bash
# CLV verification on the CDNOW sample (SPEC §7): 2,357 customers, purchases
# merged per day, calibration to 1997-09-30, weeks. The BG/NBD and
# Gamma-Gamma fits match the published parameters within 1%; the summary
# c360.btyd_summary builds from c360's typed tables matches the published
# summary file; the 39-week holdout is reported.
source "$(dirname "$0")/lib.bash"
dir="$SHARED_DATA/cdnow"
if [ ! -f "$dir/CDNOW_sample.txt" ]; then echo "  SKIP cdnow_clv: $dir not found (../shared/data is absent in a fresh clone)"; exit 0; fi
db=c360_it_cdnow
fresh_db "$db"
csv="$(work_dir)/cdnow.csv"
awk '{printf "%s,%s-%s-%s,%s,%s\n", $2, substr($3,1,4), substr($3,5,2), substr($3,7,2), $4, $5}' "$dir/CDNOW_sample.txt" > "$csv"
published="$(server_copy "$dir/cdnow_customers_summary_with_transactions.csv" cdnow_summary.csv)"
chmod 644 "$csv"
q "$db" "CREATE EXTENSION c360"
q "$db" "CREATE TABLE cdnow (customer text, day date, cds int, amount numeric);
         COPY cdnow FROM '$csv' WITH (FORMAT csv);
         CREATE TABLE published (id text, x int, t_x numeric, t numeric, zbar numeric);
         COPY published FROM '$published' WITH (FORMAT csv, HEADER);
         -- The calibration summary, written here in plain SQL.
         CREATE TABLE calibration AS
         WITH d AS (SELECT customer, day, sum(amount) AS amount, row_number() OVER (PARTITION BY customer ORDER BY day) AS n
                    FROM cdnow WHERE day <= '1997-09-30' GROUP BY customer, day)
         SELECT customer, count(*) - 1 AS x, (max(day) - min(day)) / 7.0 AS t_x, (date '1997-09-30' - min(day)) / 7.0 AS t,
                coalesce(avg(amount) FILTER (WHERE n > 1), 0) AS m
         FROM d GROUP BY customer;
         CREATE TABLE models AS
         SELECT (SELECT c360.bgnbd_fit(x, t_x::float8, t::float8) FROM calibration) AS bg,
                (SELECT c360.gamma_gamma_fit(x, m) FROM calibration WHERE x > 0) AS gg;"

check "customers" 2357 "$(q "$db" "SELECT count(*) FROM calibration")"
check "summary equals the published one (x, t_x, T to 2 decimals)" 0 "$(q "$db" "SELECT count(*) FROM calibration c FULL JOIN published p ON p.id = ltrim(c.customer, '0')
   WHERE (c.x, round(c.t_x, 2), round(c.t, 2)) IS DISTINCT FROM (p.x, p.t_x, p.t)")"
params="$(q "$db" "SELECT concat_ws(' ', round((j->>'r')::numeric, 4), round((j->>'alpha')::numeric, 4), round((j->>'a')::numeric, 4), round((j->>'b')::numeric, 4)) FROM (SELECT bg::text::jsonb j FROM models) s")"
echo "  info BG/NBD r alpha a b = $params (published 0.243 4.414 0.793 2.426)"
check "BG/NBD within 1% of r=0.243 alpha=4.414 a=0.793 b=2.426" t "$(q "$db" "SELECT abs((j->>'r')::float8 / 0.243 - 1) < 0.01 AND abs((j->>'alpha')::float8 / 4.414 - 1) < 0.01
   AND abs((j->>'a')::float8 / 0.793 - 1) < 0.01 AND abs((j->>'b')::float8 / 2.426 - 1) < 0.01 FROM (SELECT bg::text::jsonb j FROM models) s")"
check "BG/NBD converged" true "$(q "$db" "SELECT bg::text::jsonb ->> 'converged' FROM models")"
check "expected purchases x=2, t_x=30.43, T=38.86 over 39 weeks = 1.226 (within 1%)" t \
  "$(q "$db" "SELECT abs(c360.bgnbd_expected_purchases(bg, 39, 2, 30.43, 38.86) / 1.226 - 1) < 0.01 FROM models")"
check "Gamma-Gamma customers" 946 "$(q "$db" "SELECT gg::text::jsonb ->> 'customers' FROM models")"
gparams="$(q "$db" "SELECT concat_ws(' ', round((j->>'p')::numeric, 4), round((j->>'q')::numeric, 4), round((j->>'v')::numeric, 4)) FROM (SELECT gg::text::jsonb j FROM models) s")"
echo "  info Gamma-Gamma p q v = $gparams (published 6.25 3.74 15.44)"
check "Gamma-Gamma within 1% of p=6.25 q=3.74 v=15.44" t "$(q "$db" "SELECT abs((j->>'p')::float8 / 6.25 - 1) < 0.01 AND abs((j->>'q')::float8 / 3.74 - 1) < 0.01
   AND abs((j->>'v')::float8 / 15.44 - 1) < 0.01 FROM (SELECT gg::text::jsonb j FROM models) s")"

# Holdout: purchase days in the 39 weeks after calibration, predicted from
# the calibration summary vs what the customers actually did.
holdout="$(q "$db" "WITH actual AS (SELECT customer, count(DISTINCT day) AS n FROM cdnow WHERE day > '1997-09-30' AND day <= date '1997-09-30' + 273 GROUP BY customer)
  SELECT round(sum(c360.bgnbd_expected_purchases(bg, 39, c.x, c.t_x::float8, c.t::float8))::numeric, 1) || ' ' || sum(coalesce(a.n, 0))
  FROM calibration c LEFT JOIN actual a USING (customer), models")"
read -r predicted actual <<< "$holdout"
echo "  info holdout (39 weeks after 1997-09-30): predicted $predicted purchase days, actual $actual"
# A sanity bound, not a target: the conditional expectation under-predicts
# CDNOW's holdout by about 12% (see README, Customer lifetime value).
check "holdout prediction within 15% of actual" t "$(q "$db" "SELECT abs($predicted / $actual - 1) < 0.15")"
by_x="$(q "$db" "WITH actual AS (SELECT customer, count(DISTINCT day) AS n FROM cdnow WHERE day > '1997-09-30' AND day <= date '1997-09-30' + 273 GROUP BY customer)
  SELECT string_agg(format('x=%s: %s/%s', g, p, a), ', ' ORDER BY g) FROM (
    SELECT least(c.x, 7) AS g, round(avg(c360.bgnbd_expected_purchases(bg, 39, c.x, c.t_x::float8, c.t::float8))::numeric, 2) AS p,
           round(avg(coalesce(a.n, 0)), 2) AS a
    FROM calibration c LEFT JOIN actual a USING (customer), models GROUP BY 1) s")"
echo "  info holdout per calibration frequency (predicted/actual mean purchase days; 7 = 7+): $by_x"

# The same data through c360's typed tables: btyd_summary gives the same
# frequency and recency; T counts to as_of (the day after calibration).
q "$db" "INSERT INTO c360.customers (customer_id, country, load_id) SELECT DISTINCT customer, 'United States', 0 FROM cdnow;
         INSERT INTO c360.products (product_id, category, load_id) VALUES ('CD', 'Music', 0);
         INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
         SELECT customer || '-' || row_number() OVER (PARTITION BY customer ORDER BY day), customer, 'completed', day, day + time '12:00', 0 FROM cdnow;
         INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
         SELECT order_id || ':1', order_id, 'CD', 1, c.amount, 0
         FROM (SELECT customer || '-' || row_number() OVER (PARTITION BY customer ORDER BY day) AS order_id, amount FROM cdnow) c
         JOIN c360.orders USING (order_id);
         SET client_min_messages = warning; SELECT c360._rebuild_facts();" >/dev/null
check "btyd_summary from the typed tables matches" 0 "$(q "$db" "SELECT count(*) FROM calibration c FULL JOIN c360.btyd_summary('1997-10-01', 'week') s ON s.customer_id = c.customer
   WHERE (c.x, round(c.t_x, 6), round(c.t + 1 / 7.0, 6), round(c.m, 6)) IS DISTINCT FROM (s.frequency::bigint, round(s.recency::numeric, 6), round(s.t::numeric, 6), round(s.monetary, 6))")"
drop_db "$db"; rm -f "$csv"
finish
