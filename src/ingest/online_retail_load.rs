//! The checking pass of an Online Retail load (SPEC.md §3): the pgrx layer
//! over [`online_retail::LoadChecker`] and [`online_retail::LoadSummary`].
//! One pass over the lines in line order — the staged ones (`ingest()`) or
//! the file's records as they are read (`load_csv()`, no staging) — writes
//! the session's work tables of `c360._ingest_online_retail` (sql/ingest.sql):
//! - `pg_temp.c360_checked_lines`: one row per accepted line — its order and
//!   line keys and typed values; `c360_refused_lines`: one row per refused
//!   line — its problem and raw values;
//! - `pg_temp.c360_checked_orders`, `_customers`, `_products`: the load's
//!   orders (with their line sums), customers and products, one row each;
//! - `pg_temp.c360_checked_counts`: the lines accepted and refused, and the
//!   rows stored straight into typed tables.
//!
//! A file's first bulk load (`load_csv` says so) stores its accepted lines
//! in `c360.order_items` and its refused ones in `c360.rejects` directly
//! instead ([`super::typed_rows`]), where an INSERT would do nothing more;
//! and when c360 holds no orders yet, its orders' facts in
//! `c360.fact_orders` too.
//!
//! Rows are formed as tuples and heap-inserted ([`temp_rows`]): a text
//! round trip through COPY cost more than the checks themselves. Reading a
//! file and the rules run on a helper thread ([`FileChecker`]); the rest,
//! which calls PostgreSQL, on the backend's.
use super::online_retail::{self, AcceptedLine, Checked, CheckedOf, LineIds, LoadChecker, LoadSummary, SummaryIds, MAX_CACHED_PRICES};
use super::record_stream::{FieldText, Prepare, RecordFields};
use super::temp_rows::{self, TempRows, TypeInput};
use super::typed_rows::TypedRows;
use super::{csv_options, read_csv_file, register_load, require_server_file_access, RecordSink, RefusedRecords, BATCH_ROWS};
use crate::numeric_datum::{fixed_to_numeric, numeric_fixed};
use crate::numeric_sum::Fixed;
use crate::sql_errors::raise;
use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;

/// The staged Online Retail columns, in the order the checking pass reads
/// them (also the keys of a refused line's raw values).
const ONLINE_RETAIL_COLUMNS: [&str; 8] =
    ["invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid", "country"];

/// The order status of an invoice: a C-invoice is a cancellation (SPEC.md §3).
const RETURN_STATUS: &str = "cancelled";
const SALE_STATUS: &str = "completed";

/// The source name of an Online Retail load's rows in `c360.rejects`.
const SOURCE: &str = "online_retail";

/// Who creates the work tables: the pass over staged lines runs in
/// `c360.ingest()`, the pass over a file in `c360.load_csv()`.
const STAGED_CREATOR: &str = "c360.ingest()";
const FILE_CREATOR: &str = "c360.load_csv()";

/// Lines between resets of the per-line memory.
const BATCH_LINES: usize = 10_000;

