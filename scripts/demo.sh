#!/usr/bin/env bash
# The main job on a fresh machine: set up, build and install c360 (release),
# start the project-local cluster, (re)create database c360_demo, generate
# the built-in sample shop, refresh, and print a short report
# (scripts/demo.sql). Options: C360_DEMO_DB, C360_DEMO_CUSTOMERS, C360_DEMO_SEED.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$C360_ROOT"

bash scripts/setup.sh
bash scripts/install.sh --release
bash scripts/cluster.sh start

DB="${C360_DEMO_DB:-c360_demo}"
log "database $DB (recreated: it holds only demo data)"
PGOPTIONS="-c client_min_messages=warning" c360_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
c360_psql -d "$DB" -v customers="${C360_DEMO_CUSTOMERS:-5000}" -v seed="${C360_DEMO_SEED:-42}" -f scripts/demo.sql

cat <<MSG

== next steps
psql:      psql -h $C360_PGSOCK -p $C360_PGPORT -U $C360_PGUSER $DB
           then e.g.  SELECT * FROM c360.customer_360 LIMIT 10;
Power BI:  the cluster listens on a Unix socket only (scripts/cluster.sh). To
           reach it from Power BI Desktop, serve PostgreSQL over TCP (listen_addresses,
           pg_hba.conf), create a read-only role and run
             SELECT c360.grant_reader('powerbi_reader');
           then connect Get Data > PostgreSQL database to server <host>:$C360_PGPORT,
           database $DB, and pick the c360 views (kpi_summary, kpi_monthly,
           segment_summary, cluster_profile, customer_360, fact_sales, dim_*).
Your data: instead of the sample, in a fresh database:
             CREATE EXTENSION c360;
             SELECT c360.import_csv('online_retail', '/path/online_retail.csv');  -- or customers, orders, ...
             SELECT c360.ingest();  SELECT * FROM c360.refresh_c360();
           (client side: \\copy c360.<source>_csv FROM 'file.csv' CSV HEADER, then ingest;
            see README "Loading data").
Stop:      bash scripts/cluster.sh stop
MSG
