//! One self-contained HTML page about a batch of scanned receipts.
//!
//! The page shows, in input order, each receipt's picture beside its fields; then the failed
//! scans with their errors; and, at the top, the totals summed per currency. It needs nothing
//! but itself: the CSS is inline, each picture is a JPEG thumbnail in a `data:` URI, and a
//! Content-Security-Policy (`default-src 'none'`) forbids the page any network request, so it
//! opens the same offline, attached to a mail or from a USB stick.
//!
//! - Thumbnails: the image is decoded with the `image` crate (JPEG, PNG, WebP, GIF, BMP, TIFF),
//!   turned upright by its EXIF orientation, scaled down to [`THUMBNAIL_WIDTH`] pixels wide (never
//!   up) and re-encoded as JPEG at quality 80 — a few kB each. A `.txt` input (OCR text) shows its
//!   first lines instead; a file that cannot be decoded shows why.
//! - Low confidence: a field found with a confidence below [`LOW_CONFIDENCE`] (the parser's 0–100
//!   scale) is marked `⚠ low` and highlighted, its confidence in the tooltip. On the parser's
//!   scale, 50 separates the fields it found by a keyword or cross-check (60 and above) from those
//!   it guessed.
//! - Totals: summed per currency with exact decimals (integer minor units, never floats);
//!   receipts without a currency are summed on a row of their own, and the number of receipts
//!   without a total is stated, so the sums never silently leave something out.
//! - All text (file names, merchants, error messages) is HTML-escaped: a merchant named
//!   `<script>` is shown as text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use base64::Engine as _;
use image::{DynamicImage, ImageDecoder, ImageReader};
use receipt_parse::{Amount, PaymentMethod, Receipt};

use crate::{OutputError, Scanned};

/// Fields with a confidence below this (0–100) are marked as low.
pub const LOW_CONFIDENCE: u8 = 50;

/// The widest a thumbnail is, in pixels.
pub const THUMBNAIL_WIDTH: u32 = 320;

/// The tallest a thumbnail is, in pixels (a long till roll is scaled to fit).
const THUMBNAIL_MAX_HEIGHT: u32 = 4 * THUMBNAIL_WIDTH;

/// The lines of a `.txt` input shown in place of a picture.
const TEXT_PREVIEW_LINES: usize = 30;

/// The most of a `.txt` input read for its preview.
const TEXT_PREVIEW_BYTES: u64 = 16 * 1024;

/// Writes the report to `path` atomically: a temporary file in the same folder, renamed over
/// `path` once complete, so a half-written report never stands under the name.
pub fn save_report(path: &Path, scans: &[Scanned]) -> Result<(), OutputError> {
    crate::save::save(path, |out| write_html(out, scans))
}

/// Writes the report's HTML to `out`.
pub fn write_report<W: Write>(out: W, scans: &[Scanned]) -> Result<(), OutputError> {
    write_html(out, scans).map_err(|e| OutputError::write(None, e))
}

fn write_html<W: Write>(mut out: W, scans: &[Scanned]) -> io::Result<()> {
    let failed: Vec<&Scanned> = scans.iter().filter(|s| s.error().is_some()).collect();
    let read = scans.len() - failed.len();
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Receipts: {} scanned</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Receipts</h1>\n<p class=\"summary\">{} files: <span id=\"read\">{read}</span> read, \
         <span id=\"failed\">{}</span> failed. Fields found with a confidence below \
         {LOW_CONFIDENCE} (of 100) are marked <span class=\"low\">⚠ low</span>.</p>\n",
        scans.len(),
        scans.len(),
        failed.len(),
    );
    totals(&mut page, scans);
    out.write_all(page.as_bytes())?;

    out.write_all(b"<section id=\"receipts\">\n<h2>Receipts</h2>\n")?;
    for scan in scans {
        if let Ok(r) = &scan.outcome {
            // One receipt at a time, so the page's memory is one thumbnail's, not the batch's.
            let mut block = String::new();
            receipt_block(&mut block, scan, r);
            out.write_all(block.as_bytes())?;
        }
    }
    out.write_all(b"</section>\n")?;

    let mut tail = String::new();
    if !failed.is_empty() {
        tail.push_str("<section id=\"failures\">\n<h2>Failures</h2>\n<ul>\n");
        for scan in failed {
            let _ = writeln!(
                tail,
                "<li><code>{}</code>: {}</li>",
                escape(&scan.input.display().to_string()),
                escape(scan.error().unwrap_or_default())
            );
        }
        tail.push_str("</ul>\n</section>\n");
    }
    tail.push_str("</body>\n</html>\n");
    out.write_all(tail.as_bytes())?;
    out.flush()
}