/// Calls `on_line(line_no, values)` for each staged line of `load_id` in
/// line order (values in [`ONLINE_RETAIL_COLUMNS`] order). The rows of a
/// load do not all lie in the table in line order (COPY's batches reuse
/// free space in earlier pages), hence the ORDER BY.
fn read_staged_lines(load_id: i64, mut on_line: impl FnMut(i64, &[Option<&str>; 8])) {
    let query = c"SELECT line_no, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country
                  FROM c360.stage_online_retail WHERE load_id = $1 ORDER BY line_no";
    Spi::connect(|_client| {
        // SAFETY: a read-only cursor over a query with one bigint parameter;
        // each fetched tuple is deformed against its own descriptor and
        // read before SPI_freetuptable releases it.
        unsafe {
            let mut argtypes = [pg_sys::INT8OID];
            let mut args = [Datum::from(load_id)];
            let portal = pg_sys::SPI_cursor_open_with_args(
                std::ptr::null(),
                query.as_ptr(),
                1,
                argtypes.as_mut_ptr(),
                args.as_mut_ptr(),
                std::ptr::null(),
                true,
                // a fast-start plan: the primary key's index in line order,
                // rather than a sort of the whole load (the table has no
                // statistics yet right after the import)
                pg_sys::CURSOR_OPT_FAST_PLAN as i32,
            );
            loop {
                pg_sys::SPI_cursor_fetch(portal, true, 10_000);
                let table = pg_sys::SPI_tuptable;
                let n = pg_sys::SPI_processed as usize;
                if table.is_null() || n == 0 {
                    break;
                }
                for &tuple in std::slice::from_raw_parts((*table).vals, n) {
                    let mut datums = [Datum::from(0); 9];
                    let mut nulls = [false; 9];
                    pg_sys::heap_deform_tuple(tuple, (*table).tupdesc, datums.as_mut_ptr(), nulls.as_mut_ptr());
                    let line_no = datums[0].value() as i64;
                    let mut values: [Option<&str>; 8] = [None; 8];
                    for (i, value) in values.iter_mut().enumerate() {
                        if !nulls[i + 1] {
                            let text = pg_sys::pg_detoast_datum_packed(datums[i + 1].cast_mut_ptr());
                            *value = Some(pgrx::varlena::text_to_rust_str(text).unwrap_or_else(|_| {
                                raise(
                                    PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                                    format!("staged line {line_no} of load {load_id} is not valid UTF-8"),
                                    format!("column {}", ONLINE_RETAIL_COLUMNS[i]),
                                    Some("c360 needs a UTF8 database."),
                                )
                            }));
                        }
                    }
                    on_line(line_no, &values);
                }
                pg_sys::SPI_freetuptable(table);
            }
            pg_sys::SPI_cursor_close(portal);
        }
    })
}

/// The input functions of the typed columns.
struct Inputs {
    prices: Prices,
    timestamptz: TypeInput,
    date: TypeInput,
    /// the text of the line key being formed
    key: String,
}

/// Unit prices read once per distinct text, with their exact value: a file
/// repeats a few thousand prices over millions of lines, and numeric_in
/// with the exact-value read was a tenth of the pass's own work. Indexed by
/// the price ids of [`LineIds`] (the first [`MAX_CACHED_PRICES`] prices).
struct Prices {
    input: TypeInput,
    cached: Vec<(Datum, Option<Fixed>)>,
    /// where the cached numerics live: the pass's context, never reset
    /// with the lines
    memory: PgMemoryContexts,
}

impl Prices {
    fn new() -> Self {
        Prices { input: TypeInput::new(pg_sys::NUMERICOID), cached: Vec::new(), memory: PgMemoryContexts::new("c360 unit prices") }
    }

    /// The numeric of `text` (price id `id`) as numeric_in reads it, and its exact value.
    fn read(&mut self, text: &str, id: Option<u32>) -> (Datum, Option<Fixed>) {
        if let Some(&known) = id.and_then(|i| self.cached.get(i as usize)) {
            return known;
        }
        let datum = self.input.read(text);
        // SAFETY: a numeric datum, just read by numeric_in
        let exact = unsafe { numeric_fixed(datum) };
        if let Some(i) = id {
            // ids come in first-seen order: this is the next one
            debug_assert_eq!(i as usize, self.cached.len());
            debug_assert!(self.cached.len() < MAX_CACHED_PRICES);
            // SAFETY: copies the numeric into the cache's context
            let kept = unsafe {
                self.memory.switch_to(|_| Datum::from(pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr())))
            };
            self.cached.push((kept, exact));
        }
        (datum, exact)
    }
}

/// Column types of `pg_temp.c360_checked_lines`, one row per accepted line:
/// line_no, order_id, order_item_id, product_id, quantity, unit_price — what
/// the order lines need (the summary tables carry the rest).
const LINE_TYPES: [pg_sys::Oid; 6] =
    [pg_sys::INT8OID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::INT4OID, pg_sys::NUMERICOID];
