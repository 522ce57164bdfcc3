//! Rows written straight into one of the session's own temp tables: tuples
//! formed from datums and heap-inserted, with no text round trip through
//! COPY or SQL. Only for `pg_temp` work tables that ingest creates itself:
//! they have no indexes, triggers or constraints to maintain, and nobody
//! else can see them. [`HeapInserts`], the inserting itself, also serves
//! `typed_rows`.
use crate::sql_errors::raise;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use std::ffi::CStr;

/// Rows buffered before one `heap_multi_insert`, as COPY buffers them: one
/// page lock and one WAL record per page filled instead of per row.
const BUFFERED_ROWS: usize = 1000;
const BUFFERED_BYTES: usize = 65_535;

/// A relation open for heap inserts through a bulk-insert state: what
/// [`TempRows`] and `typed_rows::TypedRows` share once each has checked the
/// relation is one it may write this way (no index to maintain, no trigger
/// to fire: rows are buffered and written in batches, as COPY does).
pub struct HeapInserts {
    rel: pg_sys::Relation,
    bulk: pg_sys::BulkInsertState,
    command: pg_sys::CommandId,
    columns: usize,
    rows: i64,
    /// one heap-tuple slot per buffered row; `buffered` of them are full
    slots: Vec<*mut pg_sys::TupleTableSlot>,
    buffered: usize,
    buffered_bytes: usize,
    /// where the buffered tuples are formed, emptied after each batch: they
    /// outlive the caller's own (per-line) memory
    memory: PgMemoryContexts,
    /// where the slots live, to the end
    slot_memory: PgMemoryContexts,
}

impl HeapInserts {
    /// # Safety
    /// `rel` is open and locked for the transaction, and the caller has
    /// checked its descriptor against the datums it will insert.
    pub unsafe fn new(rel: pg_sys::Relation) -> Self {
        // SAFETY: rel is open (the caller's promise)
        unsafe {
            HeapInserts {
                rel,
                bulk: pg_sys::GetBulkInsertState(),
                command: pg_sys::GetCurrentCommandId(true),
                columns: (*(*rel).rd_att).natts as usize,
                rows: 0,
                slots: Vec::with_capacity(BUFFERED_ROWS),
                buffered: 0,
                buffered_bytes: 0,
                memory: PgMemoryContexts::new("c360 buffered rows"),
                slot_memory: PgMemoryContexts::new("c360 buffered row slots"),
            }
        }
    }

    /// Inserts one row, a value per attribute; `values[i]` is SQL NULL when
    /// `nulls[i]`. Datums of by-reference types must be valid for the
    /// attribute's type (checked by the opener); they are copied at once.
    pub fn insert(&mut self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        assert!(values.len() == self.columns && nulls.len() == self.columns, "one value per column");
        if self.buffered == self.slots.len() {
            // SAFETY: a slot of the relation's descriptor, in memory of its
            // own (not the caller's, which may be reset between rows),
            // dropped by `finish`.
            let desc = unsafe { (*self.rel).rd_att };
            let slot = unsafe {
                self.slot_memory.switch_to(|_| pg_sys::MakeSingleTupleTableSlot(desc, &pg_sys::TTSOpsHeapTuple))
            };
            self.slots.push(slot);
        }
        let slot = self.slots[self.buffered];
        // SAFETY: the descriptor was checked when the relation was opened;
        // the tuple is formed in the buffer's memory and owned by the slot
        // (freed when the slot is cleared after the batch is written).
        unsafe {
            let tuple = self
                .memory
                .switch_to(|_| pg_sys::heap_form_tuple((*self.rel).rd_att, values.as_mut_ptr(), nulls.as_mut_ptr()));
            self.buffered_bytes += (*tuple).t_len as usize;
            pg_sys::ExecStoreHeapTuple(tuple, slot, true);
        }
        self.buffered += 1;
        self.rows += 1;
        if self.buffered == BUFFERED_ROWS || self.buffered_bytes >= BUFFERED_BYTES {
            self.flush();
        }
    }

