//! From text rows to a [`Receipt`]: label each row, pair labels with amounts, pick the fields.

use crate::amount::{self, Amount, Found};
use crate::date::{self, FoundDate};
use crate::words::{self, Flags};
use crate::{Confidence, Currency, Item, Payment, PaymentMethod, Receipt};

/// Flags that make a row a label for the amount beside (or below) it.
const LABELS: Flags = words::TOTAL
    | words::SUB
    | words::TAX
    | words::ROUND
    | words::ROUNDED
    | words::CASH
    | words::CHANGE
    | words::TIP
    | words::STRONG
    | words::BALANCE
    | words::CARD
    | words::AMOUNT
    | words::DISCOUNT;

/// Rows longer than this are cut: receipts have short lines, and it bounds the work per row.
const MAX_ROW_BYTES: usize = 400;
/// At most this many rows are read: a receipt is short, and it bounds the work per input.
const MAX_ROWS: usize = 2000;

/// What a labelled row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Total,
    Subtotal,
    Tax,
    Tip,
    Rounding,
    Tendered,
    Change,
    Discount,
    Other,
}

#[derive(Debug)]
struct Row<'a> {
    text: &'a str,
    words: words::Folded<'a>,
    flags: Flags,
    amounts: &'a [Found],
    letters: usize,
    digits: usize,
    /// Has "$" (not "S$").
    dollar: bool,
    /// Has "S$".
    singapore_dollar: bool,
    /// Plain ASCII (no €, £).
    ascii: bool,
    /// The money value the row's label applies to: its own last amount, or one borrowed from below.
    value: Option<Amount>,
    /// Its amount was taken by a label row above.
    lent: bool,
    kind: Kind,
}

fn cut(text: &str) -> &str {
    if text.len() <= MAX_ROW_BYTES {
        return text;
    }
    let mut end = MAX_ROW_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn classify(f: Flags) -> Kind {
    use words::*;
    let totalish = TOTAL | STRONG | ROUNDED | BALANCE | AMOUNT;
    if f & TAX_NOTE != 0 {
        return Kind::Tax;
    }
    if f & COUNT != 0 && f & (STRONG | TOTAL) == 0 {
        return Kind::Other;
    }
    if f & CHANGE != 0 {
        return Kind::Change;
    }
    if f & TIP != 0 && f & TOTAL == 0 {
        return Kind::Tip;
    }
    if f & DISCOUNT != 0 {
        return Kind::Discount;
    }
    if f & SUB != 0 {
        return Kind::Subtotal;
    }
    if f & totalish != 0 {
        if f & EXCL != 0 && f & INCL == 0 {
            return Kind::Subtotal;
        }
        // "GST PAYABLE", "TOTAL GST", "TAX AMOUNT"; but "TOTAL INCL. GST" is a total
        if f & TAX != 0 && f & INCL == 0 && f & ROUNDED == 0 {
            return Kind::Tax;
        }
        if f & (CASH | CARD) != 0 && f & (STRONG | ROUNDED | INCL) == 0 {
            return Kind::Tendered;
        }
        if f & ROUND != 0 && f & (TOTAL | ROUNDED) == 0 {
            return Kind::Rounding;
        }
        return Kind::Total;
    }
    if f & ROUND != 0 {
        return Kind::Rounding;
    }
    if f & TAX != 0 {
        return Kind::Tax;
    }
    if f & (CASH | CARD) != 0 {
        return Kind::Tendered;
    }
    Kind::Other
}

/// What one pass over a row's text finds; its folded words and amounts go to shared buffers
/// (one allocation per receipt rather than two per row).
struct Scanned<'a> {
    text: &'a str,
    letters: usize,
    digits: usize,
    dollar: Option<bool>,
    ascii: bool,
    folded: std::ops::Range<usize>,
    count: usize,
    flags: Flags,
    amounts: std::ops::Range<usize>,
}

/// The lines of a text as [`str::lines`] gives them ("\n" or "\r\n" ends a line, a final
/// line ending is optional), found by a plain byte loop: receipt lines are too short for
/// `memchr` to pay off.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let b = rest.as_bytes();
        let i = newline(b);
        let line = &rest[..i];
        if i < b.len() {
            rest = &rest[i + 1..];
            Some(line.strip_suffix('\r').unwrap_or(line))
        } else {
            rest = "";
            Some(line)
        }
    })
}

/// Where the first "\n" is (or the length): eight bytes at a time, then byte by byte.
fn newline(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut i = 0;
    while i + 8 <= b.len() {
        let word = <[u8; 8]>::try_from(&b[i..i + 8]).map_or(0, u64::from_le_bytes);
        let x = word ^ (ONES * u64::from(b'\n'));
        // the lowest byte of x that is zero sets the lowest flag exactly
        let zero = x.wrapping_sub(ONES) & !x & (ONES << 7);
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// Byte classes for the pass over a row: letter, digit, "$", beyond ASCII.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            LETTER
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c == b'$' {
            DOLLAR
        } else if !c.is_ascii() {
            WIDE
        } else {
            0
        };
        b += 1;
    }
    t
};
const LETTER: u8 = 1;
const DIGIT: u8 = 2;
const DOLLAR: u8 = 4;
const WIDE: u8 = 8;

/// [`str::trim`], with a byte loop for the ASCII ends that receipt rows have.
fn trim(text: &str) -> &str {
    // the ASCII characters with Unicode's White_Space property
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let b = text.as_bytes();
    let mut start = 0;
    while start < b.len() && space(b[start]) {
        start += 1;
    }
    let mut end = b.len();
    while end > start && space(b[end - 1]) {
        end -= 1;
    }
    if b.get(start).is_some_and(|x| !x.is_ascii()) || (end > start && !b[end - 1].is_ascii()) {
        // a character beyond ASCII at either end may be a space too
        return text[start..end].trim();
    }
    &text[start..end]
}

