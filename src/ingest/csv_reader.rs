//! A streaming RFC 4180 reader that never gives up on a file.
//!
//! Unlike a plain CSV library, it reports every record together with the line
//! it starts on and its exact raw text, and turns each malformed record (bad
//! encoding, NUL byte, unterminated quote) into a [`Malformed`] item instead of
//! an error, then carries on with the next line. That is what lets
//! `import_csv` promise that every input line ends up staged or rejected.
//!
//! Pure Rust, no pgrx: unit- and property-tested with plain `cargo test`.

use std::io::{self, Read};

/// How the bytes of the file are turned into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "utf8" => Some(Encoding::Utf8),
            "latin1" | "iso88591" => Some(Encoding::Latin1),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub quote: u8,
    pub encoding: Encoding,
    /// A record longer than this is treated like an unterminated quote: its
    /// first line is rejected and reading resumes on the next line. It bounds
    /// memory when a stray quote would otherwise swallow the rest of the file.
    pub max_record_bytes: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', quote: b'"', encoding: Encoding::Utf8, max_record_bytes: 64 << 20 }
    }
}

/// A well-formed record: its fields, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the file on which the record starts.
    pub line: u64,
    pub fields: Vec<String>,
}

/// Why a record could not be read as fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    InvalidEncoding { byte_offset: usize },
    NulByte,
    UnterminatedQuote,
    RecordTooLong { limit: usize },
}

impl Problem {
    /// Stable reason code, as stored in `c360.rejects.reason`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::InvalidEncoding { .. } => "invalid_encoding",
            Problem::NulByte => "nul_byte",
            Problem::UnterminatedQuote => "unterminated_quote",
            Problem::RecordTooLong { .. } => "record_too_long",
        }
    }

    pub fn message(&self, encoding: Encoding) -> String {
        match self {
            Problem::InvalidEncoding { byte_offset } => format!(
                "invalid {} byte sequence at byte {} of the record",
                if encoding == Encoding::Utf8 { "UTF-8" } else { "LATIN1" },
                byte_offset
            ),
            Problem::NulByte => "record contains a NUL byte, which PostgreSQL text cannot hold".into(),
            Problem::UnterminatedQuote => {
                "quoted field is not closed before the end of the file; only this line is rejected".into()
            }
            Problem::RecordTooLong { limit } => {
                format!("record is longer than {limit} bytes (probably a stray quote); only this line is rejected")
            }
        }
    }
}

/// A record that could not be split into fields; `raw` keeps its text, with
/// bytes that are not valid text written as `\xNN` so nothing is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: u64,
    pub raw: String,
    pub problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Record(Record),
    Malformed(Malformed),
}

/// What [`CsvReader::next_into`] read.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A record starting on this line: its fields are in the [`FieldBuf`].
    Record { line: u64 },
    Malformed(Malformed),
}

/// Fields as one text and where each ends in it: what a record is read
/// into, and reused from record to record. A String per field (and a Vec
/// per record) cost the reader thread a third of its time in malloc and free.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldBuf {
    text: String,
    /// the end of each field in `text`
    ends: Vec<u32>,
}

/// A position in a [`FieldBuf`] ([`FieldBuf::mark`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldMark {
    text: usize,
    fields: usize,
}

impl FieldBuf {
    /// Room for `bytes` of text (a message's buffer is sized once, not
    /// grown record by record).
    pub fn with_capacity(bytes: usize) -> Self {
        FieldBuf { text: String::with_capacity(bytes), ends: Vec::new() }
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Appends a field.
    pub fn push(&mut self, field: &str) {
        self.text.push_str(field);
        self.end_field();
    }

    /// The bytes of all the fields.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where each field ends in [`FieldBuf::text`].
    pub fn ends(&self) -> &[u32] {
        &self.ends
    }

    pub fn to_strings(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.get(i).to_string()).collect()
    }

    /// Where the next field will start: what [`Self::truncate`] goes back to.
    pub fn mark(&self) -> FieldMark {
        FieldMark { text: self.text.len(), fields: self.ends.len() }
    }

    /// The indexes of the fields appended since `mark`.
    pub fn fields_since(&self, mark: FieldMark) -> std::ops::Range<usize> {
        mark.fields..self.len()
    }

    /// The fields appended since `mark`.
    pub fn strings_since(&self, mark: FieldMark) -> Vec<String> {
        (mark.fields..self.len()).map(|i| self.get(i).to_string()).collect()
    }

