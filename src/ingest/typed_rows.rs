//! Rows heap-inserted straight into a typed table during a bulk load, by
//! the pass that checked them, instead of going through a work table and an
//! `INSERT ... SELECT`.
//!
//! Only where nothing that an `INSERT` would do is skipped: the bulk path
//! (`c360._begin_bulk_write`, sql/ingest.sql) has dropped the table's
//! indexes and foreign keys, to be rebuilt and validated when the load ends,
//! and [`TypedRows::open`] refuses a table with anything else an insert
//! would run or check — a trigger other than c360's own statement-level
//! one (a Citus-distributed table has one), a rule, row-level security, a CHECK constraint, a generated or identity
//! column, a partition — or without INSERT privilege for the current user.
//! The caller then takes the ordinary path.
use super::temp_rows::HeapInserts;
use pgrx::pg_sys;
use pgrx::prelude::*;

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
        // The only trigger allowed: c360's own statement-level one, which
        // marks the facts stale on a change outside ingest (a no-op here).
        let only_own_triggers = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.current_setting('c360.ingesting', true) = 'on'
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                WHERE t.tgrelid = $1 AND t.tgenabled <> 'D'
                                  AND NOT (t.tgfoid = 'c360.mark_facts_stale()'::pg_catalog.regprocedure
                                           AND (t.tgtype & 1) = 0))",
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
        self.heap.insert(&mut self.values, &mut self.nulls);
    }

    /// Releases the table (kept locked to the end of the transaction) and
    /// tells the statistics collector about the rows, as an INSERT does.
    /// Returns the rows inserted.
    pub fn finish(self) -> i64 {
        self.heap.finish(true)
    }
}
