//! Ingest: CSV files and staged rows into the typed tables, losing nothing.
//!
//! The flow (see README "Loading data"):
//! 1. rows reach a staging table `c360.stage_<source>` (all text), either
//!    client-side through `\copy c360.<source>_csv FROM ... CSV HEADER` or
//!    server-side through [`import_csv`];
//! 2. `c360.ingest()` (sql/ingest.sql) validates every staged row with the
//!    checkers below and promotes it into the typed tables or `c360.rejects`.
//!
//! `c360.load_csv()` does both for one server file in one transaction; an
//! Online Retail file skips staging: its records go straight to the checking
//! pass (`online_retail_load`).
//!
//! The pure parts live in `csv_reader`, `values` and `online_retail`; this
//! file is the pgrx layer.
mod copy_in;
pub mod csv_reader;
pub mod online_retail;
mod online_retail_load;
pub mod record_stream;
mod temp_rows;
mod typed_rows;
pub mod values;

use crate::sql_errors::raise;
use copy_in::{copy_into, CopyRows};
use csv_reader::{CsvOptions, CsvReader, Encoding};
use record_stream::{Event, Message, Prepare, RecordFields, Stop};
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
        _check_online_retail_file,
        _server_file_size,
        import_csv
    ]
);

fn refusal_array(r: Result<(), Refusal>) -> Option<Vec<String>> {
    r.err().map(|r| vec![r.reason.to_string(), r.message.into_owned()])
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
            format!("c360 reads \"{path}\" on the database server, which needs superuser or membership in pg_read_server_files."),
            Some("Ask a DBA for pg_read_server_files, or load the file client-side with \\copy c360.<source>_csv FROM 'file.csv' CSV HEADER."),
        );
    }
}

/// Rows per COPY (and per rejects insert): bounds the memory of a batch.
const BATCH_ROWS: usize = 50_000;

/// Records refused before any rule (malformed, blank, wrong field count),
/// collected for one insert into `c360.rejects`.
#[derive(Default)]
struct RefusedRecords {
    lines: Vec<i64>,
    reasons: Vec<String>,
    messages: Vec<String>,
    raw_text: Vec<Option<String>>,
    raw_fields: Vec<Option<String>>,
    /// written so far
    written: i64,
}

impl RefusedRecords {
    fn push(&mut self, line: u64, reason: &str, message: String, raw_text: Option<String>, raw_fields: Option<&[String]>) {
        self.lines.push(line as i64);
        self.reasons.push(reason.to_string());
        self.messages.push(message);
        self.raw_text.push(raw_text);
        self.raw_fields.push(raw_fields.map(|f| serde_json::to_string(f).unwrap_or_default()));
    }

    fn pending(&self) -> usize {
        self.lines.len()
    }

    /// Inserts the collected records as rejects of `load_id` and empties
    /// the batch (SPI allocates in the current memory context).
    fn write(&mut self, load_id: i64) {
        if self.lines.is_empty() {
            return;
        }
        self.written += self.lines.len() as i64;
        Spi::run_with_args(
            "INSERT INTO c360.rejects (load_id, source, line_no, reason, message, raw_text, raw_values)
             SELECT $1, l.source, u.line, u.reason, u.message, u.raw_text, u.raw_values::jsonb
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
                  AS u(line, reason, message, raw_text, raw_values)
             CROSS JOIN (SELECT source FROM c360.load_log WHERE load_id = $1) AS l",
            &[
                load_id.into(),
                std::mem::take(&mut self.lines).into(),
                std::mem::take(&mut self.reasons).into(),
                std::mem::take(&mut self.messages).into(),
                std::mem::take(&mut self.raw_text).into(),
                std::mem::take(&mut self.raw_fields).into(),
            ],
        )
        .unwrap_or_else(|e| spi_failed("recording rejects", e));
    }
}

/// Where the records of a CSV file go, one by one, on the backend's thread.
trait RecordSink<P> {
    /// A well-formed record with the source's field count, fields in column
    /// order, and what the reader thread prepared from it.
    fn record(&mut self, line: u64, fields: RecordFields, prepared: P);
    /// A record refused before any rule: its reason, message and raw text
    /// or fields.
    fn refuse(&mut self, line: u64, reason: &str, message: String, raw_text: Option<String>, raw_fields: Option<&[String]>);
}

