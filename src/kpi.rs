//! KPIs (SPEC §4) and the star-schema face for BI: all SQL, in sql/kpi.sql —
//! views over the order-grain fact, dim_date (rebuilt by the refresh), and
//! grant_reader() for a read-only Power BI role.
use pgrx::prelude::*;

extension_sql_file!("../sql/kpi.sql", name = "kpi", requires = ["refresh", "customer_360"]);
