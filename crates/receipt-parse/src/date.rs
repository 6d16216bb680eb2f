//! Dates and times in a line: numeric (25/12/2018, 25.12.18, 2018-12-25) and with month names
//! in six languages (25 Dec 2018, Dec 25, 2018, 25. Dezember 2018, 25 décembre 2018).

/// A calendar date found in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoundDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// Day and month could be swapped (both ≤ 12, numeric form).
    pub ambiguous: bool,
    /// Printed month first (only known when unambiguous: 12/28/2017).
    pub month_first: bool,
}

impl FoundDate {
    /// ISO 8601: "2018-12-25".
    pub fn iso(&self) -> String {
        let mut s = String::with_capacity(10);
        push_digits(&mut s, u32::from(self.year), 4);
        s.push('-');
        push_digits(&mut s, u32::from(self.month), 2);
        s.push('-');
        push_digits(&mut s, u32::from(self.day), 2);
        s
    }

    /// The same date read month first (for ambiguous numeric dates on US receipts).
    pub fn swapped(&self) -> FoundDate {
        FoundDate {
            month: self.day,
            day: self.month,
            month_first: true,
            ..*self
        }
    }
}

/// How a receipt counts its years: two-digit years are read in this era's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// The common era: "18" is 2018, "95" is 1995.
    Common,
    /// A Thai receipt: besides common-era years, a two-digit year that as 20yy would lie far in
    /// the future (50–89) is the Buddhist era's 25yy, 543 years ahead ("66" is 2566, 2023).
    Thai,
}

/// Appends the last `width` decimal digits of `v` (what `{:0width$}` prints for a number of at
/// most `width` digits), without the formatting machinery: every receipt prints a date and a time.
fn push_digits(s: &mut String, v: u32, width: u32) {
    for k in (0..width).rev() {
        let d = v / 10u32.pow(k) % 10;
        s.push(char::from(b'0' + d as u8));
    }
}

const MONTHS: &[(&str, u8)] = &[
    ("JAN", 1),
    ("JANUARY", 1),
    ("JANUAR", 1),
    ("JANVIER", 1),
    ("ENERO", 1),
    ("ENE", 1),
    ("GENNAIO", 1),
    ("GEN", 1),
    ("JANUARI", 1),
    ("FEB", 2),
    ("FEBRUARY", 2),
    ("FEBRUAR", 2),
    ("FEVRIER", 2),
    ("FEV", 2),
    ("FEBRERO", 2),
    ("FEBBRAIO", 2),
    ("FEBRUARI", 2),
    ("MAR", 3),
    ("MARCH", 3),
    ("MARZ", 3),
    ("MAERZ", 3),
    ("MARS", 3),
    ("MARZO", 3),
    ("MAART", 3),
    ("MRT", 3),
    ("APR", 4),
    ("APRIL", 4),
    ("AVRIL", 4),
    ("AVR", 4),
    ("ABRIL", 4),
    ("ABR", 4),
    ("APRILE", 4),
    ("MAY", 5),
    ("MAI", 5),
    ("MAYO", 5),
    ("MAGGIO", 5),
    ("MAG", 5),
    ("MEI", 5),
    ("JUN", 6),
    ("JUNE", 6),
    ("JUNI", 6),
    ("JUIN", 6),
    ("JUNIO", 6),
    ("GIUGNO", 6),
    ("GIU", 6),
    ("JUL", 7),
    ("JULY", 7),
    ("JULI", 7),
    ("JUILLET", 7),
    ("JUIL", 7),
    ("JULIO", 7),
    ("LUGLIO", 7),
    ("LUG", 7),
    ("AUG", 8),
    ("AUGUST", 8),
    ("AOUT", 8),
    ("AGOSTO", 8),
    ("AGO", 8),
    ("AUGUSTUS", 8),
    ("SEP", 9),
    ("SEPT", 9),
    ("SEPTEMBER", 9),
    ("SEPTEMBRE", 9),
    ("SEPTIEMBRE", 9),
    ("SETTEMBRE", 9),
    ("SET", 9),
    ("OCT", 10),
    ("OCTOBER", 10),
    ("OKTOBER", 10),
    ("OKT", 10),
    ("OCTOBRE", 10),
    ("OCTUBRE", 10),
    ("OTTOBRE", 10),
    ("OTT", 10),
    ("NOV", 11),
    ("NOVEMBER", 11),
    ("NOVEMBRE", 11),
    ("NOVIEMBRE", 11),
    ("DEC", 12),
    ("DECEMBER", 12),
    ("DEZEMBER", 12),
    ("DEZ", 12),
    ("DECEMBRE", 12),
    ("DICIEMBRE", 12),
    ("DIC", 12),
    ("DICEMBRE", 12),
];

/// The first three letters of every month name, for the quick test in `maybe_date`: a bit set
/// indexed by the three upper-case letters.
static MONTH_PREFIXES: std::sync::LazyLock<[u64; 275]> = std::sync::LazyLock::new(|| {
    let mut set = [0u64; 275];
    for (name, _) in MONTHS {
        if let Some(i) = prefix_index(name.as_bytes()) {
            set[i / 64] |= 1 << (i % 64);
        }
    }
    set
});

/// The index of a word's first three letters (upper-cased) in [`MONTH_PREFIXES`].
fn prefix_index(word: &[u8]) -> Option<usize> {
    let mut i = 0;
    for &b in word.get(..3)? {
        let b = b.to_ascii_uppercase();
        if !b.is_ascii_uppercase() {
            return None;
        }
        i = i * 26 + usize::from(b - b'A');
    }
    Some(i)
}

/// Whether a byte is the first letter of a month name, in either case (most words start
/// otherwise, and skip the lookup of their first three letters).
const MONTH_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    while k < MONTHS.len() {
        let first = MONTHS[k].0.as_bytes()[0];
        t[first.to_ascii_uppercase() as usize] = true;
        t[first.to_ascii_lowercase() as usize] = true;
        k += 1;
    }
    t
};

/// Whether a word starts like a month name.
fn month_prefix(word: &[u8]) -> bool {
    word.first().is_some_and(|&b| MONTH_FIRST[usize::from(b)])
        && prefix_index(word).is_some_and(|i| MONTH_PREFIXES[i / 64] & (1 << (i % 64)) != 0)
}

fn month_named(word: &str) -> Option<u8> {
    if !(3..=10).contains(&word.len()) || !month_prefix(word.as_bytes()) {
        return None;
    }
    MONTHS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|&(_, m)| m)
}

fn days_in(month: u8, year: u16) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn full_year(y: u32, digits: usize, era: Era) -> Option<u16> {
    let y = match digits {
        // two digits: 00-49 are 2000s, 90-99 the 1990s; the rest is not a receipt year (but on
        // a Thai receipt 50-89 are the Buddhist era's 2550-2589, 2007-2046)
        2 if y < 50 => 2000 + y,
        2 if y >= 90 => 1900 + y,
        2 if era == Era::Thai && y < 90 => 2500 + y - 543,
        // the Thai Buddhist era runs 543 years ahead (2561 is 2018)
        4 if (2533..=2642).contains(&y) => y - 543,
        4 => y,
        _ => return None,
    };
    (1990..=2099).contains(&y).then_some(y as u16)
}