/// Writes the records into the staging table through COPY.
struct Stager {
    load_id: i64,
    table: pg_sys::Oid,
    /// load_id, line_no and the CSV columns, in the table's order
    copy_columns: Vec<String>,
    rows: CopyRows,
    refused: RefusedRecords,
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
            refused: RefusedRecords::default(),
            batch_memory: PgMemoryContexts::new("c360 import batch"),
        }
    }

    /// Writes the collected rows. COPY's and SPI's allocations live in a
    /// memory context reset after every batch: left in the function's
    /// context they would pile up with the file, so memory stays bounded by
    /// one batch.
    fn flush(&mut self) {
        let (load_id, table, copy_columns, rows, refused) =
            (self.load_id, self.table, &self.copy_columns, &mut self.rows, &mut self.refused);
        // SAFETY: nothing allocated inside the closure outlives it; the
        // context is reset only after the closure has returned.
        unsafe {
            self.batch_memory.switch_to(|_| {
                copy_into(table, copy_columns, rows);
                refused.write(load_id);
            });
            self.batch_memory.reset();
        }
    }
}

impl RecordSink<()> for Stager {
    fn record(&mut self, line: u64, fields: RecordFields, _: ()) {
        self.rows.push(self.load_id, line as i64, fields.iter());
        if self.rows.rows() >= BATCH_ROWS {
            self.flush();
        }
    }

    fn refuse(&mut self, line: u64, reason: &str, message: String, raw_text: Option<String>, raw_fields: Option<&[String]>) {
        self.refused.push(line, reason, message, raw_text, raw_fields);
        if self.refused.pending() >= BATCH_ROWS {
            self.flush();
        }
    }
}

fn spi_failed(what: &str, e: pgrx::spi::SpiError) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("c360 import failed while {what}"), e.to_string(), None)
}

fn could_not_open(path: &str, e: std::io::Error) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_FILE,
        format!("could not open file \"{path}\" for reading"),
        format!("{e}"),
        Some("The path is read by the database server process; use \\copy to load a file from the client machine."),
    )
}

/// The size in bytes of a file on the database server, for callers who may
/// read server files: `load_csv` sizes a load by it before reading it.
#[pg_extern(volatile, strict, parallel_restricted)]
#[search_path(pg_catalog, pg_temp)]
fn _server_file_size(path: &str) -> i64 {
    require_server_file_access(path);
    let size = std::fs::metadata(path).unwrap_or_else(|e| could_not_open(path, e)).len();
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// The reader's options from the arguments of import_csv and load_csv.
fn csv_options(delimiter: &str, quote: &str, encoding: &str) -> CsvOptions {
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
    CsvOptions {
        delimiter: single_byte("delimiter", delimiter),
        quote: single_byte("quote", quote),
        encoding: Encoding::parse(encoding).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("unsupported encoding \"{encoding}\""),
                "c360 reads UTF8 and LATIN1 files.",
                Some("Convert the file to UTF-8 (iconv -t UTF-8) or pass encoding => 'LATIN1'."),
            )
        }),
        ..Default::default()
    }
}

/// Registers a load of `path` in the load log (status importing).
fn register_load(source: &str, path: &str) -> i64 {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO c360.load_log (source, file_name, status) VALUES ($1, $2, 'importing') RETURNING load_id",
        &[source.into(), path.into()],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "could not register the load", path, None))
}

/// Reads every record of the server file `path` into `sink` (the caller
/// has checked it may read server files): the header, when there is one
/// (`header`: NULL detects it), maps the file's fields onto `columns`;
/// records with another field count, blank lines and malformed records are
/// refused. Returns the records read, header excluded.
///
/// The file is read, split and `prepare`d on a helper thread
/// ([`record_stream`]) while this one hands the records to `sink`.
fn read_csv_file<P: Prepare>(
    path: &str,
    source: &str,
    columns: &[String],
    header: Option<bool>,
    opts: CsvOptions,
    prepare: P,
    sink: &mut impl RecordSink<P::Prepared>,
) -> i64 {
    let file = std::fs::File::open(path).unwrap_or_else(|e| could_not_open(path, e));
    let reader = CsvReader::new(std::io::BufReader::with_capacity(1 << 20, file), opts);
    let thread_columns = columns.to_vec();
    let stream = ReaderThread::spawn(move |out| record_stream::stream_records(reader, &thread_columns, header, prepare, &out));
    loop {
        match stream.next() {
            Message::Records(mut batch) => {
                let events = std::mem::take(&mut batch.events);
                let mut fields = batch.fields(columns.len());
                for event in events {
                    match event {
                        Event::Record { line, prepared } => {
                            let record = fields.next().expect("the fields of each record");
                            sink.record(line, record, prepared)
                        }
                        Event::Refused { line, reason, message, raw_text, raw_fields } => {
                            sink.refuse(line, reason, message, raw_text, raw_fields.as_deref())
                        }
                    }
                }
            }
            Message::End(Ok(read)) => return read,
            Message::End(Err(Stop::Read(e))) => {
                raise(PgSqlErrorCode::ERRCODE_IO_ERROR, format!("could not read file \"{path}\""), e, None)
            }
            Message::End(Err(Stop::HeaderMismatch { line, fields })) => raise(
                PgSqlErrorCode::ERRCODE_BAD_COPY_FILE_FORMAT,
                format!("header of file \"{path}\" does not match source \"{source}\""),
                format!("expected the columns {}; line {line} has {}", columns.join(", "), fields.join(", ")),
                Some("Rename the header's columns, or pass header => false to read the fields by position."),
            ),
        }
    }
}

