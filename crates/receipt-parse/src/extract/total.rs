//! The total: labels paired with their amounts (also across rows and OCR debris), rounded
//! totals, and the pick confirmed by the payment block (subtotal + tax, tendered − change).

use super::rows::*;
use super::{PaymentPair, TotalPick};
use crate::amount::Amount;
use crate::words::{self, Flags};

/// A total confidence at or above this was confirmed by the amounts around it.
pub(super) const CONFIRMED: u8 = 75;

/// Adds the labels OCR misread ([`words::misread`]) to the rows that may label an amount: a
/// row with an amount of its own, or one with an amount-only row within the next three, from
/// a few rows above the first label read exactly; returns whether any row gained one.
pub(super) fn read_misread_labels(rows: &mut [Row]) -> bool {
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

pub(super) fn is_label_only(r: &Row) -> bool {
    // a column header ("QTY DESCRIPTION TOTAL TAX") labels no single amount
    r.flags & LABELS != 0 && r.flags & words::COUNT == 0 && r.amounts.is_empty()
}

pub(super) fn is_value_only(r: &Row) -> bool {
    !r.amounts.is_empty() && r.flags & LABELS == 0 && r.letters <= 4
}

/// Gives label rows without an amount the amounts of the value rows right below them
/// ("TOTAL:" then "9.00"; "CASH", "CHANGE" then "10.00", "1.00").
pub(super) fn pair_labels_with_values(rows: &mut [Row]) {
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
        // each label takes the value below it (labels and values are different rows)
        let lend = |rows: &mut [Row], l: usize, v: usize| {
            rows[l].value = rows[v].value;
            rows[v].lent = true;
        };
        if values >= labels {
            for k in 0..labels {
                lend(rows, idx[i + k], idx[first_value + k]);
            }
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
                lend(rows, before, idx[first_value]);
            } else {
                lend(rows, last, idx[first_value]);
            }
        }
        i = first_value.max(i + 1);
    }
}

