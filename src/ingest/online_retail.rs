//! The UCI "Online Retail" flat file: which invoice lines are sales, which
//! are returns and which are rejected (SPEC.md §3). Pure Rust, no pgrx.
//!
//! - customer_id = CustomerID without a trailing `.0`.
//! - Sale line: CustomerID present, InvoiceNo not starting with `C`,
//!   Quantity > 0, UnitPrice > 0.
//! - Return line: InvoiceNo starting with `C`, CustomerID present.
//! - Everything else is rejected with a reason.

use crate::numeric_sum::Fixed;
use super::values::{check, check_line_amount, parse_decimal, parse_integer, parse_required, quote_value, Kind, Refusal};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (rustc's hasher): the pass looks up five short ids per line, and
/// SipHash's flood resistance costs a tenth of it; the keys come from the
/// DBA's own file.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes(c.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type IdMap<V> = HashMap<String, V, BuildHasherDefault<IdHasher>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Sale,
    Return,
}

/// The raw text fields of one line, named as in the file's header.
#[derive(Clone, Copy, Debug, Default)]
pub struct Line<'a> {
    pub invoice_no: Option<&'a str>,
    pub stock_code: Option<&'a str>,
    pub quantity: Option<&'a str>,
    pub invoice_date: Option<&'a str>,
    pub unit_price: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    /// (not checked: free text)
    pub description: Option<&'a str>,
    pub country: Option<&'a str>,
}

/// `17850.0` -> `17850`; surrounding blanks removed.
pub fn normalize_customer_id(raw: &str) -> &str {
    let t = raw.trim();
    t.strip_suffix(".0").unwrap_or(t)
}

pub fn classify(line: &Line) -> Result<LineKind, Refusal> {
    classify_with_quantity(line).map(|(kind, _)| kind)
}

/// [`classify`], with the quantity it parsed.
fn classify_with_quantity(line: &Line) -> Result<(LineKind, i32), Refusal> {
    // The missing customer comes first: it is the reason the spec counts
    // (135,080 lines), whatever else is wrong with such a line.
    if line.customer_id.is_none_or(|c| normalize_customer_id(c).is_empty()) {
        return Err(Refusal::new("missing_customer", "CustomerID is empty"));
    }
    check("CustomerID", line.customer_id, Kind::Key, true)?;
    check("InvoiceNo", line.invoice_no, Kind::Key, true)?;
    check("StockCode", line.stock_code, Kind::Key, true)?;
    let quantity = parse_required("Quantity", line.quantity, parse_integer)?;
    check("InvoiceDate", line.invoice_date, Kind::Timestamp, true)?;
    let price = parse_required("UnitPrice", line.unit_price, parse_decimal)?;
    check_line_amount(quantity, price)?;

    let invoice = line.invoice_no.unwrap_or_default().trim();
    if invoice.starts_with('C') {
        return Ok((LineKind::Return, quantity));
    }
    let quantity_text = line.quantity.unwrap_or_default().trim();
    let price_text = line.unit_price.unwrap_or_default().trim();
    if price <= rust_decimal::Decimal::ZERO {
        return Err(Refusal::new(
            "non_positive_price",
            format!("UnitPrice {} is not positive on sale invoice {invoice}", quote_value(price_text)),
        ));
    }
    if quantity <= 0 {
        return Err(Refusal::new(
            "non_positive_quantity",
            format!("Quantity {} is not positive on sale invoice {invoice} (returns are C-invoices)", quote_value(quantity_text)),
        ));
    }
    Ok((LineKind::Sale, quantity))
}

/// PostgreSQL's `btrim(text)`: spaces only, as the typed tables store keys.
fn btrim(v: &str) -> &str {
    // bytewise: a space is one byte, so the cut is a character boundary
    let bytes = v.as_bytes();
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| b != b' ').map_or(start, |last| last + 1);
    &v[start..end]
}

/// PostgreSQL's `quote_literal`: `'it''s'`, and `E'...'` with doubled
/// backslashes when there are any.
fn quote_literal(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 3);
    if v.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The values an accepted line stores, as text for the typed columns: `S`
