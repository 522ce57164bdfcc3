#!/usr/bin/env bash
# The example dbt project (examples/dbt) on a database with c360 and sample
# data: `dbt run-operation refresh_c360` refreshes, `dbt build` builds the
# models (RFM and k-means per category with c360's functions) and passes
# its tests; a dbt view on customer_360 survives a refresh and ALTER
# EXTENSION c360 UPDATE.
source "$(dirname "$0")/lib.bash"
proj="$C360_ROOT/examples/dbt"
venv="$C360_ROOT/target/venv-dbt"
if [ ! -x "$venv/bin/dbt" ] || ! cmp -s "$proj/requirements.txt" "$venv/requirements.txt"; then
  log "python: installing examples/dbt/requirements.txt into target/venv-dbt"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$proj/requirements.txt" \
    && cp "$proj/requirements.txt" "$venv/requirements.txt" || { echo "  FAIL could not install dbt"; exit 1; }
fi
db=c360_it_dbt
fresh_db "$db"
q "$db" "CREATE EXTENSION c360" && q "$db" "SELECT count(*) FROM c360.generate_sample(1500, 42)" >/dev/null
export C360_DBT_HOST="$C360_PGSOCK" C360_DBT_PORT="$C360_PGPORT" C360_DBT_USER="$C360_PGUSER" C360_DBT_DATABASE="$db"
export DBT_TARGET_PATH="$C360_ROOT/target/dbt/target" DBT_LOG_PATH="$C360_ROOT/target/dbt/logs" DBT_SEND_ANONYMOUS_USAGE_STATS=false
dbt() { "$venv/bin/dbt" "$@" --project-dir "$proj" --profiles-dir "$proj" > "$C360_ROOT/target/dbt/last.log" 2>&1; }
mkdir -p "$C360_ROOT/target/dbt"
ran() { if "$@"; then echo "  ok   $*"; else echo "  FAIL $* (log: target/dbt/last.log)"; tail -30 "$C360_ROOT/target/dbt/last.log"; FAILED=1; fi; }

ran dbt run-operation refresh_c360
check "the run-operation refreshed and committed" "1 succeeded" "$(q "$db" "SELECT count(*) || ' ' || min(status) FROM c360.refresh_log")"
ran dbt build
check "dbt tests ran and passed" t "$(grep -qE 'PASS=[1-9][0-9]* WARN=0 ERROR=0' "$C360_ROOT/target/dbt/last.log" && echo t || echo f)"
check "category RFM covers every category's buyers" "$(q "$db" "SELECT count(DISTINCT (category, customer_id)) FROM analytics.category_sales")" \
  "$(q "$db" "SELECT count(*) FROM analytics.category_rfm")"
check "category clusters" "$(q "$db" "SELECT count(*) FROM analytics.category_rfm")" "$(q "$db" "SELECT count(*) FROM analytics.category_clusters")"
check "per-category scores differ from the overall ones for some customers" t \
  "$(q "$db" "SELECT count(*) > 0 FROM analytics.category_rfm r JOIN c360.customer_360 c USING (customer_id) WHERE r.segment <> c.segment")"

# c360's refresh replaces rows under its views and never drops them.
q "$db" "SET client_min_messages = warning; SELECT count(*) FROM c360.refresh_c360(rebuild_facts => true)" >/dev/null
check "the dbt view on customer_360 survives a refresh" "$(q "$db" "SELECT count(*) FROM c360.customer_360")" "$(q "$db" "SELECT count(*) FROM analytics.customer_value")"
q "$db" "SET client_min_messages = warning; ALTER EXTENSION c360 UPDATE"
check "... and ALTER EXTENSION c360 UPDATE" "$(q "$db" "SELECT count(*) FROM c360.customer_360")" "$(q "$db" "SELECT count(*) FROM analytics.customer_value")"
ran dbt test
drop_db "$db"
finish
