//! Errors in PostgreSQL's own style: a short lower-case message, the facts in
//! DETAIL, what to do in HINT, and the right SQLSTATE. A Rust panic must never
//! be what the user reads.
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

/// Raises an ERROR with SQLSTATE, message, detail (omitted when empty) and optional hint.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, detail: impl Into<String>, hint: Option<&str>) -> ! {
    let detail = detail.into();
    let mut report = ErrorReport::new(code, message.into(), "c360");
    if !detail.is_empty() {
        report = report.set_detail(detail);
    }
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}
