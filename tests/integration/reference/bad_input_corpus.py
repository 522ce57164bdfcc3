"""Writes the bad-input corpus for tests/integration/bad_input_corpus.sh.

One CSV file per source shape (the flat Online Retail file and the five
normalized extracts), each mixing good rows with every kind of bad input
issue 11 lists, plus an empty and a header-only file per shape. Next to the
files it writes manifest.tsv: for every file, the records it holds, how many
should land typed, and the exact (line, reason) of every record that should be
rejected. The expectations are written here, independently of c360's code.

Usage: bad_input_corpus.py OUT_DIR
"""
import os
import random
import string
import sys

OUT = sys.argv[1]
BIG = 10_000_000  # a "10 MB" field
rng = random.Random(11)
# Random letters: a field PostgreSQL cannot compress below its index limit.
big_text = "".join(rng.choice(string.ascii_letters) for _ in range(BIG))
big_key = "K" + big_text[1:]
INJECTIONS = [
    "'); DROP TABLE c360.customers; --",
    'Robert"); DELETE FROM c360.orders; --',
    "$$; SELECT pg_sleep(30); $$",
    "%I %L %s $1 \\' \\\\ ; TRUNCATE c360.fact_sales",
    "x' OR '1'='1",
]
HEADERS = {
    "online_retail": ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
    "customers": ["customer_id", "created_at", "city", "state", "country"],
    "products": ["product_id", "category", "brand"],
    "orders": ["order_id", "customer_id", "order_status", "order_date", "order_timestamp"],
    "order_items": ["order_item_id", "order_id", "product_id", "quantity", "unit_price"],
    "payments": ["payment_id", "order_id", "payment_type", "payment_amount", "payment_date"],
}


def csv_field(value):
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


class CorpusFile:
    """Records in file order with the outcome each should have."""

    def __init__(self, source, crlf):
        self.source = source
        self.eol = b"\r\n" if crlf else b"\n"
        self.chunks = [(b"\xef\xbb\xbf" if crlf else b"") + ",".join(HEADERS[source]).encode() + self.eol]
        self.line = 2          # the header is line 1
        self.records = 0
        self.accepted = 0
        self.rejects = []      # (line, reason)

    def raw(self, data: bytes, reason):
        """One record given as bytes (possibly malformed); reason None = accepted."""
        if reason is None:
            self.accepted += 1
        else:
            self.rejects.append((self.line, reason))
        self.records += 1
        self.line += data.count(b"\n") + 1
        self.chunks.append(data + self.eol)

    def row(self, fields, reason=None):
        assert self.source == "online_retail" or len(fields) == len(HEADERS[self.source]) or reason == "wrong_field_count"
        text = ",".join(csv_field(f) for f in fields)
        self.raw(text.encode("utf-8"), reason)

    def write(self, name):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b"".join(self.chunks))
        return name


def common_malformed(f, good):
    """Reader-level problems every shape gets, ending its file (the last one,
    an unterminated quote, must be last); `good` is a valid row."""
    f.row(good[:-1], "wrong_field_count")
    f.row(good + ["extra"], "wrong_field_count")
    f.raw(b"bad\xff\xfe," + ",".join(good[1:]).encode(), "invalid_encoding")
    f.raw(b"nul\x00byte," + ",".join(good[1:]).encode(), "nul_byte")
    f.raw(b"", "blank_line")
    # A stray quote with no closing quote after it.
    f.raw(('"' + ",".join(good)).encode(), "unterminated_quote")


manifest = []


def emit(f, name):
    f.write(name)
    rejects = ",".join(f"{line}:{reason}" for line, reason in sorted(f.rejects))
    manifest.append((name, f.source, f.records, f.accepted, rejects))


# --- customers ---------------------------------------------------------------
f = CorpusFile("customers", crlf=True)
f.row(["BC1", "2024-01-05 10:00:00", "Kuala\nLumpur", "WP Kuala Lumpur", "Malaysia"])  # embedded newline
f.row(["BC2", "2024-02-01", "Singapore", "", "Singapore"])
f.row([INJECTIONS[0], "2024-03-01", INJECTIONS[1], INJECTIONS[2], INJECTIONS[3]])     # injection in every text column
f.row(["BC3", "", big_text, "Selangor", "Malaysia"])                                   # 10 MB city: kept
f.row([big_key, "2024-01-01", "Ipoh", "Perak", "Malaysia"], "key_too_long")
f.row(["BC4", "0000-01-01 00:00", "Ipoh", "Perak", "Malaysia"], "date_out_of_range")
f.row(["BC5", "9999-12-31 23:59", "Ipoh", "Perak", "Malaysia"], "date_out_of_range")
f.row(["BC6", "2024-13-01", "Ipoh", "Perak", "Malaysia"], "bad_timestamp")
f.row(["BC7", INJECTIONS[4], "Ipoh", "Perak", "Malaysia"], "bad_timestamp")
f.row(["", "2024-01-01", "Ipoh", "Perak", "Malaysia"], "missing_value")
f.row(["BC2", "2024-02-01", "Johor Bahru", "Johor", "Malaysia"], "duplicate_key")
common_malformed(f, ["BC8", "2024-01-01", "Ipoh", "Perak", "Malaysia"])
emit(f, "customers.csv")