/// A row with nothing to say: punctuation, debris or a currency code alone.
pub(super) fn is_filler(r: &Row) -> bool {
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
pub(super) fn infer_rounded_totals(rows: &mut [Row]) {
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

pub(super) fn sum_milli(parts: impl IntoIterator<Item = Option<Amount>>) -> Option<i64> {
    let mut s: i64 = 0;
    let mut any = false;
    for a in parts.into_iter().flatten() {
        s = s.saturating_add(a.milli());
        any = true;
    }
    any.then_some(s)
}

pub(super) fn near(a: i64, b: i64) -> bool {
    (a - b).abs() <= 10
}

/// Whether two amounts print the same but for one digit ("14.05" and "14.85").
pub(super) fn one_digit_apart(a: Amount, b: Amount) -> bool {
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
pub(super) fn payment_pair(rows: &[Row], total_row: Option<usize>) -> PaymentPair {
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
    PaymentPair { tendered, change }
}

/// What [`pick_total`] weighs each total row against, gathered in one pass over the rows.
struct Glance {
    /// The first tender or change row with an amount: where the payment block starts.
    pay_start: Option<usize>,
    /// The first row that flags a summary printed after the sale.
    summary_start: Option<usize>,
    /// The amounts of the first subtotal, tax and rounding rows (`None` when that row has none).
    subtotal: Option<Amount>,
    tax: Option<Amount>,
    rounding: Option<Amount>,
    /// Whether some tender row with an amount was paid in cash (not card).
    paid_cash: bool,
    /// As [`payment_pair`] with no total row known.
    payment: PaymentPair,
}

fn glance(rows: &[Row]) -> Glance {
    use words::*;
    let abs = |a: Amount| Amount::new(a.minor.saturating_abs(), a.scale);
    let (mut pay_start, mut summary_start) = (None, None);
    let (mut subtotal, mut tax, mut rounding) = (None, None, None);
    let mut paid_cash = false;
    // the first change row; the last tender row above it, and the first tender row anywhere
    let (mut change_at, mut tender_above_change) = (None, None);
    let (mut first_tender, mut last_tender) = (None, None);
    for (i, r) in rows.iter().enumerate() {
        if r.flags & SUMMARY != 0 && summary_start.is_none() {
            summary_start = Some(i);
        }
        match r.kind {
            Kind::Subtotal => {
                subtotal.get_or_insert(r.value);
            }
            Kind::Tax => {
                tax.get_or_insert(r.value);
            }
            Kind::Rounding => {
                rounding.get_or_insert(r.value);
            }
            Kind::Tendered => {
                if let Some(v) = r.value {
                    pay_start.get_or_insert(i);
                    paid_cash |= r.flags & CASH != 0 && r.flags & CARD == 0;
                    if v.minor != 0 {
                        first_tender.get_or_insert(v);
                        if change_at.is_none() {
                            last_tender = Some(v);
                        }
                    }
                }
            }
            Kind::Change => {
                if let Some(v) = r.value {
                    pay_start.get_or_insert(i);
                    if change_at.is_none() {
                        change_at = Some(v);
                        tender_above_change = last_tender;
                    }
                }
            }
            _ => {}
        }
    }
    let tendered = change_at.and(tender_above_change).or(first_tender);
    Glance {
        pay_start,
        summary_start,
        subtotal: subtotal.flatten(),
        tax: tax.flatten(),
        rounding: rounding.flatten(),
        paid_cash,
        payment: PaymentPair {
            tendered: tendered.map(abs),
            change: change_at.map(abs),
        },
    }
}

/// Picks the grand total and its confidence; returns the row index too.
pub(super) fn pick_total(rows: &[Row]) -> TotalPick {
    use words::*;
    let Glance {
        pay_start,
        summary_start,
        subtotal,
        tax,
        rounding,
        paid_cash,
        payment: PaymentPair { tendered, change },
    } = glance(rows);

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
                return TotalPick {
                    amount: Some(fixed),
                    confidence: 45,
                    row: Some(i),
                };
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
                return TotalPick {
                    amount: Some(Amount::from_milli(x)),
                    confidence: 50,
                    row: Some(i),
                };
            }
            // the total is the largest amount on its side of the payment block: what was paid,
            // or what subtotal and tax add up to, printed and above the pick, is the total
            if let Some(x) = [paid_exactly, summed]
                .into_iter()
                .flatten()
                .find(|&x| x > v.milli() && printed(x))
            {
                return TotalPick {
                    amount: Some(Amount::from_milli(x)),
                    confidence: 40,
                    row: Some(i),
                };
            }
            // more than the cash handed over cannot be the total ("RM 2800" for 28.00)
            if let (Some(p), Some(t)) = (paid_exactly, tendered)
                && paid_cash
                && v.milli() > t.milli()
                && p > 0
                && printed(p)
            {
                return TotalPick {
                    amount: Some(Amount::from_milli(p)),
                    confidence: 40,
                    row: Some(i),
                };
            }
        }
        return TotalPick {
            amount: Some(v),
            confidence: conf,
            row: Some(i),
        };
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
        (Some(p), Some(s)) if near(p, s) => {
            return TotalPick {
                amount: Some(Amount::from_milli(s)),
                confidence: 60,
                row: None,
            };
        }
        (Some(p), _) => {
            return TotalPick {
                amount: Some(Amount::from_milli(p)),
                confidence: 30,
                row: None,
            };
        }
        (None, Some(s)) if s > 0 => {
            return TotalPick {
                amount: Some(Amount::from_milli(s)),
                confidence: 30,
                row: None,
            };
        }
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
    TotalPick {
        amount: pick,
        confidence: if pick.is_some() { 10 } else { 0 },
        row: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on the rows of `text` as the parser labels them.
    fn with_rows(text: &str, f: impl FnOnce(&[Row])) {
        let (mut folded, mut amounts, mut rows, mut spans) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for line in lines(text) {
            scan_row(line, &mut folded, &mut amounts, &mut rows, &mut spans);
        }
        let folded = String::from_utf8(folded).unwrap();
        for (r, &at) in rows.iter_mut().zip(&spans) {
            attach(r, at, &folded, &amounts);
        }
        pair_labels_with_values(&mut rows);
        f(&rows);
    }

    #[test]
    fn the_one_pass_glance_agrees_with_a_search_per_question() {
        for text in [
            "TOTAL 9.00\nCASH 10.00\nCHANGE 1.00",
            "TOTAL 9.00\nCHANGE 1.00\nCASH 10.00",
            "SUBTOTAL 8.00\nSUBTOTAL\nTAX\nTAX 1.00\nTOTAL 9.00\nVISA 9.00\nCASH 0.00\nCASH 20.00\nCHANGE 11.00\nCHANGE 2.00",
            "ROUNDING\n0.02\nTOTAL 9.00\nTHANK YOU\nCARD 9.00\nCASH 5.00",
            "ITEM 1.00\nTOTAL SAVINGS 0.50\nTOTAL 1.00",
            "TOTAL 9.00\nCASH CARD 9.00",
            "",
        ] {
            with_rows(text, |rows| {
                let g = glance(rows);
                let first = |k: Kind| rows.iter().find(|r| r.kind == k).and_then(|r| r.value);
                let pair = payment_pair(rows, None);
                assert_eq!(
                    (g.payment.tendered, g.payment.change),
                    (pair.tendered, pair.change),
                    "{text:?}"
                );
                assert_eq!(
                    (g.subtotal, g.tax, g.rounding),
                    (
                        first(Kind::Subtotal),
                        first(Kind::Tax),
                        first(Kind::Rounding)
                    ),
                    "{text:?}"
                );
                let pay_start = rows.iter().position(|r| {
                    matches!(r.kind, Kind::Tendered | Kind::Change) && r.value.is_some()
                });
                assert_eq!(g.pay_start, pay_start, "{text:?}");
                let summary = rows.iter().position(|r| r.flags & words::SUMMARY != 0);
                assert_eq!(g.summary_start, summary, "{text:?}");
                let cash = rows.iter().any(|r| {
                    r.kind == Kind::Tendered
                        && r.value.is_some()
                        && r.flags & words::CASH != 0
                        && r.flags & words::CARD == 0
                });
                assert_eq!(g.paid_cash, cash, "{text:?}");
            });
        }
    }
}