/// is `&str` ([`Accepted`]), or where the text lies in the line's fields
/// when the line is checked on another thread than the one storing it.
#[derive(Debug, PartialEq, Eq)]
pub struct AcceptedOf<S> {
    pub customer_id: S,
    pub product_id: S,
    pub description: Option<S>,
    /// as `classify` parsed it
    pub quantity: i32,
    pub unit_price: S,
    pub order_timestamp: S,
    /// the written date (the checker accepted `YYYY-MM-DD[ time[offset]]`)
    pub order_date: S,
    pub country: Option<S>,
}

pub type Accepted<'a> = AcceptedOf<&'a str>;

/// One line after the checking pass (`S` as for [`AcceptedOf`]).
#[derive(Debug, PartialEq, Eq)]
pub struct CheckedOf<S> {
    pub order_id: Option<S>,
    /// 1-based position within its invoice in file order, counting every
    /// line (refused ones too) so that keys never shift with the rules
    pub position: i64,
    pub outcome: Result<AcceptedOf<S>, Refusal>,
}

pub type Checked<'a> = CheckedOf<&'a str>;

impl<S> CheckedOf<S> {
    /// The same line with each text `s` replaced by `f(s)`.
    pub fn map<T>(self, mut f: impl FnMut(S) -> T) -> CheckedOf<T> {
        CheckedOf {
            order_id: self.order_id.map(&mut f),
            position: self.position,
            outcome: self.outcome.map(|a| AcceptedOf {
                customer_id: f(a.customer_id),
                product_id: f(a.product_id),
                description: a.description.map(&mut f),
                quantity: a.quantity,
                unit_price: f(a.unit_price),
                order_timestamp: f(a.order_timestamp),
                order_date: f(a.order_date),
                country: a.country.map(&mut f),
            }),
        }
    }
}

impl Checked<'_> {
    /// The line's key in order_items: invoice and position.
    pub fn order_item_id(&self) -> Option<String> {
        let mut key = String::new();
        self.write_order_item_id(&mut key).then_some(key)
    }

    /// [`Self::order_item_id`] written into `out` (emptied first), for a
    /// caller that reuses one buffer over millions of lines; false when
    /// the line has no invoice.
    pub fn write_order_item_id(&self, out: &mut String) -> bool {
        out.clear();
        let Some(o) = self.order_id else { return false };
        out.push_str(o);
        out.push(':');
        // (by hand: the formatting machinery was 2 % of the backend's pass)
        let mut digits = [0u8; 20];
        let mut n = self.position.unsigned_abs();
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if self.position < 0 {
            out.push('-');
        }
        digits[at..].iter().for_each(|&d| out.push(d as char));
        true
    }

    pub fn is_return(&self) -> Option<bool> {
        self.order_id.map(|o| o.starts_with('C'))
    }
}

/// The checking pass over one load, fed its lines in file order: the rules
/// of [`classify`], each line's position within its invoice, and one
/// customer per invoice — a line naming another customer than the
/// invoice's first accepted line is refused, never misattributed.
#[derive(Default)]
pub struct LoadChecker {
    /// every invoice seen but the current one
    invoices: IdMap<InvoiceSeen>,
    /// the invoice of the latest line, out of the map while its lines come:
    /// an invoice's lines follow one another, so most lines look up nothing
    current: Option<(String, InvoiceSeen)>,
    lines_without_invoice: i64,
}

/// What the rules remember of an invoice.
#[derive(Default)]
struct InvoiceSeen {
    /// its lines so far, refused ones included
    lines: i64,
    /// the customer of its first accepted line
    first_customer: Option<String>,
}

impl LoadChecker {
    /// The invoice `id`, made the current one.
    fn invoice(&mut self, id: &str) -> &mut InvoiceSeen {
        if !matches!(&self.current, Some((current, _)) if current == id) {
            if let Some((previous, seen)) = self.current.take() {
                self.invoices.insert(previous, seen);
            }
            self.current = Some(self.invoices.remove_entry(id).unwrap_or_else(|| (id.to_string(), InvoiceSeen::default())));
        }
        &mut self.current.as_mut().expect("just set").1
    }