fn scan_row<'a>(text: &'a str, folded: &mut Vec<u8>, amounts: &mut Vec<Found>) -> Scanned<'a> {
    let text = trim(cut(text));
    // one pass over the bytes: letters, digits, dollar signs, anything beyond ASCII
    let (mut letters, mut digits, mut dollar, mut ascii) = (0, 0, None, true);
    for (i, &b) in text.as_bytes().iter().enumerate() {
        let class = CLASS[usize::from(b)];
        letters += usize::from(class & LETTER);
        digits += usize::from(class >> 1 & 1);
        if class & (DOLLAR | WIDE) != 0 {
            if class == DOLLAR {
                if dollar.is_none() {
                    dollar = Some(i > 0 && text.as_bytes()[i - 1] == b'S');
                }
            } else {
                ascii = false;
            }
        }
    }
    if !ascii {
        letters = text.chars().filter(|c| c.is_alphabetic()).count();
    }
    // a row without letters has no keyword, one without digits no amount
    let fold_start = folded.len();
    let (count, flags) = if letters > 0 {
        words::fold_flags(text, folded)
    } else {
        (0, 0)
    };
    let amount_start = amounts.len();
    if digits > 0 {
        amount::scan_into(text, amounts);
    }
    Scanned {
        text,
        letters,
        digits,
        dollar,
        ascii,
        folded: fold_start..folded.len(),
        count,
        flags,
        amounts: amount_start..amounts.len(),
    }
}

/// The amount a row's label applies to: its last decimal amount, else its last amount.
fn own_value(amounts: &[Found]) -> Option<Amount> {
    amounts
        .iter()
        .rev()
        .find(|f| f.decimal)
        .or(amounts.last())
        .map(|f| f.amount)
}

/// A total confidence at or above this was confirmed by the amounts around it.
const CONFIRMED: u8 = 75;

fn row<'a>(s: Scanned<'a>, folded: &'a str, amounts: &'a [Found]) -> Row<'a> {
    // only ASCII was folded, so every range is a char boundary; `get` keeps that unchecked
    let words = words::Folded::new(folded.get(s.folded).unwrap_or(""), s.count);
    let flags = s.flags;
    let amounts = &amounts[s.amounts];
    let value = own_value(amounts);
    Row {
        text: s.text,
        letters: s.letters,
        digits: s.digits,
        singapore_dollar: s.dollar == Some(true),
        dollar: s.dollar == Some(false),
        ascii: s.ascii,
        words,
        flags,
        amounts,
        value,
        lent: false,
        kind: classify(flags),
    }
}

/// Adds the labels OCR misread ([`words::misread`]) to the rows that may label an amount: a
/// row with an amount of its own, or one with an amount-only row within the next three, from
/// a few rows above the first label read exactly; returns whether any row gained one.
fn read_misread_labels(rows: &mut [Row]) -> bool {
    let mut changed = false;
    // the payment block: from a few rows above the first label read exactly (item rows above
    // it are left alone), or everything when no label was read
    let first_label = rows
        .iter()
        .position(|r| r.kind != Kind::Other && r.kind != Kind::Discount && r.value.is_some())
        .unwrap_or(0);
    for i in first_label.saturating_sub(6)..rows.len() {
        let r = &rows[i];
        if r.letters < 3 {
            continue;
        }
        let near_value = !r.amounts.is_empty()
            || rows[i + 1..]
                .iter()
                .take(3)
                .any(|n| !n.amounts.is_empty() && n.letters <= 4);
        if !near_value {
            continue;
        }
        let extra = words::misread(r.words, r.flags);
        if extra & !r.flags != 0 {
            rows[i].flags |= extra;
            changed = true;
        }
    }
    changed
}

fn is_label_only(r: &Row) -> bool {
    // a column header ("QTY DESCRIPTION TOTAL TAX") labels no single amount
    r.flags & LABELS != 0 && r.flags & words::COUNT == 0 && r.amounts.is_empty()
}

fn is_value_only(r: &Row) -> bool {
    !r.amounts.is_empty() && r.flags & LABELS == 0 && r.letters <= 4
}

/// Gives label rows without an amount the amounts of the value rows right below them
/// ("TOTAL:" then "9.00"; "CASH", "CHANGE" then "10.00", "1.00").
fn pair_labels_with_values(rows: &mut [Row]) {
    // ":" and "RM" printed between a label and its amount are skipped over
    let mut idx: Vec<usize> = Vec::with_capacity(rows.len());
    idx.extend((0..rows.len()).filter(|&k| !is_filler(&rows[k])));
    let mut i = 0;
    while i < idx.len() {
        if !is_label_only(&rows[idx[i]]) {
            i += 1;
            continue;
        }
        let labels = idx[i..]
            .iter()
            .take(4)
            .take_while(|&&k| is_label_only(&rows[k]))
            .count();
        let first_value = i + labels;
        let values = idx[first_value..]
            .iter()
            .take(labels)
            .take_while(|&&k| is_value_only(&rows[k]))
            .count();
        let pairs: Vec<(usize, usize)> = if values >= labels {
            (0..labels)
                .map(|k| (idx[i + k], idx[first_value + k]))
                .collect()
        } else if values > 0 {
            // a label broken over two rows: "TOTAL AFTER ADJ" / "INCL GST" / "122.80"
            let (last, before) = (idx[first_value - 1], idx[first_value.saturating_sub(2)]);
            let qualifier = |f: Flags| {
                f & (words::INCL | words::EXCL) != 0
                    && f & (words::TOTAL | words::STRONG | words::SUB | words::ROUNDED) == 0
            };
            if labels >= 2 && qualifier(rows[last].flags) && rows[before].kind == Kind::Total {
                let extra = rows[last].flags & (words::INCL | words::EXCL);
                rows[before].flags |= extra;
                rows[before].kind = classify(rows[before].flags);
                vec![(before, idx[first_value])]
            } else {
                vec![(last, idx[first_value])]
            }
        } else {
            Vec::new()
        };
        for (l, v) in pairs {
            rows[l].value = rows[v].value;
            rows[v].lent = true;
        }
        i = first_value.max(i + 1);
    }
}

