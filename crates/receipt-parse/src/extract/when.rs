//! The date and time of the purchase.

use super::rows::*;
use super::{DateTime, Picked};
use crate::date::{self, Era, FoundDate};
use crate::words;

/// The time of day printed in a row; one with fewer than three digits has none ("8:05").
pub(super) fn time_of(r: &Row) -> Option<String> {
    if r.digits < 3 {
        return None;
    }
    date::scan_time(r.text)
}

/// The date of the purchase (read month first on a US-style receipt; two-digit years in the
/// receipt's era) and the time printed with it.
///
/// The pick is the first labelled date, else the first date on the receipt; the other dates
/// only matter when it could be read either way (03/04/2018), to say whether the receipt writes
/// months first. So rows are scanned in that order and no further than needed, and each at
/// most once: the labelled rows, then the rows down to the first date (with the OCR damage
/// mended above it), then, for an ambiguous pick only, the rest up to one that writes its
/// month first.
pub(super) fn pick_date(rows: &[Row], us_style: bool, era: Era) -> DateTime {
    let labelled = |i: usize| {
        rows[i].flags & words::DATE != 0
            || (i > 0 && rows[i - 1].flags & words::DATE != 0 && rows[i - 1].digits == 0)
    };
    // the date read in row `i`, with the time printed with it, else the first time on the
    // receipt (rows `i` and `i + 1` have none by then: they are not read again)
    let dated = |date: Picked<String>, i: usize| {
        let time = time_of(&rows[i])
            .or_else(|| rows.get(i + 1).and_then(time_of))
            .or_else(|| {
                rows.iter()
                    .enumerate()
                    .filter(|&(k, _)| k != i && k != i + 1)
                    .find_map(|(_, r)| time_of(r))
            });
        let tc = if time.is_some() { 70 } else { 0 };
        DateTime {
            date,
            time: Picked {
                value: time,
                confidence: tc,
            },
        }
    };
    let unambiguous_month_first = |d: &FoundDate| d.month_first && !d.ambiguous;
    // whether a date that reads one way only and month first is printed in one of the rows
    // (each with four digits or more) that pass `unread`
    let month_first_in = |unread: &dyn Fn(usize) -> bool| {
        rows.iter().enumerate().any(|(i, r)| {
            r.digits >= 4
                && unread(i)
                && date::scan(r.text, era).iter().any(unambiguous_month_first)
        })
    };
    // the first labelled row with a date, and its dates (the labelled rows above it have none)
    let first_labelled = rows
        .iter()
        .enumerate()
        .filter(|&(i, r)| r.digits >= 4 && labelled(i))
        .find_map(|(i, r)| {
            let dates = date::scan(r.text, era);
            (!dates.is_empty()).then_some((i, dates))
        });
    if let Some((at, dates)) = first_labelled {
        let d = dates[0];
        // read one way only, it is the answer; else it follows the receipt's other dates: those
        // in its row, in the unlabelled rows above it, and in every row below it
        if !d.ambiguous {
            return dated(Picked::found(d.iso(), 90), at);
        }
        let month_first = us_style
            || dates.iter().any(unambiguous_month_first)
            || month_first_in(&|i| (i < at && !labelled(i)) || i > at);
        let d = if month_first { d.swapped() } else { d };
        // (an ambiguous date is less sure)
        return dated(Picked::found(d.iso(), 90 - 20), at);
    }
    // no labelled date as printed: the first date on the receipt (the labelled rows hold none),
    // and OCR damage ("18/01/ 2018", "12//02/2018", "15/062017") mended on the labelled rows and
    // on the rows above that date (each of those read once for both)
    let mut found: Vec<(usize, FoundDate)> = Vec::new();
    let mut mended: Vec<(usize, FoundDate)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.digits >= 4 && !labelled(i) {
            let (dates, mended_here) = date::scan_else_mended(r.text, r.digits >= 5, era);
            mended.extend(mended_here.into_iter().map(|d| (i, d)));
            if !dates.is_empty() {
                found.extend(dates.into_iter().map(|d| (i, d)));
                break;
            }
        }
    }
    let below = found.first().map_or(rows.len(), |&(i, _)| i);
    for (i, r) in rows.iter().enumerate() {
        if r.digits >= 5 && labelled(i) {
            mended.extend(date::scan_mended(r.text, era).into_iter().map(|d| (i, d)));
        }
    }
    if !mended.is_empty() {
        // row order, the first date's before any mended in the rows below it
        found.extend(mended);
        found.sort_by_key(|&(i, _)| i);
    }
    let chosen = found
        .iter()
        .find(|(i, _)| labelled(*i))
        .map(|&(i, d)| (i, d, 90u8))
        .or_else(|| found.first().map(|&(i, d)| (i, d, 70u8)));
    let Some((row_i, d, conf)) = chosen else {
        let time = rows.iter().find_map(time_of);
        let tc = if time.is_some() { 50 } else { 0 };
        return DateTime {
            date: Picked::default(),
            time: Picked {
                value: time,
                confidence: tc,
            },
        };
    };
    // an ambiguous pick reads month first when another date on the receipt does: one found
    // so far, or one in the unlabelled rows below the first date
    if d.ambiguous {
        let month_first = us_style
            || found.iter().any(|(_, d)| unambiguous_month_first(d))
            || month_first_in(&|i| i > below && !labelled(i));
        let d = if month_first { d.swapped() } else { d };
        return dated(Picked::found(d.iso(), conf - 20), row_i);
    }
    dated(Picked::found(d.iso(), conf), row_i)
}

