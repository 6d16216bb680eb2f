//! The currency: codes and marks counted over the rows, weighed by where they stand.

use super::Picked;
use super::rows::*;
use crate::Currency;
use crate::words::{self, Flags};

pub(super) fn pick_currency(rows: &[Row]) -> Picked<Currency> {
    const ALL: [(Currency, Flags); 11] = [
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
        (Currency::Thb, words::CUR_THB),
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
        return Picked::default();
    }
    let total: u32 = counts.iter().sum();
    Picked::found(ALL[best].0, (50 + 50 * n / total.max(1)).min(100) as u8)
}
