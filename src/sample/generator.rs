//! Synthetic ecommerce history for Malaysia and Singapore, free of pgrx.
//!
//! Each customer's history comes from its own random stream (seeded by the
//! sample seed and the customer's number), so any table can be generated
//! alone, in any order, and the same seed always gives the same shop.
//! Purchases follow a BG/NBD-like process — a customer-specific rate
//! (gamma-distributed across customers) and a chance to drop out after each
//! purchase (beta-distributed) — modulated by the region's shopping calendar:
//! 11.11 and 12.12 sales, December, Chinese New Year, Hari Raya Aidilfitri,
//! Deepavali and the mid-year sales. Basket value is heavy-tailed (a
//! log-normal factor per customer). Prices are in one currency (MYR).
use chrono::{Datelike, Duration, NaiveDate};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// First and last day of the generated history.
pub const START: (i32, u32, u32) = (2023, 1, 1);
pub const END: (i32, u32, u32) = (2024, 12, 31);
pub const PRODUCTS: usize = 240;

/// (city, state, country, weight)
const PLACES: &[(&str, &str, &str, f64)] = &[
    ("Kuala Lumpur", "W.P. Kuala Lumpur", "Malaysia", 14.0),
    ("Petaling Jaya", "Selangor", "Malaysia", 9.0),
    ("Shah Alam", "Selangor", "Malaysia", 6.0),
    ("Subang Jaya", "Selangor", "Malaysia", 5.0),
    ("George Town", "Penang", "Malaysia", 6.0),
    ("Johor Bahru", "Johor", "Malaysia", 7.0),
    ("Ipoh", "Perak", "Malaysia", 3.0),
    ("Melaka", "Melaka", "Malaysia", 2.5),
    ("Seremban", "Negeri Sembilan", "Malaysia", 2.0),
    ("Kuantan", "Pahang", "Malaysia", 1.5),
    ("Alor Setar", "Kedah", "Malaysia", 1.5),
    ("Kota Bharu", "Kelantan", "Malaysia", 1.0),
    ("Kuala Terengganu", "Terengganu", "Malaysia", 1.0),
    ("Kota Kinabalu", "Sabah", "Malaysia", 2.5),
    ("Kuching", "Sarawak", "Malaysia", 2.5),
    ("Putrajaya", "W.P. Putrajaya", "Malaysia", 1.0),
    ("Singapore", "Central Region", "Singapore", 11.0),
    ("Singapore", "East Region", "Singapore", 6.0),
    ("Singapore", "North-East Region", "Singapore", 6.0),
    ("Singapore", "West Region", "Singapore", 6.0),
    ("Singapore", "North Region", "Singapore", 4.0),
];

/// (category, typical price in MYR, brands)
const CATEGORIES: &[(&str, f64, [&str; 4])] = &[
    ("Electronics", 320.0, ["Voltra", "Kilat", "Nexo", "Orbit"]),
    ("Fashion", 65.0, ["Batik Lane", "Kain & Co", "Urbanite", "Selendang"]),
    ("Beauty", 45.0, ["Seri Ayu", "Glowlab", "Melati", "Puteri"]),
    ("Home & Living", 90.0, ["Rumah", "Casa Tropika", "Kayu Craft", "Lantern"]),
    ("Groceries", 22.0, ["Pasar Fresh", "Kampung Best", "Lion City Pantry", "Nasi Co"]),
    ("Health", 55.0, ["Sihat", "VitaLeaf", "Herba Asli", "CarePlus"]),
    ("Toys & Kids", 60.0, ["Tadika", "PlayMerlion", "Kidzone", "Anak Ceria"]),
    ("Sports", 110.0, ["Larian", "Peak Tropic", "Badminton Pro", "Ombak"]),
];

const PAYMENT_TYPES_MY: &[(&str, f64)] = &[("card", 40.0), ("fpx", 25.0), ("touch_n_go", 15.0), ("grabpay", 10.0), ("cash_on_delivery", 10.0)];
const PAYMENT_TYPES_SG: &[(&str, f64)] = &[("card", 55.0), ("paynow", 30.0), ("grabpay", 15.0)];

/// Festive dates that lift shopping in the two weeks before them.
const FESTIVALS: &[(i32, u32, u32, f64)] = &[
    (2023, 1, 22, 1.7),  // Chinese New Year
    (2024, 2, 10, 1.7),
    (2023, 4, 22, 1.6),  // Hari Raya Aidilfitri
    (2024, 4, 10, 1.6),
    (2023, 11, 12, 1.3), // Deepavali
    (2024, 10, 31, 1.3),
];

