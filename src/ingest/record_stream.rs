//! A CSV file's records as a stream of events, produced on a helper thread
//! while the backend writes the previous ones: the header mapped onto the
//! source's columns, each record's fields put in column order, records that
//! cannot be rows refused (blank line, wrong field count, malformed), and
//! any per-record work that needs no PostgreSQL call ([`Prepare`], e.g. the
//! Online Retail rules) done here too. Reading and checking a file is about
//! half of a load's checking pass; on another core it overlaps the
//! backend's inserts.
//!
//! Pure Rust, no pgrx: nothing here may call PostgreSQL (it runs off the
//! backend's thread). `read_csv_file` in `mod.rs` spawns it and consumes
//! the events.
use super::csv_reader::{CsvReader, FieldBuf, Next};
use std::io::Read;
use std::sync::mpsc::SyncSender;

/// Per-record work done on the reader thread, in file order.
pub trait Prepare: Send + 'static {
    type Prepared: Send + 'static;
    /// `fields` are in the source's column order.
    fn prepare(&mut self, fields: RecordFields<'_>) -> Self::Prepared;
}

/// Nothing to prepare (`import_csv` stages the text as it is).
impl Prepare for () {
    type Prepared = ();
    fn prepare(&mut self, _: RecordFields<'_>) {}
}

pub enum Event<P> {
    /// A record with the source's field count: its fields are the next ones
    /// of the message ([`Records::fields`]).
    Record { line: u64, prepared: P },
    /// A record refused before any rule: its raw text, or its fields in
    /// file order.
    Refused { line: u64, reason: &'static str, message: String, raw_text: Option<String>, raw_fields: Option<Vec<String>> },
}

/// A message's records: their fields in one buffer. (Per-field Strings
/// made on the reader thread and freed on the backend's made glibc's
/// allocator lock its arena for every one of them: the pass ran 50 %
/// slower than on one thread.)
pub struct Records<P> {
    /// the fields of the records in order, in column order
    fields: FieldBuf,
    pub events: Vec<Event<P>>,
}

impl<P> Records<P> {
    fn new() -> Self {
        Records { fields: FieldBuf::with_capacity(EVENTS_PER_MESSAGE * 128), events: Vec::with_capacity(EVENTS_PER_MESSAGE) }
    }

    /// The fields of the records, `columns` per record, in event order.
    pub fn fields(&self, columns: usize) -> impl Iterator<Item = RecordFields<'_>> {
        let ends = self.fields.ends();
        ends.chunks_exact(columns.max(1)).enumerate().map(move |(i, record_ends)| RecordFields {
            text: self.fields.text(),
            start: if i == 0 { 0 } else { ends[i * columns - 1] },
            ends: record_ends,
        })
    }

    /// The fields of the last record, of `columns` fields.
    fn last(&self, columns: usize) -> RecordFields<'_> {
        let ends = self.fields.ends();
        let first = ends.len() - columns;
        RecordFields { text: self.fields.text(), start: if first == 0 { 0 } else { ends[first - 1] }, ends: &ends[first..] }
    }
}

/// One record's fields, in column order. (Made only here, from a
/// [`FieldBuf`]'s text and ends: `get` relies on it.)
#[derive(Clone, Copy)]
pub struct RecordFields<'a> {
    text: &'a str,
    start: u32,
    ends: &'a [u32],
}

impl<'a> RecordFields<'a> {
    pub fn get(&self, i: usize) -> &'a str {
        let (start, end) = self.bounds(i);
        // SAFETY: `text` was built by appending whole strs and `ends` holds
        // its length after each (FieldBuf::push), so both bounds are
        // character boundaries within it. (The checked slice was a tenth
        // of the backend's work per line.)
        debug_assert!(self.text.is_char_boundary(start) && self.text.is_char_boundary(end) && end <= self.text.len());
        unsafe { self.text.get_unchecked(start..end) }
    }

    /// Where field `i` starts and ends in `text`.
    fn bounds(&self, i: usize) -> (usize, usize) {
        let start = if i == 0 { self.start } else { self.ends[i - 1] };
        (start as usize, self.ends[i] as usize)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.ends.len()).map(|i| self.get(i))
    }
}

/// Why reading stopped before the end of the file.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// the file could not be read (the I/O error)
    Read(String),
    /// `header => true`, and the first record's names are not the source's
    HeaderMismatch { line: u64, fields: Vec<String> },
}

pub enum Message<P> {
    Records(Records<P>),
    /// The last message: the records read (header excluded), or why not all.
    End(Result<i64, Stop>),
}

