//! Rows: the text cut into lines, each scanned once (letters, digits, currency marks, folded
//! words, amounts) and labelled with the [`Kind`] of amount it names.

use crate::amount::{self, Amount, Found};
use crate::words::{self, Flags};

/// Flags that make a row a label for the amount beside (or below) it.
pub(super) const LABELS: Flags = words::TOTAL
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
pub(super) const MAX_ROW_BYTES: usize = 400;
/// At most this many rows are read: a receipt is short, and it bounds the work per input.
pub(super) const MAX_ROWS: usize = 2000;

/// What a labelled row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Row<'a> {
    pub(super) text: &'a str,
    pub(super) words: words::Folded<'a>,
    pub(super) flags: Flags,
    pub(super) amounts: &'a [Found],
    pub(super) letters: usize,
    pub(super) digits: usize,
    /// Has "$" (not "S$").
    pub(super) dollar: bool,
    /// Has "S$".
    pub(super) singapore_dollar: bool,
    /// Plain ASCII (no €, £).
    pub(super) ascii: bool,
    /// The money value the row's label applies to: its own last amount, or one borrowed from below.
    pub(super) value: Option<Amount>,
    /// Its amount was taken by a label row above.
    pub(super) lent: bool,
    pub(super) kind: Kind,
}

pub(super) fn cut(text: &str) -> &str {
    if text.len() <= MAX_ROW_BYTES {
        return text;
    }
    let mut end = MAX_ROW_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub(super) fn classify(f: Flags) -> Kind {
    use words::*;
    // most rows (names, addresses, items) carry no keyword at all
    if f == 0 {
        return Kind::Other;
    }
    let totalish = TOTAL | STRONG | ROUNDED | BALANCE | AMOUNT;
    if f & TAX_NOTE != 0 {
        return Kind::Tax;
    }
    // "TOTAL 6% SUPPLIES (INC. GST)", "TOTAL 0% SUPPLIES": a part of the total, by tax rate
    if f & SUPPLY != 0 && f & TOTAL != 0 && f & STRONG == 0 {
        return Kind::Subtotal;
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

/// Where a scanned row's folded words and amounts lie in the receipt's shared buffers (one
/// allocation each per receipt rather than two per row), and how many words: the row gets
/// them by [`attach`] once every row is scanned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spans {
    folded: (u32, u32),
    count: u32,
    amounts: (u32, u32),
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
pub(super) fn newline(b: &[u8]) -> usize {
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
pub(super) const CLASS: [u8; 256] = {
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
pub(super) const LETTER: u8 = 1;
pub(super) const DIGIT: u8 = 2;
pub(super) const DOLLAR: u8 = 4;
pub(super) const WIDE: u8 = 8;

/// [`str::trim`], with a byte loop for the ASCII ends that receipt rows have.
pub(super) fn trim(text: &str) -> &str {
    // the ASCII characters with Unicode's White_Space property
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let b = text.as_bytes();
    // most rows start and end with a printable ASCII character: nothing to trim
    let printable = |x: Option<&u8>| x.is_some_and(|&x| (b'!'..=b'~').contains(&x));
    if printable(b.first()) && printable(b.last()) {
        return text;
    }
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

/// Letters and digits of a row (cut to [`MAX_ROW_BYTES`]) with neither "$" nor anything
/// beyond ASCII, eight bytes at a time; `None` for any other row.
fn count_plain(b: &[u8]) -> Option<(usize, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES << 7;
    // a byte's high bit set where it is at least `at` (bytes below 0x80 never carry over)
    let at_least = |x: u64, at: u8| x.wrapping_add(ONES * u64::from(0x80 - at)) & HIGH;
    // letters and digits counted per byte lane (a row cut to MAX_ROW_BYTES puts at most one a
    // word of eight bytes, 51 in all, in a lane: no lane overflows), and the lanes summed once
    // at the end: pairs of lanes into 16-bit lanes, those into the top 16 bits by one
    // multiplication
    const _: () = assert!(MAX_ROW_BYTES / 8 < 255);
    debug_assert!(b.len() <= MAX_ROW_BYTES);
    let total = |lanes: u64| {
        const PAIRS: u64 = 0x00ff_00ff_00ff_00ff;
        let wide = (lanes & PAIRS) + ((lanes >> 8) & PAIRS);
        (wide.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize
    };
    let (mut letters, mut digits) = (0u64, 0u64);
    let mut add = |x: u64| {
        let dollars = x ^ (ONES * u64::from(b'$'));
        if x & HIGH != 0 || dollars.wrapping_sub(ONES) & !dollars & HIGH != 0 {
            return false;
        }
        digits += (at_least(x, b'0') & !at_least(x, b'9' + 1)) >> 7;
        let lower = x | (ONES * 0x20);
        letters += (at_least(lower, b'a') & !at_least(lower, b'z' + 1)) >> 7;
        true
    };
    let chunks = b.chunks_exact(8);
    let rest = chunks.remainder().len();
    for chunk in chunks {
        if !add(<[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes)) {
            return None;
        }
    }
    if rest > 0 {
        // the last few bytes padded with zeros (no letter, digit or "$"): the row's last eight
        // shifted past the bytes counted already, or a short row gathered byte by byte (a copy
        // of a variable length would be a call to memcpy)
        let n = b.len();
        let x = match b.get(n.saturating_sub(8)..).map(<[u8; 8]>::try_from) {
            Some(Ok(last)) => u64::from_le_bytes(last) >> (8 * (8 - rest)),
            _ => b.iter().rev().fold(0, |x, &y| x << 8 | u64::from(y)),
        };
        if !add(x) {
            return None;
        }
    }
    Some((total(letters), total(digits)))
}

/// Letters and digits, the first "$" (whether "S" stands before it) and whether all is ASCII,
/// byte by byte.
fn count_bytes(b: &[u8]) -> (usize, usize, Option<bool>, bool) {
    let (mut letters, mut digits, mut dollar, mut ascii) = (0, 0, None, true);
    for (i, &x) in b.iter().enumerate() {
        let class = CLASS[usize::from(x)];
        letters += usize::from(class & LETTER);
        digits += usize::from(class >> 1 & 1);
        if class & (DOLLAR | WIDE) != 0 {
            if class == DOLLAR {
                if dollar.is_none() {
                    dollar = Some(i > 0 && b[i - 1] == b'S');
                }
            } else {
                ascii = false;
            }
        }
    }
    (letters, digits, dollar, ascii)
}

/// Scans a row of text once and appends it (unless it is blank) to `rows`, with where its
/// words and amounts lie to `spans`.
pub(super) fn scan_row<'a>(
    text: &'a str,
    folded: &mut Vec<u8>,
    amounts: &mut Vec<Found>,
    rows: &mut Vec<Row<'a>>,
    spans: &mut Vec<Spans>,
) {
    let text = trim(cut(text));
    if text.is_empty() {
        return;
    }
    // one pass over the bytes: letters, digits, dollar signs, anything beyond ASCII (eight
    // bytes at a time where there is neither a dollar sign nor anything beyond ASCII)
    let (mut letters, digits, dollar, ascii) = match count_plain(text.as_bytes()) {
        Some((letters, digits)) => (letters, digits, None, true),
        None => count_bytes(text.as_bytes()),
    };
    if !ascii {
        letters = text.chars().filter(|c| c.is_alphabetic()).count();
    }
    // a row without letters has no keyword, one without digits no amount
    let fold_start = folded.len();
    let (count, mut flags) = if letters > 0 {
        words::fold_flags(text, ascii, folded)
    } else {
        (0, 0)
    };
    if !ascii {
        flags |= words::thai_flags(text);
    }
    let amount_start = amounts.len();
    if digits > 0 {
        amount::scan_into(text, amounts);
    }
    spans.push(Spans {
        folded: (fold_start as u32, folded.len() as u32),
        count: count as u32,
        amounts: (amount_start as u32, amounts.len() as u32),
    });
    rows.push(Row {
        text,
        letters,
        digits,
        singapore_dollar: dollar == Some(true),
        dollar: dollar == Some(false),
        ascii,
        words: words::Folded::default(),
        flags,
        amounts: &[],
        value: None,
        lent: false,
        kind: classify(flags),
    });
}

/// The amount a row's label applies to: its last decimal amount, else its last amount.
pub(super) fn own_value(amounts: &[Found]) -> Option<Amount> {
    amounts
        .iter()
        .rev()
        .find(|f| f.decimal)
        .or(amounts.last())
        .map(|f| f.amount)
}

/// Gives a scanned row its folded words and amounts from the receipt's filled buffers, and
/// the value they give its label.
pub(super) fn attach<'a>(r: &mut Row<'a>, at: Spans, folded: &'a str, amounts: &'a [Found]) {
    // only ASCII was folded, so every range is a char boundary; `get` keeps that unchecked
    let text = folded
        .get(at.folded.0 as usize..at.folded.1 as usize)
        .unwrap_or("");
    r.words = words::Folded::new(text, at.count as usize);
    r.amounts = amounts
        .get(at.amounts.0 as usize..at.amounts.1 as usize)
        .unwrap_or(&[]);
    r.value = own_value(r.amounts);
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
    fn counting_eight_bytes_at_a_time_counts_as_byte_by_byte() {
        let mut texts: Vec<Vec<u8>> = (0u8..128).map(|b| vec![b; 11]).collect();
        texts.push(b"TOTAL 9.00 @[`{/:09azAZ".to_vec());
        texts.push(b"Total \xe2\x82\xac 12,50".to_vec());
        texts.push(b"S$ 12.50".to_vec());
        texts.push(Vec::new());
        // the longest rows: every lane counts its most
        texts.push(vec![b'7'; MAX_ROW_BYTES]);
        texts.push(vec![b'z'; MAX_ROW_BYTES]);
        texts.push(b"A1".repeat(MAX_ROW_BYTES / 2 - 1));
        // every length, so each size of the last partial word is read
        let long = b"TOTAL RM 9.00 CASH 10.00 CHANGE 1.00 $";
        texts.extend((0..long.len()).map(|n| long[..n].to_vec()));
        texts.extend((0..long.len()).map(|n| long[n..].to_vec()));
        for t in &texts {
            let (letters, digits, dollar, ascii) = count_bytes(t);
            match count_plain(t) {
                Some(plain) => {
                    assert_eq!(plain, (letters, digits), "{t:?}");
                    assert_eq!((dollar, ascii), (None, true), "{t:?}");
                }
                None => assert!(dollar.is_some() || !ascii, "{t:?}"),
            }
        }
    }

    #[test]
    fn the_row_pass_counts_letters_digits_and_dollars() {
        let mut folded = Vec::new();
        let mut amounts = Vec::new();
        let (mut rows, mut spans) = (Vec::new(), Vec::new());
        scan_row("", &mut folded, &mut amounts, &mut rows, &mut spans);
        assert!(rows.is_empty() && spans.is_empty());
        scan_row(" \t ", &mut folded, &mut amounts, &mut rows, &mut spans);
        assert!(rows.is_empty() && spans.is_empty());
        scan_row(
            "  S$ 12.50 and $3 ",
            &mut folded,
            &mut amounts,
            &mut rows,
            &mut spans,
        );
        let s = &rows[0];
        assert_eq!(s.text, "S$ 12.50 and $3");
        assert_eq!(
            (s.letters, s.digits, s.singapore_dollar, s.dollar, s.ascii),
            (4, 5, true, false, true)
        );
        scan_row(
            "Total € 12,50",
            &mut folded,
            &mut amounts,
            &mut rows,
            &mut spans,
        );
        let s = &rows[1];
        assert_eq!(
            (s.letters, s.digits, s.singapore_dollar, s.dollar, s.ascii),
            (5, 4, false, false, false)
        );
        assert_eq!(s.flags & words::TOTAL, words::TOTAL);
    }
}