pub struct Random(Xoshiro256PlusPlus);

impl Random {
    pub fn new(seed: u64, stream: u64) -> Random {
        // splitmix64 of (seed, stream): independent streams per customer.
        let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_add(0x632B_E59B_D9B4_E019);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Random(Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31)))
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }

    pub fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.uniform()).cos()
    }

    /// Gamma(shape, scale) by Marsaglia & Tsang (shape < 1 boosted).
    pub fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0, scale) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v * scale;
            }
        }
    }

    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        x / (x + self.gamma(b, 1.0))
    }

    pub fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
        let total: f64 = items.iter().map(&weight).sum();
        let mut target = self.uniform() * total;
        for item in items {
            target -= weight(item);
            if target <= 0.0 {
                return item;
            }
        }
        items.last().expect("non-empty")
    }
}

fn date(d: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.0, d.1, d.2).expect("valid date")
}

/// How much busier than usual a day is (1 = an ordinary day).
pub fn season(day: NaiveDate) -> f64 {
    let mut m: f64 = match (day.month(), day.day()) {
        (11, 11) => 4.0,
        (12, 12) => 3.0,
        (12, _) => 1.4,
        (6, _) | (7, 1..=7) => 1.2,
        _ => 1.0,
    };
    for &(y, mo, d, lift) in FESTIVALS {
        let until = (date((y, mo, d)) - day).num_days();
        if (0..14).contains(&until) {
            m = m.max(lift);
        }
    }
    m
}

const SEASON_MAX: f64 = 4.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub product_id: String,
    pub category: &'static str,
    pub brand: &'static str,
    pub description: String,
    pub price_cents: i64,
}