/// The year a date's last number gives: two or four digits, or the same glued to the time
/// printed after it ("22/12/201714:03", "14-03-1821:49").
fn year_of(t: &Tok, line: &[u8], era: Era) -> Option<u16> {
    let s = t.text();
    if !t.digits || s.is_empty() {
        return None;
    }
    let plain = |digits: usize| full_year(t.value(digits)?, digits, era);
    if (t.len == 2 || t.len == 4)
        && let Some(y) = plain(t.len)
    {
        return Some(y);
    }
    // the time's first separator is ":" (or "." misread: "06/01/1812.17:26PM")
    let time_after = match line.get(t.end) {
        Some(b':') => true,
        Some(b'.') => {
            let rest = line.get(t.end + 1..).unwrap_or_default();
            rest.len() >= 3 && rest[..2].iter().all(u8::is_ascii_digit) && rest[2] == b':'
        }
        _ => false,
    };
    if !time_after {
        return None;
    }
    match t.len {
        5 | 6 => plain(4),
        3 | 4 => plain(2),
        _ => None,
    }
}

fn valid(year: u16, month: u8, day: u8) -> bool {
    (1..=12).contains(&month) && day >= 1 && day <= days_in(month, year)
}

/// The longest token kept in full (longer ones are never part of a date).
const TOK_MAX: usize = 12;

/// A token of a line: a run of digits or of letters (folded to upper-case ASCII), kept inline.
#[derive(Debug)]
struct Tok {
    buf: [u8; TOK_MAX],
    /// Its length; `TOK_MAX + 1` when it was longer than `TOK_MAX`.
    len: usize,
    digits: bool,
    start: usize,
    end: usize,
}

