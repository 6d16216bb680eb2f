//! From text rows to a [`Receipt`]: label each row, pair labels with amounts, pick the fields.

mod currency;
mod items;
mod merchant;
mod rows;
mod total;
mod when;

pub(crate) use rows::lines;

use crate::amount::{Amount, Found};
use crate::date::Era;
use crate::words;
use crate::{Confidence, Currency, Payment, PaymentMethod, Receipt};
use currency::*;
use items::*;
use merchant::*;
use rows::*;
use total::*;
use when::*;

/// The buffers of one parse that hold no borrow (folded words, amounts, spans), kept per thread
/// for the next parse: three allocations and frees fewer per receipt.
#[derive(Default)]
struct Spare {
    folded: Vec<u8>,
    amounts: Vec<Found>,
    spans: Vec<Spans>,
}

/// Buffers larger than this (bytes) are freed rather than kept: one huge input must not pin
/// its memory for the life of the thread.
const SPARE_MAX_BYTES: usize = 64 << 10;

thread_local! {
    static SPARE: std::cell::Cell<Spare> = const {
        std::cell::Cell::new(Spare {
            folded: Vec::new(),
            amounts: Vec::new(),
            spans: Vec::new(),
        })
    };
}

/// Reads a receipt from its text rows; `size_hint` is about how many bytes they hold.
pub(crate) fn receipt<'a>(texts: impl Iterator<Item = &'a str>, size_hint: usize) -> Receipt {
    let Spare {
        mut folded,
        mut amounts,
        mut spans,
    } = SPARE.take();
    folded.clear();
    amounts.clear();
    spans.clear();
    folded.reserve(size_hint.min(MAX_ROWS * MAX_ROW_BYTES));
    amounts.reserve(64);
    // receipt rows average a dozen bytes or so: room for most without growing
    let room = (size_hint / 8).clamp(16, MAX_ROWS);
    let mut rows: Vec<Row> = Vec::with_capacity(room);
    spans.reserve(room);
    for t in texts.take(MAX_ROWS) {
        scan_row(t, &mut folded, &mut amounts, &mut rows, &mut spans);
    }
    // only ASCII is ever folded in
    let folded = String::from_utf8(folded).unwrap_or_default();
    for (r, &at) in rows.iter_mut().zip(&spans) {
        attach(r, at, &folded, &amounts);
    }
    pair_labels_with_values(&mut rows);
    infer_rounded_totals(&mut rows);
    let mut total = pick_total(&rows);
    // a total that nothing confirms: labels OCR misread may say more (an exact reading that
    // the amounts confirm needs no second look, which keeps clean text fast)
    if total.confidence < CONFIRMED && read_misread_labels(&mut rows) {
        for r in &mut rows {
            r.value = own_value(r.amounts);
            r.lent = false;
            r.kind = classify(r.flags);
        }
        pair_labels_with_values(&mut rows);
        infer_rounded_totals(&mut rows);
        total = pick_total(&rows);
    }
    let total_row = total.row;
    let near_total = NearTotal::of(&rows, total_row);
    // the last row of a kind (with an amount) above the total, else the first anywhere
    let before = |k: Kind| {
        near_total.last_above[slot(k)]
            .or(near_total.first[slot(k)])
            .and_then(|i| rows[i].value)
    };
    // the first row of a kind (with an amount) from the total down, else the first anywhere
    let after = |k: Kind| {
        near_total.first_below[slot(k)]
            .or(near_total.first[slot(k)])
            .map(|i| &rows[i])
    };
    let subtotal = before(Kind::Subtotal);
    let tax = before(Kind::Tax);
    let tip = before(Kind::Tip).or_else(|| after(Kind::Tip).and_then(|r| r.value));
    let rounding = before(Kind::Rounding);
    let PaymentPair { tendered, change } = payment_pair(&rows, total_row);
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

    let currency = pick_currency(&rows);
    let us_style = currency.value == Some(Currency::Usd)
        && rows
            .iter()
            .any(|r| r.kind == Kind::Tip || r.words.has("SALES TAX"));
    // a Thai receipt (Thai script, or baht) may count two-digit years in the Buddhist era
    let era = if currency.value == Some(Currency::Thb)
        || rows.iter().any(|r| !r.ascii && words::has_thai(r.text))
    {
        Era::Thai
    } else {
        Era::Common
    };
    let when = pick_date(&rows, us_style, era);
    let merchant = pick_merchant(&rows);

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
    let items_sum = sum_milli(items.iter().map(|it| Some(it.amount)));
    let items_match = items_sum.is_some_and(|s| {
        subtotal.is_some_and(|x| near(x.milli(), s))
            || total.amount.is_some_and(|x| near(x.milli(), s))
    });
    let total_conf = if items_match {
        total.confidence.saturating_add(10).min(100)
    } else {
        total.confidence
    };
    let found = |a: Option<Amount>, c: u8| if a.is_some() { c } else { 0 };

    let receipt = Receipt {
        merchant: merchant.value,
        date: when.date.value,
        time: when.time.value,
        currency: currency.value,
        subtotal,
        tax,
        tip,
        rounding,
        total: total.amount,
        payment: Payment {
            method,
            tendered,
            change,
        },
        confidence: Confidence {
            merchant: merchant.confidence,
            date: when.date.confidence,
            time: when.time.confidence,
            currency: currency.confidence,
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
    };
    // the rows borrow the buffers: gone first
    drop(rows);
    let spare = Spare {
        folded: folded.into_bytes(),
        amounts,
        spans,
    };
    if spare.folded.capacity()
        + spare.amounts.capacity() * size_of::<Found>()
        + spare.spans.capacity() * size_of::<Spans>()
        <= SPARE_MAX_BYTES
    {
        SPARE.set(spare);
    }
    receipt
}

/// A field as picked, with how sure the pick is (0–100; 0 when nothing was found).
/// Where the rows of each [`Kind`] that carry an amount lie around the total's row, found in
/// one pass rather than one search per field.
struct NearTotal {
    /// The first such row of each kind.
    first: [Option<usize>; KINDS],
    /// The last one above the total row (every row when there is none).
    last_above: [Option<usize>; KINDS],
    /// The first one at or below the total row (every row when there is none).
    first_below: [Option<usize>; KINDS],
}

/// How many kinds of row there are.
const KINDS: usize = 9;

/// A kind's place in [`NearTotal`]'s arrays (a new kind fails to compile here until it has one).
fn slot(k: Kind) -> usize {
    match k {
        Kind::Total => 0,
        Kind::Subtotal => 1,
        Kind::Tax => 2,
        Kind::Tip => 3,
        Kind::Rounding => 4,
        Kind::Tendered => 5,
        Kind::Change => 6,
        Kind::Discount => 7,
        Kind::Other => 8,
    }
}

impl NearTotal {
    fn of(rows: &[Row], total_row: Option<usize>) -> NearTotal {
        let (end, start) = (total_row.unwrap_or(rows.len()), total_row.unwrap_or(0));
        let mut near = NearTotal {
            first: [None; KINDS],
            last_above: [None; KINDS],
            first_below: [None; KINDS],
        };
        for (i, r) in rows.iter().enumerate() {
            if r.value.is_none() {
                continue;
            }
            let k = slot(r.kind);
            near.first[k].get_or_insert(i);
            if i < end {
                near.last_above[k] = Some(i);
            }
            if i >= start {
                near.first_below[k].get_or_insert(i);
            }
        }
        near
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Picked<T> {
    pub(super) value: Option<T>,
    pub(super) confidence: u8,
}

impl<T> Default for Picked<T> {
    fn default() -> Self {
        Picked {
            value: None,
            confidence: 0,
        }
    }
}

impl<T> Picked<T> {
    pub(super) fn found(value: T, confidence: u8) -> Picked<T> {
        Picked {
            value: Some(value),
            confidence,
        }
    }
}

/// The grand total as picked: its amount, how sure, and the row it stands on (which divides
/// the amounts before it, such as subtotal and tax, from the payment block after it).
#[derive(Debug, Clone, Copy)]
pub(super) struct TotalPick {
    pub(super) amount: Option<Amount>,
    pub(super) confidence: u8,
    pub(super) row: Option<usize>,
}

/// When the purchase was made: the date (ISO 8601) and the time printed near it.
#[derive(Debug, Clone)]
pub(super) struct DateTime {
    pub(super) date: Picked<String>,
    pub(super) time: Picked<String>,
}

/// What was handed over and what came back.
#[derive(Debug, Clone, Copy)]
pub(super) struct PaymentPair {
    pub(super) tendered: Option<Amount>,
    pub(super) change: Option<Amount>,
}

#[cfg(test)]
mod tests {
    use crate::parse;

    #[test]
    fn buffers_kept_from_one_parse_leave_nothing_in_the_next() {
        let small = "CAFE KRONE GmbH\nDatum 24.12.2019\nKaffee 2,80\nSumme EUR 2,80";
        let first = parse(small);
        // a big receipt (its buffers too large to keep), a small one, then the first again
        let big: String = (0..3000)
            .map(|k| format!("ITEM {k} 1.{:02}\n", k % 100))
            .collect();
        let big_receipt = parse(&big);
        assert_eq!(
            parse("TOTAL 9.00").total.map(|a| a.to_string()).as_deref(),
            Some("9.00")
        );
        assert_eq!(parse(small), first);
        assert_eq!(parse(small), first);
        assert_eq!(parse(&big), big_receipt);
        assert_eq!(parse(small), first);
        assert_eq!(first.total.map(|a| a.to_string()).as_deref(), Some("2.80"));
    }
}
