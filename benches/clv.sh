#!/usr/bin/env bash
# CLV benchmark (issue 8): fit BG/NBD + Gamma-Gamma and score N synthetic
# customers (default 1M), against Python's lifetimes on the same summary,
# in the same run. The summary is in weeks with day resolution, like
# c360.btyd_summary's: T uniform over a year, purchase rates spread over
# two orders of magnitude, recency uniform in (0, T], spend log-normal;
# drawn in SQL with setseed(0.8).
#   c360 fit    bgnbd_fit over all customers + gamma_gamma_fit over repeat ones
#   c360 score  p_alive, expected purchases over 13 weeks, 12-month CLV at
#               1% a month, for every customer, into a table
#   lifetimes   BetaGeoFitter + GammaGammaFitter fit; the same three scores
# usage: bash benches/clv.sh [customers] [runs]   (not part of make test)
set -euo pipefail
n="${1:-1000000}"; runs="${2:-3}"
source "$(dirname "$0")/common.sh"
python="$(c360_python)"
fresh_db c360_bench_clv
log "generating $n customer summaries"
c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION c360;
SELECT setseed(0.8);
CREATE TABLE summary AS
WITH c AS (SELECT i, 1 + floor(random() * 364) AS t_days, exp(random() * 4.6) / 200 AS rate_per_day, random() AS u FROM generate_series(1, $n) i),
x AS (SELECT i, t_days, least(floor(t_days * rate_per_day * u * 2), t_days - 1) AS x FROM c)
SELECT i AS customer_id, x AS frequency,
       CASE WHEN x = 0 THEN 0 ELSE greatest(x, floor(random() * t_days)) / 7.0 END::float8 AS recency,
       (t_days / 7.0)::float8 AS t,
       CASE WHEN x = 0 THEN 0 ELSE round(exp(3 + random() * 1.5)::numeric, 2) END AS monetary
FROM x;
VACUUM ANALYZE summary;
COPY (SELECT frequency, recency, t, monetary FROM summary) TO '$dir/clv_summary.csv' WITH (FORMAT csv);
SQL
c360_psql -d "$db" -qtA -c "SELECT format('data: %s customers, %s with repeat purchases, %s distinct (frequency, recency, T)', count(*), count(*) FILTER (WHERE frequency > 0), (SELECT count(*) FROM (SELECT DISTINCT frequency, recency, t FROM summary) d)) FROM summary"

fit_sql="DROP TABLE IF EXISTS models; CREATE TABLE models AS SELECT (SELECT c360.bgnbd_fit(frequency, recency, t) FROM summary) AS bg,
  (SELECT c360.gamma_gamma_fit(frequency, monetary) FROM summary WHERE frequency > 0 AND monetary > 0) AS gg;"
score_sql="DROP TABLE IF EXISTS scored; CREATE TABLE scored AS SELECT customer_id, c360.bgnbd_p_alive(bg, frequency, recency, t) AS p_alive,
  c360.bgnbd_expected_purchases(bg, 13, frequency, recency, t) AS expected_13w,
  c360.clv(bg, gg, frequency, recency, t, monetary, 12, 0.01, 4.345) AS clv_12m FROM summary, models;"
declare -a cf cfm cs csm lf ls lm
for i in $(seq "$runs"); do
  read -r t m < <(measure "$fit_sql"); cf+=("$t"); cfm+=("$m")
  read -r t m < <(measure "$score_sql"); cs+=("$t"); csm+=("$m")
  if out="$(timeout 1800 "$python" benches/python/clv_lifetimes.py "$dir/clv_summary.csv" 2>"$dir/lifetimes.err" | tail -1)"; then
    read -r f s m penalizer lparams <<< "$out"
    lparams="$lparams (penalizer_coef $penalizer)"
  else
    f=failed; s=failed; m=0; lparams="(lifetimes failed: $(tail -1 "$dir/lifetimes.err"))"
  fi
  lf+=("$f"); ls+=("$s"); lm+=("$m")
  echo "run $i: c360 fit ${cf[-1]} ms / ${cfm[-1]} kB, score ${cs[-1]} ms / ${csm[-1]} kB; lifetimes fit $f ms, score $s ms / $m kB"
done
echo "c360 parameters r alpha a b p q v: $(c360_psql -d "$db" -qtA -c "SELECT concat_ws(' ', b->>'r', b->>'alpha', b->>'a', b->>'b', g->>'p', g->>'q', g->>'v') FROM (SELECT bg::text::jsonb b, gg::text::jsonb g FROM models) m")"
echo "lifetimes parameters r alpha a b p q v: $lparams"
echo "c360 fit:   ms $(stats "${cf[*]}"); peak RSS kB $(stats "${cfm[*]}")"
echo "c360 score: ms $(stats "${cs[*]}"); peak RSS kB $(stats "${csm[*]}")"
echo "lifetimes fit: ms $(stats "${lf[*]}"); score: ms $(stats "${ls[*]}"); peak RSS kB $(stats "${lm[*]}")"
drop_db
rm -f "$dir/clv_summary.csv"
