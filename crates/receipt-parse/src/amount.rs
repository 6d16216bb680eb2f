//! Exact decimal amounts and the scanner that finds them in a line of OCR text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The largest number of digits an amount may have (keeps `i64` arithmetic free of overflow).
const MAX_DIGITS: usize = 15;

/// An exact decimal: `minor / 10^scale` (e.g. `Amount { minor: 1250, scale: 2 }` is 12.50).
///
/// Amounts are never floats. Serde writes them as strings ("12.50") and reads them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    /// The value in units of `10^-scale`.
    pub minor: i64,
    /// How many digits follow the decimal point.
    pub scale: u8,
}

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is not a plain decimal such as `-12.50`.
    #[error("not a decimal amount: {text:?}")]
    NotDecimal {
        /// The rejected text.
        text: String,
    },
    /// The text has more digits than an amount may carry.
    #[error("amount {text:?} has {digits} digits, at most {max} are allowed")]
    TooLong {
        /// The rejected text.
        text: String,
        /// How many digits it has.
        digits: usize,
        /// The limit.
        max: usize,
    },
}

impl Amount {
    /// Builds an amount from minor units and a scale: `Amount::new(1250, 2)` is 12.50.
    pub const fn new(minor: i64, scale: u8) -> Amount {
        Amount { minor, scale }
    }

    /// The value expressed at scale 3 (saturating), for comparing and adding amounts of mixed scales.
    pub(crate) fn milli(self) -> i64 {
        match self.scale {
            0 => self.minor.saturating_mul(1000),
            1 => self.minor.saturating_mul(100),
            2 => self.minor.saturating_mul(10),
            3 => self.minor,
            s => {
                let div = 10i64.saturating_pow(u32::from(s) - 3);
                self.minor / div
            }
        }
    }

    /// Whether two amounts denote the same number (12.5 equals 12.50).
    pub fn same_value(self, other: Amount) -> bool {
        self.value_cmp(other) == Ordering::Equal
    }

    /// Compares the numbers the amounts denote, whatever their scales.
    pub fn value_cmp(self, other: Amount) -> Ordering {
        let s = self.scale.max(other.scale).min(18);
        let a = i128::from(self.minor) * 10i128.pow(u32::from(s.saturating_sub(self.scale)));
        let b = i128::from(other.minor) * 10i128.pow(u32::from(s.saturating_sub(other.scale)));
        a.cmp(&b)
    }

    /// The amount at scale 2, rounded half away from zero where it had more digits.
    pub(crate) fn from_milli(milli: i64) -> Amount {
        let cents = if milli >= 0 {
            (milli + 5) / 10
        } else {
            (milli - 5) / 10
        };
        Amount::new(cents, 2)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let pow = 10u64.checked_pow(u32::from(self.scale)).unwrap_or(u64::MAX);
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / pow,
            abs % pow,
            width = usize::from(self.scale)
        )
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Parses a plain decimal with a `.` point: `12.50`, `-0.05`, `9`.
    fn from_str(text: &str) -> Result<Amount, AmountError> {
        let bad = || AmountError::NotDecimal {
            text: text.to_string(),
        };
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (body.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        let digits = int.len() + frac.len();
        if digits > MAX_DIGITS {
            return Err(AmountError::TooLong {
                text: text.to_string(),
                digits,
                max: MAX_DIGITS,
            });
        }
        let mut minor: i64 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            minor = minor * 10 + i64::from(b - b'0');
        }
        let scale = u8::try_from(frac.len()).map_err(|_| bad())?;
        Ok(Amount::new(if negative { -minor } else { minor }, scale))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount found in a line, with what surrounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub amount: Amount,
    /// Byte offset where the number starts in the line.
    pub start: usize,
    /// Whether it had a decimal part (integers only count next to a currency).
    pub decimal: bool,
    /// Whether a currency sign or code touched it.
    pub currency: bool,
}

/// Maps a byte that OCR confuses with a digit to that digit.
fn confusable_digit(b: u8) -> Option<u8> {
    match b {
        b'O' | b'o' => Some(b'0'),
        b'l' | b'I' | b'|' => Some(b'1'),
        b'S' => Some(b'5'),
        b'B' => Some(b'8'),
        _ => None,
    }
}

/// What a byte is to the number scanner: a digit, a separator, a letter OCR confuses with a
/// digit, another letter, or anything else.
const KIND: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c == b'.' || c == b',' {
            SEP
        } else if matches!(c, b'O' | b'o' | b'l' | b'I' | b'|' | b'S' | b'B') {
            CONFUSABLE
        } else if c.is_ascii_alphabetic() {
            LETTER
        } else {
            OTHER
        };
        b += 1;
    }
    t
};
const OTHER: u8 = 0;
const DIGIT: u8 = 1;
const SEP: u8 = 2;
const CONFUSABLE: u8 = 3;
const LETTER: u8 = 4;

fn is_sep(b: u8) -> bool {
    b == b'.' || b == b','
}