    /// Drops the fields appended since `mark`.
    pub fn truncate(&mut self, mark: FieldMark) {
        self.text.truncate(mark.text);
        self.ends.truncate(mark.fields);
    }

    /// Ends the field being appended to `text`. (Its offsets fit in u32: a
    /// record is at most `max_record_bytes` and a buffer of several is
    /// flushed at a few MB.)
    fn end_field(&mut self) {
        self.ends.push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }
}

/// Fields as undecoded bytes (see [`FieldBuf`]).
#[derive(Debug, Default)]
struct FieldBytes {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

/// Splits one complete raw record (line end included) into fields appended
/// to `bytes`, each one's end pushed to `ends`: a quoted field loses its
/// quotes and doubled quotes become one; a quote elsewhere in a field is
/// kept as data, as PostgreSQL's COPY and most spreadsheets do. Only
/// delimiter and quote bytes are left out, so pieces of valid UTF-8 cut at
/// ASCII separators stay valid UTF-8.
fn split_into(raw: &[u8], delim: u8, quote: u8, bytes: &mut Vec<u8>, ends: &mut Vec<u32>) {
    let raw = strip_line_end(raw);
    let field_end = |from: usize| raw[from..].iter().position(|&b| b == delim).map_or(raw.len(), |d| from + d);
    let mut i = 0;
    loop {
        if raw.get(i) == Some(&quote) {
            i += 1;
            loop {
                match raw[i..].iter().position(|&b| b == quote) {
                    None => {
                        bytes.extend_from_slice(&raw[i..]);
                        i = raw.len();
                        break;
                    }
                    Some(at) => {
                        bytes.extend_from_slice(&raw[i..i + at]);
                        i += at + 1;
                        if raw.get(i) != Some(&quote) {
                            break;
                        }
                        bytes.push(quote);
                        i += 1;
                    }
                }
            }
        }
        let end = field_end(i);
        bytes.extend_from_slice(&raw[i..end]);
        ends.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        if end >= raw.len() {
            return;
        }
        i = end + 1;
    }
}

/// The fields of one raw record decoded into `out` (empty): the record is
/// checked once, not field by field. On an error `out` may hold part of
/// the record.
fn decode_into(opts: &CsvOptions, raw: &[u8], scratch: &mut FieldBytes, out: &mut FieldBuf) -> Result<(), Problem> {
    if raw.contains(&0) {
        return Err(Problem::NulByte);
    }
    let (delim, quote) = (opts.delimiter, opts.quote);
    match opts.encoding {
        Encoding::Utf8 => {
            if let Err(e) = std::str::from_utf8(raw) {
                return Err(Problem::InvalidEncoding { byte_offset: e.valid_up_to() });
            }
            if delim.is_ascii() && quote.is_ascii() {
                // SAFETY: only pieces of valid UTF-8 cut at ASCII bytes are
                // appended (split_into), so the text stays valid UTF-8.
                split_into(raw, delim, quote, unsafe { out.text.as_mut_vec() }, &mut out.ends);
                return Ok(());
            }
        }
        Encoding::Latin1 => {}
    }
    // Separators that are not ASCII, or LATIN1: split first, then decode
    // field by field.
    scratch.bytes.clear();
    scratch.ends.clear();
    split_into(raw, delim, quote, &mut scratch.bytes, &mut scratch.ends);
    let mut start = 0;
    for &end in &scratch.ends {
        let bytes = &scratch.bytes[start..end as usize];
        match opts.encoding {
            Encoding::Utf8 => out.push(
                std::str::from_utf8(bytes)
                    .map_err(|_| Problem::InvalidEncoding { byte_offset: first_invalid_utf8(raw).unwrap_or(0) })?,
            ),
            Encoding::Latin1 => {
                out.text.extend(bytes.iter().map(|&b| b as char));
                out.end_field();
            }
        }
        start = end as usize;
    }
    Ok(())
}

/// Reads `Item`s from any byte stream. A UTF-8 byte-order mark at the very
/// start is skipped; CRLF and LF line ends are both accepted.
pub struct CsvReader<R: Read> {
    input: R,
    opts: CsvOptions,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    eof: bool,
    /// Line number at `pos`.
    line: u64,
    started: bool,
    /// the bytes of a record's fields before they are decoded, for the
    /// encodings that cannot be appended as they are (LATIN1)
    scratch: FieldBytes,
}

const CHUNK: usize = 256 * 1024;

/// How far a scan for one record got.
enum Scan {
    /// The record ends at this index (exclusive, after its line end) and
    /// spans that many line breaks.
    Complete { end: usize, newlines: u64 },
    NeedMore,
    /// End of input inside a quoted field.
    OpenQuote,
}

impl<R: Read> CsvReader<R> {
    /// How the file's bytes are read as text.
    pub fn encoding(&self) -> Encoding {
        self.opts.encoding
    }

