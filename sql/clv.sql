-- Customer lifetime value (SPEC.md §7): the BG/NBD and Gamma-Gamma fit
-- aggregates, the BTYD summary of c360's own orders, the stored models and
-- each customer's predictions. The math is Rust: src/clv/.

------------------------------------------------------------------------------
-- Fit aggregates over any per-customer summary (support functions in
-- src/clv/mod.rs; hand-written for the reason given in sql/rfm.sql).
------------------------------------------------------------------------------
CREATE AGGREGATE c360.bgnbd_fit(frequency float8, recency float8, t float8) (
    SFUNC = c360.bgnbd_fit_transition,
    STYPE = internal,
    FINALFUNC = c360.bgnbd_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.btyd_rows_combine,
    SERIALFUNC = c360.btyd_rows_serialize,
    DESERIALFUNC = c360.btyd_rows_deserialize,
    PARALLEL = SAFE
);
CREATE AGGREGATE c360.gamma_gamma_fit(frequency float8, monetary numeric) (
    SFUNC = c360.gamma_gamma_fit_transition,
    STYPE = internal,
    FINALFUNC = c360.gamma_gamma_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = c360.btyd_rows_combine,
    SERIALFUNC = c360.btyd_rows_serialize,
    DESERIALFUNC = c360.btyd_rows_deserialize,
    PARALLEL = SAFE
);

------------------------------------------------------------------------------
-- The BTYD summary of c360's orders: purchases merged per day (sale orders
-- before as_of), frequency = purchase days − 1, recency = last − first
-- purchase day, t = as_of − first purchase day, in days or weeks;
-- monetary = mean revenue of the repeat purchase days (0 without any).
-- A plain GROUP BY customer_id over order-grain rows (Citus-friendly).
------------------------------------------------------------------------------
-- Per customer in one pass: first, second and last purchase day, rows, exact
-- revenue, distinct purchase days, the first day's revenue and the months
-- with a purchase. Eight aggregates with one transition function and
-- read-only finals, so PostgreSQL keeps a single Rust state per customer for
-- all of them (src/clv/mod.rs) instead of one each (min, max, count and sum
-- each kept their own). The mean of the repeat days is (all revenue -
-- first-day revenue) / (days - 1).
CREATE FUNCTION c360._purchase_days_transition(state internal, day date, revenue numeric) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'c360_purchase_days_transition';
DO $$
DECLARE
  agg record;
BEGIN
  FOR agg IN SELECT * FROM (VALUES ('_purchase_days', 'integer'), ('_first_day_revenue', 'numeric'),
                                   ('_first_purchase_day', 'date'), ('_last_purchase_day', 'date'),
                                   ('_purchase_count', 'integer'), ('_purchase_revenue', 'numeric'),
                                   ('_second_purchase_day', 'date'), ('_purchase_months', 'date[]')) a(name, result) LOOP
    EXECUTE format('CREATE FUNCTION c360.%I(state internal) RETURNS %s
                      LANGUAGE c IMMUTABLE PARALLEL SAFE AS %L, %L',
                   agg.name || '_final', agg.result, 'MODULE_PATHNAME', 'c360' || agg.name || '_final');
    -- SSPACE: about the bytes a state takes, so the planner considers a hash aggregate.
    EXECUTE format('CREATE AGGREGATE c360.%I(day date, revenue numeric) (
                      SFUNC = c360._purchase_days_transition, STYPE = internal, SSPACE = 96,
                      FINALFUNC = c360.%I, FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE)',
                   agg.name, agg.name || '_final');
  END LOOP;
END
$$;