/// The helper thread of [`read_csv_file`] and the receiving end of its
/// events. Dropping it (also when the backend unwinds from an error) closes
/// the channel, which stops the thread at its next send, and waits for it.
struct ReaderThread<T> {
    events: Option<std::sync::mpsc::Receiver<Message<T>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Messages in flight: bounds the memory the reader thread can run ahead by.
const MESSAGES_AHEAD: usize = 8;

impl<T: Send + 'static> ReaderThread<T> {
    fn spawn(work: impl FnOnce(std::sync::mpsc::SyncSender<Message<T>>) + Send + 'static) -> Self {
        let (out, events) = std::sync::mpsc::sync_channel(MESSAGES_AHEAD);
        // The thread starts with every signal blocked, so that the kernel
        // delivers the backend's signals (cancel, terminate) to this thread,
        // whose handlers PostgreSQL expects to run there.
        // SAFETY: plain sigset manipulation; the old mask is restored on this
        // thread right after the spawn, which copies the blocked one.
        let thread = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
            let thread = std::thread::Builder::new().name("c360 csv reader".into()).spawn(move || work(out));
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            thread
        };
        let thread = thread.unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES, "c360 could not start its CSV reader thread", e.to_string(), None)
        });
        ReaderThread { events: Some(events), thread: Some(thread) }
    }

    /// The next message, honouring query cancel while waiting for it.
    fn next(&self) -> Message<T> {
        use std::sync::mpsc::RecvTimeoutError;
        let events = self.events.as_ref().expect("open until dropped");
        loop {
            check_for_interrupts!();
            match events.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(message) => return message,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    "c360's CSV reader thread stopped before the end of the file",
                    "The thread panicked; the server log has its message.",
                    None,
                ),
            }
        }
    }
}

impl<T> Drop for ReaderThread<T> {
    fn drop(&mut self) {
        drop(self.events.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
    source: Option<&str>,
    path: Option<&str>,
    header: default!(Option<bool>, "NULL"),
    delimiter: default!(Option<&str>, "','"),
    quote: default!(Option<&str>, "'\"'"),
    encoding: default!(Option<&str>, "'UTF8'"),
) -> TableIterator<'static, (name!(load_id, i64), name!(rows_read, i64), name!(rows_staged, i64), name!(rows_rejected, i64))>
{
    let (Some(source), Some(path), Some(delimiter), Some(quote), Some(encoding)) = (source, path, delimiter, quote, encoding) else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "import_csv needs a source and a path, and a delimiter, quote and encoding that are not NULL",
            "",
            Some("Call c360.import_csv('online_retail', '/path/on/the/server.csv'); header => NULL detects a header."),
        )
    };
    require_server_file_access(path);
    let (table, columns) = staging_columns(source);
    require_insert_privilege(table);
    let opts = csv_options(delimiter, quote, encoding);
    let load_id = register_load(source, path);
    let mut stager = Stager::new(load_id, table, &columns);
    let read = read_csv_file(path, source, &columns, header, opts, (), &mut stager);
    stager.flush();
    let rejected = stager.refused.written;
    Spi::run_with_args(
        "UPDATE c360.load_log SET status = 'staged', staged_at = clock_timestamp(), rows_read = $2, rows_rejected = $3 WHERE load_id = $1",
        &[load_id.into(), read.into(), rejected.into()],
    )
    .unwrap_or_else(|e| spi_failed("updating the load log", e));
    TableIterator::once((load_id, read, read - rejected, rejected))
}