impl Tok {
    fn text(&self) -> &str {
        if self.len > TOK_MAX {
            return "";
        }
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// The number its first `digits` digits make (what parsing them as text gives), if it is
    /// a run of that many digits or more, kept in full.
    fn value(&self, digits: usize) -> Option<u32> {
        if !self.digits || self.len > TOK_MAX || digits == 0 || digits > self.len || digits > 9 {
            return None;
        }
        Some(
            self.buf[..digits]
                .iter()
                .fold(0, |v, &d| v * 10 + u32::from(d - b'0')),
        )
    }
}

fn tokens(line: &str) -> Vec<Tok> {
    // room for the tokens of most lines: no growing
    let mut out: Vec<Tok> = Vec::with_capacity(16);
    if line.is_ascii() {
        // byte by byte, as the characters below read ASCII
        for (i, &b) in line.as_bytes().iter().enumerate() {
            let (ch, digit) = if b.is_ascii_digit() {
                (b, true)
            } else if b.is_ascii_alphabetic() {
                (b.to_ascii_uppercase(), false)
            } else {
                continue;
            };
            push_token(&mut out, i, ch, digit, 1);
        }
        return out;
    }
    for (i, c) in line.char_indices() {
        let (ch, digit) = if c.is_ascii_digit() {
            (c as u8, true)
        } else if c.is_alphabetic() {
            let up = match c {
                'é' | 'É' | 'è' | 'ê' => b'E',
                'û' | 'ü' | 'Ü' | 'ù' => b'U',
                'ä' | 'Ä' | 'à' | 'â' => b'A',
                c if c.is_ascii() => c.to_ascii_uppercase() as u8,
                _ => b'?',
            };
            (up, false)
        } else {
            continue;
        };
        push_token(&mut out, i, ch, digit, c.len_utf8());
    }
    out
}

/// Adds a character (folded to `ch`, `width` bytes at `i`) to the token it continues, or
/// starts a token with it.
fn push_token(out: &mut Vec<Tok>, i: usize, ch: u8, digit: bool, width: usize) {
    match out.last_mut() {
        Some(t) if t.end == i && t.digits == digit => {
            if t.len < TOK_MAX {
                t.buf[t.len] = ch;
                t.len += 1;
            } else {
                t.len = TOK_MAX + 1;
            }
            t.end = i + width;
        }
        _ => {
            let mut buf = [0u8; TOK_MAX];
            buf[0] = ch;
            out.push(Tok {
                buf,
                len: 1,
                digits: digit,
                start: i,
                end: i + width,
            })
        }
    }
}

/// Letters OCR prints for 0 and 1 inside numbers.
fn confusable(b: u8) -> Option<u8> {
    match b {
        b'O' | b'o' => Some(b'0'),
        b'l' | b'I' | b'|' => Some(b'1'),
        b'S' => Some(b'5'),
        b'B' => Some(b'8'),
        b'Z' => Some(b'2'),
        b'G' => Some(b'6'),
        _ => None,
    }
}

/// Finds the dates in a line, left to right, reading O as 0, l/I as 1 (and S, B, Z, G as 5, 8,
/// 2, 6 between digits) where they touch a digit or a slash ("05/O8/2019", "06/02/1B").
pub(crate) fn scan(line: &str, era: Era) -> Vec<FoundDate> {
    match maybe_date(line) {
        Some(shape) => scan_shaped(line, shape, era),
        None => Vec::new(),
    }
}

/// The dates [`scan`] finds in a line and, when it finds none and `mend` is set, those
/// [`scan_mended`] finds: both are asked of a row above a receipt's first date, and one pass
/// over its bytes tells both whether there is anything to look for.
pub(crate) fn scan_else_mended(
    line: &str,
    mend: bool,
    era: Era,
) -> (Vec<FoundDate>, Vec<FoundDate>) {
    let (shape, worth_mending) = if mend {
        shape_of::<true>(line)
    } else {
        (maybe_date(line), false)
    };
    let dates = match shape {
        Some(shape) => scan_shaped(line, shape, era),
        None => Vec::new(),
    };
    let mended = if dates.is_empty() && worth_mending {
        scan_mended(line, era)
    } else {
        Vec::new()
    };
    (dates, mended)
}

/// [`scan`] of a line of the shape [`maybe_date`] says.
fn scan_shaped(line: &str, shape: Shape, era: Era) -> Vec<FoundDate> {
    // a stray mark between two digits ("2~1/03/2018", "17/01/20;18") would cut the date short
    // or shift it: the line is read mended first
    if stray_between_digits(line.as_bytes()) {
        let mended = scan_mended(line, era);
        if !mended.is_empty() {
            return mended;
        }
    }
    scan_mapped(line, shape, era)
}

/// [`scan`] after the stray-mark check: confusable letters read as digits, then the plain scan
/// (skipped when nothing is mapped and the line has no date's shape: it would find nothing).
fn scan_mapped(line: &str, shape: Shape, era: Era) -> Vec<FoundDate> {
    let b = line.as_bytes();
    let near_digit = |i: usize| {
        let touches = |j: usize| b.get(j).is_some_and(|&x| x.is_ascii_digit() || x == b'/');
        let touching = (i > 0 && touches(i - 1)) || touches(i + 1);
        // S, B, Z and G only between digits and separators, never beside a letter ("AUG2018")
        let letter = |j: usize| b.get(j).is_some_and(u8::is_ascii_alphabetic);
        touching
            && (matches!(b[i], b'O' | b'o' | b'l' | b'I')
                || !((i > 0 && letter(i - 1)) || letter(i + 1)))
    };
    let needs_mapping = (0..b.len()).any(|i| confusable(b[i]).is_some() && near_digit(i));
    if !needs_mapping {
        if shape == Shape::Confusable {
            return Vec::new();
        }
        return scan_plain(line, era);
    }
    let mapped: Vec<u8> = (0..b.len())
        .map(|i| match confusable(b[i]) {
            Some(d) if near_digit(i) => d,
            _ => b[i],
        })
        .collect();
    match String::from_utf8(mapped) {
        Ok(m) => scan_plain(&m, era),
        Err(_) => scan_plain(line, era),
    }
}

/// A mark OCR strews into numbers (never a space: "12 03 2018" may be three numbers; nor "|",
/// which is a misread 1).
const fn is_stray(b: u8) -> bool {
    matches!(b, b'\'' | b'`' | b';' | b'~' | b'_' | b'"' | b'^')
}

/// Whether a stray mark stands between two digits ("20;18").
fn stray_between_digits(b: &[u8]) -> bool {
    b.len() >= 3
        && (1..b.len() - 1)
            .any(|i| is_stray(b[i]) && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
}

/// The dates of a line that OCR damaged, read after mending it: a space or stray mark inside
/// the date dropped ("18/01/ 2018", "3 0/05/2017", "20;18"), a doubled separator made single
/// ("12//02/2018", "18-01--2018"), a comma read for a dot ("24,12.2019"), and a separator
/// OCR lost put back ("15/062017", "0202/2018"). Meant for a line where [`scan`] found none
/// (or one a stray mark breaks); a time glued to the year by the mending is read as such.
pub(crate) fn scan_mended(line: &str, era: Era) -> Vec<FoundDate> {
    let b = line.as_bytes();
    let sep = |x: u8| matches!(x, b'/' | b'-' | b'.' | b',');
    // a date has two separators beside digits, or lost one; most lines have nothing the
    // mending would change: the cheap ways out first (a separator after a digit is found
    // early when there is one), the digits counted last
    if b.len() >= MENDED_MAX
        || !(1..b.len()).any(|i| sep(b[i]) && b[i - 1].is_ascii_digit())
        || !needs_mending(b)
        || !(5..=40).contains(&b.iter().filter(|x| x.is_ascii_digit()).count())
    {
        return Vec::new();
    }
    let Some((out, n)) = mend(b) else {
        return Vec::new();
    };
    match std::str::from_utf8(&out[..n]) {
        Ok(m) => scan_unmended(m, era),
        Err(_) => Vec::new(),
    }
}

/// The longest line [`scan_mended`] mends.
const MENDED_MAX: usize = 160;

/// What a byte is to [`needs_mending`]: a digit, a separator (which [`mend`] may drop when
/// doubled, or change: a comma), a space or stray mark (which it may drop), or other.
const MEND_CLASS: [u8; 256] = {
    let mut t = [MEND_OTHER; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            MEND_DIGIT
        } else if matches!(c, b'/' | b'-' | b'.' | b',') {
            MEND_SEP
        } else if c == b' ' || is_stray(c) {
            MEND_GAP
        } else {
            MEND_OTHER
        };
        b += 1;
    }
    t
};
const MEND_OTHER: u8 = 0;
const MEND_DIGIT: u8 = 1;
const MEND_SEP: u8 = 2;
const MEND_GAP: u8 = 3;

/// Whether [`mend`] would change the line: the first change it makes, found without copying
/// (until then its output is the line as it is, so each test reads the line's own bytes).
/// One table lookup a byte: it runs on every row above the first date.
fn needs_mending(b: &[u8]) -> bool {
    // how many digits end at the byte before
    let mut digits_before = 0;
    for (i, &x) in b.iter().enumerate() {
        match MEND_CLASS[usize::from(x)] {
            MEND_DIGIT => {
                digits_before += 1;
                continue;
            }
            // letters and most marks change nothing
            MEND_OTHER => {}
            _ => {
                if mends_at(b, i, digits_before) {
                    return true;
                }
            }
        }
        digits_before = 0;
    }
    false
}

/// Whether [`mend`] changes the line at byte `i` (a space, stray mark or separator, after
/// `digits_before` digits), were it the first change: the tests it makes there, on the
/// line's own bytes.
fn mends_at(b: &[u8], i: usize, digits_before: usize) -> bool {
    let n = b.len();
    let class = |k: usize| MEND_CLASS[usize::from(b[k])];
    let numeric = |k: usize| matches!(class(k), MEND_DIGIT | MEND_SEP);
    let digits_from = |k: usize| b[k..].iter().take_while(|x| x.is_ascii_digit()).count();
    match class(i) {
        MEND_GAP => {
            if i > 0 && i + 1 < n && numeric(i - 1) && numeric(i + 1) {
                // a mark dropped, as `mend` decides it
                let spaced = b[i] == b' '
                    && ((class(i + 1) == MEND_SEP && b.get(i + 2) == Some(&b' '))
                        || (class(i - 1) == MEND_SEP && i >= 2 && b[i - 2] == b' '));
                let right = digits_from(i + 1);
                return !spaced && (digits_before == 0 || right == 0 || digits_before + right <= 4);
            }
            false
        }
        MEND_SEP => {
            if i > 0 && class(i - 1) == MEND_SEP {
                // a doubled separator
                return true;
            }
            if b[i] == b',' {
                // a comma for a dot
                return digits_before > 0 && i + 1 < n && class(i + 1) == MEND_DIGIT;
            }
            // a lost separator ("15/062017", "0202/2018") or one read as a 1 ("25/0412017")
            if !matches!(digits_before, 1 | 2 | 4) {
                return false;
            }
            let after = digits_from(i + 1);
            (digits_before <= 2 && (after == 6 || after == 7)) || (digits_before == 4 && after == 4)
        }
        _ => false,
    }
}

/// The line as [`scan_mended`] reads it, when mending changed it (at most [`MENDED_MAX`]
/// bytes long).
fn mend(b: &[u8]) -> Option<([u8; MENDED_MAX], usize)> {
    const MAX: usize = MENDED_MAX;
    if b.len() >= MAX {
        return None;
    }
    let sep = |x: u8| matches!(x, b'/' | b'-' | b'.' | b',');
    // mended on the stack: most lines need nothing and are never scanned again
    let mut out = [0u8; MAX];
    let mut n: usize = 0;
    // how many digits end `out`
    let mut digits_before = 0;
    let mut changed = false;
    for (i, &x) in b.iter().enumerate() {
        let prev = n.checked_sub(1).map(|k| out[k]);
        let next = b.get(i + 1).copied();
        let numeric = |y: Option<u8>| y.is_some_and(|y| y.is_ascii_digit() || sep(y));
        if (x == b' ' || is_stray(x)) && numeric(prev) && numeric(next) {
            // a separator with a space on both sides stands between two things
            // ("MI11/3-21 - 12/480")
            let spaced = x == b' '
                && ((next.is_some_and(sep) && b.get(i + 2) == Some(&b' '))
                    || (prev.is_some_and(sep) && i >= 2 && b[i - 2] == b' '));
            // between two digits only where they make one date part ("201 8", "3 0/05"), not
            // between a date and its time ("25-032018 09:42")
            let right = b[i + 1..].iter().take_while(|y| y.is_ascii_digit()).count();
            if !spaced && (digits_before == 0 || right == 0 || digits_before + right <= 4) {
                changed = true;
                continue;
            }
        }
        let y = if sep(x) && prev.is_some_and(sep) {
            changed = true;
            continue;
        } else if x == b','
            && prev.is_some_and(|p| p.is_ascii_digit())
            && next.is_some_and(|q| q.is_ascii_digit())
        {
            changed = true;
            b'.'
        } else {
            x
        };
        out[n] = y;
        n += 1;
        digits_before = if y.is_ascii_digit() {
            digits_before + 1
        } else {
            0
        };
    }
    // a lost separator: "15/062017" (dd/mmyyyy) and "0202/2018" (ddmm/yyyy), or one read as a 1
    let run = |out: &[u8], from: usize| {
        out[from..]
            .iter()
            .take_while(|x| x.is_ascii_digit())
            .count()
    };
    let mut i = 0;
    while i < n {
        if !out[i].is_ascii_digit() || (i > 0 && out[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let a = run(&out[..n], i);
        let s = i + a;
        if s < n && matches!(out[s], b'/' | b'-' | b'.') {
            let c = run(&out[..n], s + 1);
            let after = s + 1 + c;
            let ends = after >= n || !out[after].is_ascii_digit();
            // ... or read as a 1: "25/0412017" (dd/mm1yyyy)
            if (1..=2).contains(&a) && c == 7 && ends && out[s + 3] == b'1' {
                out[s + 3] = out[s];
                changed = true;
                break;
            }
            let at = if (1..=2).contains(&a) && c == 6 && ends {
                Some(s + 3)
            } else if a == 4 && c == 4 && ends {
                Some(i + 2)
            } else {
                None
            };
            if let Some(at) = at {
                let separator = out[s];
                out.copy_within(at..n, at + 1);
                out[at] = separator;
                n += 1;
                changed = true;
                break;
            }
        }
        i = s.max(i + 1);
    }
    changed.then_some((out, n))
}

/// [`scan`] without the mending of stray marks (it is mended text already).
fn scan_unmended(line: &str, era: Era) -> Vec<FoundDate> {
    let Some(shape) = maybe_date(line) else {
        return Vec::new();
    };
    scan_mapped(line, shape, era)
}

/// Why [`maybe_date`] let a line through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Beyond ASCII, or a date's shape as printed: three numbers joined by one separator,
    /// eight digits in a row that read as a date, or a word that starts like a month name (on
    /// a line OCR may have slipped in: two separators between digits, or any eight digits).
    /// [`scan_plain`] finds dates only in lines of this shape (or beyond ASCII).
    Date,
    /// One separator between digits and a letter OCR confuses with a digit: a date only once
    /// that letter is read as a digit.
    Confusable,
}

/// What a byte is to [`maybe_date`]: a digit, a letter, a date separator, a mark that may be
/// a misread digit or a stray one ("|", "20;18"), or other.
const SHAPE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            SHAPE_DIGIT
        } else if c.is_ascii_alphabetic() {
            SHAPE_LETTER
        } else if c == b'/' || c == b'-' || c == b'.' {
            SHAPE_SEP
        } else if c == b'|' || is_stray(c) {
            SHAPE_MARK
        } else {
            0
        };
        b += 1;
    }
    t
};
const SHAPE_DIGIT: u8 = 1;
const SHAPE_LETTER: u8 = 2;
const SHAPE_SEP: u8 = 3;
const SHAPE_MARK: u8 = 4;

