#!/usr/bin/env bash
# A refresh in daily use. New sales move as_of, and then every derived row
# changes; compare.sh repeats refreshes on unchanged data, where c360 writes
# nothing. Per round, back to back in one database:
#   every-row   refresh_c360() with as_of moved: 2011-12-11 and the automatic
#               2011-12-10 alternately (same data and model fits, every
#               derived row updated)
#   no-change   refresh_c360() again, nothing to change
#   plain       benches/plain_sql/pipeline.sql (rebuilds its tables every time)
# Databases are built in SQL from the 1x load, like compare.sh with INGEST=0.
# usage: ROUNDS=3 bash benches/refresh_rounds.sh [scale ...]   (default 10)
set -euo pipefail
scales=("$@"); [ ${#scales[@]} -gt 0 ] || scales=(10)
rounds="${ROUNDS:-3}"
source "$(dirname "$0")/common.sh"
online_retail_copy

set_as_of() { c360_psql -d "$db" -qc "INSERT INTO c360.settings (name, value) VALUES ('as_of', '$1')
                                       ON CONFLICT (name) DO UPDATE SET value = excluded.value"; }
for scale in "${scales[@]}"; do
  build_scale_db "c360_rounds_${scale}x" "$scale"
  c360_psql -d "$db" -qc "VACUUM ANALYZE"
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then as_of=2011-12-11; else as_of=auto; fi
    set_as_of "$as_of"
    read -r every every_kb < <(measure "SELECT count(*) FROM c360.refresh_c360();")
    steps="$(c360_psql -d "$db" -qtA -c "SELECT string_agg((s->>'step') || ' ' || round((s->>'ms')::numeric), ', ')
      FROM (SELECT steps FROM c360.refresh_log WHERE status = 'succeeded' ORDER BY run_id DESC LIMIT 1) l, jsonb_array_elements(l.steps) s
      WHERE s->>'step' IN ('customer_metrics', 'rfm_segments', 'clusters', 'clv')")"
    read -r same same_kb < <(measure "SELECT count(*) FROM c360.refresh_c360();")
    read -r plain plain_kb < <(measure "$(cat benches/plain_sql/pipeline.sql)")
    echo "  ${scale}x round $round (as_of $as_of): every-row $every ms ($steps), no-change $same ms, plain $plain ms;" \
         "every-row / plain $(awk -v a="$every" -v b="$plain" 'BEGIN {printf "%.2f", a / b}')"
  done
  drop_db
done