/// Currency codes and signs that may stand right before an amount.
const CODES_BEFORE: [&[u8]; 13] = [
    b"PLN",
    b"\xe2\x82\xba",
    b"RM",
    b"$",
    b"\xe2\x82\xac",
    b"\xc2\xa3",
    b"EUR",
    b"USD",
    b"MYR",
    b"GBP",
    b"CHF",
    b"SGD",
    b"Fr.",
];

/// Currency codes and signs that may stand right after an amount.
const CODES_AFTER: [&[u8]; 12] = [
    b"\xe2\x82\xac",
    b"\xc2\xa3",
    b"EUR",
    b"RM",
    b"USD",
    b"CHF",
    b"z\xc5\x82",
    b"PLN",
    b"TL",
    b"K\xc4\x8d",
    b"\xd0\xbb\xd0\xb2",
    b"\xe2\x82\xba",
];

/// For each byte, which codes of [`CODES_BEFORE`] end in it (bit `i` for the code at `i`):
/// most numbers have no code's last byte before them, and one table load rules them out;
/// the others compare only the codes that end in that byte.
const CODES_ENDING: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < CODES_BEFORE.len() {
        let c = CODES_BEFORE[i];
        t[c[c.len() - 1] as usize] |= 1 << i;
        i += 1;
    }
    t
};

/// For each byte, which codes of [`CODES_AFTER`] start with it (as [`CODES_ENDING`]).
const CODES_STARTING: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < CODES_AFTER.len() {
        t[CODES_AFTER[i][0] as usize] |= 1 << i;
        i += 1;
    }
    t
};

/// Whether currency text ends right before `at` (spaces allowed between).
// (inlined: the scanner asks for every number, and the table rules most out)
#[inline(always)]
fn currency_before(line: &[u8], at: usize) -> bool {
    let mut end = at;
    while end > 0 && line[end - 1] == b' ' {
        end -= 1;
    }
    if end == 0 {
        return false;
    }
    let codes = CODES_ENDING[usize::from(line[end - 1])];
    codes != 0 && code_ends(&line[..end], codes)
}

/// Whether `head` ends in one of these codes of [`CODES_BEFORE`] (a bit each) that starts a
/// word.
#[inline(never)]
fn code_ends(head: &[u8], mut codes: u16) -> bool {
    while codes != 0 {
        let c = CODES_BEFORE[codes.trailing_zeros() as usize];
        codes &= codes - 1;
        if head.ends_with(c) {
            // a code made of letters must start a word ("RM", not "FORM")
            let before = head.len() - c.len();
            if !c[0].is_ascii_alphabetic() || before == 0 || !head[before - 1].is_ascii_alphabetic()
            {
                return true;
            }
        }
    }
    false
}

/// Whether currency text starts right after `at` (spaces allowed between).
#[inline(always)]
fn currency_after(line: &[u8], at: usize) -> bool {
    let mut start = at;
    while start < line.len() && line[start] == b' ' {
        start += 1;
    }
    if start == line.len() {
        return false;
    }
    let codes = CODES_STARTING[usize::from(line[start])];
    codes != 0 && code_starts(&line[start..], codes)
}

/// Whether `tail` starts with one of these codes of [`CODES_AFTER`] (a bit each) that no
/// letter follows.
#[inline(never)]
fn code_starts(tail: &[u8], mut codes: u16) -> bool {
    while codes != 0 {
        let c = CODES_AFTER[codes.trailing_zeros() as usize];
        codes &= codes - 1;
        if tail.starts_with(c) {
            let after = tail.get(c.len()).copied();
            if !c[0].is_ascii_alphabetic() || !after.is_some_and(|b| b.is_ascii_alphabetic()) {
                return true;
            }
        }
    }
    false
}

/// Finds the money-like numbers in one line, left to right.
///
/// Accepts `12.50`, `12,50`, `1,234.50`, `1.234,50`, `9.000` (three decimals), OCR confusions
/// inside a number (`1O.0O`), a sign (`-0.02`, `0.02-`) and integers next to a currency
/// (`€ 12`). Skips percentages, dates, times and codes.
#[cfg(test)]
pub(crate) fn scan(line: &str) -> Vec<Found> {
    let mut out = Vec::new();
    scan_into(line, &mut out);
    out
}

/// Appends the money-like numbers in one line to `out`, left to right (see [`scan`]); amounts
/// OCR split apart are joined first (see [`repair`]).
pub(crate) fn scan_into(line: &str, out: &mut Vec<Found>) {
    let before = out.len();
    // the plain scan notes a gap or a misread digit at the edge of a number; only then is the
    // line repaired and scanned again
    if scan_bytes(line.as_bytes(), out)
        && let Some(fixed) = repair(line.as_bytes())
    {
        out.truncate(before);
        scan_bytes(&fixed, out);
    }
}

/// A byte OCR leaves inside a number: a space or a stray mark.
const fn is_gap(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\'' | b'`' | b':' | b';' | b'~' | b'|' | b'_' | b'"' | b'^'
    )
}

/// Whether a byte [`is_gap`] or is a [`leading_digit`]: where [`repair`] may have work.
const GAP_OR_LEAD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        t[b] = is_gap(b as u8) || leading_digit(b as u8).is_some();
        b += 1;
    }
    t
};

