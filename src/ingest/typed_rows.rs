//! Rows heap-inserted straight into a typed table during a bulk load, by
//! the pass that checked them, instead of going through a work table and an
//! `INSERT ... SELECT`.
//!
//! Only where nothing that an `INSERT` would do is skipped: the bulk path
//! (`c360._begin_bulk_write`, sql/ingest.sql) has dropped the table's
//! indexes, to be rebuilt when the load ends; the table's foreign keys are
//! checked as PostgreSQL's check trigger would, but once per distinct key
//! (the keys written are recorded for `c360._check_deferred_foreign_keys`,
//! which looks them up once the load has written the referenced rows); and
//! [`TypedRows::open`] refuses a table with anything else an insert would
//! run or check — a trigger on INSERT other than c360's own statement-level
//! one and those foreign-key checks (a Citus-distributed table has one), a
//! foreign key it cannot check that way, a rule, row-level security, a
//! CHECK constraint, a generated or identity column, a partition, an index
//! — or without INSERT privilege for the current user. The caller then
//! takes the ordinary path.
use super::online_retail::IdHasher;
use super::temp_rows::{HeapInserts, TempRows};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// An open typed table being filled.
pub struct TypedRows {
    heap: HeapInserts,
    /// for each attribute of the table, the index of the value it takes
    /// (None: a dropped column, NULL)
    from_value: Vec<Option<usize>>,
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
    /// the NOT NULL columns' names, by attribute (None: nullable)
    not_null: Vec<Option<String>>,
    /// one per foreign key of the table
    foreign_keys: Vec<KeysWritten>,
}

