//! Helpers for aggregates whose state is a Rust value (`internal` in SQL):
//! the state lives in the aggregate's memory context and is dropped with it.
use crate::sql_errors::raise;
use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

/// The memory context aggregate states must live in (they outlive a row).
pub(crate) fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo, caller: &str, aggregate: &str) -> PgMemoryContexts {
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

/// The state's value, made from `T::default()` in the aggregate's memory
/// context on the first row: what every transition function starts with.
///
/// # Safety
/// Every non-NULL state of the aggregate must have been made by `new_state`
/// or this function with a `T`.
pub unsafe fn state_or_default<'a, T: Default>(
    state: &'a mut Internal,
    fcinfo: pg_sys::FunctionCallInfo,
    caller: &str,
    aggregate: &str,
) -> &'a mut T {
    // SAFETY (both): guaranteed by the caller.
    if unsafe { state_mut::<T>(state) }.is_none() {
        *state = new_state(fcinfo, caller, aggregate, T::default());
    }
    unsafe { state_mut::<T>(state) }.expect("state was just made")
}

/// A state that parallel workers hand to the leader as bytes and that
/// merges with another partial state: what an aggregate needs to be
/// declared with COMBINEFUNC, SERIALFUNC and DESERIALFUNC.
pub trait PartialState: Clone + Sized {
    fn merge_state(&mut self, other: Self) -> Result<(), String>;
    fn to_bytes(&self) -> Vec<u8>;
    fn from_bytes(bytes: &[u8]) -> Result<Self, String>;
}

/// COMBINEFUNC body: merges `other` into `state`, never changing `other`.
/// `on_error` must raise the aggregate's own error for states that cannot merge.
pub fn combine<T: PartialState>(
    mut state: Internal,
    mut other: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
    aggregate: &str,
    on_error: &dyn Fn(String),
) -> Internal {
    // SAFETY (both): the caller's aggregate only ever makes states of type T.
    let Some(other) = (unsafe { state_mut::<T>(&mut other) }).cloned() else { return state };
    let Some(mine) = (unsafe { state_mut::<T>(&mut state) }) else {
        return new_state(fcinfo, "combine", aggregate, other);
    };
    if let Err(e) = mine.merge_state(other) {
        on_error(e);
        unreachable!("on_error raises an ERROR");
    }
    state
}

/// SERIALFUNC body.
pub fn serialize<T: PartialState>(state: &mut Internal) -> Vec<u8> {
    // SAFETY: the caller's aggregate only ever makes states of type T.
    unsafe { state_mut::<T>(state) }.map(|s| s.to_bytes()).unwrap_or_default()
}

/// DESERIALFUNC body.
pub fn deserialize<T: PartialState>(bytes: &[u8], fcinfo: pg_sys::FunctionCallInfo, aggregate: &str) -> Internal {
    match T::from_bytes(bytes) {
        Ok(value) => new_state(fcinfo, "deserialize", aggregate, value),
        Err(e) => raise(PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, format!("{aggregate}: {e}"), "", None),
    }
}