    pub fn check<'a>(&mut self, line: &Line<'a>) -> Checked<'a> {
        let order_id = line.invoice_no.map(btrim);
        let position = match order_id {
            Some(o) => {
                let seen = self.invoice(o);
                seen.lines += 1;
                seen.lines
            }
            None => {
                self.lines_without_invoice += 1;
                self.lines_without_invoice
            }
        };
        let outcome = classify_with_quantity(line).and_then(|(_, quantity)| {
            let customer_id = normalize_customer_id(line.customer_id.unwrap_or_default());
            let invoice = order_id.unwrap_or_default();
            let seen = self.invoice(invoice);
            match &seen.first_customer {
                Some(first) if first != customer_id => {
                    return Err(Refusal::new(
                        "invoice_customer_conflict",
                        format!(
                            "CustomerID {} differs from {} on the first line of invoice {invoice}",
                            quote_literal(customer_id),
                            quote_literal(first)
                        ),
                    ));
                }
                Some(_) => {}
                None => seen.first_customer = Some(customer_id.to_string()),
            }
            // classify refused every line missing one of these; the values
            // to parse are trimmed as classify trimmed them, so PostgreSQL's
            // input functions read what the rules accepted
            let date = line.invoice_date.unwrap_or_default().trim();
            Ok(Accepted {
                customer_id,
                product_id: btrim(line.stock_code.unwrap_or_default()),
                description: line.description.map(btrim).filter(|d| !d.is_empty()),
                quantity,
                unit_price: line.unit_price.unwrap_or_default().trim(),
                order_timestamp: date,
                order_date: date.char_indices().nth(10).map_or(date, |(end, _)| &date[..end]),
                country: line.country.map(btrim).filter(|c| !c.is_empty()),
            })
        });
        Checked { order_id, position, outcome }
    }
}

/// Ids of text keys, 0, 1, 2… in the order the keys first appear. The
/// checking thread gives each accepted line the ids of its order, customer,
/// product, values and price ([`SummaryIds`]), so that the summary on the
/// backend's thread indexes vectors instead of hashing and comparing text
/// (that was a sixth of the backend's work in the pass).
#[derive(Default)]
pub struct KeyIds {
    index: IdMap<u32>,
    /// the key last asked for and its id: an order's lines, and so its
    /// customer's and country's, come one after another
    last: Option<(String, u32)>,
}

impl KeyIds {
    /// The id of `key`, a new one (the number of keys so far) the first time.
    pub fn id(&mut self, key: &str) -> u32 {
        self.id_within(key, usize::MAX).expect("ids are not limited")
    }

    /// [`Self::id`], or None for a new key once `limit` keys have ids.
    pub fn id_within(&mut self, key: &str, limit: usize) -> Option<u32> {
        if let Some((last, id)) = &self.last {
            if same_key(last.as_bytes(), key.as_bytes()) {
                return Some(*id);
            }
        }
        let id = match self.index.get(key) {
            Some(&id) => id,
            None if self.index.len() >= limit => return None,
            None => {
                let id = u32::try_from(self.index.len()).expect("fewer than 2^32 distinct keys in one load");
                self.index.insert(key.to_string(), id);
                id
            }
        };
        match &mut self.last {
            Some((last, last_id)) => {
                last.clear();
                last.push_str(key);
                *last_id = id;
            }
            None => self.last = Some((key.to_string(), id)),
        }
        Some(id)
    }
}

/// `a == b` for the short keys of a file (ids, prices, countries) without
/// a call to memcmp: that call was a tenth of the checking thread's work.
#[inline(always)]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default());
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or_default());
    match n {
        // (two overlapping loads cover every byte)
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// Distinct unit prices given an id at most: the backend caches each one's
/// numeric (a few bytes), read once ([`LineIds::price`]).
pub const MAX_CACHED_PRICES: usize = 100_000;

/// The ids of one accepted line's keys and values ([`KeyIds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineIds {
    pub order: u32,
    pub customer: u32,
    pub product: u32,
    /// ids of the load's countries, and of its descriptions
    pub country: Option<u32>,
    pub description: Option<u32>,
    /// None past [`MAX_CACHED_PRICES`] distinct prices
    pub price: Option<u32>,
}