impl TypedRows {
    /// Opens `c360.<name>` for direct inserts of rows of `columns` (name,
    /// type), which must be all its live columns, in any order; None when
    /// the table does not qualify (see the module's comment).
    pub fn open(name: &str, columns: &[(&str, pg_sys::Oid)]) -> Option<Self> {
        let oid = Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT pg_catalog.to_regclass('c360.' || pg_catalog.quote_ident($1))::oid",
            &[name.into()],
        )
        .ok()
        .flatten()?;
        // The only triggers on INSERT allowed: c360's own statement-level
        // one, which marks the facts stale on a change outside ingest (a
        // no-op here), and the checks of foreign keys this writer checks
        // itself (all of the table's, or it declines).
        let only_own_triggers = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.current_setting('c360.ingesting', true) = 'on'
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                WHERE t.tgrelid = $1 AND t.tgenabled <> 'D'
                                  AND (t.tgtype & 4) <> 0
                                  AND NOT (t.tgfoid = 'c360.mark_facts_stale()'::pg_catalog.regprocedure
                                           AND (t.tgtype & 1) = 0)
                                  AND NOT (t.tgfoid = 'pg_catalog.\"RI_FKey_check_ins\"()'::pg_catalog.regprocedure
                                           AND t.tgconstraint IN (SELECT c.constraint_id FROM c360._checkable_foreign_keys($1) c)))
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = $1 AND k.contype = 'f'
                                  AND k.oid NOT IN (SELECT c.constraint_id FROM c360._checkable_foreign_keys($1) c))",
            &[oid.into()],
        )
        .ok()
        .flatten()
        .unwrap_or(false);
        if !only_own_triggers {
            return None;
        }
        // SAFETY: the relation is opened and locked (the bulk path already
        // holds ACCESS EXCLUSIVE on it); its descriptor, rules, triggers and
        // index list are read from the relcache entry while it is open.
        unsafe {
            if pg_sys::pg_class_aclcheck(oid, pg_sys::GetUserId(), pg_sys::ACL_INSERT as pg_sys::AclMode)
                != pg_sys::AclResult::ACLCHECK_OK
            {
                return None;
            }
            let rel = pg_sys::table_open(oid, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
            let class = &*(*rel).rd_rel;
            let desc = (*rel).rd_att;
            let constr = (*desc).constr;
            let indexes = pg_sys::RelationGetIndexList(rel);
            let plain = class.relkind as u8 == pg_sys::RELKIND_RELATION
                && class.relam == pg_sys::HEAP_TABLE_AM_OID
                && !class.relispartition
                && !class.relrowsecurity
                && (*rel).rd_rules.is_null()
                && indexes.is_null()
                && (constr.is_null() || ((*constr).num_check == 0 && !(*constr).has_generated_stored));
            pg_sys::list_free(indexes);
            let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
            let mut from_value = Vec::with_capacity(attrs.len());
            let mut not_null = Vec::with_capacity(attrs.len());
            let mut matched = 0;
            let mut columns_match = plain;
            for a in attrs {
                let name = std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_str().unwrap_or_default();
                not_null.push((a.attnotnull && !a.attisdropped).then(|| name.to_string()));
                if a.attisdropped {
                    from_value.push(None);
                    continue;
                }
                match columns.iter().position(|(c, t)| *c == name && *t == a.atttypid) {
                    Some(i) if a.attidentity == 0 && a.attgenerated == 0 => {
                        from_value.push(Some(i));
                        matched += 1;
                    }
                    _ => columns_match = false,
                }
            }
            if !columns_match || matched != columns.len() {
                pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
                return None;
            }
            Some(TypedRows {
                heap: HeapInserts::new(rel),
                values: vec![pg_sys::Datum::from(0); attrs.len()],
                nulls: vec![true; attrs.len()],
                from_value,
                not_null,
                foreign_keys: KeysWritten::for_table(oid, columns),
            })
        }
    }

    /// Inserts one row: `values[i]` (SQL NULL when `nulls[i]`) for the i-th
    /// of the columns given to `open`. Datums of by-reference types must be
    /// valid for the column's type.
    pub fn insert(&mut self, values: &[pg_sys::Datum], nulls: &[bool]) {
        for (slot, from) in self.from_value.iter().enumerate() {
            if let Some(i) = *from {
                self.values[slot] = values[i];
                self.nulls[slot] = nulls[i];
                if nulls[i] {
                    if let Some(column) = &self.not_null[slot] {
                        // what INSERT would say (heap_insert does not check)
                        crate::sql_errors::raise(
                            PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
                            format!("null value in column \"{column}\" violates not-null constraint"),
                            "c360 writes no value there; the column was made NOT NULL after c360 created it.",
                            None,
                        );
                    }
                }
            }
        }
        for keys in &mut self.foreign_keys {
            if keys.per_row && !nulls[keys.value] {
                keys.record(values[keys.value]);
            }
        }
        self.heap.insert(&mut self.values, &mut self.nulls);
    }

    /// Leaves the keys written to `column` (a foreign key's) to the caller,
    /// who hands over every distinct one with [`TypedRows::record_keys`]
    /// instead of each row's being looked up as it is inserted: the Online
    /// Retail pass, whose load summary holds each order and product of its
    /// lines once (the lookups were a tenth of the pass's backend time).
    /// (Text keys only, the ones `record_keys` takes: an integer key stays
    /// recorded per row.)
    pub fn keys_from_caller(&mut self, column: &str) {
        self.foreign_keys.iter_mut().filter(|k| k.column == column && k.text).for_each(|k| k.per_row = false);
    }

    /// Records `keys` as written to `column` (see [`TypedRows::keys_from_caller`]).
    pub fn record_keys<'k>(&mut self, column: &str, keys: impl Iterator<Item = &'k str>) {
        if let Some(written) = self.foreign_keys.iter_mut().find(|k| k.column == column && k.text) {
            for key in keys {
                written.record_distinct(key.as_bytes());
            }
        }
    }

    /// Releases the table (kept locked to the end of the transaction) and
    /// tells the statistics collector about the rows, as an INSERT does.
    /// Returns the rows inserted.
    pub fn finish(self) -> i64 {
        for keys in self.foreign_keys {
            keys.finish();
        }
        self.heap.finish(true)
    }
}