/// A row with nothing to say: punctuation, debris or a currency code alone.
fn is_filler(r: &Row) -> bool {
    // OCR debris of a stain or a fold ("'.:;", "1 l|") counts as nothing too
    // one digit among marks and strokes ("1 l|"), not a count ("2") nor a rate ("SR = 6%")
    let debris = || {
        r.digits == 1
            && r.text
                .bytes()
                .any(|b| matches!(b, b'|' | b'~' | b'`' | b'^' | b';'))
            && r.text.bytes().all(|b| {
                b.is_ascii_digit()
                    || matches!(
                        b,
                        b' ' | b'l'
                            | b'I'
                            | b'i'
                            | b'|'
                            | b'~'
                            | b'`'
                            | b'^'
                            | b';'
                            | b'.'
                            | b':'
                            | b'\''
                            | b'-'
                            | b'_'
                    )
            })
    };
    r.amounts.is_empty() && r.letters <= 3 && r.flags & LABELS == 0 && (r.digits == 0 || debris())
}

/// Marks the rounded total that some receipts print without a total label: a "ROUNDING" row
/// or a bare amount right after the rounding adjustment, equal to the last total ± the adjustment.
fn infer_rounded_totals(rows: &mut [Row]) {
    let mut last_total: Option<Amount> = None;
    let mut last_rounding: Option<(usize, Amount)> = None;
    // how many rows without an amount of their own (a garbled label, debris, a value lent to
    // a label) lie right above the current row
    let mut quiet = 0usize;
    for (i, row) in rows.iter_mut().enumerate() {
        let quiet_above = quiet;
        quiet = if row.amounts.is_empty() || row.lent {
            quiet + 1
        } else {
            0
        };
        let Some(v) = row.value else { continue };
        let rounds_total = |(t, adj): (Amount, Amount)| {
            adj.minor != 0
                && v.minor > 0
                && (t.milli() + adj.milli() == v.milli() || t.milli() - adj.milli() == v.milli())
        };
        let pair = last_total.zip(last_rounding.map(|(_, a)| a));
        match row.kind {
            Kind::Total => {
                if pair.is_some_and(rounds_total) {
                    row.flags |= words::ROUNDED;
                }
                last_total = Some(v);
            }
            Kind::Rounding => {
                if pair.is_some_and(rounds_total) {
                    row.kind = Kind::Total;
                    row.flags |= words::ROUNDED;
                    last_total = Some(v);
                } else {
                    last_rounding = Some((i, v));
                }
            }
            Kind::Other
                if is_value_only(row)
                    && !row.lent
                    && last_rounding
                        .is_some_and(|(r, _)| i - r <= 4 && i - r - 1 <= quiet_above)
                    && pair.is_some_and(rounds_total) =>
            {
                row.kind = Kind::Total;
                row.flags |= words::ROUNDED;
                last_total = Some(v);
            }
            _ => {}
        }
    }
}

fn sum_milli(parts: &[Option<Amount>]) -> Option<i64> {
    let mut s: i64 = 0;
    let mut any = false;
    for a in parts.iter().flatten() {
        s = s.saturating_add(a.milli());
        any = true;
    }
    any.then_some(s)
}

fn near(a: i64, b: i64) -> bool {
    (a - b).abs() <= 10
}

/// Whether two amounts print the same but for one digit ("14.05" and "14.85").
fn one_digit_apart(a: Amount, b: Amount) -> bool {
    let (a, b) = (a.to_string(), b.to_string());
    let differ: Vec<usize> = a
        .bytes()
        .zip(b.bytes())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(k, _)| k)
        .collect();
    a.len() == b.len() && differ.len() == 1 && differ[0] + 1 < a.len()
}

/// The amount handed over and the change: the tender row closest above the change row, else
/// the first tender row after the total row. Signs are dropped ("CASH -50.00").
fn payment_pair(rows: &[Row], total_row: Option<usize>) -> (Option<Amount>, Option<Amount>) {
    let abs = |a: Amount| Amount::new(a.minor.saturating_abs(), a.scale);
    let change_at = rows
        .iter()
        .position(|r| r.kind == Kind::Change && r.value.is_some());
    let tender = |r: &&Row| r.kind == Kind::Tendered && r.value.is_some_and(|v| v.minor != 0);
    let tendered = change_at
        .and_then(|c| rows[..c].iter().rev().find(tender))
        .or_else(|| {
            rows[total_row.unwrap_or(0).min(rows.len())..]
                .iter()
                .find(tender)
        })
        .or_else(|| rows.iter().find(tender))
        .and_then(|r| r.value)
        .map(abs);
    let change = change_at.and_then(|c| rows[c].value).map(abs);
    (tendered, change)
}