/// A cheap test that rules out most lines, one table lookup a byte (it runs on every row with
/// four digits or more). A line passes when it holds what [`scan_plain`] needs to find a date:
/// eight digits in a row that read as one (20181225, not a phone number), a word that starts
/// like a month name (25 DEC 2018), or three numbers joined by the same separator
/// (25/12/2018); an amount row ("2 12.50 25.00") does not. A line where OCR may have written
/// a letter for a digit ("05/O8/2019") or strewn a mark into the date ("20;18") is read
/// differently once mended: there, two separators between digits anywhere in the line are
/// enough, and one with a confusable letter beside it may be.
fn maybe_date(line: &str) -> Option<Shape> {
    shape_of::<false>(line).0
}

/// [`maybe_date`], and with `DAMAGE` whether [`mend`] may change the line (false only when
/// the pass went through the whole line and [`needs_mending`] would say no): a row above the
/// first date is asked both, and its bytes are read once.
fn shape_of<const DAMAGE: bool>(line: &str) -> (Option<Shape>, bool) {
    if !line.is_ascii() {
        return (Some(Shape::Date), true);
    }
    let b = line.as_bytes();
    let n = b.len();
    let class = |i: usize| SHAPE_CLASS[usize::from(b[i])];
    // a digit or a slash, which a letter [`scan_mapped`] reads as a digit touches
    let numeric = |i: usize| class(i) == SHAPE_DIGIT || b[i] == b'/';
    // separators between a number and a digit (or a misread one) anywhere in the line
    let mut separated = 0;
    // whether a letter or mark that OCR confuses with a digit touches a digit or a slash, or a
    // stray mark stands between two digits: the line reads differently once mended
    let mut slipped = false;
    // eight digits in a row that make no date (a phone number): one only once a letter beside
    // them is read as a digit
    let mut eight = false;
    // where the number after a separator starts, and that separator: a number starting there
    // and followed by the same separator and a digit closes a date's chain
    let mut linked: Option<(usize, u8)> = None;
    // where the last run of digits ended, and its length; and whether mending changes the
    // line at a byte seen so far
    let (mut run_end, mut run_len) = (0, 0);
    let mut damaged = false;
    let mut mends_here = |i: usize, run_end: usize, run_len: usize| {
        if DAMAGE && !damaged && MEND_CLASS[usize::from(b[i])] != MEND_OTHER {
            damaged = mends_at(b, i, if run_end == i { run_len } else { 0 });
        }
    };
    let mut i = 0;
    while i < n {
        match class(i) {
            SHAPE_DIGIT => {
                // a run of digits, stepped over whole: eight exactly is a compact date
                let mut j = i + 1;
                while j < n && class(j) == SHAPE_DIGIT {
                    j += 1;
                }
                if j - i == 8 {
                    let v = b[i..j].iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0'));
                    if compact(v).is_some() {
                        return (Some(Shape::Date), true);
                    }
                    eight = true;
                }
                (run_end, run_len) = (j, j - i);
                // the separator after it, between two digits (or a misread one)
                if j + 1 < n
                    && class(j) == SHAPE_SEP
                    && (class(j + 1) == SHAPE_DIGIT || confusable(b[j + 1]).is_some())
                {
                    separated += 1;
                    if class(j + 1) == SHAPE_DIGIT {
                        if linked == Some((i, b[j])) {
                            return (Some(Shape::Date), true);
                        }
                        linked = Some((j + 1, b[j]));
                    }
                }
                i = j;
            }
            SHAPE_LETTER => {
                // a run of letters, stepped over whole
                let mut j = i + 1;
                while j < n && class(j) == SHAPE_LETTER {
                    j += 1;
                }
                if (3..=10).contains(&(j - i)) && month_prefix(&b[i..]) {
                    return (Some(Shape::Date), true);
                }
                // only its first and last letters touch anything but letters
                slipped |= (i > 0 && confusable(b[i]).is_some() && numeric(i - 1))
                    || (j < n && confusable(b[j - 1]).is_some() && numeric(j));
                i = j;
            }
            SHAPE_MARK => {
                let digit = |k: usize| k < n && class(k) == SHAPE_DIGIT;
                slipped |= if b[i] == b'|' {
                    (i > 0 && numeric(i - 1)) || (i + 1 < n && numeric(i + 1))
                } else {
                    i > 0 && digit(i - 1) && digit(i + 1)
                };
                mends_here(i, run_end, run_len);
                i += 1;
            }
            _ => {
                mends_here(i, run_end, run_len);
                i += 1;
            }
        }
    }
    // no date as printed; one only where OCR's slips, read back, may make one
    let damaged = !DAMAGE || damaged;
    if !slipped {
        return (None, damaged);
    }
    if eight || separated >= 2 {
        return (Some(Shape::Date), damaged);
    }
    if separated == 0 {
        return (None, damaged);
    }
    // "05/O8/2019": a confusable letter may hide the second separator's digit
    let confusable_date = b.iter().any(|&x| matches!(x, b'O' | b'o' | b'l' | b'I'))
        || (1..b.len().saturating_sub(1)).any(|i| {
            let sep = |x: u8| matches!(x, b'/' | b'-' | b'.');
            confusable(b[i]).is_some()
                && ((b[i - 1].is_ascii_digit() && sep(b[i + 1]))
                    || (sep(b[i - 1]) && b[i + 1].is_ascii_digit()))
        });
    (confusable_date.then_some(Shape::Confusable), damaged)
}