/// Distinct keys held in memory before they go to their work table (under
/// a megabyte; a key may then be written twice, which the lookup ignores).
const KEYS_IN_MEMORY: usize = 10_000;

/// The distinct values written to one foreign-key column, recorded in the
/// work table `c360._defer_foreign_key_checks` made for them.
struct KeysWritten {
    /// the column's name and index among the values written
    column: String,
    value: usize,
    /// recorded as each row is inserted (else handed over by the caller)
    per_row: bool,
    /// a text key (else an integer, by value)
    text: bool,
    /// the last key recorded (None: none yet): the lines of an order come
    /// together
    last: Option<Vec<u8>>,
    pending: HashSet<Vec<u8>, BuildHasherDefault<IdHasher>>,
    table: TempRows,
    /// where the keys' datums are formed on their way to the table
    memory: PgMemoryContexts,
}

impl KeysWritten {
    /// Registers the checks of table `oid`'s foreign keys (all of them
    /// checkable: `TypedRows::open` has made sure), one per key column.
    fn for_table(oid: pg_sys::Oid, columns: &[(&str, pg_sys::Oid)]) -> Vec<KeysWritten> {
        let registered: Vec<(String, String)> = Spi::connect(|client| {
            client
                .select(
                    "SELECT column_name::text, keys_table FROM c360._defer_foreign_key_checks($1)",
                    None,
                    &[oid.into()],
                )?
                .map(|row| Ok((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default())))
                .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
        })
        .unwrap_or_else(|e| super::spi_failed("registering the foreign-key checks of a direct write", e));
        registered
            .into_iter()
            .map(|(column, keys_table)| {
                let value = columns.iter().position(|(c, _)| *c == column).expect("the key columns are written");
                let type_oid = columns[value].1;
                KeysWritten {
                    column,
                    value,
                    per_row: true,
                    text: type_oid == pg_sys::TEXTOID,
                    last: None,
                    pending: HashSet::default(),
                    table: TempRows::open(&keys_table, &[type_oid], "c360._defer_foreign_key_checks"),
                    memory: PgMemoryContexts::new("c360 foreign keys written"),
                }
            })
            .collect()
    }

    fn record(&mut self, datum: pg_sys::Datum) {
        let by_value = datum.value().to_ne_bytes();
        let key: &[u8] = if self.text {
            // SAFETY: a text datum of the row being written
            unsafe {
                let text = datum.cast_mut_ptr::<pg_sys::varlena>();
                std::slice::from_raw_parts(pgrx::varlena::vardata_any(text).cast(), pgrx::varlena::varsize_any_exhdr(text))
            }
        } else {
            &by_value
        };
        match &mut self.last {
            Some(last) if last.as_slice() == key => return,
            Some(last) => {
                last.clear();
                last.extend_from_slice(key);
            }
            None => self.last = Some(key.to_vec()),
        }
        self.record_distinct(key);
    }

    fn record_distinct(&mut self, key: &[u8]) {
        if !self.pending.contains(key) {
            self.pending.insert(key.to_vec());
            if self.pending.len() >= KEYS_IN_MEMORY {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        let KeysWritten { text, pending, table, memory, .. } = self;
        // SAFETY: the datums live until inserted (the insert copies them);
        // the context is emptied after.
        unsafe {
            memory.switch_to(|_| {
                for key in pending.drain() {
                    let datum = if *text {
                        pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(key.as_ptr().cast(), key.len() as i32))
                    } else {
                        pg_sys::Datum::from(usize::from_ne_bytes(key.as_slice().try_into().expect("a by-value key")))
                    };
                    table.insert(&mut [datum], &mut [false]);
                }
            });
            memory.reset();
        }
    }

    fn finish(mut self) {
        self.flush();
        self.table.finish();
    }
}
