#!/usr/bin/env bash
# The documented way to schedule refresh_c360() (README: Scheduling) works:
# a pg_cron job in the c360 database runs it, and the run is in refresh_log.
# pg_cron 1.4 (Debian's for PostgreSQL 15) schedules by the minute, so this
# waits up to about 70 seconds.
source "$(dirname "$0")/lib.bash"
if [ "$(q postgres "SHOW shared_preload_libraries")" != "pg_cron" ]; then
  echo "  SKIP refresh_pg_cron: pg_cron is not preloaded in the project-local cluster (package postgresql-$PG_MAJOR-cron)"; exit 0
fi
db=c360_it_cron
fresh_db "$db"
q "$db" "CREATE EXTENSION c360"
q "$db" "INSERT INTO c360.customers VALUES ('C1', NULL, NULL, NULL, 'Malaysia', 0);
         INSERT INTO c360.products VALUES ('P1', NULL, NULL, NULL, 0);
         INSERT INTO c360.orders VALUES ('O1', 'C1', 'completed', '2024-05-01', '2024-05-01 10:00+08', 0);
         INSERT INTO c360.order_items VALUES ('O1:1', 'O1', 'P1', 2, 12.50, 0)"
q postgres "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_cron"
job="$(q postgres "SELECT cron.schedule_in_database('c360-refresh-test', '* * * * *', 'SELECT count(*) FROM c360.refresh_c360()', '$db')")"
ran=""
for _ in $(seq 75); do
  ran="$(q "$db" "SELECT status FROM c360.refresh_log ORDER BY run_id DESC LIMIT 1")"
  [ -n "$ran" ] && break
  sleep 1
done
sleep 1
q postgres "SELECT cron.unschedule($job)" >/dev/null
check "pg_cron ran the refresh" succeeded "$ran"
check "pg_cron recorded success" succeeded "$(q postgres "SELECT status FROM cron.job_run_details WHERE jobid = $job ORDER BY runid DESC LIMIT 1")"
check "the refresh saw the data" 25.00 "$(q "$db" "SELECT monetary::numeric(10,2) FROM c360.customer_360")"
q postgres "DELETE FROM cron.job_run_details WHERE jobid = $job" >/dev/null
drop_db "$db"
finish
