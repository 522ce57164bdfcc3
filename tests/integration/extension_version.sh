#!/usr/bin/env bash
# Versions: the installed version is the crate version, and every older
# version this repository ships (sql/c360--X.sql) installs and updates to it
# with ALTER EXTENSION c360 UPDATE, keeping user rows.
source "$(dirname "$0")/lib.bash"
db=c360_it_version
current="$(grep -m1 '^version' "$C360_ROOT/Cargo.toml" | cut -d'"' -f2)"
fresh_db "$db"
q "$db" "CREATE EXTENSION c360"
check "installed version" "$current" "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'c360'")"
check "library version" "$current" "$(q "$db" "SELECT c360.version()")"
check "update paths reach $current" t \
  "$(q "$db" "SELECT bool_and(path IS NOT NULL) OR count(*) = 0 FROM pg_extension_update_paths('c360') WHERE target = '$current' AND source <> '$current'")"
for old in $(ls "$C360_ROOT"/sql/c360--*.sql 2>/dev/null | grep -v -- '--.*--' | sed -E 's/.*c360--(.*)\.sql/\1/'); do
  fresh_db "$db"
  q "$db" "CREATE EXTENSION c360 VERSION '$old'"
  q "$db" "INSERT INTO c360.customers (customer_id, country, load_id) VALUES ('upgrade-probe', 'Malaysia', 0)"
  q "$db" "ALTER EXTENSION c360 UPDATE"
  check "$old updates to $current" "$current" "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'c360'")"
  check "$old: user rows kept" 1 "$(q "$db" "SELECT count(*) FROM c360.customers WHERE customer_id = 'upgrade-probe'")"
done
drop_db "$db"
finish
