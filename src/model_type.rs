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