/// The date eight digits in a row make, year first (20180304) or day first (25032018), if
/// either reads as a plausible one.
fn compact(v: u32) -> Option<FoundDate> {
    let (y, m, d) = (v / 10000, (v / 100 % 100) as u8, (v % 100) as u8);
    // or day first: 25032018
    let (dd, mm, yy) = ((v / 1_000_000) as u8, (v / 10000 % 100) as u8, v % 10000);
    let (year, month, day) = if (2000..=2099).contains(&y) && valid(y as u16, m, d) {
        (y as u16, m, d)
    } else if (2000..=2099).contains(&yy) && valid(yy as u16, mm, dd) {
        (yy as u16, mm, dd)
    } else {
        return None;
    };
    Some(FoundDate {
        year,
        month,
        day,
        ambiguous: false,
        month_first: false,
    })
}

fn scan_plain(line: &str, era: Era) -> Vec<FoundDate> {
    let toks = tokens(line);
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let num = |t: &Tok| -> Option<u32> {
        if t.digits && t.len <= 4 {
            t.value(t.len)
        } else {
            None
        }
    };
    // the separator between two tokens, if it is a single date separator (spaces around allowed)
    let sep_between = |a: &Tok, b: &Tok| -> Option<u8> {
        let gap = bytes.get(a.end..b.start)?;
        // the one byte other than spaces in the gap, if there is just one
        let mut others = gap.iter().copied().filter(|&x| x != b' ');
        let (first, second) = (others.next(), others.next());
        match (first, second) {
            (Some(s @ (b'/' | b'-' | b'.')), None) if gap.len() <= 3 => Some(s),
            (None, _) if gap.len() <= 1 => Some(b' '),
            (Some(b',' | b'.'), None) if gap.len() <= 2 => Some(b','),
            _ => None,
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let t0 = &toks[i];
        // a date starts with a number of up to four digits (or eight: 20181225) or with a
        // month's name; most words of a line are neither, and need no more looks
        if !(t0.digits && (t0.len <= 4 || t0.len == 8))
            && (t0.digits || month_named(t0.text()).is_none())
        {
            i += 1;
            continue;
        }
        // a preceding digit glued by a separator means this is the tail of something else
        let mut matched = false;
        if let (Some(t1), Some(t2)) = (toks.get(i + 1), toks.get(i + 2)) {
            let s1 = sep_between(t0, t1);
            let s2 = sep_between(t1, t2);
            // one separator, twice, no spaces ("25/12/2018"), not glued to a code before it
            // ("HD03-04-06") nor continued after it (a phone number "05.22.95.66.66")
            let tight = |a: &Tok, b: &Tok| b.start == a.end + 1;
            // (a short word glued to a full date is OCR's lost space: "le30/03/2018")
            let glued_before = i > 0
                && toks[i - 1].end == t0.start
                && !toks[i - 1].digits
                && !(toks[i - 1].len <= 3 && t2.len >= 4 && t2.digits);
            let continued = toks
                .get(i + 3)
                .is_some_and(|t3| t3.digits && tight(t2, t3) && bytes.get(t2.end).copied() == s2);
            let numeric_seps = matches!((s1, s2), (Some(a), Some(b)) if a != b' ' && a != b',' && a == b)
                && tight(t0, t1)
                && tight(t1, t2)
                && !glued_before
                && !continued;
            // dd/mm/yyyy, mm/dd/yyyy, yyyy-mm-dd
            if numeric_seps
                && t0.digits
                && t1.digits
                && t2.digits
                && let (Some(a), Some(b)) = (num(t0), num(t1))
            {
                let (la, lb, lc) = (t0.len, t1.len, t2.len);
                let c = num(t2).unwrap_or(0);
                if la == 4 && lb <= 2 && lc <= 2 {
                    if let Some(y) = full_year(a, 4, era) {
                        let (m, d) = (b as u8, c as u8);
                        if valid(y, m, d) {
                            out.push(FoundDate {
                                year: y,
                                month: m,
                                day: d,
                                ambiguous: false,
                                month_first: false,
                            });
                            matched = true;
                        }
                    }
                } else if la <= 2
                    && lb <= 2
                    && let Some(y) = year_of(t2, bytes, era)
                {
                    let (a, b) = (a as u8, b as u8);
                    if valid(y, b, a) {
                        let ambiguous = valid(y, a, b) && a != b;
                        out.push(FoundDate {
                            year: y,
                            month: b,
                            day: a,
                            ambiguous,
                            month_first: false,
                        });
                        matched = true;
                    } else if valid(y, a, b) {
                        out.push(FoundDate {
                            year: y,
                            month: a,
                            day: b,
                            ambiguous: false,
                            month_first: true,
                        });
                        matched = true;
                    }
                }
            }
            // 25 Dec 2018, 25-DEC-18, 25. Dezember 2018
            if !matched
                && t0.digits
                && !t1.digits
                && t2.digits
                && s1.is_some()
                && s2.is_some()
                && let (Some(d), Some(m)) = (num(t0), month_named(t1.text()))
                && let Some(y) = year_of(t2, bytes, era)
                && t0.len <= 2
                && valid(y, m, d as u8)
            {
                out.push(FoundDate {
                    year: y,
                    month: m,
                    day: d as u8,
                    ambiguous: false,
                    month_first: false,
                });
                matched = true;
            }
            // Dec 25, 2018
            if !matched
                && !t0.digits
                && t1.digits
                && t2.digits
                && s1.is_some()
                && s2.is_some()
                && let (Some(m), Some(d), Some(yv)) = (month_named(t0.text()), num(t1), num(t2))
                && t2.len == 4
                && t1.len <= 2
                && let Some(y) = full_year(yv, 4, era)
                && valid(y, m, d as u8)
            {
                out.push(FoundDate {
                    year: y,
                    month: m,
                    day: d as u8,
                    ambiguous: false,
                    month_first: true,
                });
                matched = true;
            }
        }
        // 20180304 (compact, only when it reads as a plausible date)
        if !matched
            && t0.digits
            && t0.len == 8
            && let Some(d) = compact(t0.text().parse().unwrap_or(0))
        {
            out.push(d);
            matched = true;
        }
        i += if matched { 3 } else { 1 };
    }
    out
}

/// The time whose hours are `line[i..j]`, with ":" or "h" at `j` and two digits of minutes
/// after it (then perhaps ":SS", and "AM"/"PM" after spaces), as "HH:MM" or "HH:MM:SS"; `None`
/// when it is no time of day. The caller has checked the digits around `j`.
fn time_at(line: &str, i: usize, j: usize) -> Option<String> {
    let b = line.as_bytes();
    let n = b.len();
    let hour: u32 = line[i..j].parse().unwrap_or(99);
    let min: u32 = line[j + 1..j + 3].parse().unwrap_or(99);
    let mut k = j + 3;
    let mut sec = None;
    if k + 2 < n + 1
        && b.get(k) == Some(&b':')
        && b.get(k + 1).is_some_and(|x| x.is_ascii_digit())
        && b.get(k + 2).is_some_and(|x| x.is_ascii_digit())
        && !b.get(k + 3).is_some_and(|x| x.is_ascii_digit())
    {
        sec = line[k + 1..k + 3].parse::<u32>().ok();
        k += 3;
    }
    let mut rest = k;
    while rest < n && b[rest] == b' ' {
        rest += 1;
    }
    let tail = &b[rest.min(n)..];
    let pm = tail.len() >= 2 && tail[..2].eq_ignore_ascii_case(b"PM");
    let am = tail.len() >= 2 && tail[..2].eq_ignore_ascii_case(b"AM");
    let hour = match (am, pm, hour) {
        (true, _, 12) => 0,
        (_, true, h) if h < 12 => h + 12,
        (_, _, h) => h,
    };
    if hour < 24 && min < 60 && sec.is_none_or(|s| s < 60) {
        let mut t = String::with_capacity(8);
        push_digits(&mut t, hour, 2);
        t.push(':');
        push_digits(&mut t, min, 2);
        if let Some(s) = sec {
            t.push(':');
            push_digits(&mut t, s, 2);
        }
        return Some(t);
    }
    None
}

/// Finds a time of day ("8:13:39 PM", "18:19", "14h05") and returns it as "HH:MM" or "HH:MM:SS".
pub(crate) fn scan_time(line: &str) -> Option<String> {
    let b = line.as_bytes();
    let n = b.len();
    // each ":" or "h" after a digit in turn (a time's hours end in one; most bytes are
    // neither, and need no more than that test), with the one or two digits before it: a
    // number of its own (no digit, "." or "/" before it)
    let mut j = 1;
    while j + 2 < n {
        if !(b[j] == b':' || b[j] == b'h') || !b[j - 1].is_ascii_digit() {
            j += 1;
            continue;
        }
        let i = if j >= 2 && b[j - 2].is_ascii_digit() {
            j - 2
        } else {
            j - 1
        };
        if (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.' || b[i - 1] == b'/'))
            && b[j + 1].is_ascii_digit()
            && b[j + 2].is_ascii_digit()
            && !b.get(j + 3).is_some_and(|x| x.is_ascii_digit())
            && let Some(t) = time_at(line, i, j)
        {
            return Some(t);
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{XorShift, every_line};

    #[test]
    fn every_month_name_passes_the_first_letter_test_in_either_case() {
        for (name, _) in MONTHS {
            assert!(month_prefix(name.as_bytes()), "{name}");
            assert!(month_prefix(name.to_ascii_lowercase().as_bytes()), "{name}");
        }
        assert!(!month_prefix(b"TOTAL") && !month_prefix(b"X") && !month_prefix(b""));
    }

    /// [`maybe_date`] as first written, byte by byte and looser, to check the table-driven one
    /// against: two separators between digits anywhere in the line (25/12/2018, but also
    /// "2 12.50 25.00"), eight digits in a row (20181225), or a word that starts like a month
    /// name (25 DEC 2018).
    fn maybe_date_by_bytes(line: &str) -> Option<Shape> {
        if !line.is_ascii() {
            return Some(Shape::Date);
        }
        let b = line.as_bytes();
        let mut separated = 0;
        let mut digit_run = 0;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                digit_run += 1;
                if digit_run == 8 && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    return Some(Shape::Date);
                }
                i += 1;
                continue;
            }
            digit_run = 0;
            if c.is_ascii_alphabetic() {
                // the start of a run of letters (runs are stepped over whole)
                let run = b[i..]
                    .iter()
                    .take_while(|x| x.is_ascii_alphabetic())
                    .count();
                if (3..=10).contains(&run) && month_prefix(&b[i..]) {
                    return Some(Shape::Date);
                }
                i += run;
                continue;
            }
            if matches!(c, b'/' | b'-' | b'.')
                && i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1)
                    .is_some_and(|&x| x.is_ascii_digit() || confusable(x).is_some())
            {
                separated += 1;
                if separated >= 2 {
                    return Some(Shape::Date);
                }
            }
            i += 1;
        }
        // "05/O8/2019": a confusable letter may hide the second separator's digit
        let confusable_date = separated >= 1
            && (b.iter().any(|&x| matches!(x, b'O' | b'o' | b'l' | b'I'))
                || (1..b.len().saturating_sub(1)).any(|i| {
                    let sep = |x: u8| matches!(x, b'/' | b'-' | b'.');
                    confusable(b[i]).is_some()
                        && ((b[i - 1].is_ascii_digit() && sep(b[i + 1]))
                            || (sep(b[i - 1]) && b[i + 1].is_ascii_digit()))
                }));
        confusable_date.then_some(Shape::Confusable)
    }

    /// [`scan`] behind the looser shape test.
    fn scan_behind_the_loose_test(line: &str, era: Era) -> Vec<FoundDate> {
        let Some(shape) = maybe_date_by_bytes(line) else {
            return Vec::new();
        };
        if stray_between_digits(line.as_bytes()) {
            let mended = scan_mended(line, era);
            if !mended.is_empty() {
                return mended;
            }
        }
        scan_mapped(line, shape, era)
    }

    #[test]
    fn the_shape_test_rejects_only_lines_the_looser_one_lets_through_in_vain() {
        // every line of up to four bytes from an alphabet of the classes that matter, and a
        // pseudo-random sample of longer ones
        let alphabet = b"09/-.,: OlISBZGaDEC;\xc3";
        let mut lines = every_line(b"", alphabet, 4);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        // random lines, and lines of numbers joined by separators (dates, amounts, codes)
        for _ in 0..50_000 {
            let len = 6 + (next() % 20) as usize;
            lines.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
            let mut l = Vec::new();
            for _ in 0..(1 + next() % 6) {
                // up to four digits, or eight
                let digits = if next() % 8 == 0 { 8 } else { 1 + next() % 4 };
                for _ in 0..digits {
                    l.push(b'0' + (next() % 10) as u8);
                }
                l.push(b"/-. /.,O8"[(next() % 9) as usize]);
            }
            lines.push(l);
        }
        for line in [
            "DATE 25/12/2018 8:13:39 PM",
            "20181225 12345678 123456789",
            "2 12.50 25.00",
            "05/O8/2019",
            "17/0;1/2018",
            "2S/12/2018",
            "1IAPR 2018",
            "12345678 2018O3O4",
            "TEL: 03-40210276",
            "25032018 12345678",
            "CS00004040 2O18",
        ] {
            lines.push(line.as_bytes().to_vec());
        }
        let mut passed = [0; 2];
        for l in &lines {
            let text = String::from_utf8_lossy(l);
            let loose = maybe_date_by_bytes(&text);
            let tight = maybe_date(&text);
            let (shape, damaged) = shape_of::<true>(&text);
            assert_eq!(shape, tight, "{text:?}");
            assert!(damaged || !needs_mending(l), "{text:?}");
            assert!(loose.is_some() || tight.is_none(), "{text:?}");
            passed[0] += usize::from(loose.is_some());
            passed[1] += usize::from(tight.is_some());
            for era in [Era::Common, Era::Thai] {
                assert_eq!(
                    scan(&text, era),
                    scan_behind_the_loose_test(&text, era),
                    "{text:?}"
                );
                let unmended = loose.map_or(Vec::new(), |shape| scan_mapped(&text, shape, era));
                assert_eq!(scan_unmended(&text, era), unmended, "{text:?}");
                // the scan of a row above the first date, and its mending, read in one pass
                let plain = scan(&text, era);
                let mended = if plain.is_empty() {
                    scan_mended(&text, era)
                } else {
                    Vec::new()
                };
                assert_eq!(
                    scan_else_mended(&text, true, era),
                    (plain, mended),
                    "{text:?}"
                );
            }
        }
        assert!(
            passed[1] < passed[0],
            "the shape test is tighter: {passed:?}"
        );
    }

    fn isos(line: &str) -> Vec<String> {
        scan(line, Era::Common).iter().map(FoundDate::iso).collect()
    }

    #[test]
    fn reads_numeric_dates_day_first() {
        assert_eq!(isos("DATE: 25/12/2018 8:13:39 PM"), ["2018-12-25"]);
        assert_eq!(isos("18-11-18"), ["2018-11-18"]);
        assert_eq!(isos("Datum 24.12.2019"), ["2019-12-24"]);
        assert_eq!(isos("2018-12-25"), ["2018-12-25"]);
        assert_eq!(isos("5/3/2018"), ["2018-03-05"]);
        assert_eq!(isos("20180304"), ["2018-03-04"]);
        assert_eq!(isos("Date : 05/O8/2019"), ["2019-08-05"]);
        assert_eq!(isos("3l/12/2019"), ["2019-12-31"]);
    }

    #[test]
    fn reads_month_first_when_day_cannot_be_the_month() {
        let d = scan("12/28/2017", Era::Common);
        assert_eq!(d[0].iso(), "2017-12-28");
        assert!(d[0].month_first);
        assert!(scan("03/04/2018", Era::Common)[0].ambiguous);
    }

    #[test]
    fn reads_month_names_in_several_languages() {
        assert_eq!(isos("12 MAR 2018 18:19"), ["2018-03-12"]);
        assert_eq!(isos("Dec 25, 2018"), ["2018-12-25"]);
        assert_eq!(isos("30 DEC 17"), ["2017-12-30"]);
        assert_eq!(isos("25. Dezember 2018"), ["2018-12-25"]);
        assert_eq!(isos("le 3 février 2019"), ["2019-02-03"]);
        assert_eq!(isos("25-Dec-18"), ["2018-12-25"]);
    }

    #[test]
    fn rejects_impossible_dates_and_non_dates() {
        assert!(isos("31/02/2018").is_empty());
        assert!(isos("TOTAL 12.50").is_empty());
        assert!(isos("TEL 03-8051 9514").is_empty());
        assert!(isos("JALAN SS 22/19").is_empty());
        assert!(isos("TEL. : 05.22.95.66.66").is_empty(), "a phone number");
        assert!(isos("HD03-04-06 - 5/40/160").is_empty(), "a product code");
        assert!(isos("MI11/3-21 - 12/480").is_empty());
        assert_eq!(isos("25032018"), ["2018-03-25"]);
    }

    #[test]
    fn digits_are_pushed_as_zero_padded_formatting_prints_them() {
        for v in 0..10_000u32 {
            let mut s = String::new();
            push_digits(&mut s, v, 4);
            assert_eq!(s, format!("{v:04}"));
            if v < 100 {
                s.clear();
                push_digits(&mut s, v, 2);
                assert_eq!(s, format!("{v:02}"));
            }
        }
        assert_eq!(scan_time("8:05 PM").as_deref(), Some("20:05"));
        assert_eq!(scan_time("20:13:39").as_deref(), Some("20:13:39"));
    }

    #[test]
    fn reads_two_digit_buddhist_era_years_on_thai_receipts_only() {
        let thai = |line: &str| -> Vec<String> {
            scan(line, Era::Thai).iter().map(FoundDate::iso).collect()
        };
        // 2566 BE is 2023 CE; as 2066 CE "66" is no receipt year
        assert_eq!(thai("12/03/66"), ["2023-03-12"]);
        assert!(isos("12/03/66").is_empty(), "not without a Thai context");
        assert_eq!(thai("วันที่ 01-11-67 เวลา 18:20"), ["2024-11-01"]);
        assert_eq!(thai("14.02.5O 09:42"), ["2007-02-14"], "a misread 0");
        assert_eq!(thai("05/01/6714:03"), ["2024-01-05"], "glued to the time");
        assert_eq!(thai("29/02/67"), ["2024-02-29"], "2024 is a leap year");
        assert!(thai("29/02/66").is_empty(), "2023 is not");
        // years that read as common-era ones stay common-era
        assert_eq!(thai("12/03/23"), ["2023-03-12"]);
        assert_eq!(thai("12/03/98"), ["1998-03-12"]);
        // four-digit years in either era, with or without a Thai context
        assert_eq!(thai("14/02/2567"), ["2024-02-14"]);
        assert_eq!(thai("14/02/2024"), ["2024-02-14"]);
        assert_eq!(isos("14/02/2567"), ["2024-02-14"]);
    }

    #[test]
    fn reads_dates_glued_to_their_time() {
        assert_eq!(isos("Date: 22/12/201714:03"), ["2017-12-22"]);
        assert_eq!(isos("14-03-1821:49"), ["2018-03-14"]);
        assert_eq!(isos("12/03/2561"), ["2018-03-12"], "Thai Buddhist era");
        assert_eq!(isos("24Mar201818:23"), ["2018-03-24"]);
        assert_eq!(isos("24 Mar-201803:44:22PM"), ["2018-03-24"]);
        assert_eq!(isos("Date 06/01/1812.17:26PM"), ["2018-01-06"]);
        assert_eq!(isos("le30/03/2018 a 12:36"), ["2018-03-30"]);
        assert!(isos("HD03-04-06").is_empty(), "a code, not a date");
        assert_eq!(isos("06/02/1B 18:47"), ["2018-02-06"]);
        assert_eq!(isos("2S/12/2018"), ["2018-12-25"]);
        assert_eq!(isos("25AUG2018"), ["2018-08-25"]);
        assert_eq!(isos("06/01/2018 10:25"), ["2018-01-06"]);
        assert!(
            isos("14-03-182149").is_empty(),
            "no time after it: not a date"
        );
    }

    #[test]
    fn reads_dates_that_ocr_damaged() {
        let mended = |line: &str| -> Vec<String> {
            let plain = isos(line);
            if plain.is_empty() {
                scan_mended(line, Era::Common)
                    .iter()
                    .map(FoundDate::iso)
                    .collect()
            } else {
                plain
            }
        };
        for (line, iso) in [
            ("DATE 12//02/2018", "2018-02-12"),
            ("DATE: 15/062017", "2017-06-15"),
            ("DATE : 18/01/ 2018", "2018-01-18"),
            ("DATE : 17/01/20;18", "2018-01-17"),
            ("DATE:  09/0;3/2018", "2018-03-09"),
            ("DATE: 25-032018 09:42:19  AM", "2018-03-25"),
            ("21/ 02/18", "2018-02-21"),
            ("27/03//201 8", "2018-03-27"),
            ("3 0/05/2017 10: 18:02 AM", "2017-05-30"),
            ("DATE: 2~1/03/2018", "2018-03-21"),
            ("18-01--2018 15:44:46", "2018-01-18"),
            ("RECEIPT #: C500241867 DATE: 0202/2018", "2018-02-02"),
            ("Datum 24,12.2019", "2019-12-24"),
            ("RECEIPT #: CS00633860 DATE: 25/0412017", "2017-04-25"),
        ] {
            assert_eq!(mended(line), [iso], "{line}");
        }
        // mending makes no date of what is none
        for line in [
            "TEL 03-8051 9514",
            "2 x 3.50 7.00",
            "JALAN SS 22/19",
            "12.05 18.00",
            "MI11/3-21 - 12/480",
        ] {
            assert!(scan_mended(line, Era::Common).is_empty(), "{line}");
        }
    }

    #[test]
    fn a_line_the_quick_look_finds_nothing_to_mend_in_is_not_changed_by_the_mending() {
        // every line of up to five bytes from an alphabet of the classes the mending reads,
        // and a pseudo-random sample of longer ones
        let alphabet = b"01279/-., ;a";
        let mut lines = every_line(b"", alphabet, 5);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let len = 6 + (rng.next() % 24) as usize;
            let mut l = Vec::with_capacity(len);
            for _ in 0..len {
                // digits most of the time, as in the lines that reach the mending
                let k = (rng.next() % 24) as usize;
                l.push(if k < alphabet.len() {
                    alphabet[k]
                } else {
                    b'0' + (k % 10) as u8
                });
            }
            lines.push(l);
        }
        let mut changed = 0;
        for l in &lines {
            let needs = needs_mending(l);
            let mended = mend(l);
            assert!(
                needs || mended.is_none(),
                "{:?}",
                String::from_utf8_lossy(l)
            );
            changed += usize::from(mended.is_some());
        }
        assert!(changed > 1000, "{changed} lines mended");
    }

    /// [`scan_time`] as first written, walking every number, to check the one that looks for
    /// the hours' ":" first against.
    fn scan_time_by_numbers(line: &str) -> Option<String> {
        let b = line.as_bytes();
        let n = b.len();
        let mut i = 0;
        while i < n {
            if !b[i].is_ascii_digit()
                || (i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.' || b[i - 1] == b'/'))
            {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < n && b[j].is_ascii_digit() {
                j += 1;
            }
            let hlen = j - i;
            if (1..=2).contains(&hlen)
                && j + 2 < n
                && (b[j] == b':' || b[j] == b'h')
                && b[j + 1].is_ascii_digit()
                && b[j + 2].is_ascii_digit()
                && !b.get(j + 3).is_some_and(|x| x.is_ascii_digit())
                && let Some(t) = super::time_at(line, i, j)
            {
                return Some(t);
            }
            i = j.max(i + 1);
        }
        None
    }

    #[test]
    fn the_time_found_from_its_colon_is_the_one_found_walking_every_number() {
        let lines = every_line(b"", b"0129:h. /Pam", 6);
        let mut found = 0;
        for l in &lines {
            let text = String::from_utf8_lossy(l);
            let time = scan_time(&text);
            assert_eq!(time, scan_time_by_numbers(&text), "{text:?}");
            found += usize::from(time.is_some());
        }
        assert!(found > 1000, "{found} times");
    }

    #[test]
    fn a_token_gives_the_number_its_text_parses_to() {
        for line in ["0123 4567890123 9 x12", "20181225 00 7", "1234567890123 05"] {
            for t in tokens(line) {
                for digits in 0..=TOK_MAX + 1 {
                    let parsed = match t.text().get(..digits) {
                        Some(s) if t.digits && digits <= 9 => s.parse().ok(),
                        _ => None,
                    };
                    assert_eq!(t.value(digits), parsed, "{line:?} {t:?} {digits}");
                }
            }
        }
    }

    #[test]
    fn reads_times_in_24_hours() {
        assert_eq!(
            scan_time("25/12/2018 8:13:39 PM").as_deref(),
            Some("20:13:39")
        );
        assert_eq!(scan_time("12 MAR 2018 18:19").as_deref(), Some("18:19"));
        assert_eq!(scan_time("12:05 AM").as_deref(), Some("00:05"));
        assert_eq!(scan_time("TOTAL 12.50"), None);
    }
}
