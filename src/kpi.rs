//! KPIs (SPEC §4) and the star-schema face for BI: all SQL, in sql/kpi.sql —
//! the KPI tables the refresh writes from its customer pass (the Rust part of
//! that pass is `clv::purchase_days`), dim_date (rebuilt by the refresh), and
//! grant_reader() for a read-only Power BI role.
use pgrx::prelude::*;

extension_sql_file!("../sql/kpi.sql", name = "kpi", requires = ["refresh", "customer_360"]);