/// Picks the grand total and its confidence; returns the row index too.
fn pick_total(rows: &[Row]) -> (Option<Amount>, u8, Option<usize>) {
    use words::*;
    let pay_start = rows
        .iter()
        .position(|r| matches!(r.kind, Kind::Tendered | Kind::Change) && r.value.is_some());
    let first = |k: Kind| rows.iter().find(|r| r.kind == k).and_then(|r| r.value);
    let (tendered, change) = payment_pair(rows, None);
    let subtotal = first(Kind::Subtotal);
    let tax = first(Kind::Tax);
    let rounding = first(Kind::Rounding);
    let summary_start = rows.iter().position(|r| r.flags & SUMMARY != 0);
    let paid_cash = rows.iter().any(|r| {
        r.kind == Kind::Tendered && r.value.is_some() && r.flags & CASH != 0 && r.flags & CARD == 0
    });

    let mut best: Option<(f32, Amount, usize, u8)> = None;
    for (i, r) in rows.iter().enumerate() {
        if r.kind != Kind::Total {
            continue;
        }
        let Some(v) = r.value else { continue };
        if v.minor <= 0 {
            continue;
        }
        let mut score = 10.0f32;
        let mut conf: i32 = 55;
        if r.flags & (STRONG | ROUNDED) != 0 || (r.flags & ROUND != 0 && r.flags & TOTAL != 0) {
            score += 4.0;
            conf += 10;
        }
        if r.flags & INCL != 0 {
            score += 2.0;
        }
        if (r.flags & TOTAL == 0 || r.flags & COUNT != 0) && r.flags & (STRONG | ROUNDED) == 0 {
            // only "amount" or "balance", or a count printed beside the total ("QTY: 1 TOTAL")
            score -= 3.0;
            conf -= 15;
        }
        if pay_start.is_some_and(|p| i > p) || summary_start.is_some_and(|p| i > p) {
            score -= 6.0;
            conf -= 20;
        }
        if let (Some(t), Some(c)) = (tendered, change)
            && near(t.milli() - c.milli(), v.milli())
        {
            score += 8.0;
            conf += 30;
        }
        if let Some(t) = tendered {
            if paid_cash && v.milli() > t.milli() {
                score -= 6.0;
                conf -= 20;
            }
            if change.is_none_or(|c| c.minor == 0) && t.same_value(v) {
                score += 3.0;
                conf += 15;
            }
        }
        if let (Some(s), Some(x)) = (subtotal, tax)
            && near(s.milli() + x.milli(), v.milli())
        {
            score += 4.0;
            conf += 20;
        }
        score += i as f32 * 0.01;
        let conf = conf.clamp(1, 100) as u8;
        if best.is_none_or(|(b, ..)| score > b) {
            best = Some((score, v, i, conf));
        }
    }
    if let Some((_, v, i, conf)) = best {
        // an unconfirmed total one digit away from what the lines above it add up to was
        // misread ("NET TOTAL 14.05" under SUB TOTAL 14.00, GST 0.84, ROUNDING 0.01); the last
        // digit is left alone, where rounding differences live
        let above = |k: Kind| {
            rows[..i]
                .iter()
                .rev()
                .find(|r| r.kind == k && r.value.is_some())
                .and_then(|r| r.value)
        };
        let sums = above(Kind::Subtotal)
            .zip(above(Kind::Tax))
            .filter(|(s, t)| t.milli() >= 0 && t.milli() * 3 < s.milli())
            .map(|(s, t)| s.milli() + t.milli() + above(Kind::Rounding).map_or(0, |r| r.milli()));
        // "Total 9.00", "Rounding 0.00", "Rounded Total 9.60": the total above, adjusted
        let previous_total = rows[..i]
            .iter()
            .rposition(|r| r.kind == Kind::Total && r.value.is_some())
            .and_then(|p| {
                let total = rows[p].value?;
                let adjustment = rows[p + 1..i]
                    .iter()
                    .find(|r| r.kind == Kind::Rounding && r.value.is_some())
                    .and_then(|r| r.value)?;
                Some(total.milli() + adjustment.milli())
            });
        // what was handed over, less the change (or all of it when no change is printed)
        let paid = tendered.map(|t| t.milli() - change.map_or(0, |c| c.milli()));
        for d in [sums, previous_total].into_iter().flatten() {
            let fixed = Amount::from_milli(d);
            if d > 0
                && !near(d, v.milli())
                && !paid.is_some_and(|p| near(p, v.milli()))
                && one_digit_apart(fixed, v)
            {
                return (Some(fixed), 45, Some(i));
            }
        }
        // a total row that nothing confirms, while another amount is exactly what was paid
        // (tendered − change) or what subtotal and tax add up to: its keyword was garbled
        // beyond reading and an item, tax or change amount took its place
        // (a change of 0.00 printed says the tendered amount was the total)
        let paid_exactly = tendered
            .zip(change)
            .filter(|(t, c)| c.minor >= 0 && t.milli() > c.milli())
            .map(|(t, c)| t.milli() - c.milli());
        let summed = subtotal
            .zip(tax)
            .filter(|(s, t)| t.milli() > 0 && t.milli() * 3 < s.milli())
            .map(|(s, t)| s.milli() + t.milli() + rounding.map_or(0, |r| r.milli()));
        let confirmed =
            |x: i64| paid_exactly.is_some_and(|p| near(p, x)) || summed.is_some_and(|s| near(s, x));
        if !confirmed(v.milli()) {
            let agreed = paid_exactly
                .zip(summed)
                .filter(|(p, s)| near(*p, *s))
                .map(|(p, _)| p);
            let printed = |x: i64| {
                rows.iter().any(|r| {
                    !matches!(r.kind, Kind::Tendered | Kind::Change)
                        && r.amounts
                            .iter()
                            .any(|f| f.decimal && near(f.amount.milli(), x))
                })
            };
            if let Some(x) = agreed.filter(|&x| x > 0 && printed(x)) {
                return (Some(Amount::from_milli(x)), 50, Some(i));
            }
            // the total is the largest amount on its side of the payment block: what was paid,
            // or what subtotal and tax add up to, printed and above the pick, is the total
            if let Some(x) = [paid_exactly, summed]
                .into_iter()
                .flatten()
                .find(|&x| x > v.milli() && printed(x))
            {
                return (Some(Amount::from_milli(x)), 40, Some(i));
            }
            // more than the cash handed over cannot be the total ("RM 2800" for 28.00)
            if let (Some(p), Some(t)) = (paid_exactly, tendered)
                && paid_cash
                && v.milli() > t.milli()
                && p > 0
                && printed(p)
            {
                return (Some(Amount::from_milli(p)), 40, Some(i));
            }
        }
        return (Some(v), conf, Some(i));
    }
    // no total line: what was paid, or subtotal + tax, else the amount printed most often
    let paid = match (tendered, change) {
        (Some(t), Some(c)) if t.milli() > c.milli() => Some(t.milli() - c.milli()),
        (Some(t), None) => Some(t.milli()),
        _ => None,
    };
    let summed = subtotal
        .map(|s| s.milli() + tax.map_or(0, |t| t.milli()) + rounding.map_or(0, |r| r.milli()));
    match (paid, summed) {
        (Some(p), Some(s)) if near(p, s) => return (Some(Amount::from_milli(s)), 60, None),
        (Some(p), _) => return (Some(Amount::from_milli(p)), 30, None),
        (None, Some(s)) if s > 0 => return (Some(Amount::from_milli(s)), 30, None),
        _ => {}
    }
    // sorted by value, the longest run of equal values is the most printed amount (ties: larger)
    let mut all: Vec<i64> = rows
        .iter()
        .flat_map(|r| {
            r.amounts
                .iter()
                .filter(|f| f.decimal && f.amount.minor > 0)
                .map(|f| f.amount.milli())
        })
        .collect();
    all.sort_unstable();
    let pick = all
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| (run.len(), run[0]))
        .map(|run| Amount::from_milli(run[0]));
    (pick, if pick.is_some() { 10 } else { 0 }, None)
}