/// Column types of `pg_temp.c360_refused_lines`, one row per refused line:
/// line_no, problem ({reason, message}), raw_values. Apart from the accepted
/// lines, so that writing the order lines does not read past the refused
/// lines' messages and raw values (most of the bytes).
const REFUSED_TYPES: [pg_sys::Oid; 3] = [pg_sys::INT8OID, pg_sys::TEXTARRAYOID, pg_sys::JSONBOID];
/// order_id, customer_id, order_status, order_date, order_timestamp, and
/// the order's facts: has_facts, lines, units, sale_amount
const ORDERS_TYPES: [pg_sys::Oid; 9] = [
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::DATEOID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::BOOLOID,
    pg_sys::INT8OID,
    pg_sys::INT8OID,
    pg_sys::NUMERICOID,
];
/// customer_id, country / product_id, description
const KEYED_VALUE_TYPES: [pg_sys::Oid; 2] = [pg_sys::TEXTOID, pg_sys::TEXTOID];

fn optional_text(value: Option<&str>) -> (Datum, bool) {
    value.map_or((Datum::from(0), true), |v| (temp_rows::text(v), false))
}

/// Columns of `c360.order_items`, which a first load's accepted lines go
/// straight into (in the order of the values written).
const ORDER_ITEMS_COLUMNS: [(&str, pg_sys::Oid); 6] = [
    ("order_item_id", pg_sys::TEXTOID),
    ("order_id", pg_sys::TEXTOID),
    ("product_id", pg_sys::TEXTOID),
    ("quantity", pg_sys::INT4OID),
    ("unit_price", pg_sys::NUMERICOID),
    ("load_id", pg_sys::INT8OID),
];
/// Columns of `c360.rejects`, which a bulk load's refused lines go straight into.
const REJECTS_COLUMNS: [(&str, pg_sys::Oid); 8] = [
    ("load_id", pg_sys::INT8OID),
    ("source", pg_sys::TEXTOID),
    ("line_no", pg_sys::INT8OID),
    ("reason", pg_sys::TEXTOID),
    ("message", pg_sys::TEXTOID),
    ("raw_text", pg_sys::TEXTOID),
    ("raw_values", pg_sys::JSONBOID),
    ("rejected_at", pg_sys::TIMESTAMPTZOID),
];

/// Columns of `c360.fact_orders`, which a first load's order facts go
/// straight into.
const FACT_ORDERS_COLUMNS: [(&str, pg_sys::Oid); 10] = [
    ("order_id", pg_sys::TEXTOID),
    ("customer_id", pg_sys::TEXTOID),
    ("order_timestamp", pg_sys::TIMESTAMPTZOID),
    ("order_date", pg_sys::DATEOID),
    ("order_status", pg_sys::TEXTOID),
    ("is_sale", pg_sys::BOOLOID),
    ("is_return", pg_sys::BOOLOID),
    ("revenue", pg_sys::NUMERICOID),
    ("lines", pg_sys::INT4OID),
    ("units", pg_sys::INT8OID),
];

/// The facts of a first load's orders, written straight into
/// `c360.fact_orders` as `_ingest_online_retail` writes them from
/// `c360_checked_orders` (the same values, with heap_multi_insert instead
/// of an INSERT per row).
struct FactRows {
    rows: TypedRows,
    /// (revenue, return) for the pass's sale and return statuses, from
    /// `c360._order_status_kinds()` as the SQL reads them
    sale_kinds: (bool, bool),
    return_kinds: (bool, bool),
}

impl FactRows {
    /// None when `c360.fact_orders` does not qualify ([`TypedRows::open`]).
    fn open() -> Option<Self> {
        let kinds = Spi::get_one_with_args::<Vec<Option<bool>>>(
            "SELECT ARRAY[$1 = ANY (s.revenue), $1 = ANY (s.returns), $2 = ANY (s.revenue), $2 = ANY (s.returns)]
             FROM c360._order_status_kinds() s",
            &[SALE_STATUS.into(), RETURN_STATUS.into()],
        )
        .unwrap_or_else(|e| super::spi_failed("reading the order status kinds", e))?;
        // (NULL: a rules row without a status; the SQL's ANY would be NULL
        // too, which its NOT NULL columns refuse: left to the SQL)
        let [Some(sale_revenue), Some(sale_return), Some(return_revenue), Some(return_return)] = kinds[..] else {
            return None;
        };
        let rows = TypedRows::open("fact_orders", &FACT_ORDERS_COLUMNS)?;
        Some(FactRows { rows, sale_kinds: (sale_revenue, sale_return), return_kinds: (return_revenue, return_return) })
    }