# --- products ----------------------------------------------------------------
f = CorpusFile("products", crlf=False)
f.row(["BP1", "Toys", "Lego"])
f.row(["BP2", "Beauty, Health", 'The "Best" Brand'])  # quoted comma and quotes
f.row([INJECTIONS[1], INJECTIONS[0], INJECTIONS[4]])
f.row(["BP3", "Home", big_text])
f.row([big_key, "Home", "Ikea"], "key_too_long")
f.row(["  ", "Home", "Ikea"], "missing_value")
f.row(["BP1", "Toys", "Duplo"], "duplicate_key")
common_malformed(f, ["BP8", "Toys", "Lego"])
emit(f, "products.csv")

# --- orders ------------------------------------------------------------------
f = CorpusFile("orders", crlf=True)
f.row(["BO1", "BC1", "completed", "2024-01-10", "2024-01-10 12:00:00+08:00"])
f.row(["BO2", "BC2", "Shipped", "2024-02-10", ""])
f.row([INJECTIONS[2], INJECTIONS[0], "completed", "2024-03-10", ""])  # the injection customer's order
f.row(["BO3", "BC3", "cancelled", "", "2024-04-01 09:30"])
f.row([big_key, "BC1", "completed", "2024-01-10", ""], "key_too_long")
f.row(["BO4", "BC1", big_text, "2024-01-10", ""], "key_too_long")          # a 10 MB status
f.row(["BO5", "BC1", INJECTIONS[3], "2024-01-10", ""], "unknown_order_status")
f.row(["BO6", "BC1", "completed", "0000-01-01", ""], "date_out_of_range")
f.row(["BO7", "BC1", "completed", "9999-12-31", ""], "date_out_of_range")
f.row(["BO8", "BC1", "completed", INJECTIONS[1], ""], "bad_date")
f.row(["BO9", "BC1", "completed", "", ""], "missing_value")
f.row(["BO10", "NOBODY", "completed", "2024-01-10", ""], "unknown_customer")  # orphan
f.row(["BO11", "BC4", "completed", "2024-01-10", ""], "unknown_customer")     # its customer was rejected
f.row(["BO1", "BC1", "completed", "2024-01-10", ""], "duplicate_key")
common_malformed(f, ["BO12", "BC1", "completed", "2024-01-10", ""])
emit(f, "orders.csv")

# --- order_items -------------------------------------------------------------
f = CorpusFile("order_items", crlf=False)
f.row(["BI1", "BO1", "BP1", "2", "19.90"])
f.row(["BI2", "BO1", "BP2", "1", "0"])                      # a free gift: price 0 is allowed
f.row(["BI3", INJECTIONS[2], INJECTIONS[1], "3", "5.00"])
f.row(["BI4", "BO2", "BP3", "+1", "123456789012.34567890"])  # exact to the last digit
f.row(["BI17", "BO2", "BP3", "10", "123456789012.34567890"], "amount_out_of_range")
f.row([big_key, "BO1", "BP1", "1", "1.00"], "key_too_long")
f.row(["BI5", "BO1", "BP1", "1e308", "1.00"], "bad_integer")
f.row(["BI6", "BO1", "BP1", "99999999999", "1.00"], "out_of_range")
f.row(["BI7", "BO1", "BP1", big_text, "1.00"], "bad_integer")
f.row(["BI8", "BO1", "BP1", "1", "1e308"], "bad_number")
f.row(["BI9", "BO1", "BP1", "1", "-4.50"], "negative_price")
f.row(["BI10", "BO1", "BP1", "0", "4.50"], "non_positive_quantity")
f.row(["BI11", "BO1", "BP1", "1", INJECTIONS[4]], "bad_number")
f.row(["BI12", "NO-ORDER", "BP1", "1", "1.00"], "unknown_order")       # orphan
f.row(["BI13", "BO1", "NO-PRODUCT", "1", "1.00"], "unknown_product")   # orphan
f.row(["BI14", "BO10", "BP1", "1", "1.00"], "unknown_order")           # its order was rejected
f.row(["BI1", "BO1", "BP1", "2", "19.90"], "duplicate_key")
common_malformed(f, ["BI15", "BO1", "BP1", "1", "1.00"])
emit(f, "order_items.csv")