    pub fn new(input: R, opts: CsvOptions) -> Self {
        CsvReader { input, opts, buf: Vec::with_capacity(CHUNK), pos: 0, eof: false, line: 1, started: false, scratch: FieldBytes::default() }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Finds the end of the record starting at `self.pos`, resuming a scan is
    /// not needed: records are small next to the chunk size, so rescanning
    /// from the start after a refill costs little. Jumps from one special
    /// byte to the next rather than branching on every byte.
    fn scan_record(&self) -> Scan {
        let bytes = &self.buf[self.pos..];
        let (delim, quote) = (self.opts.delimiter, self.opts.quote);
        let mut newlines = 0u64;
        let mut i = 0;
        loop {
            // outside quotes: the record ends at the next newline, unless a
            // quote opens a quoted field first (only at a field's start)
            match bytes[i..].iter().position(|&b| b == b'\n' || b == quote) {
                None => break,
                Some(at) => {
                    i += at;
                    if bytes[i] == b'\n' {
                        return Scan::Complete { end: i + 1, newlines: newlines + 1 };
                    }
                    let at_field_start = i == 0 || bytes[i - 1] == delim;
                    i += 1;
                    if !at_field_start {
                        continue;
                    }
                }
            }
            // inside quotes: up to the closing quote; a doubled quote is data
            loop {
                match bytes[i..].iter().position(|&b| b == quote) {
                    None => {
                        return if self.eof { Scan::OpenQuote } else { Scan::NeedMore };
                    }
                    Some(at) => {
                        newlines += bytes[i..i + at].iter().filter(|&&b| b == b'\n').count() as u64;
                        i += at + 1;
                        match bytes.get(i) {
                            Some(&b) if b == quote => i += 1,
                            Some(_) => break,
                            // a quote at the end of the buffer: closing or doubled?
                            None if !self.eof => return Scan::NeedMore,
                            None => break,
                        }
                    }
                }
            }
            // (a quote right after the closing one would have been doubled;
            // any later one in this field is data)
        }
        if !self.eof {
            Scan::NeedMore
        } else {
            Scan::Complete { end: bytes.len(), newlines }
        }
    }

    fn raw_text(&self, raw: &[u8]) -> String {
        let raw = strip_line_end(raw);
        match self.opts.encoding {
            Encoding::Latin1 => raw.iter().map(|&b| if b == 0 { "\\x00".to_string() } else { (b as char).to_string() }).collect(),
            Encoding::Utf8 => escape_invalid_utf8(raw),
        }
    }

    /// Rejects the first physical line of the current record and resumes
    /// reading right after it. The line may not be buffered in full yet (a
    /// stray quote near a very long line): read on to its end, keeping at most
    /// `max_record_bytes` of it as the raw text.
    fn reject_first_line(&mut self, problem: Problem) -> io::Result<Malformed> {
        let cap = self.opts.max_record_bytes;
        let mut raw = Vec::new();
        let mut dropped = 0usize;
        loop {
            let bytes = &self.buf[self.pos..];
            let (take, done) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (bytes.len(), self.eof),
            };
            let keep = take.min(cap.saturating_sub(raw.len()));
            raw.extend_from_slice(&bytes[..keep]);
            dropped += take - keep;
            self.pos += take;
            if done {
                break;
            }
            self.fill()?;
        }
        let mut raw = self.raw_text(&raw);
        if dropped > 0 {
            raw.push_str(&format!("... [{dropped} more bytes of this line not kept]"));
        }
        let malformed = Malformed { line: self.line, raw, problem };
        self.line += 1;
        Ok(malformed)
    }

    /// The next record, its fields decoded into `fields` (cleared first),
    /// or the next malformed one. Allocates nothing once `fields` has grown
    /// to the longest record.
    pub fn next_into(&mut self, fields: &mut FieldBuf) -> io::Result<Option<Next>> {
        fields.clear();
        self.next_append(fields)
    }