    /// Writes the facts row of order `order_id`, unless its line count does
    /// not fit fact_orders' integer (left to the SQL, which then refuses
    /// it as an INSERT would); whether it was written.
    ///
    /// # Safety
    /// In a memory context reset only after the row is inserted.
    unsafe fn insert(&mut self, order_id: &str, customer_id: &str, order: &online_retail::OrderSummary, facts: &online_retail::OrderFacts) -> bool {
        let Ok(lines) = i32::try_from(facts.lines) else { return false };
        let (revenue_status, return_status) = if order.is_return { self.return_kinds } else { self.sale_kinds };
        let revenue = match facts.sale_amount {
            Some(amount) if revenue_status => unsafe { fixed_to_numeric(amount) },
            // the SQL's 0: scale 0
            _ => Datum::from(unsafe { pg_sys::int64_div_fast_to_numeric(0, 0) }),
        };
        self.rows.insert(
            &[
                temp_rows::text(order_id),
                temp_rows::text(customer_id),
                Datum::from(order.first_at),
                Datum::from(order.first_date),
                temp_rows::text(if order.is_return { RETURN_STATUS } else { SALE_STATUS }),
                Datum::from(revenue_status && facts.sale_amount.is_some()),
                Datum::from(return_status),
                revenue,
                Datum::from(lines),
                Datum::from(facts.units),
            ],
            &[false; 10],
        );
        true
    }
}

/// Where accepted lines go: the work table, or `c360.order_items` itself.
enum AcceptedRows {
    Work(TempRows),
    OrderItems(TypedRows),
}

/// Where refused lines go: the work table, or `c360.rejects` itself.
enum RefusedRows {
    Work(TempRows),
    Rejects(TypedRows),
}

/// The tables the lines of load `load_id` go to.
struct LineTables {
    accepted: AcceptedRows,
    refused: RefusedRows,
    load_id: i64,
    /// lines accepted and refused
    counts: (i64, i64),
    /// the text datums of the refused rows' fixed texts
    fixed: FixedTexts,
}

/// Text datums made once per distinct fixed text (a refused row's source,
/// reason and, for most refusals, message: 1.35M rows at 10x share a few),
/// in memory of their own that outlives the per-line resets.
struct FixedTexts {
    seen: Vec<(&'static str, Datum)>,
    memory: PgMemoryContexts,
}

impl FixedTexts {
    fn new() -> Self {
        FixedTexts { seen: Vec::new(), memory: PgMemoryContexts::new("c360 fixed texts") }
    }

    /// The datum of `text`; made, and kept, the first time (by address:
    /// a fixed text is a `&'static str`).
    fn get(&mut self, text: &'static str) -> Datum {
        if let Some(&(_, datum)) = self.seen.iter().find(|(t, _)| std::ptr::eq(*t, text)) {
            return datum;
        }
        // SAFETY: the datum is made in this cache's context, which lives as
        // long as the cache
        let datum = unsafe { self.memory.switch_to(|_| temp_rows::text(text)) };
        // (a few reasons and messages; a runaway list only costs a scan)
        if self.seen.len() < 64 {
            self.seen.push((text, datum));
        }
        datum
    }

    /// The datum of a message: fixed ones once, others per row.
    fn message(&mut self, message: &std::borrow::Cow<'static, str>) -> Datum {
        match message {
            std::borrow::Cow::Borrowed(fixed) => self.get(fixed),
            std::borrow::Cow::Owned(text) => temp_rows::text(text),
        }
    }
}

/// Which typed tables a pass may write its lines into directly
/// (`c360.load_csv` has begun their bulk path).
#[derive(Clone, Copy, Default)]
struct DirectWrites {
    order_items: bool,
    rejects: bool,
    /// a first load's order facts, into `c360.fact_orders`
    fact_orders: bool,
}

impl LineTables {
    fn open(creator: &str, load_id: i64, direct: DirectWrites) -> Self {
        let accepted = match direct.order_items.then(|| TypedRows::open("order_items", &ORDER_ITEMS_COLUMNS)).flatten() {
            Some(mut rows) => {
                // every accepted line's order and product is in the load
                // summary (write_line adds each line to it): `finish` hands
                // them over once each
                rows.keys_from_caller("order_id");
                rows.keys_from_caller("product_id");
                AcceptedRows::OrderItems(rows)
            }
            None => AcceptedRows::Work(TempRows::open("c360_checked_lines", &LINE_TYPES, creator)),
        };
        let refused = match direct.rejects.then(|| TypedRows::open("rejects", &REJECTS_COLUMNS)).flatten() {
            Some(rows) => RefusedRows::Rejects(rows),
            None => RefusedRows::Work(TempRows::open("c360_refused_lines", &REFUSED_TYPES, creator)),
        };
        LineTables { accepted, refused, load_id, counts: (0, 0), fixed: FixedTexts::new() }
    }

