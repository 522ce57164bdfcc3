//! Helpers for aggregates whose state is a Rust value (`internal` in SQL):
//! the state lives in the aggregate's memory context and is dropped with it.
use crate::sql_errors::raise;
use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

/// The memory context aggregate states must live in (they outlive a row).
fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo, caller: &str, aggregate: &str) -> PgMemoryContexts {
    let mut context = std::ptr::null_mut();
    // SAFETY: fcinfo is the live call info PostgreSQL passed to this function.
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) } == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{caller} must be called as part of an aggregate"),
            "",
            Some(&format!("Use the {aggregate} aggregate.")),
        )
    }
    PgMemoryContexts::For(context)
}

/// A new state holding `value`, owned by the aggregate's memory context.
pub fn new_state<T>(fcinfo: pg_sys::FunctionCallInfo, caller: &str, aggregate: &str, value: T) -> Internal {
    let mut context = aggregate_context(fcinfo, caller, aggregate);
    // SAFETY: the aggregate context outlives this call; the state is dropped when it is reset.
    unsafe { context.switch_to(|_| Internal::new(value)) }
}

/// The state's value; None before the first row.
///
/// # Safety
/// Every non-NULL state of the aggregate must have been made by `new_state` with a `T`.
pub unsafe fn state_mut<T>(state: &mut Internal) -> Option<&mut T> {
    // SAFETY: guaranteed by the caller.
    unsafe { state.get_mut::<T>() }
}
