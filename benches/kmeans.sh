#!/usr/bin/env bash
# k-means benchmark (issue 7): fit N customers x 3 features, k = 4, 10
# restarts, standardized, in the same run:
#   c360     SELECT c360.kmeans_fit(features, 4) FROM bench_points  (release
#            build, fresh connection; time and backend peak RSS)
#   sklearn  StandardScaler + KMeans(4, n_init=10) on the same rows, loaded
#            from CSV beforehand (time of the fit; process peak RSS)
# The rows are log1p(recency, frequency, monetary)-like: four overlapping
# groups drawn with a fixed seed (setseed), like real customer features.
# usage: bash benches/kmeans.sh [customers] [runs]   (not part of make test)
set -euo pipefail
n="${1:-1000000}"; runs="${2:-3}"
source "$(dirname "$0")/common.sh"
python="$(c360_python)"
fresh_db c360_bench_kmeans
log "generating $n feature rows"
c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION c360;
SELECT setseed(0.42);
CREATE TABLE bench_points AS
SELECT ARRAY[ln(1 + g * 60 + random() * 120), ln(1 + g + random() * (1 + 3 * g)), ln(1 + 50 * (g + 1) * exp(random() * 2))]::float8[] AS x
FROM (SELECT i, (i % 4) AS g FROM generate_series(1, $n) i) s;
VACUUM ANALYZE bench_points;
COPY (SELECT x[1], x[2], x[3] FROM bench_points) TO '$dir/kmeans_points.csv' WITH (FORMAT csv);
SQL

declare -a c_t c_m s_t s_m
for i in $(seq "$runs"); do
  read -r t m < <(measure "SELECT c360.kmeans_fit(x, 4) FROM bench_points;")
  c_t+=("$t"); c_m+=("$m")
  read -r t m sk_inertia < <("$python" benches/python/kmeans_sklearn.py "$dir/kmeans_points.csv" 4 10)
  s_t+=("$t"); s_m+=("$m")
  echo "run $i: c360 ${c_t[-1]} ms / ${c_m[-1]} kB, scikit-learn ${s_t[-1]} ms / ${s_m[-1]} kB"
done
c_inertia="$(c360_psql -d "$db" -qtA -c "SELECT (c360.kmeans_fit(x, 4)::text::jsonb ->> 'inertia') || ' (' || (c360.kmeans_fit(x, 4)::text::jsonb ->> 'iterations') || ' iterations in the best restart)' FROM bench_points")"
echo "inertia: c360 $c_inertia, scikit-learn $sk_inertia"
echo "c360 kmeans_fit: ms $(stats "${c_t[*]}"); peak RSS kB $(stats "${c_m[*]}")"
echo "scikit-learn:    ms $(stats "${s_t[*]}"); peak RSS kB $(stats "${s_m[*]}")"
drop_db
rm -f "$dir/kmeans_points.csv"
