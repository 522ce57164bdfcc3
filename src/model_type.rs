//! Fitted models as SQL types (`c360.kmeans_model`, `c360.bgnbd_model`,
//! `c360.gamma_gamma_model`): stored in binary, shown and dumped as JSON,
//! and checked when read from text so a hand-edited model cannot reach the
//! scoring functions.
use crate::sql_errors::raise;
use pgrx::prelude::*;

/// Raises the error for text that is not a valid model of `type_name`.
pub fn invalid_model(type_name: &str, reason: String) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        format!("invalid {type_name}"),
        reason,
        Some("A model is made by c360's fit aggregates; its text form is the JSON they output."),
    )
}

/// Implements JSON text input/output for a newtype around a serde model
/// with a `check() -> Result<(), String>` method.
#[macro_export]
macro_rules! json_model_io {
    ($wrapper:ident, $sql_name:literal) => {
        impl ::pgrx::inoutfuncs::InOutFuncs for $wrapper {
            fn input(input: &::std::ffi::CStr) -> Self {
                let text = input
                    .to_str()
                    .unwrap_or_else(|_| $crate::model_type::invalid_model($sql_name, "it is not valid UTF-8".into()));
                let model = ::serde_json::from_str(text)
                    .unwrap_or_else(|e| $crate::model_type::invalid_model($sql_name, e.to_string()));
                let model = $wrapper(model);
                if let Err(e) = model.0.check() {
                    $crate::model_type::invalid_model($sql_name, e)
                }
                model
            }

            fn output(&self, buffer: &mut ::pgrx::StringInfo) {
                buffer.push_str(&::serde_json::to_string(&self.0).expect("a model serializes"));
            }
        }
    };
}

/// The datum conversions `#[derive(PostgresType)]` would write (CBOR in a
/// varlena), except that reading one keeps the last model decoded: scoring
/// passes the same model with every row (`kmeans_assign`, `clv`, ...), and
/// decoding it again per row cost more than the scoring itself. A hit
/// compares the stored bytes, so a different model is never mistaken for it.
/// For types marked `#[bikeshed_postgres_type_manually_impl_from_into_datum]`.
#[macro_export]
macro_rules! model_datum {
    ($wrapper:ident) => {
        impl ::pgrx::datum::IntoDatum for $wrapper {
            fn into_datum(self) -> Option<::pgrx::pg_sys::Datum> {
                #[allow(deprecated)]
                Some(unsafe { ::pgrx::datum::cbor_encode(&self) }.into())
            }

            fn type_oid() -> ::pgrx::pg_sys::Oid {
                ::pgrx::wrappers::rust_regtypein::<Self>()
            }
        }

        unsafe impl ::pgrx::callconv::BoxRet for $wrapper {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut ::pgrx::callconv::FcInfo<'fcx>) -> ::pgrx::datum::Datum<'fcx> {
                match ::pgrx::datum::IntoDatum::into_datum(self) {
                    None => fcinfo.return_null(),
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                }
            }
        }

        impl ::pgrx::datum::FromDatum for $wrapper {
            unsafe fn from_polymorphic_datum(
                datum: ::pgrx::pg_sys::Datum,
                is_null: bool,
                _typoid: ::pgrx::pg_sys::Oid,
            ) -> Option<Self> {
                ::std::thread_local! {
                    static LAST: ::std::cell::RefCell<Option<(Vec<u8>, $wrapper)>> = const { ::std::cell::RefCell::new(None) };
                }
                if is_null {
                    return None;
                }
                // SAFETY: a non-NULL datum of this type is a varlena (maybe
                // short-header or toasted: detoasted first).
                unsafe {
                    let varlena = ::pgrx::pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
                    let bytes = ::std::slice::from_raw_parts(
                        ::pgrx::varlena::vardata_any(varlena).cast::<u8>(),
                        ::pgrx::varlena::varsize_any_exhdr(varlena),
                    );
                    if let Some(model) = LAST.with(|last| match &*last.borrow() {
                        Some((seen, model)) if seen.as_slice() == bytes => Some(model.clone()),
                        _ => None,
                    }) {
                        return Some(model);
                    }
                    #[allow(deprecated)]
                    let model: $wrapper = ::pgrx::datum::cbor_decode(varlena);
                    LAST.with(|last| *last.borrow_mut() = Some((bytes.to_vec(), model.clone())));
                    Some(model)
                }
            }

            unsafe fn from_datum_in_memory_context(
                mut memory_context: ::pgrx::memcxt::PgMemoryContexts,
                datum: ::pgrx::pg_sys::Datum,
                is_null: bool,
                _typoid: ::pgrx::pg_sys::Oid,
            ) -> Option<Self> {
                if is_null {
                    None
                } else {
                    // SAFETY: as above; the copy lives in memory_context.
                    unsafe {
                        memory_context.switch_to(|_| {
                            let varlena = ::pgrx::pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr());
                            <Self as ::pgrx::datum::FromDatum>::from_datum(varlena.into(), is_null)
                        })
                    }
                }
            }
        }

        unsafe impl ::pgrx::datum::UnboxDatum for $wrapper {
            type As<'dat>
                = Self
            where
                Self: 'dat;
            unsafe fn unbox<'dat>(datum: ::pgrx::datum::Datum<'dat>) -> Self::As<'dat>
            where
                Self: 'dat,
            {
                // SAFETY: the datum is a non-NULL value of this type.
                unsafe { <Self as ::pgrx::datum::FromDatum>::from_datum(::core::mem::transmute(datum), false).unwrap() }
            }
        }

        unsafe impl<'fcx> ::pgrx::callconv::ArgAbi<'fcx> for $wrapper {
            unsafe fn unbox_arg_unchecked(arg: ::pgrx::callconv::Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                // SAFETY: pgrx passes an argument of this type.
                unsafe { arg.unbox_arg_using_from_datum().unwrap_or_else(|| panic!("argument {index} must not be null")) }
            }
        }
    };
}