fn pick_currency(rows: &[Row]) -> (Option<Currency>, u8) {
    const ALL: [(Currency, Flags); 10] = [
        (Currency::Eur, words::CUR_EUR),
        (Currency::Gbp, words::CUR_GBP),
        (Currency::Usd, words::CUR_USD),
        (Currency::Myr, words::CUR_MYR),
        (Currency::Chf, words::CUR_CHF),
        (Currency::Sgd, words::CUR_SGD),
        (Currency::Pln, words::CUR_PLN),
        (Currency::Try, words::CUR_TRY),
        (Currency::Czk, words::CUR_CZK),
        (Currency::Bgn, words::CUR_BGN),
    ];
    let mut counts = [0u32; ALL.len()];
    let any_code = ALL.iter().fold(0, |acc, (_, f)| acc | f);
    for r in rows {
        if r.flags & any_code == 0 && r.ascii && !r.dollar && !r.singapore_dollar {
            continue;
        }
        if r.singapore_dollar {
            counts[5] += 1;
        } else if r.dollar {
            counts[2] += 1;
        }
        if !r.ascii {
            if r.text.contains('€') {
                counts[0] += 1;
            }
            if r.text.contains('£') {
                counts[1] += 1;
            }
            if r.text.contains('₺') {
                counts[7] += 1;
            }
            if r.text.contains("zł") {
                counts[6] += 1;
            }
            if r.text.contains("лв") {
                counts[9] += 1;
            }
        }
        for (count, (_, code)) in counts.iter_mut().zip(ALL) {
            if r.flags & code != 0 {
                *count += 1;
            }
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, 0));
    if n == 0 {
        return (None, 0);
    }
    let total: u32 = counts.iter().sum();
    (
        Some(ALL[best].0),
        (50 + 50 * n / total.max(1)).min(100) as u8,
    )
}

/// The time of day printed in a row; one with fewer than three digits has none ("8:05").
fn time_of(r: &Row) -> Option<String> {
    if r.digits < 3 {
        return None;
    }
    date::scan_time(r.text)
}

fn pick_date(rows: &[Row], us_style: bool) -> (Option<String>, u8, Option<String>, u8) {
    let labelled = |i: usize| {
        rows[i].flags & words::DATE != 0
            || (i > 0 && rows[i - 1].flags & words::DATE != 0 && rows[i - 1].digits == 0)
    };
    // rows are scanned until a labelled date turns up (the rest only matter for an ambiguous one)
    let mut found: Vec<(usize, FoundDate)> = Vec::new();
    let mut scanned = rows.len();
    for (i, r) in rows.iter().enumerate() {
        if r.digits >= 4 {
            let before = found.len();
            found.extend(date::scan(r.text).into_iter().map(|d| (i, d)));
            if found.len() > before && labelled(i) {
                scanned = i + 1;
                break;
            }
        }
    }
    let unambiguous_month_first =
        |found: &[(usize, FoundDate)]| found.iter().any(|(_, d)| d.month_first && !d.ambiguous);
    let mut month_first = us_style || unambiguous_month_first(&found);
    if !month_first && found.iter().any(|(_, d)| d.ambiguous) {
        let rest: Vec<(usize, FoundDate)> = rows[scanned..]
            .iter()
            .filter(|r| r.digits >= 4)
            .flat_map(|r| date::scan(r.text).into_iter().map(|d| (0, d)))
            .collect();
        month_first = unambiguous_month_first(&rest);
    }
    let chosen = found
        .iter()
        .find(|(i, _)| labelled(*i))
        .map(|&(i, d)| (i, d, 90u8))
        .or_else(|| found.first().map(|&(i, d)| (i, d, 70u8)));
    let Some((row_i, d, mut conf)) = chosen else {
        let time = rows.iter().find_map(time_of);
        let tc = if time.is_some() { 50 } else { 0 };
        return (None, 0, time, tc);
    };
    let d = if d.ambiguous && month_first {
        d.swapped()
    } else {
        d
    };
    if d.ambiguous {
        conf -= 20;
    }
    // the time printed with the date, else the first time on the receipt
    let time = time_of(&rows[row_i])
        .or_else(|| rows.get(row_i + 1).and_then(time_of))
        .or_else(|| rows.iter().find_map(time_of));
    let tc = if time.is_some() { 70 } else { 0 };
    (Some(d.iso()), conf, time, tc)
}

