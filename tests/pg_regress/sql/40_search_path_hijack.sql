-- A schema placed before pg_catalog on the search_path, full of look-alikes
-- of what c360 uses inside (built-in functions, an operator, an aggregate,
-- tables with c360's table names), changes nothing c360 does: its SQL
-- functions pin search_path = pg_catalog and name their own objects with
-- c360., its views were bound when created, and its Rust functions run no
-- SQL by name. Every look-alike records its use in attacker.calls.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS c360 CASCADE;
CREATE EXTENSION c360;
DROP SCHEMA IF EXISTS attacker CASCADE;
CREATE SCHEMA attacker;
CREATE TABLE attacker.calls (what text);
CREATE FUNCTION attacker.now() RETURNS timestamptz LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('now'); SELECT timestamptz '1999-01-01' $$;
CREATE FUNCTION attacker.clock_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('clock_timestamp'); SELECT timestamptz '1999-01-01' $$;
CREATE FUNCTION attacker.hashtext(text) RETURNS integer LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('hashtext'); SELECT 42 $$;
CREATE FUNCTION attacker.round(numeric, integer) RETURNS numeric LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('round'); SELECT 0::numeric $$;
CREATE FUNCTION attacker.ln(float8) RETURNS float8 LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('ln'); SELECT 0::float8 $$;
CREATE FUNCTION attacker.set_config(text, text, boolean) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('set_config'); SELECT $2 $$;
CREATE FUNCTION attacker.text_equal(text, text) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('='); SELECT pg_catalog.texteq($1, $2) $$;
CREATE OPERATOR attacker.= (LEFTARG = text, RIGHTARG = text, FUNCTION = attacker.text_equal);
CREATE FUNCTION attacker.sum_step(numeric, numeric) RETURNS numeric LANGUAGE sql
  AS $$ INSERT INTO attacker.calls VALUES ('sum'); SELECT 0::numeric $$;
CREATE AGGREGATE attacker.sum(numeric) (SFUNC = attacker.sum_step, STYPE = numeric);
CREATE TABLE attacker.settings (name text, value text);
INSERT INTO attacker.settings VALUES ('as_of', '1999-01-01'), ('cluster_k', '2');
CREATE TABLE attacker.customers (customer_id text);
CREATE TABLE attacker.fact_orders (customer_id text);

-- Everything an analyst or a job runs, with the attacker's schema first.
SET search_path = attacker, pg_catalog, public;
SELECT count(*) AS tables_filled FROM c360.generate_sample(300, 5);
SELECT count(*) AS steps FROM c360.refresh_c360();
SELECT count(*) AS customers FROM c360.customer_360;
SELECT count(*) AS kpi_rows FROM c360.kpi_summary;
SELECT count(*) AS months FROM c360.kpi_monthly;
SELECT count(*) AS insights FROM c360.insights;
SELECT count(*) AS segments FROM c360.segment_summary;
SELECT count(*) AS clusters FROM c360.cluster_profile;
SELECT c360.setting('as_of') AS as_of_setting, c360.setting('cluster_k') AS cluster_k_setting;
SELECT count(*) AS problems FROM c360.check_segment_rules();
RESET search_path;

-- Nothing of the attacker's ran, and c360 used its own settings and data.
SELECT count(*) AS hijacked_calls FROM attacker.calls;
SELECT count(*) AS customers_scored, count(DISTINCT cluster) AS clusters FROM c360.customer_360;
SELECT (SELECT as_of FROM c360.kpi_summary) = (SELECT max(order_date) + 1 FROM c360.fact_orders WHERE is_sale) AS as_of_is_c360s;
SELECT bool_and(total_revenue > 0) AS revenue_is_real FROM c360.kpi_summary;
DROP SCHEMA attacker CASCADE;