    fn accepted(&mut self, line_no: i64, order_id: &str, order_item_id: &str, product_id: &str, quantity: i32, unit_price: Datum) {
        self.counts.0 += 1;
        match &mut self.accepted {
            AcceptedRows::Work(t) => t.insert(
                &mut [
                    Datum::from(line_no),
                    temp_rows::text(order_id),
                    temp_rows::text(order_item_id),
                    temp_rows::text(product_id),
                    Datum::from(quantity),
                    unit_price,
                ],
                &mut [false; 6],
            ),
            AcceptedRows::OrderItems(rows) => rows.insert(
                &[
                    temp_rows::text(order_item_id),
                    temp_rows::text(order_id),
                    temp_rows::text(product_id),
                    Datum::from(quantity),
                    unit_price,
                    Datum::from(self.load_id),
                ],
                &[false; 6],
            ),
        }
    }

    fn refused(&mut self, line_no: i64, reason: &'static str, message: &std::borrow::Cow<'static, str>, raw_values: Datum) {
        self.counts.1 += 1;
        match &mut self.refused {
            RefusedRows::Work(t) => {
                t.insert(&mut [Datum::from(line_no), temp_rows::text_array(&[reason, message]), raw_values], &mut [false; 3])
            }
            RefusedRows::Rejects(rows) => rows.insert(
                &[
                    Datum::from(self.load_id),
                    self.fixed.get(SOURCE),
                    Datum::from(line_no),
                    self.fixed.get(reason),
                    self.fixed.message(message),
                    Datum::from(0),
                    raw_values,
                    // rejected_at's default, clock_timestamp()
                    // SAFETY: reads the clock
                    Datum::from(unsafe { pg_sys::GetCurrentTimestamp() }),
                ],
                &[false, false, false, false, false, true, false, false],
            ),
        }
    }

    /// Closes the tables; records in `pg_temp.c360_checked_counts` the lines
    /// accepted and refused, and how many of each went straight into
    /// `order_items` and `rejects`.
    fn finish(self, creator: &str, summary: &LoadSummary, stored_facts: Option<i64>) {
        let stored_accepted = match self.accepted {
            AcceptedRows::Work(t) => {
                t.finish();
                0
            }
            AcceptedRows::OrderItems(mut rows) => {
                rows.record_keys("order_id", summary.orders.rows.iter().map(|(order_id, _)| order_id.as_str()));
                rows.record_keys("product_id", summary.products.rows.iter().map(|(product_id, _)| product_id.as_str()));
                rows.finish()
            }
        };
        let stored_refused = match self.refused {
            RefusedRows::Work(t) => {
                t.finish();
                0
            }
            RefusedRows::Rejects(rows) => rows.finish(),
        };
        let mut counts = TempRows::open("c360_checked_counts", &[pg_sys::INT8OID; 5], creator);
        counts.insert(
            &mut [self.counts.0, self.counts.1, stored_accepted, stored_refused, stored_facts.unwrap_or(0)].map(Datum::from),
            &mut [false, false, false, false, stored_facts.is_none()],
        );
        counts.finish();
    }
}

/// The raw fields of a line in [`ONLINE_RETAIL_COLUMNS`] order, as the rules read them.
fn line_of<'a>(raw: &[Option<&'a str>; 8]) -> online_retail::Line<'a> {
    let [invoice_no, stock_code, description, quantity, invoice_date, unit_price, customer_id, country] = *raw;
    online_retail::Line { invoice_no, stock_code, quantity, invoice_date, unit_price, customer_id, description, country }
}

