//! Hand-written fmgr (version-1) entry points for the few functions that run
//! once per row in hot queries, where pgrx's generated wrapper (argument
//! unboxing, a fresh array view on every call) costs more than the work
//! itself. Everything else uses `#[pg_extern]`. The SQL declarations of these
//! functions are written by hand next to the feature that owns them.
use pgrx::pg_sys;

/// `PG_FUNCTION_INFO_V1`: `finfo_v1!(pg_finfo_<symbol>)` for an
/// `extern "C-unwind" fn <symbol>(fcinfo) -> Datum`.
macro_rules! finfo_v1 {
    ($finfo:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1_API: ::pgrx::pg_sys::Pg_finfo_record = ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1_API
        }
    };
}
pub(crate) use finfo_v1;

/// Argument `n`, or None when it is SQL NULL.
///
/// # Safety
/// `fcinfo` is the live call info of a call with more than `n` arguments.
pub unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Option<pg_sys::Datum> {
    // SAFETY: guaranteed by the caller.
    let arg = unsafe { (*fcinfo).args.as_slice(n + 1)[n] };
    (!arg.isnull).then_some(arg.value)
}

/// A float8 argument's value (float8 is passed by value on 64-bit builds).
pub fn float8(datum: pg_sys::Datum) -> f64 {
    f64::from_bits(datum.value() as u64)
}

/// The call site's cache (`fn_extra`), made by `init` on first use and
/// dropped when the query's function memory (`fn_mcxt`) goes away.
///
/// # Safety
/// `fcinfo` is the live call info, and this call site only ever caches a `T`.
pub unsafe fn call_cache<'a, T>(fcinfo: pg_sys::FunctionCallInfo, init: impl FnOnce() -> T) -> &'a mut T {
    // SAFETY: flinfo lives as long as the query; fn_extra is ours to use.
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        if (*flinfo).fn_extra.is_null() {
            (*flinfo).fn_extra = pgrx::PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(init()).cast();
        }
        &mut *((*flinfo).fn_extra as *mut T)
    }
}

/// The bytes of an in-line varlena (plain or short header), without its
/// header; None for a compressed or out-of-line (TOAST) value.
///
/// # Safety
/// `datum` points to a valid varlena that outlives the returned slice.
pub unsafe fn inline_varlena_bytes<'a>(datum: pg_sys::Datum) -> Option<&'a [u8]> {
    let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
    // SAFETY: guaranteed by the caller.
    unsafe {
        if pgrx::varlena::varatt_is_4b_u(ptr) || (pgrx::varlena::varatt_is_1b(ptr) && !pgrx::varlena::varatt_is_1b_e(ptr))
        {
            let len = pgrx::varlena::varsize_any_exhdr(ptr);
            Some(std::slice::from_raw_parts(pgrx::varlena::vardata_any(ptr).cast::<u8>(), len))
        } else {
            None
        }
    }
}
