-- refresh_c360() (SPEC.md §8): rebuilds every derived table from the typed
-- tables in the caller's transaction, one step after another, logged in
-- c360.refresh_log. The steps themselves live with their capability
-- (sql/rfm.sql, ...); this file is the order, the locking and the log.

------------------------------------------------------------------------------
-- Is fact_orders current? ingest() keeps it so for the
-- orders it touches; any other change to the tables it is built from
-- marks it stale, and the next refresh rebuilds it whole.
------------------------------------------------------------------------------
CREATE TABLE c360.refresh_state (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    facts_stale   boolean NOT NULL DEFAULT false,
    stale_since   timestamptz,
    stale_because text
);
INSERT INTO c360.refresh_state DEFAULT VALUES;

CREATE FUNCTION c360.mark_facts_stale() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
  IF current_setting('c360.ingesting', true) IS DISTINCT FROM 'on' THEN
    UPDATE c360.refresh_state
    SET facts_stale = true, stale_since = now(), stale_because = TG_OP || ' on c360.' || TG_TABLE_NAME
    WHERE NOT facts_stale;
  END IF;
  RETURN NULL;
END
$$;
DO $$
DECLARE t text;
BEGIN
  -- (customers: fact_orders holds none of their columns; fact_sales reads them live)
  FOREACH t IN ARRAY ARRAY['orders', 'order_items', 'order_statuses'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON c360.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION c360.mark_facts_stale()', t || '_mark_facts_stale', t);
  END LOOP;
END
$$;

-- Step: rebuild fact_orders from the typed tables (fact_sales is a view).
CREATE FUNCTION c360._rebuild_facts() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM c360.fact_orders;
  PERFORM c360._create_touched();
  INSERT INTO pg_temp.c360_touched (order_id) SELECT order_id FROM c360.orders;
  PERFORM c360._refresh_touched_facts();
  DROP TABLE pg_temp.c360_touched;
  UPDATE c360.refresh_state SET facts_stale = false, stale_since = NULL, stale_because = NULL;
  SELECT count(*) INTO n FROM c360.fact_orders;
  RETURN n;
END
$$;

------------------------------------------------------------------------------
-- The log
------------------------------------------------------------------------------
CREATE TABLE c360.refresh_log (
    run_id      bigint PRIMARY KEY,
    started_at  timestamptz,
    finished_at timestamptz,
    status      text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    as_of       date,
    steps       jsonb NOT NULL DEFAULT '[]',
    error       text,
    run_by      text,
    backend_pid integer
);
CREATE SEQUENCE c360.refresh_run_id_seq;
SELECT pg_catalog.pg_extension_config_dump('c360.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('c360.refresh_run_id_seq', '');

------------------------------------------------------------------------------
-- The pipeline
------------------------------------------------------------------------------
CREATE FUNCTION c360.refresh_c360(rebuild_facts boolean DEFAULT false)
RETURNS TABLE (step text, rows bigint, ms numeric)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  run bigint;
  started timestamptz := clock_timestamp();
  step_started timestamptz;
  done jsonb := '[]';
  as_of date;
  holder text;
  last_logged bigint;
BEGIN
  -- One refresh at a time: a second caller fails at once rather than queue.
  IF NOT pg_try_advisory_xact_lock(hashtext('c360.refresh')) THEN
    SELECT format('pid %s, running since %s', a.pid, a.xact_start) INTO holder
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.objid = hashtext('c360.refresh')::oid AND l.pid <> pg_backend_pid()
    LIMIT 1;
    RAISE EXCEPTION 'another c360 refresh is running'
      USING ERRCODE = 'lock_not_available',
            DETAIL = coalesce('Held by ' || holder || '.', 'Held by another session.'),
            HINT = 'Wait for it to finish (c360.refresh_log records it) and call c360.refresh_c360() again.';
  END IF;
  -- Loads change the typed tables: wait for a running ingest() to commit.
  PERFORM pg_advisory_xact_lock(hashtext('c360.ingest'));

  -- Runs that took a run id and never logged were rolled back or killed.
  run := nextval('c360.refresh_run_id_seq');
  last_logged := coalesce((SELECT max(run_id) FROM c360.refresh_log), 0);
  INSERT INTO c360.refresh_log (run_id, status, error)
  SELECT g, 'failed', 'the run ended without committing (cancelled, terminated or the server stopped); the previous results were kept'
  FROM generate_series(last_logged + 1, run - 1) g
  ON CONFLICT (run_id) DO NOTHING;

  BEGIN
    PERFORM set_config('work_mem', '256MB', true);
    -- The pipeline, in order. Each step replaces its tables' rows (DELETE +
    -- INSERT, never TRUNCATE: readers keep their snapshot, never wait).
    FOREACH step IN ARRAY ARRAY['segment_rules', 'facts', 'dim_date', 'customer_metrics', 'rfm_segments', 'clusters', 'clv', 'kpis'] LOOP
      step_started := clock_timestamp();
      CASE step
        WHEN 'segment_rules' THEN
          PERFORM 1 FROM c360.segment_map() LIMIT 1;  -- raises on a broken rule set
          rows := (SELECT count(*) FROM c360.segment_rules);
        WHEN 'facts' THEN
          -- ingest() keeps the facts current; rebuild only when something else changed the typed tables
          rows := CASE WHEN rebuild_facts OR (SELECT facts_stale FROM c360.refresh_state)
                       THEN c360._rebuild_facts() ELSE 0 END;
        WHEN 'dim_date' THEN
          rows := c360._refresh_dim_date();
        WHEN 'customer_metrics' THEN
          as_of := c360.as_of_date();
          -- The run's one pass over fact_orders: customer_metrics, clv and kpis read it.
          IF to_regclass('pg_temp.c360_refresh_purchases') IS NOT NULL THEN DROP TABLE pg_temp.c360_refresh_purchases; END IF;
          -- With the latest sale's quarter for the KPIs (the index finds the sale).
          CREATE TEMP TABLE c360_refresh_purchases ON COMMIT DROP AS
          SELECT * FROM c360._customer_purchases(as_of, (
            SELECT date_trunc('quarter', max(o.order_date)::timestamp)::date
            FROM c360.fact_orders o WHERE o.is_sale AND o.order_date < as_of));
          rows := c360._refresh_customer_metrics(as_of);
        WHEN 'rfm_segments' THEN
          rows := c360._refresh_rfm_segments(as_of, c360.setting('rfm_method'));
        WHEN 'clusters' THEN
          rows := c360._refresh_clusters(as_of);
        WHEN 'clv' THEN
          rows := c360._refresh_clv(as_of);
        WHEN 'kpis' THEN
          rows := c360._refresh_kpis(as_of);
      END CASE;
      ms := round(extract(epoch FROM clock_timestamp() - step_started)::numeric * 1000, 1);
      done := done || jsonb_build_object('step', step, 'rows', rows, 'ms', ms);
      RAISE NOTICE 'c360 refresh: % (% rows, % ms)', step, rows, ms;
      RETURN NEXT;
    END LOOP;
    DROP TABLE pg_temp.c360_refresh_purchases;
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    -- This block's work is already rolled back; the caller's transaction
    -- will be too, so the failure is logged from a background worker.
    PERFORM c360._log_refresh_failure(run, started, SQLSTATE, SQLERRM);
    RAISE;
  END;

  step := 'total';
  rows := NULL;
  ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1);
  INSERT INTO c360.refresh_log (run_id, started_at, finished_at, status, as_of, steps, run_by, backend_pid)
  VALUES (run, started, clock_timestamp(), 'succeeded', as_of, done, current_user, pg_backend_pid());
  RAISE NOTICE 'c360 refresh: done in % ms (run %)', ms, run;
  RETURN NEXT;