/// Letters OCR prints for a digit at the start of an amount ("Z8.15", "S0.00").
const fn leading_digit(b: u8) -> Option<u8> {
    match b {
        b'O' | b'o' => Some(b'0'),
        b'l' | b'I' | b'|' => Some(b'1'),
        b'Z' => Some(b'2'),
        b'S' => Some(b'5'),
        b'B' => Some(b'8'),
        _ => None,
    }
}

/// The line with amounts OCR split apart joined again: "41 .20", "16. 95", "23.1 5",
/// "102.4:0", "12,5'0", "4'9.90", and a letter read for the first digit ("Z8.15"); `None` when
/// nothing needed joining. Only shapes with exactly two decimals after the join are touched,
/// and a space between whole numbers is left alone ("2 9.90" is a count and a price).
fn repair(b: &[u8]) -> Option<Vec<u8>> {
    let n = b.len();
    let digit = |j: usize| j < n && b[j].is_ascii_digit();
    // the number ends at `j`: no digit, separator or letter glued after it
    let ends = |j: usize| j >= n || !(b[j].is_ascii_alphanumeric() || is_sep(b[j]));
    let mut drop: [usize; 8] = [usize::MAX; 8];
    let mut dropped = 0;
    let mut lead: [usize; 4] = [usize::MAX; 4];
    let mut leads = 0;
    for g in 0..n.saturating_sub(1) {
        let x = b[g];
        // (one table load for the bytes that are neither: most of a row)
        if !GAP_OR_LEAD[usize::from(x)] {
            continue;
        }
        // a split needs a digit, a separator or a misread digit right before the gap
        let joinable = |p: u8| p.is_ascii_digit() || is_sep(p) || leading_digit(p).is_some();
        if g > 0
            && is_gap(x)
            && dropped < drop.len()
            && joinable(b[g - 1])
            && (digit(g + 1) || is_sep(b[g + 1]))
        {
            let stray = x != b' ';
            let split = (
                // "23.1 5", "102.4:0"
                g >= 3
                    && digit(g - 1)
                    && is_sep(b[g - 2])
                    && digit(g - 3)
                    && digit(g + 1)
                    && ends(g + 2)
            ) || (
                // "41 .20"
                digit(g - 1)
                    && b.get(g + 1).is_some_and(|&y| is_sep(y))
                    && digit(g + 2)
                    && digit(g + 3)
                    && ends(g + 4)
            ) || (
                // "16. 95"
                g >= 2
                    && b[g - 1] == b'.'
                    && digit(g - 2)
                    && digit(g + 1)
                    && digit(g + 2)
                    && ends(g + 3)
            ) || (
                // "4'9.90": a mark, never a space, between the digits of the whole part
                stray && x != b':' && digit(g - 1) && digit(g + 1) && {
                    let mut k = g + 1;
                    while digit(k) {
                        k += 1;
                    }
                    k < n && is_sep(b[k]) && digit(k + 1) && digit(k + 2) && ends(k + 3)
                }
            );
            let split = split || (!stray && whole_part_split(b, g));
            if split {
                drop[dropped] = g;
                dropped += 1;
            }
        } else if leading_digit(x).is_some()
            && leads < lead.len()
            && (g == 0 || matches!(b[g - 1], b' ' | b':' | b'$'))
        {
            // "Z8.15", "ZS.15": letters read for digits up to a point and two decimals
            let mut k = g + 1;
            while k < n && (b[k].is_ascii_digit() || leading_digit(b[k]).is_some()) {
                k += 1;
            }
            let letters = b[g..k].iter().filter(|x| !x.is_ascii_digit()).count();
            if k < n
                && b[k] == b'.'
                && digit(k + 1)
                && digit(k + 2)
                && ends(k + 3)
                && (letters < k - g || k - g >= 2)
                && letters <= 2
                && leads + letters <= lead.len()
            {
                for (j, &y) in b.iter().enumerate().take(k).skip(g) {
                    if !y.is_ascii_digit() {
                        lead[leads] = j;
                        leads += 1;
                    }
                }
            }
        }
    }
    if dropped == 0 && leads == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for (i, &x) in b.iter().enumerate() {
        if drop[..dropped].contains(&i) {
            continue;
        }
        if lead[..leads].contains(&i) {
            out.push(leading_digit(x).unwrap_or(x));
        } else {
            out.push(x);
        }
    }
    // a join may bring a misread leading digit next to its amount ("$l 1.40")
    if dropped > 0
        && let Some(again) = repair(&out)
    {
        return Some(again);
    }
    Some(out)
}