const STYLE: &str = "
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; color: #222; background: #fff; }
table { border-collapse: collapse; }
th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.amount, dd.amount { font-variant-numeric: tabular-nums; }
.receipt { display: flex; gap: 1.5em; align-items: flex-start; padding: 1em 0;
  border-bottom: 1px solid #ddd; }
.receipt figure { margin: 0; width: 320px; flex: none; }
.receipt img { max-width: 100%; border: 1px solid #ccc; }
.receipt pre { font-size: 11px; background: #f6f6f6; padding: .5em; overflow: hidden;
  white-space: pre-wrap; max-height: 30em; }
.receipt h3 { margin: 0; word-break: break-all; }
.receipt .path { margin: 0 0 .5em; color: #888; font-size: 12px; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; margin: 0; }
dt { color: #666; }
dd { margin: 0; }
.low { background: #fff3cd; color: #7a4b00; }
.missing { color: #999; }
.noimage { color: #999; font-style: italic; }
#failures li { color: #a00; }
";

/// An exact sum of amounts: `minor / 10^scale`, in 128 bits so no batch can overflow it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum {
    minor: i128,
    scale: u8,
}

impl Sum {
    fn add(&mut self, a: Amount) {
        // Amounts carry at most 18 digits, so 10^(scale difference) fits in an i128.
        let pow = |d: u8| 10i128.pow(u32::from(d));
        if a.scale > self.scale {
            self.minor *= pow(a.scale - self.scale);
            self.scale = a.scale;
        }
        self.minor += i128::from(a.minor) * pow(self.scale - a.scale);
    }
}

impl std::fmt::Display for Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let pow = 10u128.pow(u32::from(self.scale));
        let width = usize::from(self.scale);
        write!(f, "{sign}{}.{:0width$}", abs / pow, abs % pow)
    }
}

/// Per currency code (`None` when the receipt named none): how many totals, and their sum.
fn sums(scans: &[Scanned]) -> (BTreeMap<Option<&'static str>, (usize, Sum)>, usize) {
    let mut sums: BTreeMap<Option<&'static str>, (usize, Sum)> = BTreeMap::new();
    let mut without_total = 0;
    for r in scans.iter().filter_map(Scanned::receipt) {
        let Some(total) = r.total else {
            without_total += 1;
            continue;
        };
        let entry = sums.entry(r.currency.map(|c| c.code())).or_default();
        entry.0 += 1;
        entry.1.add(total);
    }
    (sums, without_total)
}

fn totals(page: &mut String, scans: &[Scanned]) {
    let (sums, without_total) = sums(scans);
    page.push_str("<section id=\"totals\">\n<h2>Totals per currency</h2>\n");
    if sums.is_empty() {
        page.push_str("<p>No totals found.</p>\n");
    } else {
        page.push_str(
            "<table>\n<tr><th>Currency</th><th>Receipts</th><th>Sum of totals</th></tr>\n",
        );
        // Named currencies first (the map sorts `None` first, so it is written last).
        for (code, (count, sum)) in sums.iter().filter(|(c, _)| c.is_some()) {
            let code = code.unwrap_or_default();
            let _ = writeln!(
                page,
                "<tr><td>{code}</td><td>{count}</td>\
                 <td class=\"amount\" data-currency=\"{code}\">{sum}</td></tr>"
            );
        }
        if let Some((count, sum)) = sums.get(&None) {
            let _ = writeln!(
                page,
                "<tr><td class=\"missing\">no currency found</td><td>{count}</td>\
                 <td class=\"amount\" data-currency=\"\">{sum}</td></tr>"
            );
        }
        page.push_str("</table>\n");
    }
    match without_total {
        0 => {}
        1 => page
            .push_str("<p class=\"missing\">1 receipt without a total is not in these sums.</p>\n"),
        n => {
            let _ = writeln!(
                page,
                "<p class=\"missing\">{n} receipts without a total are not in these sums.</p>"
            );
        }
    }
    page.push_str("</section>\n");
}

fn receipt_block(page: &mut String, scan: &Scanned, r: &Receipt) {
    let path = escape(&scan.input.display().to_string());
    let name = scan
        .input
        .file_name()
        .map_or_else(|| path.clone(), |n| escape(&n.to_string_lossy()));
    page.push_str("<article class=\"receipt\">\n<figure>");
    preview(page, &scan.input);
    let _ = write!(page, "</figure>\n<div>\n<h3>{name}</h3>\n");
    if path != name {
        let _ = writeln!(page, "<p class=\"path\">{path}</p>");
    }
    page.push_str("<dl>\n");
    let c = r.confidence;
    let amount = |a: Option<Amount>| a.map(|a| a.to_string());
    let payment = r.payment.method.map(|m| match m {
        PaymentMethod::Cash => "cash".to_string(),
        PaymentMethod::Card => "card".to_string(),
    });
    let fields: [(&str, Option<String>, u8, bool); 9] = [
        ("Merchant", r.merchant.clone(), c.merchant, false),
        ("Date", r.date.clone(), c.date, false),
        ("Time", r.time.clone(), c.time, false),
        (
            "Currency",
            r.currency.map(|c| c.code().to_string()),
            c.currency,
            false,
        ),
        ("Subtotal", amount(r.subtotal), c.subtotal, true),
        ("Tax", amount(r.tax), c.tax, true),
        ("Tip", amount(r.tip), c.tip, true),
        ("Total", amount(r.total), c.total, true),
        ("Payment", payment, c.payment, false),
    ];
    for (label, value, confidence, is_amount) in fields {
        let key = label.to_ascii_lowercase();
        let Some(value) = value else {
            let _ = writeln!(
                page,
                "<dt>{label}</dt><dd class=\"missing\" data-field=\"{key}\">not found</dd>"
            );
            continue;
        };
        let mut class = if is_amount { "amount" } else { "" }.to_string();
        let mut mark = "";
        if confidence < LOW_CONFIDENCE {
            class.push_str(if class.is_empty() { "low" } else { " low" });
            mark = " ⚠ low";
        }
        let _ = writeln!(
            page,
            "<dt>{label}</dt><dd class=\"{class}\" data-field=\"{key}\" \
             title=\"confidence {confidence} of 100\">{}{mark}</dd>",
            escape(&value)
        );
    }
    let _ = writeln!(
        page,
        "<dt>Engine</dt><dd data-field=\"engine\">{}</dd>\n</dl>\n</div>\n</article>",
        escape(&scan.engine)
    );
}

/// The picture of an input: a thumbnail, the start of a text file, or why there is none.
fn preview(page: &mut String, input: &Path) {
    let is_text = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    if is_text {
        // The first lines are all that is shown, so a huge file is not read whole.
        let mut bytes = Vec::new();
        let read = std::fs::File::open(input).and_then(|f| {
            io::Read::read_to_end(&mut io::Read::take(f, TEXT_PREVIEW_BYTES), &mut bytes)
        });
        match read {
            Ok(_) => {
                let text = String::from_utf8_lossy(&bytes);
                let head: Vec<&str> = text.lines().take(TEXT_PREVIEW_LINES).collect();
                let _ = write!(page, "<pre>{}</pre>", escape(&head.join("\n")));
            }
            Err(e) => no_preview(page, &e.to_string()),
        }
        return;
    }
    match thumbnail(input) {
        Ok(jpeg) => {
            let _ = write!(
                page,
                "<img src=\"data:image/jpeg;base64,{}\" alt=\"{}\">",
                base64::engine::general_purpose::STANDARD.encode(jpeg),
                escape(&input.display().to_string())
            );
        }
        Err(why) => no_preview(page, &why),
    }
}

fn no_preview(page: &mut String, why: &str) {
    let _ = write!(page, "<p class=\"noimage\">no preview: {}</p>", escape(why));
}

/// The image at `path` upright, scaled down to [`THUMBNAIL_WIDTH`], as JPEG bytes.
pub(crate) fn thumbnail(path: &Path) -> Result<Vec<u8>, String> {
    let mut decoder = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    if image.width() > THUMBNAIL_WIDTH || image.height() > THUMBNAIL_MAX_HEIGHT {
        image = image.resize(
            THUMBNAIL_WIDTH,
            THUMBNAIL_MAX_HEIGHT,
            image::imageops::FilterType::Triangle,
        );
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&image.to_rgb8())
        .map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// Text made safe for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use receipt_parse::Currency;

    fn page(scans: &[Scanned]) -> String {
        let mut out = Vec::new();
        write_report(&mut out, scans).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn with_total(currency: Option<Currency>, minor: i64, scale: u8) -> Scanned {
        let mut r = Receipt {
            merchant: Some("Shop".into()),
            currency,
            total: Some(Amount::new(minor, scale)),
            ..Receipt::default()
        };
        r.confidence.total = 90;
        r.confidence.merchant = 70;
        Scanned::parsed("missing.jpg", "t", r)
    }

    #[test]
    fn sums_exactly_across_scales() {
        let mut s = Sum::default();
        for _ in 0..10 {
            s.add(Amount::new(1, 1)); // 0.1, which f64 cannot hold exactly
        }
        assert_eq!(s.to_string(), "1.0");
        s.add(Amount::new(-1005, 3));
        assert_eq!(s.to_string(), "-0.005");
        let mut big = Sum::default();
        for _ in 0..1000 {
            big.add(Amount::new(999_999_999_999_999_999, 2));
        }
        assert_eq!(big.to_string(), "9999999999999999990.00");
    }

    #[test]
    fn totals_are_per_currency_with_a_row_for_none() {
        let scans = [
            with_total(Some(Currency::Eur), 670, 2),
            with_total(Some(Currency::Eur), 1, 1),
            with_total(Some(Currency::Usd), 2306, 2),
            with_total(None, 5, 0),
            Scanned::parsed("x.jpg", "t", Receipt::default()),
            Scanned::failed("y.jpg", "t", "boom"),
        ];
        let html = page(&scans);
        assert!(
            html.contains(
                "<td>EUR</td><td>2</td><td class=\"amount\" data-currency=\"EUR\">6.80</td>"
            ),
            "{html}"
        );
        assert!(html.contains("data-currency=\"USD\">23.06</td>"));
        assert!(html.contains("<td>1</td><td class=\"amount\" data-currency=\"\">5</td>"));
        assert!(html.contains("1 receipt without a total is not"));
        assert!(html.contains("<span id=\"read\">5</span> read"));
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let mut s = with_total(None, 1, 0);
        s.input = "<img src=x onerror=alert(1)>.jpg".into();
        if let Ok(r) = &mut s.outcome {
            r.merchant = Some("<script>alert(\"x\")</script>".into());
        }
        let failed = Scanned::failed("a&b.jpg", "<b>engine</b>", "bad <tag> & 'quote'");
        let html = page(&[s, failed]);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("bad &lt;tag&gt; &amp; &#39;quote&#39;"));
        assert!(html.contains("<code>a&amp;b.jpg</code>"));
    }

    #[test]
    fn low_confidence_fields_are_marked_and_missing_ones_said() {
        let mut s = with_total(Some(Currency::Eur), 100, 2);
        if let Ok(r) = &mut s.outcome {
            r.date = Some("2024-01-01".into());
            r.confidence.date = 30;
        }
        let html = page(&[s]);
        assert!(html.contains(
            "<dd class=\"low\" data-field=\"date\" title=\"confidence 30 of 100\">2024-01-01 ⚠ low</dd>"
        ), "{html}");
        assert!(html.contains(
            "<dd class=\"amount\" data-field=\"total\" title=\"confidence 90 of 100\">1.00</dd>"
        ));
        assert!(html.contains("<dd class=\"missing\" data-field=\"tax\">not found</dd>"));
        assert!(html.contains("no preview: "));
    }

    #[test]
    fn the_page_allows_no_network() {
        let html = page(&[]);
        assert!(html.contains("default-src 'none'; img-src data:; style-src 'unsafe-inline'"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
