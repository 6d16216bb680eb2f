//! One CSV row per scanned file, ready for a spreadsheet.
//!
//! The columns are [`HEADER`]: `file, merchant, date, time, currency, subtotal, tax, tip, total,
//! payment_method, engine, total_confidence, error`. Quoting follows RFC 4180 (the `csv` crate
//! quotes a field holding a comma, a quote or a line break, and doubles quotes); lines end in
//! `\r\n` as RFC 4180 says; the text is UTF-8 without a byte-order mark.
//!
//! - Amounts are plain decimals as printed on the receipt: `12.96`, `-0.05`, no currency symbol,
//!   no thousands separator, always a `.` point — the `currency` column holds the ISO code.
//! - A field the parser did not find is empty. `total_confidence` is the parser's confidence in
//!   the total, 0–100, empty when no total was found.
//! - A failed scan has `file`, `engine` and the message in `error`; every other field is empty.
//!   A successful one has an empty `error`, so a spreadsheet filter on that column separates them.
//! - Text that a spreadsheet would run as a formula (a cell starting with `=`, `+`, `-`, `@`, a tab
//!   or a carriage return, e.g. a merchant OCR read as `=HYPERLINK(…)`) gets a leading `'`, the
//!   usual guard against CSV injection. It applies to `file`, `merchant`, `engine` and `error`;
//!   amounts are never prefixed (a negative amount stays `-0.05`).

use std::io::{self, Write};
use std::path::Path;

use receipt_parse::{Amount, PaymentMethod, Receipt};

use crate::{OutputError, Scanned};

/// The header row, in column order.
pub const HEADER: [&str; 13] = [
    "file",
    "merchant",
    "date",
    "time",
    "currency",
    "subtotal",
    "tax",
    "tip",
    "total",
    "payment_method",
    "engine",
    "total_confidence",
    "error",
];

/// Writes rows as results arrive; the header is written on creation.
///
/// ```
/// use scan_output::{CsvWriter, Scanned};
///
/// let mut csv = CsvWriter::new(Vec::new())?;
/// csv.write(&Scanned::parsed("a.jpg", "tesseract", receipt_parse::parse("SHOP\nTotal 12.96")))?;
/// csv.write(&Scanned::failed("b.jpg", "tesseract", "tesseract exited with 1"))?;
/// let text = String::from_utf8(csv.finish()?).unwrap();
/// assert!(text.contains("a.jpg,SHOP,,,,,,,12.96,,tesseract,"));
/// assert!(text.ends_with("b.jpg,,,,,,,,,,tesseract,,tesseract exited with 1\r\n"));
/// # Ok::<(), scan_output::OutputError>(())
/// ```
pub struct CsvWriter<W: Write> {
    inner: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a CSV on `out` and writes the header row.
    pub fn new(out: W) -> Result<CsvWriter<W>, OutputError> {
        CsvWriter::start(out).map_err(|e| OutputError::write(None, e))
    }

    /// Writes the row of one scanned file.
    pub fn write(&mut self, scan: &Scanned) -> Result<(), OutputError> {
        self.write_row(scan)
            .map_err(|e| OutputError::write(None, e))
    }

    /// Flushes the rows and hands back the writer.
    pub fn finish(self) -> Result<W, OutputError> {
        self.into_inner().map_err(|e| OutputError::write(None, e))
    }

    fn start(out: W) -> io::Result<CsvWriter<W>> {
        let mut inner = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(out);
        inner.write_record(HEADER)?;
        Ok(CsvWriter { inner })
    }

    // The rows have a fixed length and the writer's only other failure is I/O, so a
    // `csv::Error` is an `io::Error` here (csv converts one into the other).
    fn write_row(&mut self, scan: &Scanned) -> io::Result<()> {
        Ok(self.inner.write_record(row(scan))?)
    }