/// The catalogue: the same for every seed.
pub fn products() -> Vec<Product> {
    let mut rng = Random::new(0, u64::MAX);
    (0..PRODUCTS)
        .map(|i| {
            let (category, typical, brands) = CATEGORIES[i % CATEGORIES.len()];
            let brand = brands[(i / CATEGORIES.len()) % brands.len()];
            let price = typical * (0.6 * rng.normal()).exp();
            let price_cents = ((price * 100.0).round() as i64 / 10 * 10 - 1).max(99);
            Product {
                product_id: format!("P{:04}", i + 1),
                category,
                brand,
                description: format!("{brand} {} item {}", category.to_lowercase(), i / CATEGORIES.len() + 1),
                price_cents,
            }
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub product: usize,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub status: &'static str,
    pub date: NaiveDate,
    /// Seconds after local midnight (Malaysia and Singapore: UTC+8).
    pub second_of_day: u32,
    pub lines: Vec<Line>,
    /// (payment type, amount in cents): empty for cancelled orders; sums to the order total otherwise.
    pub payments: Vec<(&'static str, i64)>,
}

impl Order {
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity as i64 * l.unit_price_cents).sum()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub customer_id: String,
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub created: NaiveDate,
    pub orders: Vec<Order>,
}

/// Customer number `index` (0-based) of the sample with this seed.
pub fn customer(seed: u64, index: u64, catalogue: &[Product]) -> Customer {
    let mut rng = Random::new(seed, index);
    let (city, state, country, _) = *rng.weighted(PLACES, |p| p.3);
    let (start, end) = (date(START), date(END));
    let days = (end - start).num_days();
    // Arrivals are spread over the period, busier in festive seasons.
    let first = loop {
        let d = start + Duration::days(rng.below(days as usize + 1) as i64);
        if rng.uniform() * SEASON_MAX < season(d) * 1.5 {
            break d;
        }
    };
    // BG/NBD-like: rate per day ~ Gamma(0.9, 1/40), dropout p ~ Beta(1.2, 4).
    let rate = rng.gamma(0.9, 1.0 / 40.0);
    let dropout = rng.beta(1.2, 4.0);
    let spend = (0.7 * rng.normal()).exp();
    let mut dates = vec![first];
    let mut day = first;
    'life: while rng.uniform() > dropout {
        // Thinning: candidate gaps at the peak rate, kept in proportion to the season.
        loop {
            let gap = -rng.uniform().ln() / (rate * SEASON_MAX);
            day += Duration::days(gap.ceil() as i64);
            if day > end {
                break 'life;
            }
            if rng.uniform() * SEASON_MAX < season(day) {
                break;
            }
        }
        dates.push(day);
    }
    let payment_types = if country == "Singapore" { PAYMENT_TYPES_SG } else { PAYMENT_TYPES_MY };
    let orders = dates
        .into_iter()
        .enumerate()
        .map(|(n, date)| {
            let lines_wanted = 1 + (-(rng.uniform().ln()) * 1.2 * spend.sqrt()) as usize;
            let discount = if season(date) > 1.0 && rng.uniform() < 0.5 { 0.7 + 0.2 * rng.uniform() } else { 1.0 };
            let lines = (0..lines_wanted.min(12))
                .map(|_| {
                    // Popular products first: a Zipf-like pick.
                    let product = ((rng.uniform().powf(2.2)) * catalogue.len() as f64) as usize;
                    let p = &catalogue[product.min(catalogue.len() - 1)];
                    let quantity = 1 + (-(rng.uniform().ln()) * 0.6 * spend) as i32;
                    Line { product, quantity: quantity.min(20), unit_price_cents: ((p.price_cents as f64 * discount).round() as i64).max(1) }
                })
                .collect();
            let roll = rng.uniform();
            let status = if roll < 0.04 {
                "cancelled"
            } else if roll < 0.06 {
                "returned"
            } else if (end - date).num_days() < 5 {
                "shipped"
            } else {
                "completed"
            };
            let mut order = Order {
                order_id: format!("SO{:07}-{:03}", index + 1, n + 1),
                status,
                date,
                second_of_day: (8 * 3600 + rng.below(16 * 3600)) as u32,
                lines,
                payments: Vec::new(),
            };
            if status != "cancelled" {
                let total = order.total_cents();
                let kind = rng.weighted(payment_types, |p| p.1).0;
                // One order in ten is paid partly with a voucher.
                if rng.uniform() < 0.1 && total > 1000 {
                    let voucher = 500 * (1 + rng.below(4) as i64).min(total / 1000);
                    order.payments = vec![("voucher", voucher), (kind, total - voucher)];
                } else {
                    order.payments = vec![(kind, total)];
                }
            }
            order
        })
        .collect::<Vec<_>>();
    Customer {
        customer_id: format!("C{:07}", index + 1),
        city,
        state,
        country,
        created: first - Duration::days(rng.below(30) as i64),
        orders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_customer() {
        let catalogue = products();
        assert_eq!(customer(42, 7, &catalogue), customer(42, 7, &catalogue));
        assert_ne!(customer(42, 7, &catalogue), customer(43, 7, &catalogue));
    }

    #[test]
    fn a_shop_looks_like_a_shop() {
        let catalogue = products();
        let customers: Vec<Customer> = (0..3000).map(|i| customer(42, i, &catalogue)).collect();
        let orders: Vec<&Order> = customers.iter().flat_map(|c| &c.orders).collect();
        let one_timers = customers.iter().filter(|c| c.orders.len() == 1).count();
        assert!(one_timers > 600 && one_timers < 2400, "one-time buyers {one_timers}");
        assert!(customers.iter().any(|c| c.orders.len() >= 10));
        assert!(customers.iter().any(|c| c.country == "Singapore") && customers.iter().any(|c| c.country == "Malaysia"));
        let cancelled = orders.iter().filter(|o| o.status == "cancelled").count() as f64 / orders.len() as f64;
        assert!((0.02..0.07).contains(&cancelled), "{cancelled}");
        // Payments match totals; cancelled orders are not paid.
        for o in &orders {
            let paid: i64 = o.payments.iter().map(|p| p.1).sum();
            if o.status == "cancelled" {
                assert_eq!(paid, 0);
            } else {
                assert_eq!(paid, o.total_cents(), "{}", o.order_id);
                assert!(o.payments.iter().all(|p| p.1 > 0));
            }
        }
        // 11.11 is busier than an ordinary November day.
        let on = |m: u32, d: u32| orders.iter().filter(|o| o.date.month() == m && o.date.day() == d).count();
        assert!(on(11, 11) > 2 * on(11, 4), "11.11 {} vs 4.11 {}", on(11, 11), on(11, 4));
        // Heavy tail: the top 20% of customers bring most of the revenue.
        let mut spend: Vec<i64> = customers.iter().map(|c| c.orders.iter().map(|o| o.total_cents()).sum()).collect();
        spend.sort_unstable_by(|a, b| b.cmp(a));
        let top: i64 = spend[..spend.len() / 5].iter().sum();
        assert!(top as f64 / spend.iter().sum::<i64>() as f64 > 0.5);
        assert!(orders.iter().all(|o| o.date >= date(START) && o.date <= date(END)));
    }
}
