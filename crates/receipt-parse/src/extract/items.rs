//! The line items above the totals: description, quantity and amount.

use super::rows::*;
use crate::Item;
use crate::amount::Amount;
use crate::words;

/// A leading count ("2 Kaffee", "1 PC") or one before `x`, `*` or `@` ("2 X 3.50").
pub(super) fn quantity(text: &str) -> Option<Amount> {
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

pub(super) fn description(text: &str, first_amount_at: Option<usize>) -> String {
    let end = first_amount_at.unwrap_or(text.len()).min(text.len());
    let mut end = end;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    // drop leading codes and counts ("9556939040116 KF ...", "2 x", "1 PC *")
    // (plain ASCII without a vertical tab, which only Unicode counts as a space, splits alike
    // byte by byte; the words are walked where they lie, with no list of them)
    let mut joined = if head.is_ascii() && !head.as_bytes().contains(&0x0b) {
        kept_words(head.split_ascii_whitespace(), head.len())
    } else {
        kept_words(head.split_whitespace(), head.len())
    };
    // (the words hold no whitespace: only the end needs trimming, in place)
    let kept = joined
        .trim_end_matches(['*', '@', ' ', ':', '$', '€', '£'])
        .len();
    joined.truncate(kept);
    joined
}

/// The words of a description but for leading codes and counts and trailing currency marks,
/// joined by single spaces; most rows have a few words, gathered on the stack.
fn kept_words<'a>(mut words: impl Iterator<Item = &'a str>, capacity: usize) -> String {
    let mut buf = [""; 16];
    let mut n = 0;
    for slot in &mut buf {
        let Some(w) = words.next() else { break };
        *slot = w;
        n += 1;
    }
    let spilled: Vec<&str>;
    let words: &[&str] = match words.next() {
        None => &buf[..n],
        Some(w) => {
            spilled = buf.iter().copied().chain([w]).chain(words).collect();
            &spilled
        }
    };
    let mut skip = 0;
    for w in words {
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
    let mut joined = String::with_capacity(capacity);
    for (k, w) in words[skip..end].iter().enumerate() {
        if k > 0 {
            joined.push(' ');
        }
        joined.push_str(w);
    }
    joined
}

pub(super) fn pick_items(rows: &[Row], end: usize) -> Vec<Item> {
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
        // (letters counted only as far as the test needs)
        if desc.chars().filter(|c| c.is_alphabetic()).nth(2).is_none() && i > 0 {
            let prev = &rows[i - 1];
            if prev.amounts.is_empty() && prev.flags & LABELS == 0 && prev.letters >= 3 {
                desc = description(prev.text, None);
            }
        }
        if desc.chars().filter(|c| c.is_alphabetic()).nth(1).is_none() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_splitting_matches_unicode_splitting_but_for_the_vertical_tab() {
        for b in 0u8..128 {
            let unicode = char::from(b).is_whitespace();
            assert_eq!(unicode, b.is_ascii_whitespace() || b == 0x0b, "byte {b}");
        }
        assert_eq!(
            description("2 X KOPI O\x0bPENG 3.50", Some(15)),
            "KOPI O PENG"
        );
        assert_eq!(description("9556939040116 KF CLAY  RM", None), "KF CLAY");
    }

    #[test]
    fn a_description_of_more_words_than_the_stack_holds_keeps_them_all() {
        for n in [15, 16, 17, 40] {
            let words: Vec<String> = (0..n)
                .map(|k| format!("W{}", "A".repeat(k % 3 + 1)))
                .collect();
            let text = format!("2 X {} RM *", words.join("  "));
            assert_eq!(description(&text, None), words.join(" "), "{n} words");
            assert_eq!(
                description(&text.replace(' ', "\u{a0}"), None),
                words.join(" ")
            );
        }
        assert_eq!(description("123 456 RM", None), "");
    }
}