    fn into_inner(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// Writes the header and one row per scanned file to `out`, flushes it and hands it back.
pub fn write_csv<W: Write>(out: W, scans: &[Scanned]) -> Result<W, OutputError> {
    write_all(out, scans).map_err(|e| OutputError::write(None, e))
}

/// Writes the CSV to `path` atomically: a temporary file in the same folder, renamed over `path`
/// once complete, so a half-written CSV never stands under the name.
pub fn save_csv(path: &Path, scans: &[Scanned]) -> Result<(), OutputError> {
    crate::save::save(path, |out| write_all(out, scans).map(drop))
}

fn write_all<W: Write>(out: W, scans: &[Scanned]) -> io::Result<W> {
    let mut csv = CsvWriter::start(out)?;
    for scan in scans {
        csv.write_row(scan)?;
    }
    csv.into_inner()
}

/// The cells of one row, in [`HEADER`] order.
fn row(scan: &Scanned) -> [String; 13] {
    let file = guard_formula(scan.input.display().to_string());
    let engine = guard_formula(scan.engine.clone());
    match &scan.outcome {
        Ok(r) => receipt_row(file, engine, r),
        Err(message) => {
            let mut cells: [String; 13] = Default::default();
            cells[0] = file;
            cells[10] = engine;
            cells[12] = guard_formula(message.clone());
            cells
        }
    }
}

fn receipt_row(file: String, engine: String, r: &Receipt) -> [String; 13] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let amount = |a: Option<Amount>| a.map(|a| a.to_string()).unwrap_or_default();
    let method = match r.payment.method {
        Some(PaymentMethod::Cash) => "cash",
        Some(PaymentMethod::Card) => "card",
        None => "",
    };
    let total_confidence = match r.total {
        Some(_) => r.confidence.total.to_string(),
        None => String::new(),
    };
    [
        file,
        guard_formula(text(&r.merchant)),
        text(&r.date),
        text(&r.time),
        r.currency.map(|c| c.code().to_string()).unwrap_or_default(),
        amount(r.subtotal),
        amount(r.tax),
        amount(r.tip),
        amount(r.total),
        method.to_string(),
        engine,
        total_confidence,
        String::new(),
    ]
}

/// Prefixes `'` to text a spreadsheet would evaluate as a formula.
fn guard_formula(text: String) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(scans: &[Scanned]) -> String {
        String::from_utf8(write_csv(Vec::new(), scans).unwrap()).unwrap()
    }

    #[test]
    fn header_names_every_column_once() {
        let text = csv_of(&[]);
        assert_eq!(
            text,
            "file,merchant,date,time,currency,subtotal,tax,tip,total,payment_method,engine,\
             total_confidence,error\r\n"
        );
    }

    #[test]
    fn quotes_commas_quotes_and_line_breaks_as_rfc_4180_says() {
        let scan = Scanned::failed("a, \"b\".jpg", "tesseract", "line one\nline two");
        let text = csv_of(&[scan]);
        let row = text.split_once("\r\n").unwrap().1;
        assert_eq!(
            row,
            "\"a, \"\"b\"\".jpg\",,,,,,,,,,tesseract,,\"line one\nline two\"\r\n"
        );
    }

    #[test]
    fn amounts_are_plain_decimals_with_a_point() {
        let r = receipt_parse::parse(
            "CAFE KRONE GmbH\nDatum 24.12.2019 18:05\nKaffee 2,80\nKuchen 3,90\nSumme EUR 1.006,70\nBar 1.010,00\nRückgeld 3,30",
        );
        let text = csv_of(&[Scanned::parsed("k.jpg", "tesseract", r)]);
        let row = text.split_once("\r\n").unwrap().1;
        assert!(
            row.starts_with(
                "k.jpg,CAFE KRONE GmbH,2019-12-24,18:05,EUR,,,,1006.70,cash,tesseract,"
            ),
            "{row}"
        );
    }

    #[test]
    fn formula_like_text_is_defused_but_negative_amounts_are_not() {
        assert_eq!(
            guard_formula("=HYPERLINK(\"x\")".into()),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(guard_formula("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(guard_formula("Corner Store".into()), "Corner Store");
        let mut r = Receipt {
            merchant: Some("+1 Shop".into()),
            total: Some(Amount::new(-5, 2)),
            ..Receipt::default()
        };
        r.confidence.total = 40;
        let text = csv_of(&[Scanned::parsed("r.txt", "text", r)]);
        let row = text.split_once("\r\n").unwrap().1;
        assert_eq!(row, "r.txt,'+1 Shop,,,,,,,-0.05,,text,40,\r\n");
    }

    #[test]
    fn streams_rows_as_they_are_written() {
        let mut csv = CsvWriter::new(Vec::new()).unwrap();
        csv.write(&Scanned::failed("a.jpg", "ocrspace", "rate limited"))
            .unwrap();
        let out = csv.finish().unwrap();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
    }
}