/// Whether the space at `g` splits the whole part of an amount right after a currency sign
/// ("$l 1.40") or in a row that holds nothing else ("1 3.80"); elsewhere "2 9.90"
/// is a count and a price.
fn whole_part_split(b: &[u8], g: usize) -> bool {
    let n = b.len();
    let digit = |j: usize| j < n && b[j].is_ascii_digit();
    let mut s = g;
    while s > 0 && g - s < 3 && (b[s - 1].is_ascii_digit() || leading_digit(b[s - 1]).is_some()) {
        s -= 1;
    }
    if s == g || !b[s..g].iter().any(u8::is_ascii_digit) && s == 0 {
        return false;
    }
    let mut k = g + 1;
    while digit(k) {
        k += 1;
    }
    let amount_after = k > g + 1
        && k < n
        && is_sep(b[k])
        && digit(k + 1)
        && digit(k + 2)
        && (k + 3 == n || !b[k + 3].is_ascii_alphanumeric() && !is_sep(b[k + 3]));
    // (not after "RM": "RM1 86.00" is as often "RM 86.00" with the gap read as a 1)
    let marked = s > 0 && b[s - 1] == b'$';
    let bare = s == 0 && k + 3 == n;
    amount_after && (marked || bare)
}

/// Whether the run of digits and letters [`leading_digit`] reads around `at` may be an amount
/// that [`repair`] reads: the run starts the row or follows a space, ":" or "$", and ends in
/// "." and two decimals ("Z8.15", "TOTAL:ZS.15"; not "CS0001", "NO.53", "SR I0010000-").
fn lead_may_start(b: &[u8], at: usize) -> bool {
    let misread = |x: u8| x.is_ascii_digit() || leading_digit(x).is_some();
    let mut q = at;
    while q > 0 && misread(b[q - 1]) {
        q -= 1;
    }
    let mut k = at;
    while k < b.len() && misread(b[k]) {
        k += 1;
    }
    let digit = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
    (q == 0 || matches!(b[q - 1], b' ' | b':' | b'$'))
        && b.get(k) == Some(&b'.')
        && digit(k + 1)
        && digit(k + 2)
        && b.get(k + 3)
            .is_none_or(|&x| !(x.is_ascii_alphanumeric() || is_sep(x)))
}

