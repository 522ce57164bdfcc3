//! Ingest: CSV files and staged rows into the typed tables, losing nothing.
//!
//! The flow (see README "Loading data"):
//! 1. rows reach a staging table `c360.stage_<source>` (all text), either
//!    client-side through `\copy c360.<source>_csv FROM ... CSV HEADER` or
//!    server-side through [`import_csv`];
//! 2. `c360.ingest()` (sql/ingest.sql) validates every staged row with the
//!    checkers below and promotes it into the typed tables or `c360.rejects`.
//!
//! The pure parts live in `csv_reader`, `values` and `online_retail`; this
//! file is the pgrx layer.
mod copy_in;
pub mod csv_reader;
pub mod online_retail;
pub mod values;

use crate::sql_errors::raise;
use copy_in::{copy_into, CopyRows};
use csv_reader::{CsvOptions, CsvReader, Encoding, Item};
use pgrx::PgMemoryContexts;
use pgrx::prelude::*;
use values::{Kind, Refusal};

extension_sql_file!("../../sql/tables.sql", name = "tables", requires = ["bootstrap"]);
extension_sql_file!(
    "../../sql/ingest.sql",
    name = "ingest",
    requires = [
        "tables",
        check_value,
        online_retail_line_problem,
        order_line_problem,
        normalize_customer_id,
        _check_online_retail_load,
        _latest_value_transition,
        _latest_value_final
    ]
);

fn refusal_array(r: Result<(), Refusal>) -> Option<Vec<String>> {
    r.err().map(|r| vec![r.reason.to_string(), r.message])
}

/// Checks one staged text value. Returns NULL when it is acceptable, or
/// `{reason, message}` naming the column and the value. `kind` is one of
/// text, key (an id: at most 256 characters), integer, decimal, money (a
/// decimal below 10^12 in absolute value), timestamp, date.
#[pg_extern(immutable, parallel_safe)]
fn check_value(column: &str, value: Option<&str>, kind: &str, required: bool) -> Option<Vec<String>> {
    let Some(kind) = Kind::parse(kind) else {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown value kind \"{kind}\""),
            "check_value accepts the kinds text, key, integer, decimal, money, timestamp and date.",
            None,
        )
    };
    refusal_array(values::check(column, value, kind, required))
}

/// Applies the Online Retail rules (SPEC.md §3) to one line. NULL for a sale
/// or return line, otherwise `{reason, message}`.
#[pg_extern(immutable, parallel_safe)]
fn online_retail_line_problem(
    invoice_no: Option<&str>,
    stock_code: Option<&str>,
    quantity: Option<&str>,
    invoice_date: Option<&str>,
    unit_price: Option<&str>,
    customer_id: Option<&str>,
) -> Option<Vec<String>> {
    let line = online_retail::Line { invoice_no, stock_code, quantity, invoice_date, unit_price, customer_id, ..Default::default() };
    refusal_array(online_retail::classify(&line).map(|_| ()))
}

/// Checks the quantity and unit price of a normalized order_items row: NULL
/// when acceptable, else `{reason, message}` (non-positive quantity, negative
/// price, a line amount of a trillion or more, unparseable values).
#[pg_extern(immutable, parallel_safe)]
fn order_line_problem(quantity: Option<&str>, unit_price: Option<&str>) -> Option<Vec<String>> {
    refusal_array(values::check_order_line(quantity, unit_price))
}

/// `17850.0` -> `17850`: the Online Retail CustomerID as c360 stores it.
#[pg_extern(immutable, strict, parallel_safe)]
fn normalize_customer_id(raw: &str) -> &str {
    online_retail::normalize_customer_id(raw)
}

/// State of `c360._latest_value`: the value on the latest row so far.
#[derive(Default)]
struct LatestValue {
    at: Option<(i64, i64)>,
    value: Option<String>,
}