/// Events per message: few enough to bound memory, enough that the channel
/// costs nothing per record.
pub const EVENTS_PER_MESSAGE: usize = 1024;
/// A message is sent once its text reaches this size, whatever its records.
const MESSAGE_TEXT_BYTES: usize = 8 << 20;

/// Where a piece of text lies among a record's fields: what the reader
/// thread hands over instead of a `&str` into fields that move with the
/// event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldText {
    field: u32,
    start: u32,
    end: u32,
}

impl FieldText {
    /// The empty text, wherever it came from.
    const EMPTY: FieldText = FieldText { field: u32::MAX, start: 0, end: 0 };

    /// Where `text`, a slice of one of `fields` (or empty), lies.
    pub fn locate(fields: &RecordFields, text: &str) -> FieldText {
        if text.is_empty() {
            return FieldText::EMPTY;
        }
        // (offsets in the record's buffer, not its fields sliced one by one)
        let at = (text.as_ptr() as usize).wrapping_sub(fields.text.as_ptr() as usize);
        (0..fields.len())
            .find_map(|i| {
                let (start, end) = fields.bounds(i);
                (at >= start && at + text.len() <= end)
                    .then(|| FieldText { field: i as u32, start: (at - start) as u32, end: (at - start + text.len()) as u32 })
            })
            .expect("the text is a slice of one of the record's fields")
    }

    /// The text in `fields`, the same fields `locate` was given.
    pub fn resolve<'a>(self, fields: &RecordFields<'a>) -> &'a str {
        if self.field == u32::MAX {
            return "";
        }
        &fields.get(self.field as usize)[self.start as usize..self.end as usize]
    }
}

