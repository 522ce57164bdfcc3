-- Built-in sample data: c360.generate_sample() fills the typed tables with
-- a synthetic shop in Malaysia and Singapore (the generator is Rust:
-- src/sample/). Used by the README's demo, the tests and the benchmarks.

-- Refuses to touch tables that already hold data: sample rows must never
-- mix with (or replace) a user's own.
CREATE FUNCTION c360.generate_sample(customers integer DEFAULT 5000, seed bigint DEFAULT 42)
RETURNS TABLE (table_name text, rows bigint, ms numeric)
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog
AS $$
DECLARE
  load bigint;
  started timestamptz;
  n bigint;
  total bigint := 0;
BEGIN
  IF generate_sample.customers NOT BETWEEN 1 AND 10000000 THEN
    RAISE EXCEPTION 'generate_sample: customers must be between 1 and 10000000, got %', generate_sample.customers
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM c360.customers) OR EXISTS (SELECT 1 FROM c360.products)
     OR EXISTS (SELECT 1 FROM c360.orders) OR EXISTS (SELECT 1 FROM c360.payments) THEN
    RAISE EXCEPTION 'generate_sample: c360''s typed tables already hold data'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'Sample rows are only ever written into empty tables, so they never mix with your own.',
            HINT = 'Use a fresh database, or empty the tables first: TRUNCATE c360.customers, c360.products CASCADE.';
  END IF;
  PERFORM set_config('c360.ingesting', 'on', true);
  INSERT INTO c360.load_log (source, file_name, status, staged_at)
  VALUES ('sample', format('generate_sample(customers => %s, seed => %s)', generate_sample.customers, generate_sample.seed),
          'importing', clock_timestamp())
  RETURNING load_id INTO load;

  started := clock_timestamp();
  INSERT INTO c360.customers (customer_id, created_at, city, state, country, load_id)
  SELECT s.customer_id, (s.created_on + time '09:00') AT TIME ZONE 'Asia/Kuala_Lumpur', s.city, s.state, s.country, load
  FROM c360._sample_customers(generate_sample.customers, generate_sample.seed) s;
  GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  table_name := 'customers'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  started := clock_timestamp();
  INSERT INTO c360.products (product_id, category, brand, description, load_id)
  SELECT p.product_id, p.category, p.brand, p.description, load FROM c360._sample_products() p;
  GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  table_name := 'products'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  started := clock_timestamp();
  INSERT INTO c360.orders (order_id, customer_id, order_status, order_date, order_timestamp, load_id)
  SELECT o.order_id, o.customer_id, o.order_status, o.order_date,
         (o.order_date + make_interval(secs => o.second_of_day)) AT TIME ZONE 'Asia/Kuala_Lumpur', load
  FROM c360._sample_orders(generate_sample.customers, generate_sample.seed) o;
  GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  table_name := 'orders'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  started := clock_timestamp();
  INSERT INTO c360.order_items (order_item_id, order_id, product_id, quantity, unit_price, load_id)
  SELECT i.order_item_id, i.order_id, i.product_id, i.quantity, i.unit_price_cents * 0.01, load
  FROM c360._sample_order_items(generate_sample.customers, generate_sample.seed) i;
  GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  table_name := 'order_items'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  started := clock_timestamp();
  INSERT INTO c360.payments (payment_id, order_id, payment_type, payment_amount, payment_date, load_id)
  SELECT p.payment_id, p.order_id, p.payment_type, p.amount_cents * 0.01, p.payment_date, load
  FROM c360._sample_payments(generate_sample.customers, generate_sample.seed) p;
  GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
  table_name := 'payments'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  started := clock_timestamp();
  n := c360._rebuild_facts();
  table_name := 'fact_orders'; rows := n; ms := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1); RETURN NEXT;

  UPDATE c360.load_log SET status = 'ingested', rows_read = total, rows_accepted = total, finished_at = clock_timestamp()
  WHERE load_id = load;
  PERFORM set_config('c360.ingesting', 'off', true);
END
$$;
REVOKE EXECUTE ON FUNCTION c360.generate_sample(integer, bigint) FROM PUBLIC;

COMMENT ON FUNCTION c360.generate_sample(integer, bigint) IS 'fills the empty typed tables with a synthetic Malaysian and Singaporean shop (2023-2024, MYR): customers, 240 products, orders with cancellations and returns, order items, payments matching order totals; deterministic for a seed; returns rows and ms per table';
COMMENT ON FUNCTION c360._sample_customers(integer, bigint) IS 'generator of c360.generate_sample: the sample customers';
COMMENT ON FUNCTION c360._sample_products() IS 'generator of c360.generate_sample: the sample catalogue';
COMMENT ON FUNCTION c360._sample_orders(integer, bigint) IS 'generator of c360.generate_sample: the sample orders';
COMMENT ON FUNCTION c360._sample_order_items(integer, bigint) IS 'generator of c360.generate_sample: the sample order lines';
COMMENT ON FUNCTION c360._sample_payments(integer, bigint) IS 'generator of c360.generate_sample: the sample payments';