/// Transition of `c360._latest_value(value, at, line_no)`: keeps the value of
/// the row with the greatest (at, line_no), NULL values included. A hash
/// aggregate: the "latest per key" of a whole load without sorting its lines.
#[pg_extern(immutable, parallel_safe)]
fn _latest_value_transition(
    mut state: pgrx::Internal,
    value: Option<&str>,
    at: Option<TimestampWithTimeZone>,
    line_no: Option<i64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> pgrx::Internal {
    const CALLER: &str = "_latest_value_transition";
    // SAFETY: every state of c360._latest_value is a LatestValue.
    let latest: &mut LatestValue = unsafe { crate::aggregate::state_or_default(&mut state, fcinfo, CALLER, "c360._latest_value") };
    // a NULL time sorts before every time, as in ORDER BY at DESC NULLS LAST
    let key = (at.map_or(i64::MIN, |t| t.into_inner()), line_no.unwrap_or(i64::MIN));
    if latest.at.is_none_or(|seen| key >= seen) {
        latest.at = Some(key);
        latest.value = value.map(str::to_owned);
    }
    state
}

#[pg_extern(immutable, parallel_safe)]
fn _latest_value_final(mut state: pgrx::Internal) -> Option<String> {
    // SAFETY: every state of c360._latest_value is a LatestValue.
    unsafe { crate::aggregate::state_mut::<LatestValue>(&mut state) }.and_then(|latest| latest.value.clone())
}

/// The staged Online Retail columns, in the order the checking pass reads
/// them (also the keys of a refused line's raw values).
const ONLINE_RETAIL_COLUMNS: [&str; 8] =
    ["invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid", "country"];

/// The columns of `pg_temp.c360_checked` the Online Retail pass writes.
const CHECKED_COLUMNS: [&str; 14] = [
    "line_no",
    "problem",
    "order_id",
    "order_item_id",
    "is_return",
    "customer_id",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "order_timestamp",
    "order_date",
    "country",
    "raw_values",
];

/// `{"reason","message"}`: a text[] literal.
fn problem_literal(refusal: &Refusal) -> String {
    let mut out = String::from("{");
    for (i, element) in [refusal.reason, refusal.message.as_str()].into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in element.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// A refused line's staged values as a JSON object (what rejects.raw_values keeps).
fn raw_values_json(values: &[Option<&str>; 8]) -> String {
    // keys in jsonb's own order (shorter first, then bytewise): its input
    // function then finds them sorted instead of sorting every object
    const JSONB_ORDER: [usize; 8] = [7, 3, 0, 1, 5, 6, 2, 4];
    let mut out = String::from("{");
    for (i, &column) in JSONB_ORDER.iter().enumerate() {
        let (name, value) = (ONLINE_RETAIL_COLUMNS[column], values[column]);
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\": ");
        match value {
            Some(v) => out.push_str(&serde_json::to_string(v).unwrap_or_default()),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

/// Calls `on_line(line_no, values)` for each staged line of `load_id` in
/// line order (values in [`ONLINE_RETAIL_COLUMNS`] order). The rows of a
/// load do not lie in the table in line order (COPY's batches reuse free
/// space in earlier pages), hence the ORDER BY.
fn read_staged_lines(load_id: i64, mut on_line: impl FnMut(i64, &[Option<&str>; 8])) {
    let query = c"SELECT line_no, invoiceno, stockcode, description, quantity, invoicedate, unitprice, customerid, country
                  FROM c360.stage_online_retail WHERE load_id = $1 ORDER BY line_no";
    Spi::connect(|_client| {
        // SAFETY: a read-only cursor over a query with one bigint parameter;
        // each fetched tuple is deformed against its own descriptor and
        // read before SPI_freetuptable releases it.
        unsafe {
            let mut argtypes = [pg_sys::INT8OID];
            let mut args = [pg_sys::Datum::from(load_id)];
            let portal = pg_sys::SPI_cursor_open_with_args(
                std::ptr::null(),
                query.as_ptr(),
                1,
                argtypes.as_mut_ptr(),
                args.as_mut_ptr(),
                std::ptr::null(),
                true,
                0,
            );
            loop {
                pg_sys::SPI_cursor_fetch(portal, true, 10_000);
                let table = pg_sys::SPI_tuptable;
                let n = pg_sys::SPI_processed as usize;
                if table.is_null() || n == 0 {
                    break;
                }
                for &tuple in std::slice::from_raw_parts((*table).vals, n) {
                    let mut datums = [pg_sys::Datum::from(0); 9];
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

/// One line of the checking pass as a row of `pg_temp.c360_checked`.
fn push_checked_line(rows: &mut CopyRows, line_no: i64, raw: &[Option<&str>; 8], line: &online_retail::Checked) {
    let line_text = line_no.to_string();
    let item = line.order_item_id();
    let is_return = line.is_return().map(|r| if r { "t" } else { "f" });
    let keys = [Some(line_text.as_str())];
    match &line.outcome {
        Ok(a) => rows.push_nullable(keys.into_iter().chain([
            None,
            line.order_id,
            item.as_deref(),
            is_return,
            Some(a.customer_id),
            Some(a.product_id),
            a.description,
            Some(a.quantity),
            Some(a.unit_price),
            Some(a.order_timestamp),
            Some(a.order_date),
            a.country,
            None,
        ])),
        Err(refusal) => {
            let problem = problem_literal(refusal);
            let raw_values = raw_values_json(raw);
            rows.push_nullable(
                keys.into_iter()
                    .chain([Some(problem.as_str()), line.order_id, item.as_deref(), is_return])
                    .chain([None; 8])
                    .chain([Some(raw_values.as_str())]),
            );
        }
    }
}

/// The checking pass of an Online Retail load (SPEC.md §3), in Rust: reads
/// the staged lines in line order and writes one row per line into the
/// session's `pg_temp.c360_checked` (created by `_ingest_online_retail`;
/// never another table: COPY's internals skip privilege checks) through
/// COPY — its problem, order and line keys and, for an accepted line, its
/// values (COPY parses them into the typed columns, as a cast would), or
/// for a refused one its raw values. Returns the lines written.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn _check_online_retail_load(load_id: i64) -> i64 {
    let checked = Spi::get_one::<pg_sys::Oid>("SELECT pg_catalog.to_regclass('pg_temp.c360_checked')::oid")
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
                "_check_online_retail_load writes into pg_temp.c360_checked, which does not exist",
                "It is a step of c360.ingest(), which creates that table first.",
                Some("Call c360.ingest()."),
            )
        });
    let columns: Vec<String> = CHECKED_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut batch_memory = PgMemoryContexts::new("c360 checking batch");
    let mut flush = |rows: &mut CopyRows| {
        // SAFETY: COPY's allocations live in the batch context, reset after it returns.
        unsafe {
            batch_memory.switch_to(|_| copy_into(checked, &columns, rows));
            batch_memory.reset();
        }
    };
    let mut checker = online_retail::LoadChecker::default();
    let mut rows = CopyRows::default();
    let mut written: i64 = 0;
    read_staged_lines(load_id, |line_no, raw| {
        let [invoice_no, stock_code, description, quantity, invoice_date, unit_price, customer_id, country] = *raw;
        let line = online_retail::Line {
            invoice_no,
            stock_code,
            quantity,
            invoice_date,
            unit_price,
            customer_id,
            description,
            country,
        };
        push_checked_line(&mut rows, line_no, raw, &checker.check(&line));
        written += 1;
        if rows.rows() >= BATCH_ROWS {
            flush(&mut rows);
        }
    });
    flush(&mut rows);
    written
}

/// Lower-cased letters and digits only: "InvoiceNo" and "invoice_no" match.
fn header_key(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The staging table of `source` and its CSV columns, from the catalog: the
/// SQL schema is the single definition of each source's shape.
fn staging_columns(source: &str) -> (pg_sys::Oid, Vec<String>) {
    let found = Spi::get_two_with_args::<pg_sys::Oid, Vec<String>>(
        "SELECT c.oid, array_agg(a.attname::text ORDER BY a.attnum)
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'c360'::regnamespace AND c.relname = 'stage_' || $1
           AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('load_id', 'line_no')
         GROUP BY c.oid",
        &[source.into()],
    );
    match found {
        Ok((Some(table), Some(columns))) => (table, columns),
        _ => {
            let known = Spi::get_one::<String>(
                "SELECT string_agg(substr(relname, 7), ', ' ORDER BY relname) FROM pg_class
                 WHERE relnamespace = 'c360'::regnamespace AND relname LIKE 'stage\\_%' AND relkind = 'r'",
            )
            .ok()
            .flatten()
            .unwrap_or_default();
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("unknown source \"{source}\""),
                format!("The known sources are: {known}."),
                Some("Name the shape of the file: online_retail for the flat invoice-line file, or one of the five normalized extracts."),
            )
        }
    }
}

/// Rows are written through COPY's internals, which leave the privilege
/// check to the COPY statement: check INSERT on the staging table here.
fn require_insert_privilege(table: pg_sys::Oid) {
    let (allowed, name) = Spi::get_two_with_args::<bool, String>(
        "SELECT pg_catalog.has_table_privilege($1, 'INSERT'), $1::regclass::text",
        &[table.into()],
    )
    .unwrap_or((None, None));
    if allowed != Some(true) {
        let name = name.unwrap_or_default();
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {name}"),
            format!("import_csv writes the file's rows into {name}, which needs INSERT on it."),
            Some("GRANT INSERT ON the c360.stage_* tables to the loading role."),
        );
    }
}

fn require_server_file_access(path: &str) {
    let allowed = Spi::get_one::<bool>("SELECT pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'USAGE')")
        .ok()
        .flatten()
        .unwrap_or(false);
    if !allowed {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "permission denied to read server files",
            format!("import_csv reads \"{path}\" on the database server, which needs superuser or membership in pg_read_server_files."),
            Some("Ask a DBA for pg_read_server_files, or load the file client-side with \\copy c360.<source>_csv FROM 'file.csv' CSV HEADER."),
        );
    }
}

/// Where each file column goes: `slots[i]` is the staging column index of
/// file field `i`.
fn map_header(fields: &[String], columns: &[String]) -> Option<Vec<usize>> {
    let keys: Vec<String> = columns.iter().map(|c| header_key(c)).collect();
    let slots: Option<Vec<usize>> =
        fields.iter().map(|f| keys.iter().position(|k| *k == header_key(f))).collect();
    let slots = slots?;
    let mut seen = slots.clone();
    seen.sort_unstable();
    seen.dedup();
    (seen.len() == columns.len() && slots.len() == columns.len()).then_some(slots)
}

/// Rows per COPY (and per rejects insert): bounds the memory of a batch.
const BATCH_ROWS: usize = 50_000;

struct Stager {
    load_id: i64,
    table: pg_sys::Oid,
    /// load_id, line_no and the CSV columns, in the table's order
    copy_columns: Vec<String>,
    rows: CopyRows,
    reject_lines: Vec<i64>,
    reject_reasons: Vec<String>,
    reject_messages: Vec<String>,
    reject_raw_text: Vec<Option<String>>,
    reject_raw_fields: Vec<Option<String>>,
    rejected: i64,
    batch_memory: PgMemoryContexts,
}

impl Stager {
    fn new(load_id: i64, table: pg_sys::Oid, columns: &[String]) -> Self {
        let mut copy_columns = vec!["load_id".to_string(), "line_no".to_string()];
        copy_columns.extend(columns.iter().cloned());
        Stager {
            load_id,
            table,
            copy_columns,
            rows: CopyRows::default(),
            reject_lines: Vec::new(),
            reject_reasons: Vec::new(),
            reject_messages: Vec::new(),
            reject_raw_text: Vec::new(),
            reject_raw_fields: Vec::new(),
            rejected: 0,
            batch_memory: PgMemoryContexts::new("c360 import batch"),
        }
    }

    /// Stages one record; `slots[i]` is the table column of field `i`.
    fn stage(&mut self, line: u64, fields: &[String], slots: &[usize]) {
        let mut row: Vec<&str> = vec![""; fields.len()];
        for (field, &slot) in fields.iter().zip(slots) {
            row[slot] = field;
        }
        self.rows.push(self.load_id, line as i64, row.into_iter());
        if self.rows.rows() >= BATCH_ROWS {
            self.flush();
        }
    }

    fn reject(&mut self, line: u64, reason: &str, message: String, raw_text: Option<String>, raw_fields: Option<&[String]>) {
        self.reject_lines.push(line as i64);
        self.reject_reasons.push(reason.to_string());
        self.reject_messages.push(message);
        self.reject_raw_text.push(raw_text);
        self.reject_raw_fields.push(raw_fields.map(|f| serde_json::to_string(f).unwrap_or_default()));
        if self.reject_lines.len() >= BATCH_ROWS {
            self.flush();
        }
    }

    /// Writes the collected rows. COPY's and SPI's allocations live in a
    /// memory context reset after every batch: left in the function's
    /// context they would pile up with the file, so memory stays bounded by
    /// one batch.
    fn flush(&mut self) {
        let load_id = self.load_id;
        let reject_lines = std::mem::take(&mut self.reject_lines);
        let reject_reasons = std::mem::take(&mut self.reject_reasons);
        let reject_messages = std::mem::take(&mut self.reject_messages);
        let reject_raw_text = std::mem::take(&mut self.reject_raw_text);
        let reject_raw_fields = std::mem::take(&mut self.reject_raw_fields);
        self.rejected += reject_lines.len() as i64;
        let (table, copy_columns, rows) = (self.table, &self.copy_columns, &mut self.rows);
        // SAFETY: nothing allocated inside the closure outlives it; the
        // context is reset only after the closure has returned.
        unsafe {
            self.batch_memory.switch_to(|_| {
                copy_into(table, copy_columns, rows);
                if !reject_lines.is_empty() {
                    Spi::run_with_args(
                        "INSERT INTO c360.rejects (load_id, source, line_no, reason, message, raw_text, raw_values)
                         SELECT $1, l.source, u.line, u.reason, u.message, u.raw_text, u.raw_values::jsonb
                         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
                              AS u(line, reason, message, raw_text, raw_values)
                         CROSS JOIN (SELECT source FROM c360.load_log WHERE load_id = $1) AS l",
                        &[
                            load_id.into(),
                            reject_lines.into(),
                            reject_reasons.into(),
                            reject_messages.into(),
                            reject_raw_text.into(),
                            reject_raw_fields.into(),
                        ],
                    )
                    .unwrap_or_else(|e| spi_failed("recording rejects", e));
                }
            });
            self.batch_memory.reset();
        }
    }
}

fn spi_failed(what: &str, e: pgrx::spi::SpiError) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("c360 import failed while {what}"), e.to_string(), None)
}

/// Reads a CSV file on the database server into the staging table of
/// `source` (`c360.stage_<source>`), one load. Malformed records (wrong field
/// count, unterminated quote, invalid encoding, NUL byte) go to
/// `c360.rejects` with their line and raw text; nothing aborts the file.
///
/// `header`: NULL detects it (the first record is a header when its names
/// match the source's columns, in any order and spelling such as
/// InvoiceNo/invoice_no); true requires it; false means none.
/// `encoding`: UTF8 (default) or LATIN1. Follow with `c360.ingest()`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn import_csv(
    source: &str,
    path: &str,
    header: default!(Option<bool>, "NULL"),
    delimiter: default!(&str, "','"),
    quote: default!(&str, "'\"'"),
    encoding: default!(&str, "'UTF8'"),
) -> TableIterator<'static, (name!(load_id, i64), name!(rows_read, i64), name!(rows_staged, i64), name!(rows_rejected, i64))>
{
    require_server_file_access(path);
    let (table, columns) = staging_columns(source);
    require_insert_privilege(table);
    let single_byte = |what: &str, v: &str| -> u8 {
        match v.as_bytes() {
            [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => *b,
            _ => raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{what} must be a single ASCII character"),
                format!("{what} given: \"{v}\""),
                None,
            ),
        }
    };
    let opts = CsvOptions {
        delimiter: single_byte("delimiter", delimiter),
        quote: single_byte("quote", quote),
        encoding: Encoding::parse(encoding).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("unsupported encoding \"{encoding}\""),
                "import_csv reads UTF8 and LATIN1 files.",
                Some("Convert the file to UTF-8 (iconv -t UTF-8) or pass encoding => 'LATIN1'."),
            )
        }),
        ..Default::default()
    };
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_FILE,
            format!("could not open file \"{path}\" for reading"),
            format!("{e}"),
            Some("The path is read by the database server process; use \\copy to load a file from the client machine."),
        )
    });
    let load_id = Spi::get_one_with_args::<i64>(
        "INSERT INTO c360.load_log (source, file_name, status) VALUES ($1, $2, 'importing') RETURNING load_id",
        &[source.into(), path.into()],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "could not register the load", path, None));

    let mut stager = Stager::new(load_id, table, &columns);
    let encoding = opts.encoding;
    let mut reader = CsvReader::new(std::io::BufReader::with_capacity(1 << 20, file), opts);
    let identity: Vec<usize> = (0..columns.len()).collect();
    let mut slots: Option<Vec<usize>> = None;
    let mut read: i64 = 0;
    loop {
        let item = reader.next_item().unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_IO_ERROR, format!("could not read file \"{path}\""), e.to_string(), None)
        });
        let Some(item) = item else { break };
        match item {
            Item::Malformed(m) => {
                read += 1;
                stager.reject(m.line, m.problem.code(), m.problem.message(encoding), Some(m.raw), None);
            }
            Item::Record(r) => {
                if slots.is_none() {
                    let mapped = map_header(&r.fields, &columns);
                    match (header, mapped) {
                        (Some(false), _) | (None, None) => slots = Some(identity.clone()),
                        (_, Some(m)) => {
                            slots = Some(m);
                            continue;
                        }
                        (Some(true), None) => raise(
                            PgSqlErrorCode::ERRCODE_BAD_COPY_FILE_FORMAT,
                            format!("header of file \"{path}\" does not match source \"{source}\""),
                            format!("expected the columns {}; line {} has {}", columns.join(", "), r.line, r.fields.join(", ")),
                            Some("Rename the header's columns, or pass header => false to read the fields by position."),
                        ),
                    }
                }
                read += 1;
                let map = slots.as_deref().unwrap_or(&identity);
                if r.fields.len() == 1 && r.fields[0].is_empty() && columns.len() > 1 {
                    stager.reject(r.line, "blank_line", "the line is empty".into(), Some(String::new()), None);
                } else if r.fields.len() != columns.len() {
                    let msg = format!("expected {} fields ({}), found {}", columns.len(), columns.join(", "), r.fields.len());
                    stager.reject(r.line, "wrong_field_count", msg, None, Some(&r.fields));
                } else {
                    stager.stage(r.line, &r.fields, map);
                }
            }
        }
    }
    stager.flush();
    let staged = read - stager.rejected;
    Spi::run_with_args(
        "UPDATE c360.load_log SET status = 'staged', staged_at = clock_timestamp(), rows_read = $2, rows_rejected = $3 WHERE load_id = $1",
        &[load_id.into(), read.into(), stager.rejected.into()],
    )
    .unwrap_or_else(|e| spi_failed("updating the load log", e));
    TableIterator::once((load_id, read, staged, stager.rejected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_keys_come_in_jsonb_order() {
        let json = raw_values_json(&[Some("536365"), Some("85123A"), None, Some("6"), Some("x"), Some("2.55"), Some(""), Some("U\"K")]);
        let mut keys: Vec<&str> = ONLINE_RETAIL_COLUMNS.to_vec();
        keys.sort_by_key(|k| json.find(&format!("\"{k}\":")).expect("every column is a key"));
        let mut sorted = keys.clone();
        sorted.sort_by_key(|k| (k.len(), k.to_string()));
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 8);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["country"], "U\"K");
        assert_eq!(parsed["description"], serde_json::Value::Null);
        assert_eq!(parsed["invoiceno"], "536365");
    }

    #[test]
    fn problem_literals_quote_and_escape() {
        let r = Refusal::new("bad_number", "UnitPrice \"2,55\" is not a number \\ ok".into());
        assert_eq!(problem_literal(&r), r#"{"bad_number","UnitPrice \"2,55\" is not a number \\ ok"}"#);
    }

    #[test]
    fn header_matching_ignores_case_punctuation_and_order() {
        let cols: Vec<String> = ["invoiceno", "stockcode", "customerid"].iter().map(|s| s.to_string()).collect();
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(map_header(&f(&["InvoiceNo", "StockCode", "CustomerID"]), &cols), Some(vec![0, 1, 2]));
        assert_eq!(map_header(&f(&["customer_id", "invoice_no", "stock_code"]), &cols), Some(vec![2, 0, 1]));
        assert_eq!(map_header(&f(&["536365", "85123A", "17850.0"]), &cols), None);
        assert_eq!(map_header(&f(&["InvoiceNo", "InvoiceNo", "CustomerID"]), &cols), None);
        assert_eq!(map_header(&f(&["InvoiceNo", "StockCode"]), &cols), None);
    }
}