    /// Writes the buffered rows.
    fn flush(&mut self) {
        if self.buffered == 0 {
            return;
        }
        // SAFETY: the slots hold tuples of the relation's descriptor;
        // heap_multi_insert copies them into their pages (and WAL-logs them
        // when the relation is logged); what it allocates (toasted copies)
        // lives in the buffer's memory, emptied once the slots are cleared.
        unsafe {
            let (rel, command, bulk) = (self.rel, self.command, self.bulk);
            let slots = self.slots.as_mut_ptr();
            let count = self.buffered as i32;
            self.memory.switch_to(|_| pg_sys::heap_multi_insert(rel, slots, count, command, 0, bulk));
            for &slot in &self.slots[..self.buffered] {
                pg_sys::ExecClearTuple(slot);
            }
            self.memory.reset();
        }
        self.buffered = 0;
        self.buffered_bytes = 0;
    }

    /// Writes what is buffered and releases the relation (kept locked to
    /// the end of the transaction; on an error the transaction's abort
    /// releases it instead), telling the statistics collector about the
    /// rows when `report` (as an INSERT does). Returns the rows inserted.
    pub fn finish(mut self, report: bool) -> i64 {
        self.flush();
        // SAFETY: opened by the caller of `new`, released once; the slots
        // are empty.
        unsafe {
            for &slot in &self.slots {
                pg_sys::ExecDropSingleTupleTableSlot(slot);
            }
            if report {
                pg_sys::pgstat_count_heap_insert(self.rel, self.rows);
            }
            pg_sys::FreeBulkInsertState(self.bulk);
            pg_sys::table_close(self.rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        }
        self.rows
    }
}

/// An open temp table being filled.
pub struct TempRows(HeapInserts);

impl TempRows {
    /// Opens `pg_temp.<name>`, which must exist and have exactly the column
    /// types `types`: the tuples are formed against them.
    pub fn open(name: &str, types: &[pg_sys::Oid], creator: &str) -> Self {
        let oid = Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT pg_catalog.to_regclass('pg_temp.' || pg_catalog.quote_ident($1))::oid",
            &[name.into()],
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| missing_table(name, creator));
        // SAFETY: the relation is opened and locked for the transaction; its
        // descriptor is read only after the checks that it is a temp table
        // of this session with the expected live columns.
        unsafe {
            let rel = pg_sys::table_open(oid, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
            let desc = (*rel).rd_att;
            let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
            let matches = (*(*rel).rd_rel).relpersistence as u8 == pg_sys::RELPERSISTENCE_TEMP
                && (*(*rel).rd_rel).relkind as u8 == pg_sys::RELKIND_RELATION
                && attrs.len() == types.len()
                && attrs.iter().zip(types).all(|(a, t)| !a.attisdropped && a.atttypid == *t);
            if !matches {
                missing_table(name, creator);
            }
            TempRows(HeapInserts::new(rel))
        }
    }

    /// Inserts one row; `values[i]` is SQL NULL when `nulls[i]`. Datums of
    /// by-reference types must be valid for the column's type.
    pub fn insert(&mut self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        self.0.insert(values, nulls);
    }

    /// Releases the table (kept locked to the end of the transaction).
    pub fn finish(self) {
        self.0.finish(false);
    }
}

fn missing_table(name: &str, creator: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
        format!("pg_temp.{name} does not exist or does not have the columns expected"),
        format!("It is a work table of {creator}, which creates it first."),
        Some(&format!("Call {creator}.")),
    )
}

/// A text datum (palloc'd in the current memory context).
pub fn text(value: &str) -> pg_sys::Datum {
    // SAFETY: copies len bytes into a new varlena.
    unsafe { pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(value.as_ptr().cast(), value.len() as i32)) }
}

/// A text[] datum.
pub fn text_array(values: &[&str]) -> pg_sys::Datum {
    let mut elements: Vec<pg_sys::Datum> = values.iter().map(|v| text(v)).collect();
    // SAFETY: construct_array_builtin copies the elements into a new array.
    unsafe { pg_sys::Datum::from(pg_sys::construct_array_builtin(elements.as_mut_ptr(), elements.len() as i32, pg_sys::TEXTOID)) }
}

/// A type's input function, looked up once: what COPY calls per field.
pub struct TypeInput {
    function: pg_sys::FmgrInfo,
    io_param: pg_sys::Oid,
    buffer: Vec<u8>,
    /// the last text read and its datum, for by-value types only: lines of
    /// one invoice repeat their date
    last: Option<(String, pg_sys::Datum)>,
    by_value: bool,
}

