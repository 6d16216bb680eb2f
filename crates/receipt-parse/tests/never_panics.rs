//! `parse` and `parse_lines` never panic, whatever the input: arbitrary strings, and receipt-like
//! lines mutated by insertions, deletions and OCR-style substitutions. Bounded by PROPTEST_CASES
//! (`cargo xtask test` sets 2000), and each input is short, so the run stays within seconds.

use proptest::prelude::*;
use receipt_parse::{Line, parse, parse_lines};

const RECEIPT: &[&str] = &[
    "KEDAI RUNCIT MAJU SDN BHD (123456-X)",
    "DATE: 25/12/2018 8:13:39 PM",
    "Datum 24.12.2019 18:05",
    "2 x Brötchen 0,80 1,60",
    "SUB TOTAL 23.50",
    "GST 6% 1.41",
    "TOTAL INCL. GST@6% RM 24.91",
    "ROUNDING ADJ -0.01",
    "Summe EUR 1.234,56",
    "Total TTC 8,20 €",
    "Balance Due £26.85",
    "CASH RM 50.00",
    "CHANGE 25.10",
    "12 MAR 2018 18:19",
    "Dec 25, 2018",
    "(",
    ")",
    "RM .01",
];

/// Receipt lines with random edits: characters replaced by OCR confusions or arbitrary ones,
/// lines duplicated, dropped or cut.
fn mutated_receipt() -> impl Strategy<Value = String> {
    let line = prop::sample::select(RECEIPT.to_vec());
    let edit = (any::<prop::sample::Index>(), any::<char>(), 0u8..4);
    prop::collection::vec((line, prop::collection::vec(edit, 0..4)), 0..12).prop_map(|lines| {
        let mut out = String::new();
        for (line, edits) in lines {
            let mut chars: Vec<char> = line.chars().collect();
            for (at, c, kind) in edits {
                if chars.is_empty() {
                    chars.push(c);
                    continue;
                }
                let i = at.index(chars.len());
                match kind {
                    0 => chars[i] = c,
                    1 => chars.insert(i, c),
                    2 => {
                        chars.remove(i);
                    }
                    _ => {
                        chars[i] = match chars[i] {
                            '0' => 'O',
                            '1' => 'l',
                            '5' => 'S',
                            '8' => 'B',
                            '.' => ',',
                            ',' => '.',
                            other => other,
                        }
                    }
                }
            }
            out.extend(chars);
            out.push('\n');
        }
        out
    })
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,120}") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_digit_and_separator_soup(text in "[0-9.,:/\\- $€£%()RMOlSB\n]{0,120}") {
        let r = parse(&text);
        if let Some(t) = r.total {
            prop_assert!(t.scale <= 3);
        }
    }

    #[test]
    fn parse_never_panics_on_mutated_receipts(text in mutated_receipt()) {
        let r = parse(&text);
        prop_assert!(r.confidence.total <= 100);
        if let Some(d) = &r.date {
            prop_assert_eq!(d.len(), 10);
        }
    }

    #[test]
    fn parse_lines_never_panics_on_arbitrary_boxes(
        lines in prop::collection::vec(("\\PC{0,30}", prop::option::of(any::<[i32; 4]>())), 0..16)
    ) {
        let lines: Vec<Line> = lines.into_iter().map(|(text, bbox)| Line { text, bbox }).collect();
        let _ = parse_lines(&lines);
    }
}