/// Writes a checked line's row of `c360_checked_lines` (adding it to the
/// summary) or of `c360_refused_lines`.
fn write_line(
    summary: &mut LoadSummary,
    inputs: &mut Inputs,
    tables: &mut LineTables,
    line_no: i64,
    raw: &[Option<&str>; 8],
    line: Checked,
    ids: Option<LineIds>,
) {
    match (&line.outcome, ids) {
        (Ok(a), Some(ids)) => {
            // an accepted line has an invoice (classify refuses others)
            let order_id = line.order_id.unwrap_or_default();
            let (unit_price, exact_price) = inputs.prices.read(a.unit_price, ids.price);
            line.write_order_item_id(&mut inputs.key);
            tables.accepted(line_no, order_id, &inputs.key, a.product_id, a.quantity, unit_price);
            summary.add(&AcceptedLine {
                unit_price: exact_price,
                line_no,
                order_id,
                is_return: line.is_return().unwrap_or_default(),
                accepted: a,
                ids,
                at: inputs.timestamptz.read(a.order_timestamp).value() as i64,
                date: inputs.date.read(a.order_date).value() as i32,
            });
        }
        (Ok(_), None) => unreachable!("SummaryIds gives every accepted line its ids"),
        (Err(refusal), _) => {
            let raw_values: [(&str, Option<&str>); 8] = std::array::from_fn(|i| (ONLINE_RETAIL_COLUMNS[i], raw[i]));
            tables.refused(line_no, refusal.reason, &refusal.message, temp_rows::jsonb_object(&raw_values));
        }
    }
}

/// Writes the load's orders (in key order), customers and products (in file
/// order) into their work tables, and the orders' facts into
/// `c360.fact_orders` when `facts` is given; returns the facts rows written
/// there. (An order has_facts in its work table when its facts are there
/// to write, or, with `facts`, when they were written.)
fn write_summary(summary: &LoadSummary, creator: &str, mut facts_out: Option<FactRows>) -> Option<i64> {
    let mut orders = TempRows::open("c360_checked_orders", &ORDERS_TYPES, creator);
    let mut memory = PgMemoryContexts::new("c360 load orders");
    // In key order (bytewise, as orders' COLLATE "C" key sorts): inserting
    // them into c360.orders then appends to its primary key's rightmost leaf
    // instead of descending to a random one per order (100x, 2.2M orders:
    // that INSERT took 3.9 s in file order, 2.7 s in key order).
    let rows = &summary.orders.rows;
    let mut by_key: Vec<usize> = (0..rows.len()).collect();
    by_key.sort_unstable_by(|&a, &b| rows[a].0.as_bytes().cmp(rows[b].0.as_bytes()));
    for (n, (order_id, o)) in by_key.into_iter().map(|i| &rows[i]).enumerate() {
        let facts = o.facts.as_ref();
        let sale_amount = facts.and_then(|f| f.sale_amount);
        // SAFETY: the datums live until the row is inserted; the context is
        // reset only between rows.
        unsafe {
            memory.switch_to(|_| {
                let mut values = [
                    temp_rows::text(order_id),
                    temp_rows::text(summary.customer_of(o)),
                    temp_rows::text(if o.is_return { RETURN_STATUS } else { SALE_STATUS }),
                    Datum::from(o.first_date),
                    Datum::from(o.first_at),
                    Datum::from(facts.is_some()),
                    Datum::from(facts.map_or(0, |f| f.lines)),
                    Datum::from(facts.map_or(0, |f| f.units)),
                    sale_amount.map_or(Datum::from(0), |a| fixed_to_numeric(a)),
                ];
                let mut nulls = [false, false, false, false, false, false, facts.is_none(), facts.is_none(), sale_amount.is_none()];
                if let Some(out) = facts_out.as_mut() {
                    let written = facts.is_some_and(|f| out.insert(order_id, summary.customer_of(o), o, f));
                    values[5] = Datum::from(written);
                }
                orders.insert(&mut values, &mut nulls);
            });
            if n % BATCH_LINES == BATCH_LINES - 1 {
                memory.reset();
            }
        }
    }
    orders.finish();
    let stored_facts = facts_out.map(|out| out.rows.finish());
    type ValueText = fn(&LoadSummary, Option<u32>) -> Option<&str>;
    let tables: [(&str, _, ValueText); 2] = [
        ("c360_checked_customers", &summary.customers, LoadSummary::country),
        ("c360_checked_products", &summary.products, LoadSummary::description),
    ];
    for (table, rows, text) in tables {
        let mut out = TempRows::open(table, &KEYED_VALUE_TYPES, creator);
        for (key, latest) in &rows.rows {
            let (value, null) = optional_text(text(summary, latest.as_ref().and_then(|l| l.value)));
            out.insert(&mut [temp_rows::text(key), value], &mut [false, null]);
        }
        out.finish();
    }
    stored_facts
}

