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
pub(super) fn pick_date(rows: &[Row], us_style: bool, era: Era) -> DateTime {
    let labelled = |i: usize| {
        rows[i].flags & words::DATE != 0
            || (i > 0 && rows[i - 1].flags & words::DATE != 0 && rows[i - 1].digits == 0)
    };
    // the date read in row `i`, with the time printed with it, else the first time on the
    // receipt
    let dated = |date: Picked<String>, i: usize| {
        let time = time_of(&rows[i])
            .or_else(|| rows.get(i + 1).and_then(time_of))
            .or_else(|| rows.iter().find_map(time_of));
        let tc = if time.is_some() { 70 } else { 0 };
        DateTime {
            date,
            time: Picked {
                value: time,
                confidence: tc,
            },
        }
    };
    // the first labelled row with a date is the pick; when its date reads only one way, the
    // dates in the rows above it (which may say the receipt writes months first) change
    // nothing, and they need no scan
    if let Some((i, d)) = rows
        .iter()
        .enumerate()
        .filter(|&(i, r)| r.digits >= 4 && labelled(i))
        .find_map(|(i, r)| date::scan(r.text, era).first().map(|&d| (i, d)))
        && !d.ambiguous
    {
        return dated(Picked::found(d.iso(), 90), i);
    }
    // rows are scanned until a labelled date turns up (the rest only matter for an ambiguous one)
    let mut found: Vec<(usize, FoundDate)> = Vec::new();
    let mut scanned = rows.len();
    let mut labelled_found = false;
    for (i, r) in rows.iter().enumerate() {
        if r.digits >= 4 {
            let before = found.len();
            found.extend(date::scan(r.text, era).into_iter().map(|d| (i, d)));
            if found.len() > before && labelled(i) {
                scanned = i + 1;
                labelled_found = true;
                break;
            }
        }
    }
    // no labelled date as printed: OCR damage ("18/01/ 2018", "12//02/2018", "15/062017") is
    // mended on the labelled rows, and on the rows above the first date found
    if !labelled_found {
        let first = found.first().map_or(rows.len(), |&(i, _)| i);
        let mut mended: Vec<(usize, FoundDate)> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if r.digits >= 5 && (i < first || (labelled(i) && found.iter().all(|&(k, _)| k != i))) {
                mended.extend(date::scan_mended(r.text, era).into_iter().map(|d| (i, d)));
            }
        }
        if !mended.is_empty() {
            found.extend(mended);
            // row order, as the plain scan found them
            found.sort_by_key(|&(i, _)| i);
        }
    }
    let unambiguous_month_first =
        |found: &[(usize, FoundDate)]| found.iter().any(|(_, d)| d.month_first && !d.ambiguous);
    let mut month_first = us_style || unambiguous_month_first(&found);
    if !month_first && found.iter().any(|(_, d)| d.ambiguous) {
        let rest: Vec<(usize, FoundDate)> = rows[scanned..]
            .iter()
            .filter(|r| r.digits >= 4)
            .flat_map(|r| date::scan(r.text, era).into_iter().map(|d| (0, d)))
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
        return DateTime {
            date: Picked::default(),
            time: Picked {
                value: time,
                confidence: tc,
            },
        };
    };
    let d = if d.ambiguous && month_first {
        d.swapped()
    } else {
        d
    };
    if d.ambiguous {
        conf -= 20;
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
}
