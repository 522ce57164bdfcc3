//! refresh_c360(): the pipeline itself is SQL (sql/refresh.sql): the steps,
//! their order, the locks and the log. This file holds the one thing SQL
//! cannot do: record a failed run. A failed or cancelled refresh rolls back
//! the caller's whole transaction, its log row included, so the row is
//! written by a short-lived background worker in a transaction of its own.
//! (A terminated backend cannot even do that; the next refresh logs the run
//! ids that never reported back.)
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;

extension_sql_file!("../sql/refresh.sql", name = "refresh", requires = ["rfm", "cluster", "clv", log_refresh_failure]);

/// bgw_extra holds at most 127 bytes: "db_oid user_oid started_us sqlstate message".
const EXTRA_BYTES: usize = 127;

fn failure_payload(db: u32, user: u32, started_us: i64, sqlstate: &str, message: &str) -> String {
    let mut payload = format!("{db} {user} {started_us} {sqlstate} {message}");
    if payload.len() > EXTRA_BYTES {
        let mut end = EXTRA_BYTES - '…'.len_utf8();
        while !payload.is_char_boundary(end) {
            end -= 1;
        }
        payload.truncate(end);
        payload.push('…');
    }
    payload
}

fn parse_payload(payload: &str) -> Option<(u32, u32, i64, &str, &str)> {
    let mut parts = payload.splitn(5, ' ');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?,
        parts.next().unwrap_or(""),
    ))
}

/// Logs a failed refresh run from a background worker (the caller's own
/// transaction is about to roll back). Returns false, with a WARNING, when
/// no worker slot was free; the next refresh then logs the run without its
/// error text.
#[pg_extern(volatile, strict, parallel_unsafe, name = "_log_refresh_failure")]
#[search_path(pg_catalog)]
fn log_refresh_failure(run_id: i64, started: TimestampWithTimeZone, sqlstate: &str, message: &str) -> bool {
    // SAFETY: plain reads of this backend's globals.
    let (db, user) = unsafe { (pg_sys::MyDatabaseId.to_u32(), pg_sys::GetUserId().to_u32()) };
    let started_us = i64::from(started.into_inner());
    let loaded = BackgroundWorkerBuilder::new("c360 refresh failure log")
        .set_type("c360 refresh failure log")
        .set_library("c360")
        .set_function("c360_refresh_failure_worker")
        .set_argument(run_id.into_datum())
        .set_extra(&failure_payload(db, user, started_us, sqlstate, message))
        .enable_spi_access()
        .set_restart_time(None)
        .load_dynamic();
    match loaded {
        Ok(_) => true,
        Err(e) => {
            warning!("c360: could not start a worker to log failed refresh run {run_id}: {e:?}");
            false
        }
    }
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn c360_refresh_failure_worker(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let run_id = arg.value() as i64;
    let Some((db, user, started_us, sqlstate, message)) = parse_payload(BackgroundWorker::get_extra()) else {
        log!("c360 refresh failure log: unreadable payload for run {run_id}");
        return;
    };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(db)), Some(pg_sys::Oid::from(user)));
    let error = format!("{message} (SQLSTATE {sqlstate})");
    BackgroundWorker::transaction(|| {
        Spi::run_with_args(
            "INSERT INTO c360.refresh_log (run_id, started_at, finished_at, status, error, run_by)
             VALUES ($1, to_timestamp($2::float8 / 1e6 + 946684800), clock_timestamp(), 'failed', $3, current_user)
             ON CONFLICT (run_id) DO UPDATE
             SET started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, error = EXCLUDED.error,
                 run_by = EXCLUDED.run_by",
            &[run_id.into(), started_us.into(), error.into()],
        )
    })
    .unwrap_or_else(|e| log!("c360 refresh failure log: could not log run {run_id}: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_fits() {
        let p = failure_payload(16384, 10, -42, "57014", "canceling statement due to user request");
        assert_eq!(parse_payload(&p), Some((16384, 10, -42, "57014", "canceling statement due to user request")));
        let long = failure_payload(1, 2, 3, "XX000", &"é".repeat(200));
        assert!(long.len() <= EXTRA_BYTES && long.ends_with('…'));
        assert!(parse_payload(&long).is_some());
    }
}