/// The pass over one load's lines, in line order: each line checked and
/// written to its work table, the accepted ones summarized.
struct CheckingPass {
    summary: LoadSummary,
    inputs: Inputs,
    tables: LineTables,
    /// the datums and tuples of each line live in a context reset every
    /// BATCH_LINES lines: memory stays bounded by a batch, not the load
    line_memory: PgMemoryContexts,
    creator: &'static str,
    /// the orders' facts go straight into `c360.fact_orders`
    facts_direct: bool,
}

impl CheckingPass {
    fn open(creator: &'static str, load_id: i64, direct: DirectWrites) -> Self {
        CheckingPass {
            summary: LoadSummary::default(),
            inputs: Inputs {
                prices: Prices::new(),
                timestamptz: TypeInput::new(pg_sys::TIMESTAMPTZOID),
                date: TypeInput::new(pg_sys::DATEOID),
                key: String::new(),
            },
            tables: LineTables::open(creator, load_id, direct),
            line_memory: PgMemoryContexts::new("c360 checking pass"),
            creator,
            facts_direct: direct.fact_orders,
        }
    }

    /// Writes one line, checked by a [`LoadChecker`] and given its ids by
    /// a [`SummaryIds`], both fed every line in order.
    fn line(&mut self, line_no: i64, raw: &[Option<&str>; 8], checked: Checked, ids: Option<LineIds>) {
        let CheckingPass { summary, inputs, tables, line_memory, .. } = self;
        // SAFETY: nothing allocated in the context outlives the line (the
        // tuple is copied into its page; cached datums are by value).
        unsafe { line_memory.switch_to(|_| write_line(summary, inputs, tables, line_no, raw, checked, ids)) };
        if (self.lines() as usize).is_multiple_of(BATCH_LINES) {
            // SAFETY: as above: nothing of the context is referenced any more.
            unsafe { self.line_memory.reset() };
        }
    }

    /// The lines written so far.
    fn lines(&self) -> i64 {
        self.tables.counts.0 + self.tables.counts.1
    }

    /// Runs `f` in the per-line memory (reset with the next batch).
    fn in_line_memory(&mut self, f: impl FnOnce()) {
        // SAFETY: `f` keeps nothing allocated there.
        unsafe { self.line_memory.switch_to(|_| f()) }
    }

    /// Closes the line tables and writes the summary tables; the lines checked.
    fn finish(self) -> i64 {
        let lines = self.lines();
        let facts = self.facts_direct.then(FactRows::open).flatten();
        let stored_facts = write_summary(&self.summary, self.creator, facts);
        self.tables.finish(self.creator, &self.summary, stored_facts);
        lines
    }
}

/// The checking pass of an Online Retail load (SPEC.md §3), in Rust: reads
/// the staged lines in line order and fills the session's work tables
/// `pg_temp.c360_checked_lines` and `c360_refused_lines` (a row per line)
/// and `c360_checked_orders`, `_customers` and `_products` (a row per order,
/// customer and product), which `_ingest_online_retail` creates first; never
/// another table.
/// Returns the lines checked.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn _check_online_retail_load(load_id: i64) -> i64 {
    let mut pass = CheckingPass::open(STAGED_CREATOR, load_id, DirectWrites::default());
    let (mut checker, mut ids) = (LoadChecker::default(), SummaryIds::default());
    read_staged_lines(load_id, |line_no, raw| {
        let checked = checker.check(&line_of(raw));
        let line_ids = ids.of(&checked);
        pass.line(line_no, raw, checked, line_ids)
    });
    pass.finish()
}