impl TypeInput {
    pub fn new(type_oid: pg_sys::Oid) -> Self {
        // SAFETY: catalog lookups of a built-in type; the FmgrInfo lives in
        // the current (the function's) memory context.
        unsafe {
            let (mut function_oid, mut io_param) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
            pg_sys::getTypeInputInfo(type_oid, &mut function_oid, &mut io_param);
            let mut function: pg_sys::FmgrInfo = std::mem::zeroed();
            pg_sys::fmgr_info(function_oid, &mut function);
            TypeInput { function, io_param, buffer: Vec::new(), last: None, by_value: pg_sys::get_typbyval(type_oid) }
        }
    }

    /// The datum of `value` as the type's input function reads it (its
    /// errors are PostgreSQL's own, as with a cast).
    pub fn read(&mut self, value: &str) -> pg_sys::Datum {
        if let Some((text, datum)) = &self.last {
            if text == value {
                return *datum;
            }
        }
        self.buffer.clear();
        self.buffer.extend_from_slice(value.as_bytes());
        self.buffer.push(0);
        let cstr = CStr::from_bytes_until_nul(&self.buffer).map(|c| c.as_ptr()).unwrap_or(c"".as_ptr());
        // SAFETY: a NUL-terminated copy of the value; the input function
        // does not keep the pointer.
        let datum = unsafe { pg_sys::InputFunctionCall(&mut self.function, cstr.cast_mut(), self.io_param, -1) };
        if self.by_value {
            self.last = Some((value.to_string(), datum));
        }
        datum
    }
}

/// A jsonb object of text (or null) values with distinct keys, built
/// directly rather than printed and parsed again. The pairs are put in
/// jsonb's key order (shorter keys first, then bytewise) here, so that
/// PostgreSQL converts the object as is instead of sorting each one.
pub fn jsonb_object(pairs: &[(&str, Option<&str>)]) -> pg_sys::Datum {
    fn string(v: &str) -> pg_sys::JsonbValue {
        pg_sys::JsonbValue {
            type_: pg_sys::jbvType::jbvString,
            val: pg_sys::JsonbValue__bindgen_ty_1 {
                string: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_1 { len: v.len() as i32, val: v.as_ptr().cast_mut().cast() },
            },
        }
    }
    /// Objects this small (a staged row's columns) are built on the stack:
    /// no allocation per refused line.
    const ON_STACK: usize = 16;
    let mut order = [0usize; ON_STACK];
    let mut order_heap = Vec::new();
    let order: &mut [usize] = if pairs.len() <= ON_STACK {
        &mut order[..pairs.len()]
    } else {
        order_heap.resize(pairs.len(), 0);
        &mut order_heap
    };
    order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
    let key = |i: usize| (pairs[i].0.len(), pairs[i].0.as_bytes());
    order.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
    assert!(order.windows(2).all(|w| pairs[w[0]].0 != pairs[w[1]].0), "jsonb_object keys must be distinct");
    // SAFETY: the strings outlive the call; convertToJsonb (through
    // JsonbValueToJsonb) copies them into the new datum and reads the
    // pairs in the order given, which is jsonb's. JsonbPair is plain data.
    unsafe {
        let null = pg_sys::JsonbValue { type_: pg_sys::jbvType::jbvNull, ..std::mem::zeroed() };
        let pair = |n: usize, i: usize| pg_sys::JsonbPair {
            key: string(pairs[i].0),
            value: pairs[i].1.map_or(null, string),
            order: n as u32,
        };
        let mut on_stack: [pg_sys::JsonbPair; ON_STACK] = std::mem::zeroed();
        let mut on_heap: Vec<pg_sys::JsonbPair> = Vec::new();
        let object_pairs: &mut [pg_sys::JsonbPair] = if pairs.len() <= ON_STACK {
            &mut on_stack[..pairs.len()]
        } else {
            on_heap.resize(pairs.len(), std::mem::zeroed());
            &mut on_heap
        };
        for (n, (slot, &i)) in object_pairs.iter_mut().zip(order.iter()).enumerate() {
            *slot = pair(n, i);
        }
        let mut object = pg_sys::JsonbValue {
            type_: pg_sys::jbvType::jbvObject,
            val: pg_sys::JsonbValue__bindgen_ty_1 {
                object: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_3 {
                    nPairs: object_pairs.len() as i32,
                    pairs: object_pairs.as_mut_ptr(),
                },
            },
        };
        pg_sys::Datum::from(pg_sys::JsonbValueToJsonb(&mut object))
    }
}