/// Gives the accepted lines of one load their [`LineIds`], in line order,
/// on whichever thread checks them.
#[derive(Default)]
pub struct SummaryIds {
    orders: KeyIds,
    customers: KeyIds,
    products: KeyIds,
    countries: KeyIds,
    descriptions: KeyIds,
    /// each product's description on its latest line that had one, and its
    /// id: most lines repeat it, so most look up nothing
    product_descriptions: Vec<Option<(String, u32)>>,
    prices: KeyIds,
    /// the order and customer of the last accepted line
    last_order: Option<(u32, u32)>,
}

impl SummaryIds {
    /// The ids of an accepted line (None for a refused one).
    pub fn of(&mut self, line: &Checked) -> Option<LineIds> {
        let a = line.outcome.as_ref().ok()?;
        let product = self.products.id(a.product_id);
        // an accepted line has an invoice (classify refuses others)
        let order = self.orders.id(line.order_id.unwrap_or_default());
        let customer = match self.last_order {
            // every accepted line of an invoice names its customer (LoadChecker)
            Some((last, customer)) if last == order => customer,
            _ => self.customers.id(a.customer_id),
        };
        self.last_order = Some((order, customer));
        Some(LineIds {
            order,
            customer,
            product,
            country: a.country.map(|c| self.countries.id(c)),
            description: a.description.map(|d| self.description_id(product, d)),
            price: self.prices.id_within(a.unit_price, MAX_CACHED_PRICES),
        })
    }

    fn description_id(&mut self, product: u32, description: &str) -> u32 {
        let at = product as usize;
        if at >= self.product_descriptions.len() {
            self.product_descriptions.resize(at + 1, None);
        }
        match &mut self.product_descriptions[at] {
            Some((text, id)) if text == description => *id,
            slot => {
                let id = self.descriptions.id(description);
                *slot = Some((description.to_string(), id));
                id
            }
        }
    }
}

/// Rows keyed by text in the order their keys first appeared (so the
/// tables written from them follow the file): row `i` is the key of id `i`.
#[derive(Debug)]
pub struct FirstSeen<V> {
    pub rows: Vec<(String, V)>,
}

impl<V> Default for FirstSeen<V> {
    fn default() -> Self {
        FirstSeen { rows: Vec::new() }
    }
}

impl<V> FirstSeen<V> {
    /// The row of `key`, whose id is `id`, created by `new` the first time.
    fn entry(&mut self, id: u32, key: &str, new: impl FnOnce() -> V) -> &mut V {
        let at = id as usize;
        if at == self.rows.len() {
            self.rows.push((key.to_string(), new()));
        }
        // (ids come in first-seen order: a larger one is a bug, and panics)
        &mut self.rows[at].1
    }
}

/// A value and the (time, line) it was given at: the latest one wins, a
/// later line on the same time included. The value is an id of
/// [`LoadSummary::country`] or [`LoadSummary::description`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    at: (i64, i64),
    pub value: Option<u32>,
}

impl Latest {
    fn offer(slot: &mut Option<Latest>, at: (i64, i64), value: Option<u32>) {
        match slot {
            Some(seen) if at < seen.at => {}
            Some(seen) => *seen = Latest { at, value },
            None => *slot = Some(Latest { at, value }),
        }
    }
}

/// One order of a load: what its accepted lines say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    /// its customer's row in [`LoadSummary::customers`]: every accepted
    /// line of an invoice names the same customer ([`LoadChecker`])
    pub customer: u32,
    pub is_return: bool,
    /// the earliest time and (separately) the earliest written date of its lines
    pub first_at: i64,
    pub first_date: i32,
    /// its fact_orders sums, when every price fitted exactly
    pub facts: Option<OrderFacts>,
}

/// An order's sums over its accepted lines, as `fact_orders` keeps them
/// (the sums of `order_items` when the order's lines all come from this
/// load).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub lines: i64,
    pub units: i64,
    /// sum of quantity × unit price over the lines with units (quantity > 0),
    /// at the largest price scale as PostgreSQL's numeric keeps it; None when
    /// the order has no such line
    pub sale_amount: Option<Fixed>,
}

