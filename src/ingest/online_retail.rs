//! The UCI "Online Retail" flat file: which invoice lines are sales, which
//! are returns and which are rejected (SPEC.md §3). Pure Rust, no pgrx.
//!
//! - customer_id = CustomerID without a trailing `.0`.
//! - Sale line: CustomerID present, InvoiceNo not starting with `C`,
//!   Quantity > 0, UnitPrice > 0.
//! - Return line: InvoiceNo starting with `C`, CustomerID present.
//! - Everything else is rejected with a reason.

use super::values::{check, check_line_amount, parse_decimal, parse_integer, parse_required, quote_value, Kind, Refusal};

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
}

/// `17850.0` -> `17850`; surrounding blanks removed.
pub fn normalize_customer_id(raw: &str) -> &str {
    let t = raw.trim();
    t.strip_suffix(".0").unwrap_or(t)
}

pub fn classify(line: &Line) -> Result<LineKind, Refusal> {
    // The missing customer comes first: it is the reason the spec counts
    // (135,080 lines), whatever else is wrong with such a line.
    if line.customer_id.is_none_or(|c| normalize_customer_id(c).is_empty()) {
        return Err(Refusal::new("missing_customer", "CustomerID is empty: the line cannot be attributed to a customer".into()));
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
        return Ok(LineKind::Return);
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
    Ok(LineKind::Sale)
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
        }
    }

    fn reason(l: &Line) -> &'static str {
        classify(l).unwrap_err().reason
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
    fn customer_ids_lose_the_float_suffix_only() {
        assert_eq!(normalize_customer_id(" 17850.0 "), "17850");
        assert_eq!(normalize_customer_id("17850"), "17850");
        assert_eq!(normalize_customer_id("17850.5"), "17850.5");
        assert_eq!(normalize_customer_id(".0"), "");
    }
}
