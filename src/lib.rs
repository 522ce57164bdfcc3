//! c360: customer intelligence inside PostgreSQL.
//!
//! One module per capability; each keeps its math in plain Rust (tested with
//! `cargo test`) and a thin pgrx layer that exposes it to SQL. The hand-written
//! schema lives in `sql/` and is included by the module that owns it.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

pub mod aggregate;
pub mod cluster;
pub mod clv;
pub mod customer_360;
pub mod fmgr;
pub mod ingest;
pub mod kpi;
pub mod model_type;
pub mod numeric_datum;
pub mod numeric_sum;
pub mod points;
pub mod refresh;
pub mod rfm;
pub mod sample;
pub mod sql_errors;

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!("../sql/comments.sql", name = "comments", finalize);

/// The version of the installed c360 library, e.g. `0.1.0`.
#[pg_extern(immutable, parallel_safe, strict)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn version_matches_the_extension() {
        let lib = Spi::get_one::<String>("SELECT c360.version()").unwrap().unwrap();
        let ext = Spi::get_one::<String>("SELECT extversion::text FROM pg_extension WHERE extname = 'c360'")
            .unwrap()
            .unwrap();
        assert_eq!(lib, ext);
    }
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