impl OrderFacts {
    fn add(facts: &mut Option<OrderFacts>, quantity: i32, unit_price: Option<Fixed>) {
        let Some(f) = facts else { return };
        let sale = if quantity > 0 {
            match unit_price.and_then(|p| p.checked_mul_int(i64::from(quantity))) {
                Some(amount) => match f.sale_amount {
                    None => Some(Some(amount)),
                    Some(sum) => sum.checked_add(amount).map(Some),
                },
                None => None,
            }
        } else {
            Some(f.sale_amount)
        };
        match (sale, f.units.checked_add(i64::from(quantity))) {
            (Some(sale_amount), Some(units)) => *f = OrderFacts { lines: f.lines + 1, units, sale_amount },
            // too large for exact arithmetic here: ingest sums the lines in SQL
            _ => *facts = None,
        }
    }
}

/// One accepted line, as [`LoadSummary`] needs it: `at` and `date` are the
/// typed order timestamp and date (PostgreSQL's microseconds and days).
pub struct AcceptedLine<'a> {
    pub line_no: i64,
    pub order_id: &'a str,
    pub is_return: bool,
    pub accepted: &'a Accepted<'a>,
    /// given by [`SummaryIds`] to the load's accepted lines in line order
    pub ids: LineIds,
    pub at: i64,
    pub date: i32,
    /// the typed unit price, None when it does not fit a `Fixed`
    pub unit_price: Option<Fixed>,
}

/// The orders, customers and products of one load, gathered during the
/// checking pass so that ingest upserts them from a few thousand rows
/// instead of grouping every line again: an order's customer, kind, first
/// time and date; a customer's country and a product's description as on
/// their latest line (for products, the latest line that has one).
#[derive(Default)]
pub struct LoadSummary {
    pub orders: FirstSeen<OrderSummary>,
    pub customers: FirstSeen<Option<Latest>>,
    pub products: FirstSeen<Option<Latest>>,
    /// the countries, and the descriptions, by id
    countries: Vec<String>,
    descriptions: Vec<String>,
}

impl LoadSummary {
    /// Adds the accepted lines of a load, in line order.
    pub fn add(&mut self, line: &AcceptedLine) {
        let (a, ids) = (line.accepted, line.ids);
        let order = self.orders.entry(ids.order, line.order_id, || OrderSummary {
            customer: ids.customer,
            is_return: line.is_return,
            first_at: line.at,
            first_date: line.date,
            facts: Some(OrderFacts { lines: 0, units: 0, sale_amount: None }),
        });
        OrderFacts::add(&mut order.facts, a.quantity, line.unit_price);
        order.first_at = order.first_at.min(line.at);
        order.first_date = order.first_date.min(line.date);
        for (values, id, text) in [(&mut self.countries, ids.country, a.country), (&mut self.descriptions, ids.description, a.description)] {
            if let (Some(id), Some(text)) = (id, text) {
                if id as usize == values.len() {
                    values.push(text.to_string());
                }
            }
        }
        let at = (line.at, line.line_no);
        Latest::offer(self.customers.entry(ids.customer, a.customer_id, || None), at, ids.country);
        let product = self.products.entry(ids.product, a.product_id, || None);
        if ids.description.is_some() {
            Latest::offer(product, at, ids.description);
        }
    }

    /// The country of a customer's [`Latest::value`].
    pub fn country(&self, id: Option<u32>) -> Option<&str> {
        id.map(|i| self.countries[i as usize].as_str())
    }

    /// The description of a product's [`Latest::value`].
    pub fn description(&self, id: Option<u32>) -> Option<&str> {
        id.map(|i| self.descriptions[i as usize].as_str())
    }

    /// The key of an order's customer.
    pub fn customer_of(&self, order: &OrderSummary) -> &str {
        &self.customers.rows[order.customer as usize].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(invoice: &'a str, qty: &'a str, price: &'a str, customer: &'a str) -> Line<'a> {
        Line {
            invoice_no: Some(invoice),
            stock_code: Some("85123A"),
            quantity: Some(qty),
            invoice_date: Some("2010-12-01 08:26:00"),
            unit_price: Some(price),
            customer_id: Some(customer),
            description: Some(" WHITE HANGING HEART "),
            country: Some("United Kingdom"),
        }
    }

