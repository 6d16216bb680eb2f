//! An OCR noise model for `cargo xtask eval --noise`: clean receipt text corrupted the way OCR
//! engines corrupt it, at a given share of characters, seeded and reproducible.
//!
//! Each character is touched with probability `rate`; what happens to it depends on what it is:
//! - a letter or digit OCR confuses (O/0, l/1/I, S/5, B/8, Z/2, G/6, €/e) is swapped for its twin;
//!   other letters are dropped (truncating keywords: `TOTA`, `SUBTOTL`), doubled or read as a
//!   stray mark; punctuation is dropped or doubled;
//! - a digit gets a space before it, or inside an amount a stray character (`$41 .20`,
//!   `4 9.90`, `12,5'0`); digits are never lost, as no parser could get them back;
//! - a space is dropped (glued tokens: `TOTAL9.00`) or doubled;
//! - a line break is dropped (two rows merged), or a row of OCR debris (`'.:;`, `|| ~`) or a
//!   broken-off fragment is inserted there; a space may instead become a line break (a row split).
//!
//! The same seed, rate and text always give the same output.

/// A small, fast, seeded generator (SplitMix64): reproducible across platforms and runs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

/// The twin OCR reads a character as, if it has one.
fn confusion(c: char) -> Option<char> {
    Some(match c {
        'O' => '0',
        '0' => 'O',
        'o' => '0',
        'l' => '1',
        '1' => 'l',
        'I' => '1',
        'i' => 'l',
        'S' => '5',
        '5' => 'S',
        's' => '5',
        'B' => '8',
        '8' => 'B',
        'Z' => '2',
        '2' => 'Z',
        'G' => '6',
        '6' => 'G',
        '€' => 'e',
        'e' => 'c',
        'c' => 'e',
        'E' => 'F',
        'n' => 'm',
        'm' => 'n',
        'u' => 'v',
        'U' => 'V',
        'a' => 'o',
        ',' => '.',
        '.' => ',',
        _ => return None,
    })
}

/// Rows of debris OCR engines print for stains, folds, logos and barcodes.
const DEBRIS: &[&str] = &[
    "'.:;", "|| ~", "_ -- _", "..,", "1 l|", "*", "= =", "iI!", ".", "^ ' `", "~~~", "lll",
];

/// Stray characters that land inside a number or a word.
const STRAY: &[char] = &['\'', '.', ',', '`', '|', ':', ';', '-', '~', '_'];

/// `text` corrupted at `rate` (0.0–1.0) of its characters, from `rng`.
pub fn corrupt(text: &str, rate: f64, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, &c) in chars.iter().enumerate() {
        if !rng.chance(rate) {
            out.push(c);
            continue;
        }
        let prev = i.checked_sub(1).map(|k| chars[k]);
        let next = chars.get(i + 1).copied();
        let in_number = c.is_ascii_digit()
            && (prev.is_some_and(|p| p.is_ascii_digit() || p == '.' || p == ',')
                || next.is_some_and(|n| n == '.' || n == ','));
        match c {
            '\n' => match rng.below(3) {
                // two rows merged
                0 => out.push(' '),
                // a debris row inserted
                1 => {
                    out.push('\n');
                    out.push_str(rng.pick::<&str>(DEBRIS));
                    out.push('\n');
                }
                // two debris rows
                _ => {
                    out.push('\n');
                    out.push_str(rng.pick::<&str>(DEBRIS));
                    out.push('\n');
                    out.push_str(rng.pick::<&str>(DEBRIS));
                    out.push('\n');
                }
            },
            ' ' => match rng.below(3) {
                // glued tokens
                0 => {}
                1 => out.push_str("  "),
                // a row split in two
                _ => out.push('\n'),
            },
            _ if c.is_ascii_digit() && (confusion(c).is_none() || rng.below(2) == 0) => {
                // an amount (or a date) split by a space or a stray character
                if in_number && rng.below(2) == 0 {
                    out.push(*rng.pick(STRAY));
                } else {
                    out.push(' ');
                }
                out.push(c);
            }
            _ => match confusion(c) {
                Some(twin) if rng.below(4) != 0 || c.is_ascii_digit() => out.push(twin),
                _ if c.is_alphabetic() => match rng.below(3) {
                    // a dropped letter (a truncated keyword)
                    0 => {}
                    1 => {
                        out.push(c);
                        out.push(c);
                    }
                    _ => out.push(*rng.pick(STRAY)),
                },
                // punctuation dropped or doubled
                _ => {
                    if rng.below(2) == 0 {
                        out.push(c);
                        out.push(c);
                    }
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "CORNER CAFE\nDate: 12/03/2024\nCoffee        3.50\nTOTAL         7.75\n";

    #[test]
    fn rate_zero_leaves_the_text_alone() {
        assert_eq!(corrupt(TEXT, 0.0, &mut Rng::new(7)), TEXT);
    }

    #[test]
    fn the_same_seed_gives_the_same_text() {
        let a = corrupt(TEXT, 0.1, &mut Rng::new(42));
        let b = corrupt(TEXT, 0.1, &mut Rng::new(42));
        let c = corrupt(TEXT, 0.1, &mut Rng::new(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn about_the_rate_of_characters_change() {
        let long = TEXT.repeat(30);
        let similar = |rate: f64| {
            let noisy = corrupt(&long, rate, &mut Rng::new(1));
            crate::eval::similarity(&long, &noisy)
        };
        assert_eq!(similar(0.0), 1.0);
        let (at2, at10) = (similar(0.02), similar(0.10));
        assert!((0.95..1.0).contains(&at2), "2 %: {at2}");
        assert!((0.8..0.95).contains(&at10), "10 %: {at10}");
    }
}