-- Per customer with a sale order before as_of: first and last order day,
-- orders, revenue, distinct purchase days, the first day's revenue, the day
-- of the second order and the months with an order. The one GROUP BY
-- customer_id over fact_orders that RFM (customer_metrics), the BTYD summary
-- and the KPI tables share: a refresh runs it once (sql/refresh.sql).
-- With quarter_start (the refresh passes the latest sale's quarter), also
-- the revenue of the quarter before it and of [quarter_start, as_of): the
-- KPIs' fastest-growing country, without a second read of those orders.
CREATE FUNCTION c360._customer_purchases(as_of date, quarter_start date DEFAULT NULL)
RETURNS TABLE (customer_id text, first_day date, last_day date, orders integer, revenue numeric,
               purchase_days integer, first_day_revenue numeric, second_day date, months date[],
               revenue_prev_quarter numeric, revenue_last_quarter numeric)
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$
  SELECT o.customer_id, c360._first_purchase_day(o.order_date, o.revenue), c360._last_purchase_day(o.order_date, o.revenue),
         c360._purchase_count(o.order_date, o.revenue), c360._purchase_revenue(o.order_date, o.revenue),
         c360._purchase_days(o.order_date, o.revenue), c360._first_day_revenue(o.order_date, o.revenue),
         c360._second_purchase_day(o.order_date, o.revenue), c360._purchase_months(o.order_date, o.revenue),
         sum(o.revenue) FILTER (WHERE o.order_date >= (quarter_start - interval '3 months')::date AND o.order_date < quarter_start),
         sum(o.revenue) FILTER (WHERE o.order_date >= quarter_start)
  FROM c360.fact_orders o
  WHERE o.is_sale AND o.order_date < _customer_purchases.as_of
  GROUP BY o.customer_id
$$;

-- The BTYD summary of per-customer purchases: those of a table with
-- c360._customer_purchases' columns (the refresh's copy), or else computed.
CREATE FUNCTION c360._btyd_rows(as_of date, time_unit text, purchases regclass)
RETURNS TABLE (customer_id text, frequency integer, recency float8, t float8, monetary numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$
DECLARE unit_days float8;
BEGIN
  unit_days := CASE time_unit WHEN 'day' THEN 1 WHEN 'week' THEN 7 END;
  IF unit_days IS NULL THEN
    RAISE EXCEPTION 'btyd_summary: unknown time unit "%"', time_unit
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use day or week.';
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT p.customer_id, p.purchase_days - 1, (p.last_day - p.first_day) / $2, ($1 - p.first_day) / $2,
            CASE WHEN p.purchase_days > 1 THEN (p.revenue - p.first_day_revenue) / (p.purchase_days - 1) ELSE 0 END
     FROM %s p', coalesce(purchases::text, 'c360._customer_purchases($1)'))
  USING as_of, unit_days;
END
$$;

CREATE FUNCTION c360.btyd_summary(as_of date, time_unit text DEFAULT 'week')
RETURNS TABLE (customer_id text, frequency integer, recency float8, t float8, monetary numeric)
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog
AS $$ SELECT * FROM c360._btyd_rows(as_of, time_unit, NULL) $$;

------------------------------------------------------------------------------
-- What the refresh keeps: the models of each as_of, predictions per customer.
------------------------------------------------------------------------------
CREATE TABLE c360.clv_models (
    as_of            date PRIMARY KEY,
    created_at       timestamptz NOT NULL DEFAULT now(),
    time_unit        text NOT NULL,
    customers        bigint NOT NULL,
    repeat_customers bigint NOT NULL,
    r                float8 NOT NULL,
    alpha            float8 NOT NULL,
    a                float8 NOT NULL,
    b                float8 NOT NULL,
    p                float8,
    q                float8,
    v                float8,
    converged        boolean NOT NULL,
    bgnbd            c360.bgnbd_model NOT NULL,
    gamma_gamma      c360.gamma_gamma_model
);
SELECT pg_catalog.pg_extension_config_dump('c360.clv_models', '');

CREATE TABLE c360.customer_clv (
    customer_id         text COLLATE "C" PRIMARY KEY,
    frequency           integer NOT NULL,
    recency_weeks       float8 NOT NULL,
    t_weeks             float8 NOT NULL,
    p_alive             float8 NOT NULL,
    expected_orders_90d float8 NOT NULL,
    expected_aov        numeric(19,4),
    predicted_clv_12m   numeric(19,4),
    as_of               date NOT NULL
) WITH (fillfactor = 50);  -- rewritten in place by every refresh (c360._write_derived_rows)
SELECT pg_catalog.pg_extension_config_dump('c360.customer_clv', '');

-- Step: BTYD summary in weeks, BG/NBD on every customer, Gamma-Gamma on the
-- repeat customers with positive spend, then each customer's p_alive,
-- expected orders over clv_horizon_days, expected order value and 12-month
-- CLV discounted at clv_monthly_discount_rate. Data the models cannot be
-- fitted on (no repeat customer yet; spend that does not vary) gives no
-- predictions this time (NOTICE), not a failed refresh.
CREATE FUNCTION c360._refresh_clv(as_of date) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
  horizon_weeks float8 := c360.setting('clv_horizon_days')::float8 / 7;
  discount float8 := c360.setting('clv_monthly_discount_rate')::float8;
  bg c360.bgnbd_model;
  gg c360.gamma_gamma_model;
  n bigint;
BEGIN
  DELETE FROM c360.clv_models m WHERE m.as_of = _refresh_clv.as_of;
  IF to_regclass('pg_temp.c360_refresh_btyd') IS NOT NULL THEN DROP TABLE pg_temp.c360_refresh_btyd; END IF;  -- quietly: no NOTICE
  -- from the purchases the customer_metrics step summarized (no second scan of fact_orders)
  CREATE TEMP TABLE c360_refresh_btyd ON COMMIT DROP AS
  SELECT * FROM c360._btyd_rows(_refresh_clv.as_of, 'week', 'pg_temp.c360_refresh_purchases');
  BEGIN
    SELECT c360.bgnbd_fit(s.frequency, s.recency, s.t) INTO bg FROM c360_refresh_btyd s;
  EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'c360: no CLV this refresh: %', SQLERRM;
    DELETE FROM c360.customer_clv;
    DROP TABLE c360_refresh_btyd;
    RETURN 0;
  END;
  BEGIN
    SELECT c360.gamma_gamma_fit(s.frequency, s.monetary) INTO gg FROM c360_refresh_btyd s WHERE s.frequency > 0 AND s.monetary > 0;
  EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'c360: no expected order value or CLV this refresh: %', SQLERRM;
  END;
  CREATE TEMP TABLE c360_new_rows ON COMMIT DROP AS
  SELECT s.customer_id, s.frequency, s.recency AS recency_weeks, s.t AS t_weeks,
         c360.bgnbd_p_alive(bg, s.frequency, s.recency, s.t) AS p_alive,
         c360.bgnbd_expected_purchases(bg, horizon_weeks, s.frequency, s.recency, s.t) AS expected_orders_90d,
         c360.gamma_gamma_expected_value(gg, s.frequency, s.monetary)::numeric(19,4) AS expected_aov,
         c360.clv(bg, gg, s.frequency, s.recency, s.t, s.monetary, 12, discount, 365.25 / 12 / 7)::numeric(19,4) AS predicted_clv_12m,
         _refresh_clv.as_of AS as_of
  FROM c360_refresh_btyd s;
  n := c360._write_derived_rows('customer_clv', 'customer_id');
  INSERT INTO c360.clv_models (as_of, time_unit, customers, repeat_customers, r, alpha, a, b, p, q, v, converged, bgnbd, gamma_gamma)
  SELECT _refresh_clv.as_of, 'week', (j ->> 'customers')::bigint, (j ->> 'repeat_customers')::bigint,
         (j ->> 'r')::float8, (j ->> 'alpha')::float8, (j ->> 'a')::float8, (j ->> 'b')::float8,
         (g ->> 'p')::float8, (g ->> 'q')::float8, (g ->> 'v')::float8,
         (j ->> 'converged')::boolean AND coalesce((g ->> 'converged')::boolean, true), bg, gg
  FROM (SELECT bg::text::jsonb AS j, gg::text::jsonb AS g) m;
  DROP TABLE c360_refresh_btyd;
  RETURN n;
END
$$;

------------------------------------------------------------------------------
-- What \d+ and \df+ show
------------------------------------------------------------------------------
COMMENT ON TYPE c360.bgnbd_model IS 'a fitted BG/NBD model (r, alpha, a, b, log-likelihood, customers, convergence); its text form is JSON';
COMMENT ON TYPE c360.gamma_gamma_model IS 'a fitted Gamma-Gamma spend model (p, q, v, log-likelihood, customers, convergence); its text form is JSON';
COMMENT ON FUNCTION c360.bgnbd_model_in(cstring) IS 'type input: the JSON form of a BG/NBD model, checked';
COMMENT ON FUNCTION c360.bgnbd_model_out(c360.bgnbd_model) IS 'type output: a BG/NBD model as JSON';
COMMENT ON FUNCTION c360.gamma_gamma_model_in(cstring) IS 'type input: the JSON form of a Gamma-Gamma model, checked';
COMMENT ON FUNCTION c360.gamma_gamma_model_out(c360.gamma_gamma_model) IS 'type output: a Gamma-Gamma model as JSON';
COMMENT ON AGGREGATE c360.bgnbd_fit(float8, float8, float8) IS 'fits BG/NBD by maximum likelihood (Nelder-Mead over log parameters) on per-customer frequency (repeat purchases), recency (last - first purchase) and t (end - first purchase), one time unit; rows with a NULL skipped; NULL for no rows; parallel safe';
COMMENT ON AGGREGATE c360.gamma_gamma_fit(float8, numeric) IS 'fits the Gamma-Gamma spend model on repeat customers: frequency > 0 and monetary (mean value of the repeat purchases) > 0; rows with a NULL skipped; parallel safe';
COMMENT ON FUNCTION c360.bgnbd_fit_transition(internal, float8, float8, float8) IS 'support function of c360.bgnbd_fit';
COMMENT ON FUNCTION c360.gamma_gamma_fit_transition(internal, float8, numeric) IS 'support function of c360.gamma_gamma_fit';
COMMENT ON FUNCTION c360.btyd_rows_combine(internal, internal) IS 'support function of c360.bgnbd_fit and c360.gamma_gamma_fit: merges parallel partial states';
COMMENT ON FUNCTION c360.btyd_rows_serialize(internal) IS 'support function of c360.bgnbd_fit and c360.gamma_gamma_fit';
COMMENT ON FUNCTION c360.btyd_rows_deserialize(bytea, internal) IS 'support function of c360.bgnbd_fit and c360.gamma_gamma_fit';
COMMENT ON FUNCTION c360.bgnbd_fit_final(internal) IS 'support function of c360.bgnbd_fit: runs the fit';
COMMENT ON FUNCTION c360.gamma_gamma_fit_final(internal) IS 'support function of c360.gamma_gamma_fit: runs the fit';
COMMENT ON FUNCTION c360.bgnbd_p_alive(c360.bgnbd_model, float8, float8, float8) IS 'probability the customer is still active at t, given frequency, recency and t';
COMMENT ON FUNCTION c360.bgnbd_expected_purchases(c360.bgnbd_model, float8, float8, float8, float8) IS 'expected purchases in the next horizon time units, given frequency, recency and t (BG/NBD conditional expectation)';
COMMENT ON FUNCTION c360.gamma_gamma_expected_value(c360.gamma_gamma_model, float8, numeric) IS 'expected average order value given frequency and the mean value of the repeat purchases (the population mean for frequency 0); numeric, 4 decimals';
COMMENT ON FUNCTION c360.clv(c360.bgnbd_model, c360.gamma_gamma_model, float8, float8, float8, numeric, integer, float8, float8) IS 'customer lifetime value over months (default 12): expected value per order times expected orders per month, discounted monthly (default 1%); units_per_month converts months to the models time unit (default 4.348125 weeks); numeric, 4 decimals';
COMMENT ON AGGREGATE c360._purchase_days(date, numeric) IS 'internal (btyd_summary): number of distinct purchase days';
COMMENT ON AGGREGATE c360._first_day_revenue(date, numeric) IS 'internal (btyd_summary): revenue of the first purchase day (sum of its non-NULL revenues)';
COMMENT ON FUNCTION c360._purchase_days_transition(internal, date, numeric) IS 'internal: transition function of the purchase aggregates (c360._purchase_days, _first_day_revenue, _first_purchase_day, _second_purchase_day, _last_purchase_day, _purchase_count, _purchase_revenue, _purchase_months)';
COMMENT ON FUNCTION c360._purchase_days_final(internal) IS 'internal: final function of c360._purchase_days';
COMMENT ON FUNCTION c360._first_day_revenue_final(internal) IS 'internal: final function of c360._first_day_revenue';
COMMENT ON AGGREGATE c360._first_purchase_day(date, numeric) IS 'internal (customer purchases): earliest non-NULL day, like min';
COMMENT ON AGGREGATE c360._last_purchase_day(date, numeric) IS 'internal (customer purchases): latest non-NULL day, like max';
COMMENT ON AGGREGATE c360._purchase_count(date, numeric) IS 'internal (customer purchases): number of rows, like count(*)';
COMMENT ON AGGREGATE c360._purchase_revenue(date, numeric) IS 'internal (customer purchases): exact sum of the non-NULL revenues, like sum(numeric)';
COMMENT ON FUNCTION c360._first_purchase_day_final(internal) IS 'internal: final function of c360._first_purchase_day';
COMMENT ON FUNCTION c360._last_purchase_day_final(internal) IS 'internal: final function of c360._last_purchase_day';
COMMENT ON FUNCTION c360._purchase_count_final(internal) IS 'internal: final function of c360._purchase_count';
COMMENT ON FUNCTION c360._purchase_revenue_final(internal) IS 'internal: final function of c360._purchase_revenue';
COMMENT ON AGGREGATE c360._second_purchase_day(date, numeric) IS 'internal (customer purchases): day of the second row with a day (two on one day: that day), NULL for fewer';
COMMENT ON AGGREGATE c360._purchase_months(date, numeric) IS 'internal (customer purchases): first day of each month with a row, ascending, once each';
COMMENT ON FUNCTION c360._second_purchase_day_final(internal) IS 'internal: final function of c360._second_purchase_day';
COMMENT ON FUNCTION c360._purchase_months_final(internal) IS 'internal: final function of c360._purchase_months';
COMMENT ON FUNCTION c360._customer_purchases(date, date) IS 'internal: per customer with a sale order before as_of, first and last order day, orders, revenue, purchase days, first-day revenue, second order day, months with an order, and with quarter_start the revenue of the quarter before it and from it to as_of (one GROUP BY customer_id over fact_orders)';
COMMENT ON FUNCTION c360._btyd_rows(date, text, regclass) IS 'internal: btyd_summary of the purchases in a table shaped like c360._customer_purchases(as_of), or of that function when NULL';
COMMENT ON FUNCTION c360.btyd_summary(date, text) IS 'per customer with a sale before as_of: frequency (purchase days - 1), recency (last - first purchase day), t (as_of - first purchase day) in days or weeks, monetary (mean revenue of the repeat purchase days)';
COMMENT ON FUNCTION c360._refresh_clv(date) IS 'refresh step: fits BG/NBD and Gamma-Gamma and scores every customer';

COMMENT ON TABLE c360.clv_models IS 'derived by c360.refresh_c360(): the BG/NBD and Gamma-Gamma parameters fitted as of each date (time unit: weeks)';
COMMENT ON COLUMN c360.clv_models.as_of IS 'the date the summary was as of';
COMMENT ON COLUMN c360.clv_models.created_at IS 'when the refresh fitted it';
COMMENT ON COLUMN c360.clv_models.time_unit IS 'time unit of recency, t and alpha (week)';
COMMENT ON COLUMN c360.clv_models.customers IS 'customers BG/NBD was fitted on';
COMMENT ON COLUMN c360.clv_models.repeat_customers IS 'customers with at least one repeat purchase day (what Gamma-Gamma was fitted on, if their spend is positive)';
COMMENT ON COLUMN c360.clv_models.r IS 'BG/NBD r: shape of the purchase-rate gamma distribution';
COMMENT ON COLUMN c360.clv_models.alpha IS 'BG/NBD alpha: scale of the purchase-rate gamma distribution (time units)';
COMMENT ON COLUMN c360.clv_models.a IS 'BG/NBD a: beta distribution of the dropout probability';
COMMENT ON COLUMN c360.clv_models.b IS 'BG/NBD b: beta distribution of the dropout probability';
COMMENT ON COLUMN c360.clv_models.p IS 'Gamma-Gamma p (NULL when it could not be fitted)';
COMMENT ON COLUMN c360.clv_models.q IS 'Gamma-Gamma q';
COMMENT ON COLUMN c360.clv_models.v IS 'Gamma-Gamma v';
COMMENT ON COLUMN c360.clv_models.converged IS 'whether both optimizations met their convergence test';
COMMENT ON COLUMN c360.clv_models.bgnbd IS 'the BG/NBD model, for c360.bgnbd_p_alive, c360.bgnbd_expected_purchases and c360.clv';
COMMENT ON COLUMN c360.clv_models.gamma_gamma IS 'the Gamma-Gamma model, for c360.gamma_gamma_expected_value and c360.clv';

COMMENT ON TABLE c360.customer_clv IS 'derived by c360.refresh_c360(): BTYD summary and CLV predictions of every customer with a sale before as_of';
COMMENT ON COLUMN c360.customer_clv.customer_id IS 'customer key';
COMMENT ON COLUMN c360.customer_clv.frequency IS 'repeat purchase days (purchase days - 1)';
COMMENT ON COLUMN c360.customer_clv.recency_weeks IS 'weeks from the first to the last purchase day';
COMMENT ON COLUMN c360.customer_clv.t_weeks IS 'weeks from the first purchase day to as_of';
COMMENT ON COLUMN c360.customer_clv.p_alive IS 'probability the customer is still active (BG/NBD)';
COMMENT ON COLUMN c360.customer_clv.expected_orders_90d IS 'expected purchase days in the next clv_horizon_days (default 90)';
COMMENT ON COLUMN c360.customer_clv.expected_aov IS 'expected average order value (Gamma-Gamma); NULL when it could not be fitted';
COMMENT ON COLUMN c360.customer_clv.predicted_clv_12m IS 'expected revenue of the next 12 months, discounted monthly at clv_monthly_discount_rate; NULL without a Gamma-Gamma model';
COMMENT ON COLUMN c360.customer_clv.as_of IS 'the date the figures are as of';
