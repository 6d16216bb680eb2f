//! The merchant: the name near the top, cleaned of legal-form and address noise.

use super::Picked;
use super::rows::*;
use crate::words;

pub(super) fn starts_with_company_word(r: &Row) -> bool {
    r.words
        .first()
        .is_some_and(|w| words::word_flags(w) & words::COMPANY != 0)
        || r.text.trim_start().starts_with([')', '&'])
}

pub(super) fn unbalanced_close(text: &str) -> bool {
    text.matches(')').count() > text.matches('(').count()
}

pub(super) fn merchant_candidate(r: &Row) -> bool {
    use words::*;
    if r.letters < 3 || r.digits > r.letters || !r.amounts.is_empty() {
        return false;
    }
    // "BILL TO: PDP UTEK (M) SDN BHD" names the customer
    if r.flags & CUSTOMER != 0 {
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
    // (a web or mail address has a "." or an "@": most rows have neither and skip the search)
    !(b.contains(&b'@') || (b.contains(&b'.') && (has(b"www") || has(b".com"))))
}

/// Drops registration numbers, leading counters and owner prefixes:
/// "99 SPEED MART S/B (519537-X)", "#000002 BAIFU (M) SDN BHD", "OWNED BY: X SDN BHD".
pub(super) fn clean_merchant(name: &str) -> String {
    // full-width brackets (PP-OCR prints "S/B（519537-X)") read as plain ones
    let plain;
    let name = if !name.is_ascii() && name.contains(['（', '）']) {
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
    // a bracket left open at the end: "TONYMOLY VIVA CITY (TONYMOLY SHOP" ("}" is OCR for ")");
    // one word in it is a branch whose ")" OCR misread ("FUN N CHEER (MALURD"), and stays
    if let Some(p) = s.rfind('(')
        && !s[p..].contains([')', '}'])
        && s[p + 1..].split_whitespace().count() != 1
    {
        s = s[..p].trim_end();
    }
    // a code such as "1110644-W" or "273500-U" ends the name
    // (room for a long name at once: no growing word by word)
    // (plain ASCII without a vertical tab, which only Unicode counts as a space, splits alike
    // byte by byte)
    let mut kept: Vec<&str> = Vec::with_capacity(16);
    if s.is_ascii() && !s.as_bytes().contains(&0x0b) {
        keep_until_code(s.split_ascii_whitespace(), &mut kept);
    } else {
        keep_until_code(s.split_whitespace(), &mut kept);
    }
    // a word of the next box glued on after the legal form or trade that ends the name:
    // "TIN HOCK ENTERPRISE POSTED", "... SDN BHD RECEIPT" (one or two words, looked at from the
    // end, folded into one buffer)
    if kept.len() >= 3 {
        let mut buf = Vec::with_capacity(32);
        let mut word = |w: &str| {
            buf.clear();
            words::fold_flags(w, w.is_ascii(), &mut buf).1
        };
        let n = kept.len();
        let mut end = None;
        for k in (n.saturating_sub(3).max(1)..n).rev() {
            let f = word(kept[k]);
            if k + 1 < n && f & (words::LEGAL | words::SUFFIX) != 0 {
                end = Some(k);
                break;
            }
            if !kept[k].chars().all(char::is_alphabetic) || f & (words::COMPANY | words::LEGAL) != 0
            {
                break;
            }
        }
        // (not after "SDN", the first half of "SDN BHD": "... SDN BND" is a misread "BHD")
        if let Some(end) = end
            && !kept[end].eq_ignore_ascii_case("SDN")
        {
            kept.truncate(end + 1);
        }
    }
    // a legal form whose letters OCR read as digits: "99 SPEED MART 5/8" is "S/B", "SDN 8HD" "BHD"
    let legal_form: String;
    if let Some(last) = kept.last()
        && last.bytes().any(|b| b.is_ascii_digit())
        && !last.bytes().all(|b| b.is_ascii_digit())
        && last.len() <= 4
        && words::flags(words::fold(last).get()) & words::LEGAL != 0
    {
        legal_form = last
            .chars()
            .map(|c| match c {
                '0' => 'O',
                '5' => 'S',
                '8' => 'B',
                '6' => 'G',
                '2' => 'Z',
                '1' => 'L',
                c => c,
            })
            .collect();
        if let Some(slot) = kept.last_mut() {
            *slot = &legal_form;
        }
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
    // (trimmed in place: no copy)
    let end = joined
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '.' && c != '\'')
        .len();
    joined.truncate(end);
    let start = end
        - joined
            .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(')
            .len();
    joined.drain(..start);
    joined
}

/// The words of a name up to a code ("1110644-W", "#12") that ends it; a code before any word
/// is skipped.
fn keep_until_code<'a>(words: impl Iterator<Item = &'a str>, kept: &mut Vec<&'a str>) {
    for w in words {
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
}

pub(super) fn pick_merchant(rows: &[Row]) -> Picked<String> {
    let stop = rows
        .iter()
        .position(|r| {
            matches!(r.kind, Kind::Total | Kind::Subtotal | Kind::Tendered) && r.value.is_some()
        })
        .unwrap_or(rows.len())
        .min(10);
    // an invoice's customer block ("BILL TO:", "DELIVER TO:") names the buyer, not the issuer
    // printed above it
    let customer = rows[..stop]
        .iter()
        .position(|r| r.flags & words::CUSTOMER != 0)
        .filter(|&c| rows[..c].iter().any(merchant_candidate));
    let stop = customer.unwrap_or(stop);
    // (at most ten candidates: ranked on the stack)
    let mut ranked = [(0f32, 0usize); 10];
    let mut n = 0;
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
        if let Some(slot) = ranked.get_mut(n) {
            *slot = (score, i);
            n += 1;
        }
    }
    let ranked = &mut ranked[..n];
    // best first; ties to the earlier row
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .iter()
        .copied()
        .find_map(|(score, i)| merchant_at(rows, i, score))
        .unwrap_or_default()
}

pub(super) fn merchant_at(rows: &[Row], i: usize, score: f32) -> Option<Picked<String>> {
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
    let mut joined =
        String::with_capacity(rows[start..=end].iter().map(|r| r.text.len() + 1).sum());
    for (k, r) in rows[start..=end].iter().enumerate() {
        if k > 0 {
            joined.push(' ');
        }
        joined.push_str(r.text);
    }
    let name = clean_merchant(&joined);
    // at least two letters (counted only that far)
    name.chars().filter(|c| c.is_alphabetic()).nth(1)?;
    let conf = if score > 3.0 {
        80
    } else if score > 0.0 {
        60
    } else {
        40
    };
    Some(Picked::found(name, conf))
}