#[cfg(test)]
mod tests {
    use crate::parse;

    #[test]
    fn a_labelled_date_read_one_way_is_the_pick_whatever_is_above_it() {
        let r = parse("SHOP\n12/28/2017 SALE ENDS\nDATE: 25/04/2018 14:03\nTOTAL 9.00");
        assert_eq!(r.date.as_deref(), Some("2018-04-25"));
        assert_eq!(r.time.as_deref(), Some("14:03"));
        assert_eq!(r.confidence.date, 90);
    }

    #[test]
    fn an_ambiguous_labelled_date_follows_a_month_first_date_above_it() {
        let r = parse("SHOP\n12/28/2017 SALE ENDS\nDATE: 03/04/2018\nTOTAL 9.00");
        assert_eq!(r.date.as_deref(), Some("2018-03-04"), "month first");
        assert_eq!(r.confidence.date, 70);
        let r = parse("SHOP\nDATE: 03/04/2018\nTOTAL 9.00");
        assert_eq!(r.date.as_deref(), Some("2018-04-03"), "day first");
    }

    #[test]
    fn an_ambiguous_unlabelled_date_follows_a_month_first_date_below_it() {
        let r = parse("SHOP\n03/04/2018 10:15\nTOTAL 9.00\nRETURNS UNTIL 12/28/2018");
        assert_eq!(r.date.as_deref(), Some("2018-03-04"), "month first");
        assert_eq!(r.confidence.date, 50);
        let r = parse("SHOP\n03/04/2018 10:15\nTOTAL 9.00\nRETURNS UNTIL 28/12/2018");
        assert_eq!(r.date.as_deref(), Some("2018-04-03"), "day first");
    }

    #[test]
    fn a_date_mended_above_the_first_printed_one_is_the_pick() {
        let r = parse("SHOP\nTEL 03-8051 9514\n18/01/ 2018\nTOTAL 9.00\n25/12/2018 PROMO");
        assert_eq!(r.date.as_deref(), Some("2018-01-18"));
        let r = parse("SHOP\n18/01/2018\nDATE 25//02/2018\nTOTAL 9.00");
        assert_eq!(
            r.date.as_deref(),
            Some("2018-02-25"),
            "a labelled one below"
        );
        assert_eq!(r.confidence.date, 90);
    }

    #[test]
    fn the_time_is_the_date_rows_else_the_next_rows_else_the_first_on_the_receipt() {
        let r = parse("SHOP 08:00\nDATE: 25/04/2018\nCASHIER 14:03\nTOTAL 9.00");
        assert_eq!(r.time.as_deref(), Some("14:03"));
        let r = parse("SHOP 08:00\nDATE: 25/04/2018\nCASHIER\nTOTAL 9.00 14:03");
        assert_eq!(r.time.as_deref(), Some("08:00"));
    }
}