# --- payments ----------------------------------------------------------------
f = CorpusFile("payments", crlf=True)
f.row(["BY1", "BO1", "credit_card", "39.80", "2024-01-10"])
f.row(["BY2", "BO2", big_text, "-5.00", ""])                 # 10 MB type; a refund may be negative
f.row(["BY3", INJECTIONS[2], INJECTIONS[0], "15.00", "2024-03-10"])
f.row([big_key, "BO1", "cash", "1.00", "2024-01-10"], "key_too_long")
f.row(["BY4", "BO1", "cash", "1e308", "2024-01-10"], "bad_number")
f.row(["BY11", "BO1", "cash", "-1000000000000.00", "2024-01-10"], "amount_out_of_range")
f.row(["BY5", "BO1", "cash", "1.00", "0000-01-01"], "date_out_of_range")
f.row(["BY6", "BO1", "cash", "1.00", "9999-12-31"], "date_out_of_range")
f.row(["BY7", "BO1", "cash", "", "2024-01-10"], "missing_value")
f.row(["BY8", "NO-ORDER", "cash", "1.00", "2024-01-10"], "unknown_order")  # orphan
f.row(["BY1", "BO1", "cash", "1.00", "2024-01-10"], "duplicate_key")
common_malformed(f, ["BY9", "BO1", "cash", "1.00", "2024-01-10"])
emit(f, "payments.csv")

# --- online_retail -----------------------------------------------------------
f = CorpusFile("online_retail", crlf=True)
ts = "2011-03-01 10:00:00"
f.row(["581001", "B85123A", "WHITE HANGING\nHEART", "6", ts, "2.55", "17001.0", "United Kingdom"])
f.row(["581001", "B85123A", "WHITE HANGING HEART", "6", ts, "2.55", "17001.0", "United Kingdom"])  # same line twice: both kept
f.row(["C581002", "B85123A", "WHITE HANGING HEART", "-2", ts, "2.55", "17001.0", "United Kingdom"])  # a return
f.row([INJECTIONS[0], INJECTIONS[1], INJECTIONS[2], "1", ts, "1.00", INJECTIONS[3], INJECTIONS[4]])
f.row(["581003", "B22423", big_text, "1", ts, "12.75", "17002", "Singapore"])  # 10 MB description
f.row(["581004", big_key, "X", "1", ts, "1.00", "17002", "Singapore"], "key_too_long")
f.row(["581005", "B22423", "X", "1", ts, "1.00", big_key, "Singapore"], "key_too_long")
f.row(["581006", "B22423", "X", "1", ts, "1.00", "", "Singapore"], "missing_customer")
f.row(["581007", "B22423", "X", "1e308", ts, "1.00", "17002", "Singapore"], "bad_integer")
f.row(["581008", "B22423", "X", "1", ts, "1e308", "17002", "Singapore"], "bad_number")
f.row(["581009", "B22423", "X", "1", ts, "-11062.06", "17002", "Singapore"], "non_positive_price")
f.row(["581016", "B22423", "X", "80995", ts, "99999999.99", "17002", "Singapore"], "amount_out_of_range")
f.row(["581010", "B22423", "X", "-1", ts, "1.00", "17002", "Singapore"], "non_positive_quantity")
f.row(["581011", "B22423", "X", "1", "0000-01-01 00:00", "1.00", "17002", "Singapore"], "date_out_of_range")
f.row(["581012", "B22423", "X", "1", "9999-12-31 00:00", "1.00", "17002", "Singapore"], "date_out_of_range")
f.row(["581013", "B22423", "X", "1", INJECTIONS[1], "1.00", "17002", "Singapore"], "bad_timestamp")
f.row(["581003", "B22423", "X", "1", ts, "1.00", "17003", "Singapore"], "invoice_customer_conflict")
common_malformed(f, ["581014", "B22423", "X", "1", ts, "1.00", "17002", "Singapore"])
emit(f, "online_retail.csv")

for source in HEADERS:
    empty = f"{source}_empty.csv"
    open(os.path.join(OUT, empty), "wb").close()
    manifest.append((empty, source, 0, 0, ""))
    header_only = f"{source}_header_only.csv"
    with open(os.path.join(OUT, header_only), "w") as h:
        h.write(",".join(HEADERS[source]) + "\n")
    manifest.append((header_only, source, 0, 0, ""))

with open(os.path.join(OUT, "manifest.tsv"), "w") as m:
    for row in manifest:
        m.write("\t".join(str(v) for v in row) + "\n")
with open(os.path.join(OUT, "big_text.md5"), "w") as m:
    import hashlib
    m.write(hashlib.md5(big_text.encode()).hexdigest() + "\n")