END
$$;
-- Changes data: for the DBA's roles, not PUBLIC (GRANT EXECUTE to an ETL role).
REVOKE EXECUTE ON FUNCTION c360.refresh_c360(boolean) FROM PUBLIC;

COMMENT ON TABLE c360.refresh_state IS 'one row: whether fact_orders needs a rebuild because the typed tables changed outside ingest()';
COMMENT ON COLUMN c360.refresh_state.only_row IS 'always true: the table has one row';
COMMENT ON COLUMN c360.refresh_state.facts_stale IS 'true when the next refresh rebuilds the facts';
COMMENT ON COLUMN c360.refresh_state.stale_since IS 'when they became stale';
COMMENT ON COLUMN c360.refresh_state.stale_because IS 'the change that made them stale, e.g. UPDATE on c360.orders';
COMMENT ON FUNCTION c360.mark_facts_stale() IS 'trigger: a change to the typed tables outside ingest() marks the facts stale';
COMMENT ON FUNCTION c360._rebuild_facts() IS 'internal refresh step: rebuilds fact_orders from the typed tables';
COMMENT ON TABLE c360.refresh_log IS 'one row per refresh run: when, status, per-step rows and milliseconds, as_of, error';
COMMENT ON COLUMN c360.refresh_log.run_id IS 'run number (c360.refresh_run_id_seq)';
COMMENT ON COLUMN c360.refresh_log.started_at IS 'when the run started (NULL for a run that died without a trace)';
COMMENT ON COLUMN c360.refresh_log.finished_at IS 'when it committed, or failed';
COMMENT ON COLUMN c360.refresh_log.status IS 'succeeded or failed; a failed run changed nothing';
COMMENT ON COLUMN c360.refresh_log.as_of IS 'the as_of date the run computed with';
COMMENT ON COLUMN c360.refresh_log.steps IS 'array of {step, rows, ms} in run order';
COMMENT ON COLUMN c360.refresh_log.error IS 'why it failed';
COMMENT ON COLUMN c360.refresh_log.run_by IS 'the role that ran it';
COMMENT ON COLUMN c360.refresh_log.backend_pid IS 'process id of the session that ran it';
COMMENT ON SEQUENCE c360.refresh_run_id_seq IS 'refresh run numbers; a number without a refresh_log row is a run that died';
COMMENT ON FUNCTION c360.refresh_c360(boolean) IS 'rebuilds every derived table (facts if stale, customer metrics, RFM segments, clusters, CLV, KPI tables) in one transaction; one at a time; returns and logs rows and ms per step';