    fn reason(l: &Line) -> &'static str {
        classify(l).unwrap_err().reason
    }

    #[test]
    fn btrim_removes_spaces_only() {
        for (raw, trimmed) in [("  85123A ", "85123A"), ("", ""), ("   ", ""), ("\t85123A\n", "\t85123A\n"), (" é ", "é"), ("a b", "a b")] {
            assert_eq!(btrim(raw), trimmed, "{raw:?}");
        }
    }

    #[test]
    fn sale_return_and_reject_reasons() {
        assert_eq!(classify(&line("536365", "6", "2.55", "17850.0")), Ok(LineKind::Sale));
        assert_eq!(classify(&line("C536379", "-1", "27.50", "14527.0")), Ok(LineKind::Return));
        assert_eq!(reason(&line("536365", "6", "2.55", "")), "missing_customer");
        assert_eq!(reason(&line("A563185", "1", "11062.06", "")), "missing_customer");
        assert_eq!(reason(&line("536365", "6", "0.0", "17850.0")), "non_positive_price");
        assert_eq!(reason(&line("536365", "6", "-11062.06", "17850.0")), "non_positive_price");
        assert_eq!(reason(&line("536365", "-6", "2.55", "17850.0")), "non_positive_quantity");
        assert_eq!(reason(&line("536365", "six", "2.55", "17850.0")), "bad_integer");
        assert_eq!(reason(&line("536365", "6", "2,55", "17850.0")), "bad_number");
        let mut bad_date = line("536365", "6", "2.55", "17850.0");
        bad_date.invoice_date = Some("12/1/2010 8:26");
        assert_eq!(reason(&bad_date), "bad_timestamp");
    }

    #[test]
    fn load_checker_numbers_lines_per_invoice_and_keeps_one_customer_per_invoice() {
        let mut checker = LoadChecker::default();
        let first = checker.check(&line(" 536365 ", "\t6 ", " 2.55\u{a0}", "17850.0"));
        assert_eq!(first.order_id, Some("536365"));
        assert_eq!(first.order_item_id().as_deref(), Some("536365:1"));
        for position in [10, 99, 100, 1234567, i64::MAX] {
            let line = Checked { order_id: first.order_id, position, outcome: Err(Refusal::new("missing_customer", "CustomerID is empty")) };
            assert_eq!(line.order_item_id(), Some(format!("536365:{position}")));
        }
        assert_eq!(first.is_return(), Some(false));
        assert_eq!(
            first.outcome,
            Ok(Accepted {
                customer_id: "17850",
                product_id: "85123A",
                description: Some("WHITE HANGING HEART"),
                quantity: 6,
                unit_price: "2.55",
                order_timestamp: "2010-12-01 08:26:00",
                order_date: "2010-12-01",
                country: Some("United Kingdom"),
            })
        );
        // a refused line still takes its position
        assert_eq!(checker.check(&line("536365", "6", "2.55", "")).position, 2);
        let other = checker.check(&line("536365", "1", "1.00", "13748"));
        assert_eq!(other.position, 3);
        let refusal = other.outcome.unwrap_err();
        assert_eq!(refusal.reason, "invoice_customer_conflict");
        assert_eq!(refusal.message, "CustomerID '13748' differs from '17850' on the first line of invoice 536365");
        assert!(checker.check(&line("536365", "2", "1.00", "17850")).outcome.is_ok());
        let ret = checker.check(&line("C536379", "-1", "27.50", "14527.0"));
        assert_eq!((ret.position, ret.is_return()), (1, Some(true)));
        let mut blank = line("536366", "1", "1.00", "17850");
        blank.description = Some("  ");
        blank.country = None;
        let accepted = checker.check(&blank).outcome.unwrap();
        assert_eq!((accepted.description, accepted.country), (None, None));
        let no_invoice = checker.check(&Line { invoice_no: None, ..line("", "1", "1.00", "17850") });
        assert_eq!((no_invoice.order_item_id(), no_invoice.is_return()), (None, None));
        // an invoice coming back after others keeps its count and customer
        let again = checker.check(&line("536365", "1", "1.00", "13748"));
        assert_eq!((again.position, again.outcome.unwrap_err().reason), (5, "invoice_customer_conflict"));
        assert_eq!(checker.check(&line("C536379", "-1", "27.50", "14527.0")).position, 2);
        assert_eq!(checker.check(&line("536365", "1", "1.00", "17850")).position, 6);
    }

    #[test]
    fn quote_literal_matches_postgresql() {
        assert_eq!(quote_literal("17850"), "'17850'");
        assert_eq!(quote_literal("o'brien"), "'o''brien'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn customer_ids_lose_the_float_suffix_only() {
        assert_eq!(normalize_customer_id(" 17850.0 "), "17850");
        assert_eq!(normalize_customer_id("17850"), "17850");
        assert_eq!(normalize_customer_id("17850.5"), "17850.5");
        assert_eq!(normalize_customer_id(".0"), "");
    }
    #[test]
    fn load_summary_keeps_first_seen_order_earliest_times_and_latest_values() {
        let accepted = |customer: &'static str, product: &'static str, description, country| Accepted {
            customer_id: customer,
            product_id: product,
            description,
            quantity: if product == "22633" { -2 } else { 3 },
            unit_price: "1.00",
            order_timestamp: "",
            order_date: "",
            country,
        };
        let mut summary = LoadSummary::default();
        let lines = [
            ("536365", 10, 100, 5, accepted("17850", "85123A", Some("HEART"), Some("United Kingdom"))),
            ("C536379", 11, 90, 4, accepted("14527", "85123A", None, Some("France"))),
            // same invoice again, earlier time and date
            ("536365", 12, 80, 3, accepted("17850", "22633", None, None)),
            // a later line on the same time wins; an earlier time loses
            ("536366", 13, 100, 5, accepted("17850", "85123A", Some("WHITE HEART"), Some("EIRE"))),
            ("536367", 14, 50, 2, accepted("14527", "85123A", Some("OLD NAME"), Some("Spain"))),
        ];
        let mut ids = SummaryIds::default();
        for (order_id, n, at, date, a) in lines {
            let unit_price = Some(Fixed { mantissa: 125, scale: 2 });
            let checked = Checked { order_id: Some(order_id), position: 1, outcome: Ok(a) };
            let line_ids = ids.of(&checked).expect("an accepted line has ids");
            let a = checked.outcome.as_ref().unwrap();
            summary.add(&AcceptedLine { line_no: n, order_id, is_return: order_id.starts_with('C'), accepted: a, ids: line_ids, at, date, unit_price });
        }
        // 536365: 3 units at 1.25, then -2 (no sale amount); C536379: 3 at 1.25
        let facts: Vec<_> = summary.orders.rows.iter().map(|(_, o)| o.facts.clone().map(|f| (f.lines, f.units, f.sale_amount.map(|a| a.to_string())))).collect();
        assert_eq!(facts[0], Some((2, 1, Some("3.75".to_string()))));
        assert_eq!(facts[1], Some((1, 3, Some("3.75".to_string()))));
        let orders: Vec<_> = summary.orders.rows.iter().map(|(k, o)| (k.as_str(), summary.customer_of(o), o.is_return, o.first_at, o.first_date)).collect();
        assert_eq!(
            orders,
            [("536365", "17850", false, 80, 3), ("C536379", "14527", true, 90, 4), ("536366", "17850", false, 100, 5), ("536367", "14527", false, 50, 2)]
        );
        let values = |rows: &FirstSeen<Option<Latest>>, text: fn(&LoadSummary, Option<u32>) -> Option<&str>| -> Vec<(String, Option<String>)> {
            rows.rows.iter().map(|(k, v)| (k.clone(), text(&summary, v.as_ref().and_then(|l| l.value)).map(str::to_string))).collect()
        };
        assert_eq!(
            values(&summary.customers, LoadSummary::country),
            [("17850".to_string(), Some("EIRE".to_string())), ("14527".to_string(), Some("France".to_string()))]
        );
        // 22633 never had a description: kept, without one
        assert_eq!(values(&summary.products, LoadSummary::description), [("85123A".to_string(), Some("WHITE HEART".to_string())), ("22633".to_string(), None)]);
        assert!(summary.products.rows[1].1.is_none());
    }

    #[test]
    fn key_ids_number_keys_in_first_seen_order_within_a_limit() {
        let mut ids = KeyIds::default();
        let got: Vec<u32> = ["536365", "536365", "C536379", "536365", "536366", "C536379"].iter().map(|k| ids.id(k)).collect();
        assert_eq!(got, [0, 0, 1, 0, 2, 1]);
        let mut prices = KeyIds::default();
        let got: Vec<Option<u32>> = ["2.55", "3.39", "2.55", "7.65", "3.39", "7.65"].iter().map(|p| prices.id_within(p, 2)).collect();
        // a third price gets no id, ever; the first two keep theirs
        assert_eq!(got, [Some(0), Some(1), Some(0), None, Some(1), None]);
    }

    #[test]
    fn same_key_is_equality() {
        let keys = ["", "a", "ab", "abc", "abcd", "abce", "536365", "536366", "C536365", "85123A", "85123B", "United Kingdom", "United Kingdon",
                    "WHITE HANGING HEART T-LIGHT HOLDER", "WHITE HANGING HEART T-LIGHT HOLDEr", "0123456789abcdef", "0123456789abcdeF", "X123456789abcdef"];
        for a in keys {
            for b in keys {
                assert_eq!(same_key(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn summary_ids_are_given_to_accepted_lines_only() {
        let mut checker = LoadChecker::default();
        let mut ids = SummaryIds::default();
        let first = ids.of(&checker.check(&line("536365", "6", "2.55", "17850.0"))).unwrap();
        assert_eq!(first, LineIds { order: 0, customer: 0, product: 0, country: Some(0), description: Some(0), price: Some(0) });
        assert_eq!(ids.of(&checker.check(&line("536365", "6", "2.55", ""))), None);
        let mut other = line("536366", "1", "1.00", "13748");
        other.country = Some("France");
        other.description = Some("HEART");
        let next = ids.of(&checker.check(&other)).unwrap();
        assert_eq!(next, LineIds { order: 1, customer: 1, product: 0, country: Some(1), description: Some(1), price: Some(1) });
        // the description a product had before keeps its id
        let again = ids.of(&checker.check(&line("536366", "2", "1.00", "13748"))).unwrap();
        assert_eq!((again.product, again.description, again.country), (0, Some(0), Some(0)));
        other.stock_code = Some("22633");
        let new_product = ids.of(&checker.check(&other)).unwrap();
        assert_eq!((new_product.product, new_product.description), (1, Some(1)));
    }

    #[test]
    fn order_facts_sum_sale_lines_exactly_or_give_up() {
        let price = |text: &str| {
            let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
            Some(Fixed { mantissa: format!("{whole}{fraction}").parse().unwrap(), scale: fraction.len() as u16 })
        };
        let mut facts = Some(OrderFacts { lines: 0, units: 0, sale_amount: None });
        OrderFacts::add(&mut facts, -1, price("9.99"));
        assert_eq!(facts, Some(OrderFacts { lines: 1, units: -1, sale_amount: None }));
        OrderFacts::add(&mut facts, 6, price("2.55"));
        OrderFacts::add(&mut facts, 1, price("0.125"));
        let f = facts.clone().unwrap();
        assert_eq!((f.lines, f.units, f.sale_amount.unwrap().to_string()), (3, 6, "15.425".to_string()));
        // a price that did not fit, or a product beyond an i128: no facts at all
        OrderFacts::add(&mut facts, 1, None);
        assert_eq!(facts, None);
        OrderFacts::add(&mut facts, 1, price("1"));
        assert_eq!(facts, None);
        let mut huge = Some(OrderFacts { lines: 0, units: 0, sale_amount: None });
        OrderFacts::add(&mut huge, i32::MAX, Some(Fixed { mantissa: i128::MAX / 2, scale: 0 }));
        assert_eq!(huge, None);
    }
}
