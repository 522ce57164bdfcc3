# Shared by the benchmark scripts: a release build installed into the
# project-local cluster, and helpers to time SQL.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$C360_ROOT"
bash scripts/setup.sh >/dev/null
bash scripts/install.sh --release
bash scripts/cluster.sh start
dir=/tmp/c360_bench; mkdir -p "$dir"; chown "$C360_PGUSER" "$dir"

# A server-readable copy of the Online Retail file at $dir/online_retail.csv.
online_retail_copy() {
  local src; src="$(cd "$C360_ROOT/.." && pwd)/shared/data/online_retail/online_retail.csv.gz"
  [ -f "$src" ] || die "$src not found: this benchmark needs ../shared/data"
  gunzip -c "$src" > "$dir/online_retail.csv"; chmod 644 "$dir/online_retail.csv"
}

# measure SQL: prints "ms rss_kb" of SQL run in a fresh connection to $db
# (rss_kb: the backend's peak resident memory, VmHWM).
measure() {
  c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 <<SQL | tail -1
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset
SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0 \gset
$1
SELECT round(extract(epoch FROM clock_timestamp()) * 1000 - :t0) AS ms \gset
\setenv BPID :pid
\setenv MS :ms
\! echo "\$MS \$(awk '/VmHWM/ {print \$2}' /proc/\$BPID/status)"
SQL
}

# stats "v1 v2 ...": median, min and max; median "v1 v2 ...": the median.
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stats() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {printf "median %s (min %s, max %s)", a[int((NR+1)/2)], a[1], a[NR]}'; }

# fresh_db NAME: (re)create the benchmark database NAME and make it $db.
fresh_db() {
  db="$1"
  PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
}
drop_db() { PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; }

# load_replicated_sql N: SQL that loads the 1x Online Retail file with c360
# and replicates its typed rows N-1 more times with offset ids (customer_id +
# k*100000, order ids prefixed Rk-), same dates and products.
load_replicated_sql() {
  cat <<SQL
SELECT c360.import_csv('online_retail', '$dir/online_retail.csv');
SELECT count(*) FROM c360.ingest();
INSERT INTO c360.customers SELECT (c.customer_id::int + k * 100000)::text, c.created_at, c.city, c.state, c.country, c.load_id
  FROM c360.customers c, generate_series(1, $1 - 1) k;
INSERT INTO c360.orders SELECT 'R' || k || '-' || o.order_id, (o.customer_id::int + k * 100000)::text, o.order_status, o.order_date, o.order_timestamp, o.load_id
  FROM c360.orders o, generate_series(1, $1 - 1) k;
INSERT INTO c360.order_items SELECT 'R' || k || '-' || i.order_item_id, 'R' || k || '-' || i.order_id, i.product_id, i.quantity, i.unit_price, i.load_id
  FROM c360.order_items i, generate_series(1, $1 - 1) k;
SQL
}

# load_scale_db NAME N: database NAME (made $db) with N x Online Retail
# (load_replicated_sql), derived tables refreshed, vacuumed and analyzed.
load_scale_db() {
  online_retail_copy
  fresh_db "$1"
  log "loading ${2}x Online Retail into $1"
  c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION c360;
$(load_replicated_sql "$2")
SELECT count(*) FROM c360.refresh_c360(rebuild_facts => true);
VACUUM ANALYZE;
SQL
}

# The raw Online Retail columns, all text, as a plain COPY target.
raw_columns="invoiceno text, stockcode text, description text, quantity text, invoicedate text, unitprice text, customerid text, country text"

# plain_replicated_sql N: SQL that loads the 1x file into schema plain (which
# must exist), cleans it with benches/plain_sql/cleaning.sql and replicates
# the cleaned lines N-1 more times with the same id offsets as
# load_replicated_sql.
plain_replicated_sql() {
  cat <<SQL
CREATE TABLE plain.raw ($raw_columns);
COPY plain.raw FROM '$dir/online_retail.csv' CSV HEADER;
$(cat "$C360_ROOT/benches/plain_sql/cleaning.sql")
INSERT INTO plain.lines SELECT 'R' || k || '-' || invoice, product_id, quantity, invoice_ts, unit_price,
       (customer_id::int + k * 100000)::text, country, is_return
  FROM plain.lines, generate_series(1, $1 - 1) k;
SQL
}

# build_scale_db NAME N: a fresh database NAME (made $db) holding N x Online
# Retail twice, built in SQL from the 1x file (not timed): c360's typed tables
# refreshed, and the plain pipeline's cleaned lines in schema plain.
build_scale_db() {
  fresh_db "$1"
  log "building ${2}x in SQL from the 1x load (not timed)"
  c360_psql -d "$db" -qtA -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION c360; CREATE SCHEMA plain;
$(load_replicated_sql "$2")
$(plain_replicated_sql "$2")
SELECT count(*) FROM c360.refresh_c360(rebuild_facts => true);
SQL
}

# The N x raw file, written by the server from the 1x file: invoice numbers
# + k*1,000,000, customer ids + k*100,000, same dates and products.
replicate_file() {  # replicate_file N -> $dir/online_retail_Nx.csv
  local n="$1"; [ "$n" -eq 1 ] && { echo "$dir/online_retail.csv"; return; }
  local f="$dir/online_retail_${n}x.csv"
  if [ ! -s "$f" ]; then
    fresh_db c360_cmp_scratch
    c360_psql -d "$db" -qc "CREATE TABLE raw (line bigserial, $raw_columns)" \
      -c "COPY raw ($(sed 's/ text//g' <<<"$raw_columns")) FROM '$dir/online_retail.csv' CSV HEADER" \
      -c "COPY (SELECT regexp_replace(invoiceno, '[0-9]+', (substring(invoiceno FROM '[0-9]+')::bigint + k * 1000000)::text) AS invoiceno,
                       stockcode, description, quantity, invoicedate, unitprice,
                       CASE WHEN coalesce(customerid, '') = '' THEN customerid ELSE (customerid::numeric + k * 100000)::text END AS customerid, country
                FROM raw, generate_series(0, $n - 1) k ORDER BY k, line)
          TO '$f' WITH (FORMAT csv, HEADER)" >&2
    drop_db
  fi
  echo "$f"
}