/// Where the first ASCII digit at or after `i` is (or the length): eight bytes at a time, then
/// byte by byte. Most of a row is letters, spaces and marks between its numbers.
fn next_digit(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES << 7;
    while i + 8 <= b.len() {
        let x = <[u8; 8]>::try_from(&b[i..i + 8]).map_or(0, u64::from_le_bytes);
        // on the low seven bits of each byte no sum carries into the next byte; bytes beyond
        // ASCII (high bit set) are no digit
        let low = x & !HIGH;
        let from_zero = low.wrapping_add(ONES * u64::from(0x80 - b'0')) & HIGH;
        let past_nine = low.wrapping_add(ONES * u64::from(0x80 - b'9' - 1)) & HIGH;
        let digits = from_zero & !past_nine & !x;
        if digits != 0 {
            return i + (digits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// [`scan_into`] over bytes (UTF-8 text, or that text with splits joined).
/// Returns whether a number had a gap or a misread digit at its edge (a possible split,
/// see [`repair`]).
fn scan_bytes(b: &[u8], out: &mut Vec<Found>) -> bool {
    let n = b.len();
    let mut i = 0;
    let mut split = false;
    loop {
        i = next_digit(b, i);
        if i >= n {
            break;
        }
        let start = i;
        // extend left over confusables directly attached ("O.50" is rare; "S0.00" too): keep simple
        let mut end = i;
        // how many confusables the number holds, whether a bar is among them, and
        // where its separators are (how many, and the last: [`number_at`] needs not look again)
        let (mut confusions, mut bar) = (0usize, false);
        let (mut seps, mut last_sep) = (0usize, 0usize);
        loop {
            // a run of digits, then one separator or confusable that may carry the number on
            // (a digit always belongs to the number, whatever follows it)
            while end < n && b[end].is_ascii_digit() {
                end += 1;
            }
            let Some(&x) = b.get(end) else {
                break;
            };
            let next = b.get(end + 1).map_or(OTHER, |&y| KIND[usize::from(y)]);
            match KIND[usize::from(x)] {
                SEP if next == DIGIT || next == CONFUSABLE => {
                    seps += 1;
                    last_sep = end - start;
                }
                // a confusable belongs to the number unless a letter follows ("9.00SR")
                CONFUSABLE if next != LETTER => {
                    confusions += 1;
                    bar |= x == b'|';
                }
                _ => break,
            }
            end += 1;
        }
        // (every byte kept is a digit, a separator or a confusable)
        let digits = end - start - seps - confusions;
        i = end.max(start + 1);
        // "41 .20", "16. 95", "23.1 5", "4'9.90" after it; "Z8.15", "$l 1.40" before it
        let at = |k: usize| b.get(k).copied().unwrap_or(b'\n');
        // (a space before another number joins only after one decimal or a short whole part
        // that [`whole_part_split`] joins: "9.00 0.00" is two amounts, "TEL 04-227 2222" a
        // phone number; after ":" only one decimal joins, "102.4:0": a time, "13:18:48",
        // never. Each test lets through a superset of what [`repair`] joins.)
        let token = &b[start..end];
        let joins_after = |x: u8| {
            is_sep(x)
                || (x.is_ascii_digit()
                    && (!matches!(at(end), b' ' | b':')
                        || (token.len() >= 2 && is_sep(token[token.len() - 2]))
                        || (at(end) == b' '
                            && token.len() <= 3
                            && !token.iter().any(|&y| is_sep(y))
                            && whole_part_split(b, end))))
        };
        split |= (is_gap(at(end)) && joins_after(at(end + 1)))
            // "16. 95"
            || (at(end) == b'.'
                && is_gap(at(end + 1))
                && at(end + 2).is_ascii_digit()
                && at(end + 3).is_ascii_digit()
                && !(at(end + 4).is_ascii_alphanumeric() || is_sep(at(end + 4))))
            || (start > 0 && leading_digit(b[start - 1]).is_some() && lead_may_start(b, start - 1))
            // a misread digit, a space and the rest of the whole part ("$l 1.40")
            || (start > 1
                && b[start - 1] == b' '
                && leading_digit(b[start - 2]).is_some()
                && whole_part_split(b, start - 1))
            || (start > 1
                && is_sep(b[start - 1])
                && leading_digit(b[start - 2]).is_some()
                && lead_may_start(b, start - 2))
            // a bar read into the number: "11.4|0"
            || bar;
        // ".01": cents without the leading zero
        if start > 0
            && is_sep(b[start - 1])
            && end - start == 2
            && b[start..end].iter().all(u8::is_ascii_digit)
            && (start < 2 || matches!(b[start - 2], b' ' | b'-' | b'$' | b'M'))
            && !b
                .get(end)
                .is_some_and(|x| x.is_ascii_alphanumeric() || *x == b'.')
        {
            let minor = i64::from(b[start] - b'0') * 10 + i64::from(b[start + 1] - b'0');
            let negative = start >= 2 && b[start - 2] == b'-';
            out.push(Found {
                amount: Amount::new(if negative { -minor } else { minor }, 2),
                start: start - 1,
                decimal: true,
                currency: currency_before(b, start - 1),
            });
            continue;
        }
        // the character before must not glue it to a word or another number
        if start > 0 {
            let p = b[start - 1];
            if p.is_ascii_digit() || p == b'/' || p == b':' {
                continue;
            }
            if p.is_ascii_alphabetic() && !currency_before(b, start) {
                // letters glued to the front: a code such as "A1234" or "SR6.00"; allow only a
                // decimal-shaped number ("TOTAL9.00")
                let token = &b[start..end];
                let sep = token.iter().rposition(|&x| is_sep(x));
                if !matches!(sep, Some(s) if token.len() - s - 1 == 2) {
                    continue;
                }
            }
        }
        // and the character after must not be a letter (other than a currency code), a slash or a colon
        if end < n {
            let x = b[end];
            if x == b'/'
                || x == b':'
                || x == b'%'
                || (x.is_ascii_alphabetic() && !currency_after(b, end))
            {
                // "6%" and "SR" suffixes: a percentage is skipped; "12.50SR" is still an amount
                let token = &b[start..end];
                let two_decimals = token
                    .iter()
                    .rposition(|&y| is_sep(y))
                    .is_some_and(|s| token.len() - s - 1 == 2);
                if x == b'%' || x == b'/' || x == b':' || !two_decimals {
                    continue;
                }
            }
        }
        if end < n && b[end] == b' ' && b.get(end + 1) == Some(&b'%') {
            continue;
        }
        // confusables must not dominate
        let token = &b[start..end];
        if confusions > 1 || (confusions == 1 && digits < 2) {
            continue;
        }
        if token.len() > 32 {
            continue;
        }
        // a number without a separator has no decimals and counts only next to a currency:
        // most such (counts, phone numbers, codes) are ruled out before they are read
        let currency = if seps == 0 {
            if !(currency_before(b, start) || currency_after(b, end)) {
                continue;
            }
            Some(true)
        } else {
            None
        };
        let last_sep = (seps > 0).then_some(last_sep);
        // (digits and separators only, most often: read as they are)
        let read = if confusions == 0 {
            number_at(token, last_sep, seps)
        } else {
            number_mapped(token, last_sep, seps)
        };
        let Some((mut amount, decimal)) = read else {
            continue;
        };
        let currency =
            currency.unwrap_or_else(|| currency_before(b, start) || currency_after(b, end));
        if !decimal && !currency {
            continue;
        }
        let minus_before = start > 0
            && b[start - 1] == b'-'
            && (start < 2 || !b[start - 2].is_ascii_alphanumeric());
        let minus_before = minus_before
            || (start > 1
                && b[start - 1] == b' '
                && b[start - 2] == b'-'
                && (start < 3 || b[start - 3] == b' '));
        let minus_after =
            end < n && b[end] == b'-' && (end + 1 == n || !b[end + 1].is_ascii_alphanumeric());
        if minus_before || minus_after {
            amount.minor = -amount.minor;
        }
        out.push(Found {
            amount,
            start,
            decimal,
            currency,
        });
    }
    split
}

/// [`number_at`] of a token of at most 32 bytes with letters OCR confuses with digits read as
/// those digits ("1O.0O").
// (out of line: the rare case's vector loop would load its constants on every scan)
#[cold]
#[inline(never)]
fn number_mapped(token: &[u8], last_sep: Option<usize>, seps: usize) -> Option<(Amount, bool)> {
    let mut mapped = [0u8; 32];
    for (m, &x) in mapped.iter_mut().zip(token) {
        *m = confusable_digit(x).unwrap_or(x);
    }
    number_at(&mapped[..token.len().min(32)], last_sep, seps)
}

/// [`number_at`] that finds the separators itself (the scanner counts them as it cuts a
/// token out; the tests read bare tokens).
#[cfg(test)]
fn number(token: &[u8]) -> Option<(Amount, bool)> {
    // the last separator, and how many come before it
    let mut last_sep = None;
    let mut seps = 0usize;
    for (i, &x) in token.iter().enumerate() {
        if is_sep(x) {
            last_sep = Some(i);
            seps += 1;
        }
    }
    number_at(token, last_sep, seps)
}

/// Reads digits with grouping and a decimal separator, given where the token's last separator
/// is and how many it has: returns the amount and whether it had decimals. The decimal part
/// is one or two digits after the last separator, or three after a lone "."; the whole part is
/// digits, optionally grouped in threes by the other separator ("1,234.50", "1.234,50";
/// "1,234" and "1.234.567" are grouping only). One pass, no iterator chains: it runs for every
/// number of every row.
fn number_at(token: &[u8], last_sep: Option<usize>, seps: usize) -> Option<(Amount, bool)> {
    // most amounts have one separator and one to three decimals ("12.50", "12,5", "9.000"):
    // their whole part is 1 to 12 digits with no grouping, read in one loop
    if let (1, Some(p)) = (seps, last_sep) {
        let frac = token.len() - p - 1;
        if frac == 1 || frac == 2 || (frac == 3 && token[p] == b'.') {
            if p == 0 || p > 12 {
                return None;
            }
            let mut minor: i64 = 0;
            for (i, &x) in token.iter().enumerate() {
                if i != p {
                    if !x.is_ascii_digit() {
                        return None;
                    }
                    minor = minor * 10 + i64::from(x - b'0');
                }
            }
            return Some((Amount::new(minor, frac as u8), true));
        }
    }
    let (int_end, frac_start) = match last_sep {
        None => (token.len(), token.len()),
        Some(p) => match token.len() - p - 1 {
            1 | 2 => (p, p + 1),
            3 if token[p] == b'.' && seps == 1 => (p, p + 1),
            // "1,234" or "1.234.567": grouping only
            3 => (token.len(), token.len()),
            _ => return None,
        },
    };
    let (int, frac) = (&token[..int_end], &token[frac_start..]);
    let decimal = !frac.is_empty();
    // the decimal separator must differ from the grouping one
    let dsep = if decimal {
        last_sep.map(|p| token[p])
    } else {
        None
    };
    // whole part: the first group of 1 to 12 digits, then groups of exactly three
    let mut minor: i64 = 0;
    let (mut group, mut first, mut count) = (0usize, None, 0usize);
    for &x in int {
        if is_sep(x) {
            if Some(x) == dsep {
                return None;
            }
            match first {
                None if group == 0 || group > 12 => return None,
                None => first = Some(group),
                Some(_) if group != 3 => return None,
                Some(_) => {}
            }
            group = 0;
            continue;
        }
        if !x.is_ascii_digit() {
            return None;
        }
        group += 1;
        count += 1;
        if count > MAX_DIGITS {
            return None;
        }
        minor = minor * 10 + i64::from(x - b'0');
    }
    match first {
        None if group == 0 || group > 12 => return None,
        Some(f) if group != 3 || f > 3 => return None,
        _ => {}
    }
    if count + frac.len() > MAX_DIGITS {
        return None;
    }
    for &x in frac {
        if !x.is_ascii_digit() {
            return None;
        }
        minor = minor * 10 + i64::from(x - b'0');
    }
    Some((Amount::new(minor, frac.len() as u8), decimal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::every_line;

    #[test]
    fn the_gap_or_lead_table_agrees_with_its_tests() {
        for b in 0..=255u8 {
            assert_eq!(
                GAP_OR_LEAD[usize::from(b)],
                is_gap(b) || leading_digit(b).is_some(),
                "byte {b}"
            );
        }
    }

    /// [`number`] as first written (split into groups, then read), to check the one-pass reading against.
    fn number_by_groups(token: &[u8]) -> Option<(Amount, bool)> {
        let last_sep = token.iter().rposition(|&x| is_sep(x));
        let (int, frac): (&[u8], &[u8]) = match last_sep {
            None => (token, &[]),
            Some(p) => {
                let frac = &token[p + 1..];
                let sep = token[p];
                let other_seps = token[..p].iter().filter(|&&x| is_sep(x)).count();
                match frac.len() {
                    1 | 2 => (&token[..p], frac),
                    3 if sep == b'.' && other_seps == 0 => (&token[..p], frac),
                    // "1,234" or "1.234.567": grouping only
                    3 => (token, &[]),
                    _ => return None,
                }
            }
        };
        let decimal = !frac.is_empty();
        // integer part: digits, optionally grouped in threes by the other separator
        let mut groups = int.split(|&x| is_sep(x));
        let first = groups.next()?;
        if first.is_empty() || first.len() > 12 {
            return None;
        }
        let mut grouped = false;
        let mut count = first.len();
        for g in groups.clone() {
            if g.len() != 3 {
                return None;
            }
            grouped = true;
            count += 3;
        }
        if grouped && first.len() > 3 {
            return None;
        }
        let digits = std::iter::once(first).chain(groups).flatten();
        if decimal {
            // the decimal separator must differ from the grouping one
            if let Some(p) = last_sep {
                let dsep = token[p];
                if int.contains(&dsep) {
                    return None;
                }
            }
        }
        if count + frac.len() > MAX_DIGITS {
            return None;
        }
        let mut minor: i64 = 0;
        for &d in digits.chain(frac.iter()) {
            if !d.is_ascii_digit() {
                return None;
            }
            minor = minor * 10 + i64::from(d - b'0');
        }
        Some((Amount::new(minor, frac.len() as u8), decimal))
    }

    #[test]
    fn next_digit_finds_the_first_digit() {
        for len in 0..30 {
            for at in 0..=len {
                for filler in [b'a', b'/', b':', 0x80, 0xb9, 0xff, b' '] {
                    let mut b = vec![filler; len];
                    if at < len {
                        b[at] = b'0' + (at % 10) as u8;
                    }
                    for from in 0..=at {
                        assert_eq!(next_digit(&b, from), at, "{b:?} from {from}");
                    }
                }
            }
        }
        // bytes on either side of the digits
        assert_eq!(next_digit(b"//////////::::9", 0), 14);
        assert_eq!(next_digit(b"\xb0\xb9\xba/:;<=>?@`0", 0), 12);
    }

    #[test]
    fn the_one_pass_number_reads_like_the_grouped_reading() {
        // every token of up to seven bytes from digits and both separators, and longer ones
        let mut tokens = every_line(b"", b"019.,O", 7);
        for long in [
            "1,234,567,890,123,456.78",
            "123456789012.50",
            "1234567890123.50",
            "999999999999999",
            "1.234.567,89",
            "12,345,678,901,234,567",
        ] {
            tokens.push(long.as_bytes().to_vec());
        }
        for t in &tokens {
            assert_eq!(
                number(t),
                number_by_groups(t),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
    }

    fn values(line: &str) -> Vec<String> {
        scan(line).iter().map(|f| f.amount.to_string()).collect()
    }

    #[test]
    fn displays_with_fixed_decimals() {
        assert_eq!(Amount::new(1250, 2).to_string(), "12.50");
        assert_eq!(Amount::new(-5, 2).to_string(), "-0.05");
        assert_eq!(Amount::new(9000, 3).to_string(), "9.000");
        assert_eq!(Amount::new(12, 0).to_string(), "12");
    }

    #[test]
    fn parses_what_it_displays() {
        for s in ["12.50", "-0.05", "9.000", "12", "0.1"] {
            assert_eq!(s.parse::<Amount>().unwrap().to_string(), s);
        }
        assert!("1.2.3".parse::<Amount>().is_err());
        assert!("abc".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert!("12.".parse::<Amount>().is_err());
        assert!(matches!(
            "1234567890123456".parse::<Amount>(),
            Err(AmountError::TooLong { digits: 16, .. })
        ));
    }

    #[test]
    fn compares_values_across_scales() {
        assert!(Amount::new(125, 1).same_value(Amount::new(1250, 2)));
        assert!(Amount::new(9000, 3).same_value(Amount::new(900, 2)));
        assert!(!Amount::new(901, 2).same_value(Amount::new(900, 2)));
    }

    #[test]
    fn finds_both_decimal_separators_and_grouping() {
        assert_eq!(values("TOTAL 31.00"), ["31.00"]);
        assert_eq!(values("Summe 12,50"), ["12.50"]);
        assert_eq!(values("Total 1,234.56"), ["1234.56"]);
        assert_eq!(values("Gesamt 1.234,56 EUR"), ["1234.56"]);
        assert_eq!(values("1 PC * 9.000 0.00 9.00"), ["9.000", "0.00", "9.00"]);
    }

    #[test]
    fn finds_currency_glued_amounts() {
        assert_eq!(values("TOTAL:RM9.00"), ["9.00"]);
        assert_eq!(values("NETT TOTAL: $8.20"), ["8.20"]);
        assert_eq!(values("Amount Due £12.40"), ["12.40"]);
        assert_eq!(values("Total € 12"), ["12"]);
        assert!(scan("TOTAL RM9.00")[0].currency);
        assert_eq!(values("RAZEM 12 zł"), ["12"]);
        assert_eq!(values("TOPLAM ₺45"), ["45"]);
        assert_eq!(values("CELKEM 120 Kč"), ["120"]);
    }

    #[test]
    fn skips_percentages_dates_times_and_codes() {
        assert_eq!(values("TOTAL INCL. GST@6% RM 31.00"), ["31.00"]);
        assert!(values("DATE: 25/12/2018 8:13:39 PM").is_empty());
        assert!(values("12.03.2018").is_empty());
        assert!(values("TEL 03-8051 9514").is_empty());
        assert!(values("INV A1234").is_empty());
    }

    #[test]
    fn joins_amounts_that_ocr_split() {
        assert_eq!(values("TOTAL $41 .20"), ["41.20"]);
        assert_eq!(values("TOTAL 16. 95"), ["16.95"]);
        assert_eq!(values("TOTAL 23.1 5"), ["23.15"]);
        assert_eq!(values("TOTAL 102.4:0"), ["102.40"]);
        assert_eq!(values("NETT TOTAL: $11.4|0"), ["11.40"]);
        assert_eq!(values("Summe 12,5'0"), ["12.50"]);
        assert_eq!(values("TOTAL 4'9.90"), ["49.90"]);
        assert_eq!(values("TOTAL DUE Z8.15"), ["28.15"]);
        assert_eq!(values("Z2.90"), ["22.90"]);
        assert_eq!(values("DUE ZS.15"), ["25.15"]);
        assert_eq!(values("$l 1.40"), ["11.40"]);
        assert_eq!(values("1 3.80"), ["13.80"]);
        assert_eq!(
            values("Total RM1 86.00"),
            ["1", "86.00"],
            "not joined after RM"
        );
        assert_eq!(values("2 9.90 SR"), ["9.90"]);
        assert_eq!(values("Zu zahlen 12,5O €"), ["12.50"]);
        // a count and a price stay apart; a time stays a time
        assert_eq!(values("2 9.90 SR"), ["9.90"]);
        assert_eq!(values("2 X 9.90"), ["9.90"]);
        assert_eq!(values("1 PC * 9.000 0.00 9.00"), ["9.000", "0.00", "9.00"]);
        assert!(values("10:25:49 PM").is_empty());
        assert!(values("NO. 12, 34 JALAN").is_empty());
    }

    #[test]
    fn the_code_tables_find_what_a_scan_of_every_code_finds() {
        let before = |head: &[u8]| {
            CODES_BEFORE.iter().any(|c| {
                head.ends_with(c) && {
                    let at = head.len() - c.len();
                    !c[0].is_ascii_alphabetic() || at == 0 || !head[at - 1].is_ascii_alphabetic()
                }
            })
        };
        let after = |tail: &[u8]| {
            CODES_AFTER.iter().any(|c| {
                tail.starts_with(c)
                    && (!c[0].is_ascii_alphabetic()
                        || !tail.get(c.len()).is_some_and(u8::is_ascii_alphabetic))
            })
        };
        let mut found = 0;
        for c in CODES_BEFORE.iter().chain(&CODES_AFTER) {
            for edge in [&b""[..], b"A", b" ", b"1", b"M", b"R", b"\xe2\x82"] {
                let head = [edge, c, b"  "].concat();
                let tail = [&b"  "[..], c, edge].concat();
                assert_eq!(
                    currency_before(&head, head.len()),
                    before(&head[..head.len() - 2])
                );
                assert_eq!(currency_after(&tail, 0), after(&tail[2..]));
                found +=
                    usize::from(before(&head[..head.len() - 2])) + usize::from(after(&tail[2..]));
            }
        }
        assert!(found > 50, "{found}");
    }

    #[test]
    fn only_rows_repair_may_join_are_repaired() {
        let flagged = |line: &str| scan_bytes(line.as_bytes(), &mut Vec::new());
        for line in [
            "TOTAL 102.4:0",
            "TOTAL 41:.20",
            "TOTAL 23.1 5",
            "1 3.80",
            "TOTAL 4'9.90",
        ] {
            assert!(flagged(line), "{line}");
            assert!(repair(line.as_bytes()).is_some(), "{line}");
        }
        // a time joins nothing
        for line in ["TIME 13:18:48", "25/12/2018 8:13:39 PM"] {
            assert!(!flagged(line), "{line}");
            assert!(repair(line.as_bytes()).is_none(), "{line}");
        }
        // every line of up to six bytes from digits, separators, gaps and misread digits
        // (after a digit, so that a number is always there): whatever repair would join, the
        // scan flags
        let lines = every_line(b"2", b"19.,: 'O|Z$S", 5);
        let mut repaired = 0;
        for l in &lines {
            let prefixes: [&[u8]; 5] = [b"", b"ZS", b"CS", b"NO.", b"$l "];
            for line in prefixes.map(|p| [p, l].concat()) {
                if repair(&line).is_some() {
                    repaired += 1;
                    assert!(
                        scan_bytes(&line, &mut Vec::new()),
                        "{:?}",
                        String::from_utf8_lossy(&line)
                    );
                }
            }
        }
        assert!(repaired > 1000, "{repaired}");
    }

    #[test]
    fn reads_signs_and_ocr_confusions() {
        assert_eq!(values("ROUNDING -0.02"), ["-0.02"]);
        assert_eq!(values("ROUNDING 0.02-"), ["-0.02"]);
        assert_eq!(values("ROUNDING ADJUSTMENT RM .01"), ["0.01"]);
        assert_eq!(values("Rounding Adjustment RM -,01"), ["-0.01"]);
        assert_eq!(values("TOTAL 1O.00"), ["10.00"]);
        assert_eq!(values("TOTAL 12.5O"), ["12.50"]);
    }
}