/// Lower-cased letters and digits only: "InvoiceNo" and "invoice_no" match.
pub fn header_key(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Where each file column goes: `slots[i]` is the column index of file
/// field `i`.
pub fn map_header(fields: &[String], columns: &[String]) -> Option<Vec<usize>> {
    let keys: Vec<String> = columns.iter().map(|c| header_key(c)).collect();
    let slots: Option<Vec<usize>> = fields.iter().map(|f| keys.iter().position(|k| *k == header_key(f))).collect();
    let slots = slots?;
    let mut seen = slots.clone();
    seen.sort_unstable();
    seen.dedup();
    (seen.len() == columns.len() && slots.len() == columns.len()).then_some(slots)
}

/// Reads every record of `reader` and sends them to `out` as events, then
/// an `End`. `header`: NULL detects a header (the first record names the
/// columns), true requires one, false means none. Returns early, quietly,
/// when the receiver has gone (the backend stopped on an error).
pub fn stream_records<R: Read, P: Prepare>(
    mut reader: CsvReader<R>,
    columns: &[String],
    header: Option<bool>,
    mut prepare: P,
    out: &SyncSender<Message<P::Prepared>>,
) {
    // file_field[c]: the file field that goes to column c
    let mut file_field: Option<Vec<usize>> = None;
    let mut read: i64 = 0;
    let mut batch = Records::new();
    let mut record = FieldBuf::default();
    let end = loop {
        // Fields in the file's order go straight into the message; others
        // are read into `record` and put in column order.
        let direct = file_field.as_deref().is_some_and(|f| f.iter().enumerate().all(|(column, &field)| column == field));
        let mark = batch.fields.mark();
        let next = match if direct { reader.next_append(&mut batch.fields) } else { reader.next_into(&mut record) } {
            Ok(Some(next)) => next,
            Ok(None) => break Ok(read),
            Err(e) => break Err(Stop::Read(e.to_string())),
        };
        match next {
            Next::Malformed(m) => {
                read += 1;
                let message = m.problem.message(reader.encoding());
                batch.events.push(Event::Refused { line: m.line, reason: m.problem.code(), message, raw_text: Some(m.raw), raw_fields: None });
            }
            Next::Record { line } => {
                if file_field.is_none() {
                    let names = record.to_strings();
                    match (header, map_header(&names, columns)) {
                        (Some(false), _) | (None, None) => file_field = Some((0..columns.len()).collect()),
                        (_, Some(slots)) => {
                            let mut inverse = vec![0; columns.len()];
                            for (field, &slot) in slots.iter().enumerate() {
                                inverse[slot] = field;
                            }
                            file_field = Some(inverse);
                            continue;
                        }
                        (Some(true), None) => break Err(Stop::HeaderMismatch { line, fields: names }),
                    }
                }
                read += 1;
                let (fields, first) = if direct {
                    let appended = batch.fields.fields_since(mark);
                    (appended.len(), appended.start)
                } else {
                    (record.len(), 0)
                };
                let source = if direct { &batch.fields } else { &record };
                if fields == 1 && source.get(first).is_empty() && columns.len() > 1 {
                    if direct {
                        batch.fields.truncate(mark);
                    }
                    batch.events.push(Event::Refused {
                        line,
                        reason: "blank_line",
                        message: "the line is empty".into(),
                        raw_text: Some(String::new()),
                        raw_fields: None,
                    });
                } else if fields != columns.len() {
                    let message = format!("expected {} fields ({}), found {fields}", columns.len(), columns.join(", "));
                    let raw_fields = if direct { batch.fields.strings_since(mark) } else { record.to_strings() };
                    if direct {
                        batch.fields.truncate(mark);
                    }
                    batch.events.push(Event::Refused { line, reason: "wrong_field_count", message, raw_text: None, raw_fields: Some(raw_fields) });
                } else {
                    if !direct {
                        for &field in file_field.as_deref().unwrap_or_default() {
                            batch.fields.push(record.get(field));
                        }
                    }
                    let prepared = prepare.prepare(batch.last(columns.len()));
                    batch.events.push(Event::Record { line, prepared });
                }
            }
        }
        // (a record may be up to max_record_bytes: a message's text stays
        // far below 4 GB)
        if (batch.events.len() >= EVENTS_PER_MESSAGE || batch.fields.text().len() >= MESSAGE_TEXT_BYTES)
            && out.send(Message::Records(std::mem::replace(&mut batch, Records::new()))).is_err()
        {
            return;
        }
    };
    if !batch.events.is_empty() && out.send(Message::Records(batch)).is_err() {
        return;
    }
    let _ = out.send(Message::End(end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::csv_reader::CsvOptions;
    use std::sync::mpsc::sync_channel;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn field_buf(v: &[&str]) -> FieldBuf {
        let mut buf = FieldBuf::default();
        v.iter().for_each(|f| buf.push(f));
        buf
    }

    /// Counts the records it prepared and hands back (count, first field).
    struct Numbering(usize);
    impl Prepare for Numbering {
        type Prepared = (usize, String);
        fn prepare(&mut self, fields: RecordFields<'_>) -> (usize, String) {
            self.0 += 1;
            (self.0, fields.get(0).to_string())
        }
    }

    /// Streams `text` on a thread, as read_csv_file does: each event as
    /// text (a record's fields joined by `|`, then what was prepared), and the end.
    fn stream(text: &str, header: Option<bool>) -> (Vec<String>, Result<i64, Stop>) {
        let columns = strings(&["invoiceno", "stockcode", "quantity"]);
        let (tx, rx) = sync_channel(2);
        let input = text.as_bytes().to_vec();
        let thread_columns = columns.clone();
        let worker = std::thread::spawn(move || {
            stream_records(CsvReader::new(std::io::Cursor::new(input), CsvOptions::default()), &thread_columns, header, Numbering(0), &tx)
        });
        let mut seen = Vec::new();
        let end = loop {
            match rx.recv().expect("an End message") {
                Message::Records(batch) => {
                    let mut fields = batch.fields(columns.len());
                    for e in &batch.events {
                        seen.push(match e {
                            Event::Record { line, prepared } => {
                                let f = fields.next().expect("fields for each record");
                                assert_eq!(prepared.1, f.get(0), "prepared from the same fields");
                                format!("{line} {} {}", f.iter().collect::<Vec<_>>().join("|"), prepared.0)
                            }
                            Event::Refused { line, reason, raw_fields, .. } => format!("{line} {reason} {raw_fields:?}"),
                        });
                    }
                    assert!(fields.next().is_none(), "no fields left over");
                }
                Message::End(end) => break end,
            }
        };
        worker.join().expect("the reader thread ends");
        (seen, end)
    }

    #[test]
    fn field_text_finds_a_slice_again_in_the_copied_fields() {
        let read = field_buf(&["  536365 ", "85123A", "17850.0"]);
        let fields = RecordFields { text: read.text(), start: 0, ends: read.ends() };
        let located: Vec<FieldText> = [fields.get(0).trim(), &fields.get(2)[..5], fields.get(1), ""]
            .iter()
            .map(|t| FieldText::locate(&fields, t))
            .collect();
        // the same fields after other records' in a message's buffer
        let copied = RecordFields { text: "xy  536365 85123A17850.0", start: 2, ends: &[11, 17, 24] };
        let again: Vec<&str> = located.iter().map(|t| t.resolve(&copied)).collect();
        assert_eq!(again, vec!["536365", "17850", "85123A", ""]);
    }

    #[test]
    #[should_panic(expected = "slice of one of the record's fields")]
    fn field_text_refuses_text_from_elsewhere() {
        let read = field_buf(&["a"]);
        FieldText::locate(&RecordFields { text: read.text(), start: 0, ends: read.ends() }, "elsewhere");
    }

    #[test]
    fn header_matching_ignores_case_punctuation_and_order() {
        let cols = strings(&["invoiceno", "stockcode", "customerid"]);
        assert_eq!(map_header(&strings(&["InvoiceNo", "StockCode", "CustomerID"]), &cols), Some(vec![0, 1, 2]));
        assert_eq!(map_header(&strings(&["customer_id", "invoice_no", "stock_code"]), &cols), Some(vec![2, 0, 1]));
        assert_eq!(map_header(&strings(&["536365", "85123A", "17850.0"]), &cols), None);
        assert_eq!(map_header(&strings(&["InvoiceNo", "InvoiceNo", "CustomerID"]), &cols), None);
        assert_eq!(map_header(&strings(&["InvoiceNo", "StockCode"]), &cols), None);
    }

    #[test]
    fn records_come_in_file_order_in_column_order_with_refusals_between() {
        let (seen, end) = stream("Quantity,InvoiceNo,StockCode\n6,536365,85123A\n\n1,2\n,,\n\"open,x,y\n", None);
        assert_eq!(end, Ok(5));
        assert_eq!(
            seen,
            vec![
                "2 536365|85123A|6 1".to_string(),
                "3 blank_line None".to_string(),
                "4 wrong_field_count Some([\"1\", \"2\"])".to_string(),
                "5 || 2".to_string(),
                "6 unterminated_quote None".to_string(),
            ]
        );
    }

    #[test]
    fn records_in_column_order_go_straight_into_the_message_and_refusals_leave_nothing() {
        // the header in column order (and none at all): fields are appended
        // to the message as read; a refused record's fields are taken out
        let body = "536365,85123A,6\n\n1,2\n1,2,3,4\n\"open,x,y\n536366,22633,1\n";
        let expected = vec![
            "2 536365|85123A|6 1".to_string(),
            "3 blank_line None".to_string(),
            "4 wrong_field_count Some([\"1\", \"2\"])".to_string(),
            "5 wrong_field_count Some([\"1\", \"2\", \"3\", \"4\"])".to_string(),
            "6 unterminated_quote None".to_string(),
            // (an unterminated quote refuses its first line only)
            "7 536366|22633|1 2".to_string(),
        ];
        let (seen, end) = stream(&format!("InvoiceNo,StockCode,Quantity\n{body}"), None);
        assert_eq!(end, Ok(6));
        assert_eq!(seen, expected);
        let (seen, end) = stream(body, Some(false));
        assert_eq!(end, Ok(6));
        let shifted: Vec<String> = expected
            .iter()
            .map(|e| {
                let (line, rest) = e.split_once(' ').unwrap();
                format!("{} {rest}", line.parse::<u64>().unwrap() - 1)
            })
            .collect();
        assert_eq!(seen, shifted);
    }

    #[test]
    fn many_records_cross_message_boundaries_without_loss() {
        let n = EVENTS_PER_MESSAGE * 3 + 7;
        let text: String = (1..=n).map(|i| format!("{i},P{i},1\n")).collect();
        let (seen, end) = stream(&text, Some(false));
        assert_eq!(end, Ok(n as i64));
        let expected: Vec<String> = (1..=n).map(|i| format!("{i} {i}|P{i}|1 {i}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_required_header_that_does_not_match_stops_the_stream() {
        let (seen, end) = stream("a,b,c\n1,2,3\n", Some(true));
        assert!(seen.is_empty());
        assert_eq!(end, Err(Stop::HeaderMismatch { line: 1, fields: strings(&["a", "b", "c"]) }));
    }

    #[test]
    fn the_stream_stops_quietly_when_the_receiver_is_gone() {
        let (tx, rx) = sync_channel(1);
        drop(rx);
        let text: String = (1..=5000).map(|i| format!("{i},P,1\n")).collect();
        let columns = strings(&["invoiceno", "stockcode", "quantity"]);
        // returns instead of blocking or panicking
        stream_records(CsvReader::new(std::io::Cursor::new(text.into_bytes()), CsvOptions::default()), &columns, None, (), &tx);
    }
}
