#!/usr/bin/env bash
# The Power BI project (powerbi/): JSON files valid against Microsoft's
# schemas (offline copies in ../shared/powerbi-schemas), TMDL well-formed,
# and every table, column and field it uses present in a database with c360
# installed, with a compatible type (tests/integration/reference/check_powerbi.py).
source "$(dirname "$0")/lib.bash"
db=c360_it_powerbi
fresh_db "$db"
q "$db" "CREATE EXTENSION c360"
cols="$(work_dir)/powerbi_columns.txt"
q "$db" "SELECT c.relname || '|' || a.attname || '|' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'c360'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped" > "$cols"
if "$(c360_python)" "$(dirname "$0")/reference/check_powerbi.py" "$C360_ROOT/powerbi" "$(dirname "$SHARED_DATA")/powerbi-schemas" "$cols"; then :; else FAILED=1; fi
drop_db "$db"; rm -f "$cols"
finish