    /// [`Self::next_into`], the record's fields appended to those `fields`
    /// holds already (a malformed record appends none).
    pub fn next_append(&mut self, fields: &mut FieldBuf) -> io::Result<Option<Next>> {
        let before = fields.mark();
        loop {
            if !self.started {
                while self.buf.len() - self.pos < 3 && !self.eof {
                    self.fill()?;
                }
                if self.buf[self.pos..].starts_with(b"\xEF\xBB\xBF") {
                    self.pos += 3;
                }
                self.started = true;
            }
            if self.pos >= self.buf.len() {
                if self.eof {
                    return Ok(None);
                }
                self.fill()?;
                continue;
            }
            match self.scan_record() {
                Scan::NeedMore => {
                    if self.buf.len() - self.pos > self.opts.max_record_bytes {
                        let limit = self.opts.max_record_bytes;
                        return Ok(Some(Next::Malformed(self.reject_first_line(Problem::RecordTooLong { limit })?)));
                    }
                    self.fill()?;
                }
                Scan::OpenQuote => return Ok(Some(Next::Malformed(self.reject_first_line(Problem::UnterminatedQuote)?))),
                Scan::Complete { end, newlines } => {
                    let start = self.pos;
                    let line = self.line;
                    self.pos += end;
                    self.line += newlines;
                    let raw = &self.buf[start..start + end];
                    return Ok(Some(match decode_into(&self.opts, raw, &mut self.scratch, fields) {
                        Ok(()) => Next::Record { line },
                        Err(problem) => {
                            fields.truncate(before);
                            Next::Malformed(Malformed { line, raw: self.raw_text(raw), problem })
                        }
                    }));
                }
            }
        }
    }

