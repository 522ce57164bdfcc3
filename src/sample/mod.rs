//! Built-in sample data (issue 9): `c360.generate_sample()` fills the typed
//! tables with a synthetic Malaysian and Singaporean shop. The generator is
//! pure Rust (`generator`); these set-returning functions stream its rows
//! into SQL, and sql/sample.sql inserts them.
pub mod generator;

use generator::{Customer, Product};
use pgrx::datum::Date;
use pgrx::prelude::*;
use std::sync::OnceLock;

extension_sql_file!(
    "../../sql/sample.sql",
    name = "sample",
    requires = ["refresh", _sample_customers, _sample_products, _sample_orders, _sample_order_items, _sample_payments]
);

fn catalogue() -> &'static [Product] {
    static CATALOGUE: OnceLock<Vec<Product>> = OnceLock::new();
    CATALOGUE.get_or_init(generator::products)
}

fn sql_date(d: chrono::NaiveDate) -> Date {
    use chrono::Datelike;
    Date::new(d.year(), d.month() as u8, d.day() as u8).expect("generated dates are valid")
}

/// Every customer of the sample, generated one at a time (never all in memory).
fn customers(count: i32, seed: i64) -> impl Iterator<Item = Customer> {
    if !(0..=10_000_000).contains(&count) {
        error!("c360: sample customers must be between 0 and 10000000, got {count}");
    }
    (0..count as u64).map(move |i| generator::customer(seed as u64, i, catalogue()))
}

#[pg_extern(immutable, parallel_safe, strict)]
fn _sample_customers(
    customers_wanted: i32,
    seed: i64,
) -> TableIterator<'static, (name!(customer_id, String), name!(created_on, Date), name!(city, &'static str), name!(state, &'static str), name!(country, &'static str))>
{
    TableIterator::new(customers(customers_wanted, seed).map(|c| (c.customer_id, sql_date(c.created), c.city, c.state, c.country)))
}

#[pg_extern(immutable, parallel_safe)]
fn _sample_products() -> TableIterator<
    'static,
    (name!(product_id, String), name!(category, &'static str), name!(brand, &'static str), name!(description, String), name!(price_cents, i64)),
> {
    TableIterator::new(catalogue().iter().map(|p| (p.product_id.clone(), p.category, p.brand, p.description.clone(), p.price_cents)))
}

#[pg_extern(immutable, parallel_safe, strict)]
fn _sample_orders(
    customers_wanted: i32,
    seed: i64,
) -> TableIterator<
    'static,
    (name!(order_id, String), name!(customer_id, String), name!(order_status, &'static str), name!(order_date, Date), name!(second_of_day, i32)),
> {
    TableIterator::new(customers(customers_wanted, seed).flat_map(|c| {
        let id = c.customer_id;
        c.orders.into_iter().map(move |o| (o.order_id, id.clone(), o.status, sql_date(o.date), o.second_of_day as i32))
    }))
}

#[pg_extern(immutable, parallel_safe, strict)]
fn _sample_order_items(
    customers_wanted: i32,
    seed: i64,
) -> TableIterator<
    'static,
    (name!(order_item_id, String), name!(order_id, String), name!(product_id, String), name!(quantity, i32), name!(unit_price_cents, i64)),
> {
    TableIterator::new(customers(customers_wanted, seed).flat_map(|c| c.orders).flat_map(|o| {
        let order_id = o.order_id;
        o.lines.into_iter().enumerate().map(move |(n, l)| {
            (format!("{order_id}-{}", n + 1), order_id.clone(), catalogue()[l.product].product_id.clone(), l.quantity, l.unit_price_cents)
        })
    }))
}

#[pg_extern(immutable, parallel_safe, strict)]
fn _sample_payments(
    customers_wanted: i32,
    seed: i64,
) -> TableIterator<
    'static,
    (name!(payment_id, String), name!(order_id, String), name!(payment_type, &'static str), name!(amount_cents, i64), name!(payment_date, Date)),
> {
    TableIterator::new(customers(customers_wanted, seed).flat_map(|c| c.orders).flat_map(|o| {
        let (order_id, day) = (o.order_id, sql_date(o.date));
        o.payments.into_iter().enumerate().map(move |(n, (kind, cents))| (format!("PAY-{order_id}-{}", n + 1), order_id.clone(), kind, cents, day))
    }))
}