fn starts_with_company_word(r: &Row) -> bool {
    r.words
        .first()
        .is_some_and(|w| words::word_flags(w) & words::COMPANY != 0)
        || r.text.trim_start().starts_with([')', '&'])
}

fn unbalanced_close(text: &str) -> bool {
    text.matches(')').count() > text.matches('(').count()
}

fn merchant_candidate(r: &Row) -> bool {
    use words::*;
    if r.letters < 3 || r.digits > r.letters || !r.amounts.is_empty() {
        return false;
    }
    if r.flags & LEGAL != 0 {
        return true;
    }
    if r.flags & (BANNER | ADDRESS | DATE) != 0 {
        return false;
    }
    // "RELAIS TOTAL OULMES", "SLF CASH & CARRY" are names; "TOTAL", "CASH SALE" are not
    let labels = TOTAL | SUB | TAX | CASH | CHANGE | STRONG;
    if r.flags & labels != 0 && r.words.count() <= 2 {
        return false;
    }
    let b = r.text.as_bytes();
    let has = |needle: &[u8]| {
        b.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    !(b.contains(&b'@') || has(b"www") || has(b".com"))
}

/// Drops registration numbers, leading counters and owner prefixes:
/// "99 SPEED MART S/B (519537-X)", "#000002 BAIFU (M) SDN BHD", "OWNED BY: X SDN BHD".
fn clean_merchant(name: &str) -> String {
    // full-width brackets (PP-OCR prints "S/B（519537-X)") read as plain ones
    let plain;
    let name = if name.contains(['（', '）']) {
        plain = name.replace('（', "(").replace('）', ")");
        plain.as_str()
    } else {
        name
    };
    let mut s = name.trim();
    // "(519537-X)", "(CO. NO. 113825-W)": the first bracket holding a number, and what follows
    let mut from = 0;
    while let Some(p) = s[from..].find('(').map(|p| p + from) {
        // the bracket ends at its ")" or, left open by OCR ("(KE } SDN BHD (1393 X)"), at the next "("
        let close = s[p + 1..].find(['(', ')']).map_or(s.len(), |c| {
            p + 1 + c + usize::from(s.as_bytes()[p + 1 + c] == b')')
        });
        if s[p..close].bytes().filter(u8::is_ascii_digit).count() >= 3 {
            s = s[..p].trim_end();
            break;
        }
        from = close;
        if from >= s.len() {
            break;
        }
    }
    // a bracket left open at the end: "TONYMOLY VIVA CITY (TONYMOLY SHOP" ("}" is OCR for ")")
    if let Some(p) = s.rfind('(')
        && !s[p..].contains([')', '}'])
    {
        s = s[..p].trim_end();
    }
    // a code such as "1110644-W" or "273500-U" ends the name
    let mut kept: Vec<&str> = Vec::new();
    for w in s.split_whitespace() {
        let digits = w.bytes().filter(u8::is_ascii_digit).count();
        let code = digits >= 4 || w.starts_with('#');
        if code && kept.is_empty() {
            continue;
        }
        if code {
            break;
        }
        kept.push(w);
    }
    let mut joined = kept.join(" ");
    // "DIMILIKI: BANH MI CAFE SDN BHD": the owner named after a colon
    if let Some((head, tail)) = joined.split_once(':') {
        let tail_words = words::fold(tail);
        if head.split_whitespace().count() <= 2
            && words::flags(tail_words.get()) & words::LEGAL != 0
        {
            joined = tail.trim().to_string();
        }
    }
    // OCR debris at either end: "| GARDENIA BAKERIES", "KESTAURANT JIAWE |"
    joined
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '.' && c != '\'')
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(')
        .to_string()
}

fn pick_merchant(rows: &[Row]) -> (Option<String>, u8) {
    let stop = rows
        .iter()
        .position(|r| {
            matches!(r.kind, Kind::Total | Kind::Subtotal | Kind::Tendered) && r.value.is_some()
        })
        .unwrap_or(rows.len())
        .min(10);
    let mut ranked: Vec<(f32, usize)> = Vec::new();
    for (i, r) in rows[..stop].iter().enumerate() {
        if !merchant_candidate(r) {
            continue;
        }
        let mut score = -(i as f32) * 0.6;
        if r.flags & words::COMPANY != 0 {
            score += 4.0;
        }
        if r.flags & words::LEGAL != 0 {
            score += 3.0;
        }
        if r.flags & (words::COMPANY | words::LEGAL) == 0 {
            // a name glued to its legal form or trade: "UROKOJAPANESECUISINESDNBHD"
            let glued = words::company_suffix(r.words);
            score += if glued & words::LEGAL != 0 { 3.0 } else { 0.0 };
            score += if glued & words::COMPANY != 0 {
                4.0
            } else {
                0.0
            };
        }
        // printed names are capitalised: an all-lower-case row is a note or a stamp
        if r.ascii && !r.text.bytes().any(|b| b.is_ascii_uppercase()) {
            score -= 2.0;
        }
        ranked.push((score, i));
    }
    // best first; ties to the earlier row
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .find_map(|(score, i)| merchant_at(rows, i, score))
        .unwrap_or((None, 0))
}

fn merchant_at(rows: &[Row], i: usize, score: f32) -> Option<(Option<String>, u8)> {
    // a name broken over rows: "PASARAYA BORONG PINTAR" / "SDN BHD", "ALAM) SDN BHD"
    let mut start = i;
    while start > 0
        && i - start < 3
        && (starts_with_company_word(&rows[start])
            || unbalanced_close(rows[start].text)
            || rows[start].text.starts_with('('))
        && merchant_candidate(&rows[start - 1])
        && rows[start - 1].digits == 0
        && rows[start - 1].flags & words::LEGAL == 0
    {
        start -= 1;
    }
    // "(TONYMOLY SHOP (95874))" on its own is a note under the name, not the name
    if rows[start].text.starts_with('(') {
        return None;
    }
    // ... or whose legal form wrapped onto the next row: "SUBANG HEALTHCARE SDN" / "BHD"
    let mut end = i;
    if let Some(next) = rows.get(i + 1) {
        let only_company_words = next.digits == 0
            && next.words.count() <= 3
            && next
                .words
                .words()
                .all(|w| words::word_flags(w) & (words::COMPANY | words::LEGAL) != 0);
        // "TSH POWER HARDWARE" / "TRADING"; "... SDN" / "BHD" (but not "... SDN BHD" / "CAFE")
        let legal_tail = next.flags & words::LEGAL != 0 && !rows[i].words.has("BHD");
        if only_company_words && (rows[i].flags & words::LEGAL == 0 || legal_tail) {
            end = i + 1;
        }
    }
    let joined: Vec<&str> = rows[start..=end].iter().map(|r| r.text).collect();
    let name = clean_merchant(&joined.join(" "));
    if name.chars().filter(|c| c.is_alphabetic()).count() < 2 {
        return None;
    }
    let conf = if score > 3.0 {
        80
    } else if score > 0.0 {
        60
    } else {
        40
    };
    Some((Some(name), conf))
}

/// A leading count ("2 Kaffee", "1 PC") or one before `x`, `*` or `@` ("2 X 3.50").
fn quantity(text: &str) -> Option<Amount> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.' && b[i - 1] != b',')
        {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let mut k = j;
            while k < b.len() && b[k] == b' ' {
                k += 1;
            }
            let marker = matches!(b.get(k), Some(b'x' | b'X' | b'*' | b'@'))
                && !b.get(k + 1).is_some_and(|c| c.is_ascii_alphabetic());
            let leading = i == 0 && j < b.len() && b[j] == b' ';
            if (marker || leading) && j - i <= 3 {
                let q: i64 = text[i..j].parse().ok()?;
                return (q > 0).then_some(Amount::new(q, 0));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

fn description(text: &str, first_amount_at: Option<usize>) -> String {
    let end = first_amount_at.unwrap_or(text.len()).min(text.len());
    let mut end = end;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    // drop leading codes and counts ("9556939040116 KF ...", "2 x", "1 PC *")
    let words: Vec<&str> = head.split_whitespace().collect();
    let mut skip = 0;
    for w in &words {
        let digits = w.bytes().filter(u8::is_ascii_digit).count();
        let is_code = digits > 0 && digits * 2 >= w.len();
        if is_code || matches!(*w, "x" | "X" | "*" | "@") {
            skip += 1;
        } else {
            break;
        }
    }
    let mut end = words.len();
    while end > skip
        && matches!(
            words[end - 1],
            "$" | "€" | "£" | "RM" | "EUR" | "USD" | "MYR" | "GBP" | "CHF" | "@" | "x" | "X" | "*"
        )
    {
        end -= 1;
    }
    words[skip..end]
        .join(" ")
        .trim_end_matches(['*', '@', ' ', ':', '$', '€', '£'])
        .trim()
        .to_string()
}

fn pick_items(rows: &[Row], end: usize) -> Vec<Item> {
    let mut items = Vec::new();
    for i in 0..end.min(rows.len()) {
        let r = &rows[i];
        if r.kind != Kind::Other || r.lent {
            continue;
        }
        let mut decimals = r.amounts.iter().filter(|f| f.decimal);
        let Some(first) = decimals.next() else {
            continue;
        };
        let last = decimals.next_back().unwrap_or(first);
        if last.amount.minor == 0 || r.flags & (words::DATE | words::ADDRESS | words::COUNT) != 0 {
            continue;
        }
        let mut desc = description(r.text, Some(first.start));
        if desc.chars().filter(|c| c.is_alphabetic()).count() < 3 && i > 0 {
            let prev = &rows[i - 1];
            if prev.amounts.is_empty() && prev.flags & LABELS == 0 && prev.letters >= 3 {
                desc = description(prev.text, None);
            }
        }
        if desc.chars().filter(|c| c.is_alphabetic()).count() < 2 {
            continue;
        }
        let unit_price = (!std::ptr::eq(first, last)).then_some(first.amount);
        items.push(Item {
            description: desc,
            quantity: quantity(r.text),
            unit_price,
            amount: last.amount,
        });
    }
    items
}

/// Reads a receipt from its text rows; `size_hint` is about how many bytes they hold.
pub(crate) fn receipt<'a>(texts: impl Iterator<Item = &'a str>, size_hint: usize) -> Receipt {
    let mut folded: Vec<u8> = Vec::with_capacity(size_hint.min(MAX_ROWS * MAX_ROW_BYTES));
    let mut amounts: Vec<Found> = Vec::with_capacity(64);
    // receipt rows average a dozen bytes or so: room for most without growing
    let mut scanned: Vec<Scanned> = Vec::with_capacity((size_hint / 8).clamp(16, MAX_ROWS));
    for t in texts.take(MAX_ROWS) {
        let s = scan_row(t, &mut folded, &mut amounts);
        if !s.text.is_empty() {
            scanned.push(s);
        }
    }
    // only ASCII is ever folded in
    let folded = String::from_utf8(folded).unwrap_or_default();
    let mut rows: Vec<Row> = scanned
        .into_iter()
        .map(|s| row(s, &folded, &amounts))
        .collect();
    pair_labels_with_values(&mut rows);
    infer_rounded_totals(&mut rows);
    let (mut total, mut total_conf, mut total_row) = pick_total(&rows);
    // a total that nothing confirms: labels OCR misread may say more (an exact reading that
    // the amounts confirm needs no second look, which keeps clean text fast)
    if total_conf < CONFIRMED && read_misread_labels(&mut rows) {
        for r in &mut rows {
            r.value = own_value(r.amounts);
            r.lent = false;
            r.kind = classify(r.flags);
        }
        pair_labels_with_values(&mut rows);
        infer_rounded_totals(&mut rows);
        (total, total_conf, total_row) = pick_total(&rows);
    }
    let before = |k: Kind| {
        let end = total_row.unwrap_or(rows.len());
        rows[..end]
            .iter()
            .rev()
            .find(|r| r.kind == k && r.value.is_some())
            .or_else(|| rows.iter().find(|r| r.kind == k && r.value.is_some()))
            .and_then(|r| r.value)
    };
    let after = |k: Kind| {
        let start = total_row.unwrap_or(0);
        rows[start..]
            .iter()
            .find(|r| r.kind == k && r.value.is_some())
            .or_else(|| rows.iter().find(|r| r.kind == k && r.value.is_some()))
    };
    let subtotal = before(Kind::Subtotal);
    let tax = before(Kind::Tax);
    let tip = before(Kind::Tip).or_else(|| after(Kind::Tip).and_then(|r| r.value));
    let rounding = before(Kind::Rounding);
    let (tendered, change) = payment_pair(&rows, total_row);
    let method = after(Kind::Tendered)
        .map(|r| r.flags)
        .or_else(|| {
            rows.iter()
                .find(|r| r.kind == Kind::Tendered)
                .map(|r| r.flags)
        })
        .and_then(|f| {
            if f & words::CARD != 0 {
                Some(PaymentMethod::Card)
            } else if f & words::CASH != 0 && tendered.is_some() {
                Some(PaymentMethod::Cash)
            } else {
                None
            }
        });

    let (currency, currency_conf) = pick_currency(&rows);
    let us_style = currency == Some(Currency::Usd)
        && rows
            .iter()
            .any(|r| r.kind == Kind::Tip || r.words.has("SALES TAX"));
    let (date, date_conf, time, time_conf) = pick_date(&rows, us_style);
    let (merchant, merchant_conf) = pick_merchant(&rows);

    let items_end = rows
        .iter()
        .position(|r| {
            matches!(
                r.kind,
                Kind::Total | Kind::Subtotal | Kind::Tax | Kind::Tendered
            ) && r.value.is_some()
        })
        .unwrap_or(rows.len());
    let items = pick_items(&rows, items_end);
    let items_sum = sum_milli(&items.iter().map(|it| Some(it.amount)).collect::<Vec<_>>());
    let items_match = items_sum.is_some_and(|s| {
        subtotal.is_some_and(|x| near(x.milli(), s)) || total.is_some_and(|x| near(x.milli(), s))
    });
    let total_conf = if items_match {
        total_conf.saturating_add(10).min(100)
    } else {
        total_conf
    };
    let found = |a: Option<Amount>, c: u8| if a.is_some() { c } else { 0 };

    Receipt {
        merchant,
        date,
        time,
        currency,
        subtotal,
        tax,
        tip,
        rounding,
        total,
        payment: Payment {
            method,
            tendered,
            change,
        },
        confidence: Confidence {
            merchant: merchant_conf,
            date: date_conf,
            time: time_conf,
            currency: currency_conf,
            subtotal: found(subtotal, if items_match { 80 } else { 60 }),
            tax: found(tax, 60),
            tip: found(tip, 60),
            total: total_conf,
            payment: if tendered.is_some() || method.is_some() {
                60
            } else {
                0
            },
            items: if items.is_empty() {
                0
            } else if items_match {
                80
            } else {
                40
            },
        },
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_str_lines() {
        for text in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "a\rb\r\nc",
            "\r\n\r\n",
            "TOTAL\n9.00\n\nCASH 10.00\r\n",
            "é\nß\r\n€",
        ] {
            let ours: Vec<&str> = lines(text).collect();
            let std: Vec<&str> = text.lines().collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn newline_finds_the_first_line_feed() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b = vec![b'a'; len];
                b.iter_mut()
                    .skip(at + 1)
                    .step_by(3)
                    .for_each(|x| *x = b'\n');
                if at < len {
                    b[at] = b'\n';
                }
                // bytes around the line feed's value must not be taken for it
                b.iter_mut().take(at).for_each(|x| *x = 0x0b);
                assert_eq!(newline(&b), at.min(len), "{b:?}");
            }
        }
        assert_eq!(newline(b"\x8a\x0a"), 1);
        assert_eq!(newline(b"\x09\x0b\x8a\x4a\x0a\x0a"), 4);
    }

    #[test]
    fn trim_trims_like_str_trim() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            for text in [format!("{c}a{c}"), format!("{c}"), format!(" {c} x {c} ")] {
                assert_eq!(trim(&text), text.trim(), "{:?}", c);
            }
        }
        assert_eq!(trim(""), "");
        assert_eq!(trim(" \u{a0}TOTAL 9.00\u{3000} \t"), "TOTAL 9.00");
    }

    #[test]
    fn the_row_pass_counts_letters_digits_and_dollars() {
        let mut folded = Vec::new();
        let mut amounts = Vec::new();
        let s = scan_row("  S$ 12.50 and $3 ", &mut folded, &mut amounts);
        assert_eq!(s.text, "S$ 12.50 and $3");
        assert_eq!(
            (s.letters, s.digits, s.dollar, s.ascii),
            (4, 5, Some(true), true)
        );
        let s = scan_row("Total € 12,50", &mut folded, &mut amounts);
        assert_eq!(
            (s.letters, s.digits, s.dollar, s.ascii),
            (5, 4, None, false)
        );
        assert_eq!(s.flags & words::TOTAL, words::TOTAL);
    }
}