    /// The next item with its fields as Strings (a [`FieldBuf`] per call:
    /// for callers that keep the records, not for a whole file).
    pub fn next_item(&mut self) -> io::Result<Option<Item>> {
        let mut fields = FieldBuf::default();
        Ok(self.next_into(&mut fields)?.map(|next| match next {
            Next::Record { line } => Item::Record(Record { line, fields: fields.to_strings() }),
            Next::Malformed(m) => Item::Malformed(m),
        }))
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = io::Result<Item>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

fn strip_line_end(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

fn first_invalid_utf8(bytes: &[u8]) -> Option<usize> {
    std::str::from_utf8(bytes).err().map(|e| e.valid_up_to())
}

/// Valid UTF-8 is kept as is; every other byte, and NUL, becomes `\xNN`.
pub fn escape_invalid_utf8(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                push_escaping_nul(&mut out, s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                push_escaping_nul(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    out.push_str(&format!("\\x{b:02X}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn push_escaping_nul(out: &mut String, s: &str) {
    if s.contains('\0') {
        out.push_str(&s.replace('\0', "\\x00"));
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(input: &[u8]) -> Vec<Item> {
        items_with(input, CsvOptions::default())
    }

    fn items_with(input: &[u8], opts: CsvOptions) -> Vec<Item> {
        CsvReader::new(input, opts).map(|r| r.unwrap()).collect()
    }

    fn rec(line: u64, fields: &[&str]) -> Item {
        Item::Record(Record { line, fields: fields.iter().map(|s| s.to_string()).collect() })
    }

    #[test]
    fn plain_records_with_line_numbers() {
        assert_eq!(items(b"a,b\n1,2\n"), vec![rec(1, &["a", "b"]), rec(2, &["1", "2"])]);
    }

    #[test]
    fn last_line_without_newline_and_crlf() {
        assert_eq!(items(b"a,b\r\n1,2"), vec![rec(1, &["a", "b"]), rec(2, &["1", "2"])]);
    }

    #[test]
    fn bom_is_skipped() {
        assert_eq!(items(b"\xEF\xBB\xBFa,b\n"), vec![rec(1, &["a", "b"])]);
    }

    #[test]
    fn quoted_fields_with_delimiters_quotes_and_newlines() {
        let got = items(b"\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext,1,2\n");
        assert_eq!(got, vec![rec(1, &["x, y", "say \"hi\"", "two\nlines"]), rec(3, &["next", "1", "2"])]);
    }

    #[test]
    fn empty_fields_and_empty_input() {
        assert_eq!(items(b",,\n"), vec![rec(1, &["", "", ""])]);
        assert_eq!(items(b""), vec![]);
        assert_eq!(items(b"\xEF\xBB\xBF"), vec![]);
    }

    #[test]
    fn blank_line_is_a_record_with_one_empty_field() {
        // The caller rejects it for its field count; it is not silently skipped.
        assert_eq!(items(b"a\n\nb\n"), vec![rec(1, &["a"]), rec(2, &[""]), rec(3, &["b"])]);
    }

    #[test]
    fn unterminated_quote_rejects_one_line_and_resumes() {
        let got = items(b"a,b\n\"open,1\n2,3\n4,5\n");
        assert_eq!(
            got,
            vec![
                rec(1, &["a", "b"]),
                Item::Malformed(Malformed { line: 2, raw: "\"open,1".into(), problem: Problem::UnterminatedQuote }),
                rec(3, &["2", "3"]),
                rec(4, &["4", "5"]),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_malformed_with_escaped_raw() {
        let got = items(b"ok,1\nbad\xff,2\nok,3\n");
        assert_eq!(got[1], Item::Malformed(Malformed {
            line: 2,
            raw: "bad\\xFF,2".into(),
            problem: Problem::InvalidEncoding { byte_offset: 3 },
        }));
        assert_eq!(got[2], rec(3, &["ok", "3"]));
    }

    #[test]
    fn latin1_decodes_every_byte() {
        let opts = CsvOptions { encoding: Encoding::Latin1, ..Default::default() };
        assert_eq!(items_with(b"\xa3 5,caf\xe9\n", opts), vec![rec(1, &["£ 5", "café"])]);
    }

    #[test]
    fn nul_byte_is_malformed() {
        let got = items(b"a\0b,1\n");
        assert!(matches!(&got[0], Item::Malformed(m) if m.problem == Problem::NulByte && m.raw == "a\\x00b,1"));
    }

    #[test]
    fn record_too_long_resumes_on_next_line() {
        let opts = CsvOptions { max_record_bytes: 10, ..Default::default() };
        let mut input = b"\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', CHUNK * 2));
        input.extend(b"\nfine,1\n");
        let got = items_with(&input, opts);
        assert_eq!(got.len(), 2);
        match &got[0] {
            Item::Malformed(m) => {
                assert_eq!(m.problem, Problem::RecordTooLong { limit: 10 });
                assert!(m.raw.starts_with("\"xxxxxxxxx...") && m.raw.ends_with("more bytes of this line not kept]"));
            }
            other => panic!("expected a malformed record, got a record of {} bytes", format!("{other:?}").len()),
        }
        assert_eq!(got[1], rec(2, &["fine", "1"]));
    }

    #[test]
    fn records_spanning_chunk_boundaries() {
        let big = "y".repeat(CHUNK + 17);
        let input = format!("\"{big}\",1\nz,2\n");
        assert_eq!(items(input.as_bytes()), vec![rec(1, &[&big, "1"]), rec(2, &["z", "2"])]);
    }

    #[test]
    fn other_delimiter_and_quote() {
        let opts = CsvOptions { delimiter: b';', quote: b'\'', ..Default::default() };
        assert_eq!(items_with(b"'a;b';c\n", opts), vec![rec(1, &["a;b", "c"])]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9 ]{0,8}",
                "[a-z,\"\n\r ]{0,8}",
                any::<String>().prop_map(|s| s.replace('\0', "")),
            ]
        }

        fn encode(rows: &[Vec<String>], crlf: bool) -> Vec<u8> {
            let mut out = String::new();
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|f| {
                        if f.contains([',', '"', '\n', '\r']) || f.is_empty() {
                            format!("\"{}\"", f.replace('"', "\"\""))
                        } else {
                            f.clone()
                        }
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push_str(if crlf { "\r\n" } else { "\n" });
            }
            out.into_bytes()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever a CSV writer produces reads back field for field.
            #[test]
            fn round_trip(rows in prop::collection::vec(prop::collection::vec(field(), 1..5), 0..20), crlf: bool) {
                let input = encode(&rows, crlf);
                let got: Vec<Vec<String>> = items(&input).into_iter().map(|i| match i {
                    Item::Record(r) => r.fields,
                    other => panic!("unexpected {other:?}"),
                }).collect();
                prop_assert_eq!(got, rows);
            }

            /// Arbitrary bytes never panic, and every line of the input is
            /// accounted for: records and rejects start on increasing lines
            /// and the last one is not past the end of the file.
            #[test]
            fn arbitrary_bytes_account_for_every_line(input in prop::collection::vec(any::<u8>(), 0..400)) {
                let lines = input.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                let mut last = 0;
                for item in items(&input) {
                    let line = match item { Item::Record(r) => r.line, Item::Malformed(m) => m.line };
                    prop_assert!(line > last && line <= lines);
                    last = line;
                }
            }
        }
    }
}
