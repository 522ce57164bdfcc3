//! `c360.customer_360`: one row per customer, joining what every capability
//! derives (metrics, RFM, cluster; CLV next). All SQL, in sql/customer_360.sql.
use pgrx::prelude::*;

extension_sql_file!("../sql/customer_360.sql", name = "customer_360", requires = ["cluster", "clv"]);