/// The rules and the summary's ids, run on the reader thread as the file
/// is read (they need no PostgreSQL call): each record's outcome, its texts
/// located in its fields, and an accepted one's ids.
#[derive(Default)]
struct FileChecker(LoadChecker, SummaryIds);

impl Prepare for FileChecker {
    type Prepared = (CheckedOf<FieldText>, Option<LineIds>);
    fn prepare(&mut self, fields: RecordFields<'_>) -> Self::Prepared {
        let raw: [Option<&str>; 8] = std::array::from_fn(|i| (i < fields.len()).then(|| fields.get(i)));
        let checked = self.0.check(&line_of(&raw));
        let ids = self.1.of(&checked);
        (checked.map(|text| FieldText::locate(&fields, text)), ids)
    }
}

/// A file's checked records fed to the rest of the checking pass; refused
/// records go straight to `c360.rejects`, as `import_csv` records them.
struct FileLines {
    load_id: i64,
    pass: CheckingPass,
    refused: RefusedRecords,
}

impl RecordSink<(CheckedOf<FieldText>, Option<LineIds>)> for FileLines {
    fn record(&mut self, line: u64, fields: RecordFields, (checked, ids): (CheckedOf<FieldText>, Option<LineIds>)) {
        let raw: [Option<&str>; 8] = std::array::from_fn(|i| Some(fields.get(i)));
        self.pass.line(line as i64, &raw, checked.map(|text| text.resolve(&fields)), ids);
    }

    fn refuse(&mut self, line: u64, reason: &str, message: String, raw_text: Option<String>, raw_fields: Option<&[String]>) {
        self.refused.push(line, reason, message, raw_text, raw_fields);
        if self.refused.pending() >= BATCH_ROWS {
            let (refused, load_id) = (&mut self.refused, self.load_id);
            self.pass.in_line_memory(|| refused.write(load_id));
        }
    }
}

/// The checking pass of an Online Retail file read on the server, with no
/// staging (`c360.load_csv`): registers the load, reads the file as
/// `import_csv` does (same header, delimiter, quote and encoding rules;
/// malformed records go to `c360.rejects`) and checks each record as
/// `_check_online_retail_load` checks a staged line, into the same work
/// tables — or, when `load_csv` has begun the bulk path of an empty
/// `order_items` (`lines_into_order_items`), of `rejects`
/// (`refused_into_rejects`) or, with no orders yet, of `fact_orders`
/// (`facts_into_fact_orders`: the orders' facts), straight into those tables where
/// [`TypedRows::open`] allows it. Leaves the load importing, with its
/// records read and refused counted; returns its id.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn _check_online_retail_file(
    path: &str,
    header: Option<bool>,
    delimiter: &str,
    quote: &str,
    encoding: &str,
    lines_into_order_items: bool,
    refused_into_rejects: bool,
    facts_into_fact_orders: bool,
) -> i64 {
    require_server_file_access(path);
    let opts = csv_options(delimiter, quote, encoding);
    let columns: Vec<String> = ONLINE_RETAIL_COLUMNS.iter().map(|c| c.to_string()).collect();
    let load_id = register_load(SOURCE, path);
    let direct = DirectWrites { order_items: lines_into_order_items, rejects: refused_into_rejects, fact_orders: facts_into_fact_orders };
    let mut lines = FileLines { load_id, pass: CheckingPass::open(FILE_CREATOR, load_id, direct), refused: RefusedRecords::default() };
    let read = read_csv_file(path, SOURCE, &columns, header, opts, FileChecker::default(), &mut lines);
    let FileLines { pass, mut refused, .. } = lines;
    refused.write(load_id);
    pass.finish();
    Spi::run_with_args(
        "UPDATE c360.load_log SET staged_at = clock_timestamp(), rows_read = $2, rows_rejected = $3 WHERE load_id = $1",
        &[load_id.into(), read.into(), refused.written.into()],
    )
    .unwrap_or_else(|e| super::spi_failed("updating the load log", e));
    load_id
}
