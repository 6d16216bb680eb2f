//! Renames scanned files by their fields: `{date}_{merchant}_{total}` turns `IMG_0042.jpg` into
//! `2024-03-12_corner-store_12.96.jpg`.
//!
//! Three steps, so a dry run is just the first two:
//! 1. [`Template::parse`] checks the template once (unknown fields, unclosed braces and path
//!    separators are errors naming the template).
//! 2. [`plan`] decides each file's new name without touching anything: the file stays in its
//!    folder and keeps its extension; a name already taken on disk or by an earlier file of the
//!    same batch gets `-2`, `-3`, …; a failed scan, or a receipt missing a field the template
//!    needs, is skipped with the reason ([`Skip`]).
//! 3. [`apply`] renames. It never overwrites: each rename is `std::fs::hard_link(from, to)` —
//!    which fails with "already exists", atomically, when anything stands under `to` — then
//!    `std::fs::remove_file(from)`. A name that appeared after planning is therefore noticed at
//!    the moment of renaming, and the next free `-N` is used instead (the result says which). On
//!    file systems without hard links (FAT, exFAT, some network mounts) the name is reserved with
//!    `File::create_new` (`O_EXCL`) and the file renamed onto that empty placeholder. If removing
//!    the old name fails the new link is removed again, so a file never ends up with two names.
//!
//! How fields become safe file names:
//! - `merchant`, `engine` and `stem` become lowercase slugs: letters and digits kept, every run of
//!   anything else (spaces, punctuation, `/`, `:`) one `-`. Latin letters are folded to ASCII where
//!   that keeps the word (`Café Müller` → `cafe-muller`, `ß` → `ss`, full-width `Ｔ` → `t`); letters
//!   of other scripts are kept as they are (`東京ストア` stays `東京ストア`) rather than transliterated,
//!   because a romanisation guessed without knowing the language is often wrong. Slugs are cut at
//!   [`MAX_FIELD_CHARS`] characters.
//! - `date` (`2024-03-12`), `time` (`20-13`; `:` is not allowed on Windows or macOS), amounts
//!   (`12.96`), `currency` (`EUR`) and `payment` (`cash`, `card`) keep only ASCII letters, digits,
//!   `.` and `-`.
//! - The whole name never starts with `.` or `-` (no hidden files, nothing a command line takes
//!   for an option), never holds a path separator, NUL or control character, and is cut to
//!   [`MAX_STEM_BYTES`] bytes before the suffix and extension, well inside the usual 255-byte limit.
//!
//! Not handled: case-insensitive file systems (`A.jpg` and `a.jpg` are different names here; on
//! such a system the hard link fails as "already exists" and the next `-N` is used, which is
//! still safe), and renaming across folders.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use receipt_parse::{Amount, PaymentMethod, Receipt};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::{OutputError, Scanned};

/// The longest a slug field (`merchant`, `engine`, `stem`) may be, in characters.
pub const MAX_FIELD_CHARS: usize = 40;

/// The longest a new name may be before its `-N` suffix and extension, in bytes.
pub const MAX_STEM_BYTES: usize = 200;

/// The highest `-N` suffix tried before giving up on a name.
const MAX_SUFFIX: u32 = 9999;

/// A field a template can name between braces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `{merchant}`: the shop, as a slug.
    Merchant,
    /// `{date}`: ISO 8601, `2024-03-12`.
    Date,
    /// `{time}`: `20-13` (or `20-13-39`).
    Time,
    /// `{currency}`: the ISO code, `EUR`.
    Currency,
    /// `{subtotal}`: a plain decimal.
    Subtotal,
    /// `{tax}`: a plain decimal.
    Tax,
    /// `{tip}`: a plain decimal.
    Tip,
    /// `{total}`: a plain decimal, `12.96`.
    Total,
    /// `{payment}`: `cash` or `card`.
    Payment,
    /// `{engine}`: the OCR engine that read the file.
    Engine,
    /// `{stem}`: the file's current name without its extension, as a slug.
    Stem,
}

impl Field {
    /// Every field, in the order the error message lists them.
    pub const ALL: [Field; 11] = [
        Field::Date,
        Field::Time,
        Field::Merchant,
        Field::Total,
        Field::Subtotal,
        Field::Tax,
        Field::Tip,
        Field::Currency,
        Field::Payment,
        Field::Engine,
        Field::Stem,
    ];

    /// The name written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Field::Merchant => "merchant",
            Field::Date => "date",
            Field::Time => "time",
            Field::Currency => "currency",
            Field::Subtotal => "subtotal",
            Field::Tax => "tax",
            Field::Tip => "tip",
            Field::Total => "total",
            Field::Payment => "payment",
            Field::Engine => "engine",
            Field::Stem => "stem",
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A checked rename template: literal text and `{field}`s; `{{` and `}}` stand for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses a template such as `{date}_{merchant}_{total}`.
    ///
    /// Fails on an unknown field (the error lists the known ones), an unclosed or unmatched brace,
    /// a template without any field (every file would get the same name), and literal text
    /// holding a path separator, NUL or control character (files are renamed within their folder).
    pub fn parse(template: &str) -> Result<Template, OutputError> {
        let invalid = |reason| OutputError::InvalidTemplate {
            template: template.to_string(),
            reason,
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(invalid("`}` without `{` (write `}}` for a brace)")),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(invalid("`{` without `}` (write `{{` for a brace)"));
                            }
                            Some(c) => name.push(c),
                        }
                    }
                    let Some(field) = Field::from_name(name.trim()) else {
                        return Err(OutputError::UnknownField {
                            template: template.to_string(),
                            field: name,
                            known: Field::ALL.map(Field::name).join(", "),
                        });
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(field));
                }
                '/' | '\\' => {
                    return Err(invalid(
                        "a path separator in the template (files are renamed within their folder)",
                    ));
                }
                c if c.is_control() => {
                    return Err(invalid("a control character in the template"));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Field(_))) {
            return Err(invalid(
                "no `{field}` in it (every file would get the same name)",
            ));
        }
        Ok(Template { parts })
    }

    /// The fields the template names, in order.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(*f),
            Part::Literal(_) => None,
        })
    }

    /// The new name of a scanned file without extension or suffix, or why it has none.
    fn render(&self, scan: &Scanned) -> Result<String, Skip> {
        let receipt = match &scan.outcome {
            Ok(r) => r,
            Err(message) => return Err(Skip::ScanFailed(message.clone())),
        };
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => name.push_str(text),
                Part::Field(field) => {
                    let value = field_value(*field, scan, receipt)
                        .filter(|v| !v.is_empty())
                        .ok_or(Skip::MissingField(*field))?;
                    name.push_str(&value);
                }
            }
        }
        let name = name.trim_start_matches(['.', '-', ' ']);
        let name = truncate_bytes(name, MAX_STEM_BYTES).trim_end_matches([' ', '.']);
        if name.is_empty() {
            return Err(Skip::EmptyName);
        }
        Ok(name.to_string())
    }
}

impl std::str::FromStr for Template {
    type Err = OutputError;

    fn from_str(s: &str) -> Result<Template, OutputError> {
        Template::parse(s)
    }
}

/// A field's value made safe for a file name; `None` when the receipt lacks it.
fn field_value(field: Field, scan: &Scanned, r: &Receipt) -> Option<String> {
    let amount = |a: Option<Amount>| a.map(|a| plain(&a.to_string()));
    match field {
        Field::Merchant => r.merchant.as_deref().map(slug),
        Field::Date => r.date.as_deref().map(plain),
        Field::Time => r.time.as_deref().map(plain),
        Field::Currency => r.currency.map(|c| c.code().to_string()),
        Field::Subtotal => amount(r.subtotal),
        Field::Tax => amount(r.tax),
        Field::Tip => amount(r.tip),
        Field::Total => amount(r.total),
        Field::Payment => r.payment.method.map(|m| match m {
            PaymentMethod::Cash => "cash".to_string(),
            PaymentMethod::Card => "card".to_string(),
        }),
        Field::Engine => Some(slug(&scan.engine)),
        Field::Stem => scan.input.file_stem().map(|s| slug(&s.to_string_lossy())),
    }
}

/// ASCII letters, digits, `.` and `-` kept; anything else becomes `-`.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A lowercase slug: letters and digits kept (Latin folded to ASCII where that keeps the word),
/// runs of anything else one `-`, no `-` at either end, at most [`MAX_FIELD_CHARS`] characters.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    // NFC first, so an accent typed as a separate combining mark folds like a precomposed one.
    for c in text.nfc() {
        for c in fold(c).chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                if dash && !out.is_empty() {
                    out.push('-');
                }
                dash = false;
                out.push(c);
            } else if is_combining_mark(c) {
                // A mark that did not compose belongs to the letter before it: kept after a
                // letter of another script (Devanagari vowel signs), dropped after an ASCII one.
                if !dash && out.chars().last().is_some_and(|l| !l.is_ascii()) {
                    out.push(c);
                }
            } else {
                dash = true;
            }
        }
    }
    match out.char_indices().nth(MAX_FIELD_CHARS) {
        Some((cut, _)) => out[..cut].trim_end_matches('-').to_string(),
        None => out,
    }
}

/// A character folded to ASCII when its compatibility decomposition is ASCII plus accents
/// (`é` → `e`, `ﬁ` → `fi`, `Ｔ` → `T`) or it is one of the Latin letters that do not decompose;
/// any other character unchanged (`ド` keeps its voicing mark: it is not an accent).
fn fold(c: char) -> String {
    if c.is_ascii() {
        return c.to_string();
    }
    let special = match c {
        'ß' => Some("ss"),
        'ẞ' => Some("SS"),
        'æ' => Some("ae"),
        'Æ' => Some("AE"),
        'œ' => Some("oe"),
        'Œ' => Some("OE"),
        'ø' => Some("o"),
        'Ø' => Some("O"),
        'ł' => Some("l"),
        'Ł' => Some("L"),
        'đ' => Some("d"),
        'Đ' => Some("D"),
        'þ' => Some("th"),
        'Þ' => Some("TH"),
        _ => None,
    };
    if let Some(s) = special {
        return s.to_string();
    }
    let base: String = std::iter::once(c)
        .nfkd()
        .filter(|d| !is_combining_mark(*d))
        .collect();
    if !base.is_empty() && base.is_ascii() {
        base
    } else {
        c.to_string()
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Why a file is not renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The scan failed, so there are no fields (the scan's error message).
    ScanFailed(String),
    /// The receipt lacks a field the template needs.
    MissingField(Field),
    /// The fields gave an empty name (e.g. a merchant made only of punctuation and a template
    /// with nothing else).
    EmptyName,
    /// The file already has the name the template gives it.
    AlreadyNamed,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::ScanFailed(message) => write!(f, "the scan failed: {message}"),
            Skip::MissingField(field) => write!(f, "no {field} found on the receipt"),
            Skip::EmptyName => f.write_str("its fields give an empty name"),
            Skip::AlreadyNamed => f.write_str("it already has that name"),
        }
    }
}

/// What [`plan`] decided for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Rename it to this path (same folder, same extension).
    Rename {
        /// The new path.
        to: PathBuf,
    },
    /// Leave it as it is.
    Skip(Skip),
}

/// One file's planned rename; `Display` prints the dry run's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The file as it is named now.
    pub from: PathBuf,
    /// What will happen to it.
    pub action: Action,
    /// The new name before any `-N` suffix and the extension, to find the next free one.
    base: String,
    /// The `N` of the planned name's `-N` (1: none).
    suffix: u32,
}

impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Action::Rename { to } => write!(f, "{} -> {}", self.from.display(), to.display()),
            Action::Skip(why) => write!(f, "{}: skipped: {why}", self.from.display()),
        }
    }
}

/// A file renamed by [`apply`]; `Display` prints `from -> to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    /// The old path.
    pub from: PathBuf,
    /// The new path: the planned one, or the next free `-N` when the planned one was taken
    /// meanwhile.
    pub to: PathBuf,
}

impl fmt::Display for Renamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.from.display(), self.to.display())
    }
}

/// Decides each file's new name without touching anything (the dry run), in input order.
///
/// A name is free when nothing stands under it on disk (a file, folder or even a dangling
/// symbolic link) and no earlier file of `scans` was given it.
pub fn plan(template: &Template, scans: &[Scanned]) -> Vec<Planned> {
    let mut claimed: HashSet<PathBuf> = HashSet::new();
    scans
        .iter()
        .map(|scan| {
            let from = scan.input.clone();
            let base = match template.render(scan) {
                Ok(base) => base,
                Err(why) => return skipped(from, why),
            };
            let mut free = None;
            for n in 1..=MAX_SUFFIX {
                let to = candidate(&from, &base, n);
                if to == from {
                    return skipped(from, Skip::AlreadyNamed);
                }
                if !claimed.contains(&to) && !occupied(&to) {
                    free = Some((to, n));
                    break;
                }
            }
            // With every suffix taken the plan still names the first; `apply` reports it.
            let (to, suffix) = free.unwrap_or_else(|| (candidate(&from, &base, 1), 1));
            claimed.insert(to.clone());
            Planned {
                from,
                action: Action::Rename { to },
                base,
                suffix,
            }
        })
        .collect()
}

fn skipped(from: PathBuf, why: Skip) -> Planned {
    Planned {
        from,
        action: Action::Skip(why),
        base: String::new(),
        suffix: 1,
    }
}

/// `base` (with `-n` from 2 on) plus the extension of `from`, in the folder of `from`.
fn candidate(from: &Path, base: &str, n: u32) -> PathBuf {
    let mut name = OsString::from(base);
    if n > 1 {
        name.push(format!("-{n}"));
    }
    if let Some(ext) = from.extension() {
        name.push(".");
        name.push(ext);
    }
    from.with_file_name(name)
}

fn occupied(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Renames the planned files, in plan order, never overwriting; skipped files are left alone.
///
/// One result per [`Action::Rename`]. A failure leaves that file under its old name and does not
/// stop the others.
pub fn apply(plan: &[Planned]) -> Vec<Result<Renamed, OutputError>> {
    plan.iter()
        .filter_map(|step| match &step.action {
            Action::Rename { to } => Some(apply_one(step, to)),
            Action::Skip(_) => None,
        })
        .collect()
}

fn apply_one(step: &Planned, planned: &Path) -> Result<Renamed, OutputError> {
    let from = &step.from;
    let mut to = planned.to_path_buf();
    let mut n = step.suffix;
    loop {
        match rename_no_clobber(from, &to) {
            Ok(()) => {
                return Ok(Renamed {
                    from: from.clone(),
                    to,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < MAX_SUFFIX => {
                n += 1;
                to = candidate(from, &step.base, n);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(OutputError::NoFreeName {
                    from: from.clone(),
                    to: planned.to_path_buf(),
                    max: MAX_SUFFIX,
                });
            }
            Err(source) => {
                return Err(OutputError::Rename {
                    from: from.clone(),
                    to,
                    source,
                });
            }
        }
    }
}

/// Points each renamed scan at its new name, so a CSV or report written afterwards shows (and
/// reads its thumbnails from) the files as they are now named.
pub fn follow(scans: &mut [Scanned], renamed: &[Renamed]) {
    let new_names: HashMap<&Path, &Path> = renamed
        .iter()
        .map(|r| (r.from.as_path(), r.to.as_path()))
        .collect();
    for scan in scans {
        if let Some(to) = new_names.get(scan.input.as_path()) {
            scan.input = to.to_path_buf();
        }
    }
}

/// Renames `from` to `to` unless something stands under `to` (then `AlreadyExists`).
///
/// A hard link fails atomically when `to` exists, so nothing that appears under `to` at any
/// moment is overwritten. Where the file system has no hard links the name is reserved with an
/// exclusive create and the file renamed onto that empty placeholder instead.
pub(crate) fn rename_no_clobber(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => {
            if let Err(e) = fs::remove_file(from) {
                let _ = fs::remove_file(to);
                return Err(e);
            }
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
            ) && fs::symlink_metadata(from).is_ok_and(|m| m.is_file()) =>
        {
            rename_onto_placeholder(from, to)
        }
        Err(e) => Err(e),
    }
}

/// The fallback of [`rename_no_clobber`]: `O_EXCL`-create `to`, then rename `from` onto it.
pub(crate) fn rename_onto_placeholder(from: &Path, to: &Path) -> io::Result<()> {
    fs::File::create_new(to)?;
    if let Err(e) = fs::rename(from, to) {
        let _ = fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(merchant: &str, date: &str, total: i64) -> Receipt {
        Receipt {
            merchant: Some(merchant.to_string()),
            date: Some(date.to_string()),
            total: Some(Amount::new(total, 2)),
            ..Receipt::default()
        }
    }

    fn name(template: &str, scan: &Scanned) -> Result<String, Skip> {
        Template::parse(template).unwrap().render(scan)
    }

    #[test]
    fn renders_the_issue_example() {
        let scan = Scanned::parsed(
            "IMG 0042.jpg",
            "tesseract",
            receipt("Corner Store", "2024-03-12", 1296),
        );
        assert_eq!(
            name("{date}_{merchant}_{total}", &scan).unwrap(),
            "2024-03-12_corner-store_12.96"
        );
    }

    #[test]
    fn folds_latin_accents_and_keeps_other_scripts() {
        assert_eq!(slug("Café Müller"), "cafe-muller");
        assert_eq!(slug("Bäckerei Straße & Söhne"), "backerei-strasse-sohne");
        assert_eq!(slug("東京ストア"), "東京ストア");
        assert_eq!(slug("ドトール コーヒー"), "ドトール-コーヒー");
        assert_eq!(slug("ＴＥＳＣＯ ﬁne"), "tesco-fine");
        assert_eq!(slug("  --Ølhus/../Bar:  "), "olhus-bar");
        // accents typed as combining marks fold the same; marks of other scripts stay
        assert_eq!(slug("Cafe\u{301} Mu\u{308}ller"), "cafe-muller");
        assert_eq!(slug("e\u{20dd}x"), "ex");
        assert_eq!(slug("हिन्दी भंडार"), "हिन्दी-भंडार");
    }

    #[test]
    fn slugs_are_cut_to_the_field_limit() {
        let long = "Very Long Merchant Name ".repeat(10);
        let s = slug(&long);
        assert!(s.chars().count() <= MAX_FIELD_CHARS, "{s}");
        assert!(!s.ends_with('-'));
        let cjk = slug(&"東".repeat(100));
        assert_eq!(cjk.chars().count(), MAX_FIELD_CHARS);
    }

    #[test]
    fn names_never_start_with_a_dot_or_dash_nor_hold_separators() {
        let mut r = receipt("x", "2024-01-01", 500);
        r.time = Some("20:13:39".into());
        let scan = Scanned::parsed("a.jpg", "tesseract", r);
        assert_eq!(name(".{total}", &scan).unwrap(), "5.00");
        assert_eq!(name("{time} {merchant}", &scan).unwrap(), "20-13-39 x");
        let r = receipt("../../etc/passwd", "2024-01-01", 1);
        let scan = Scanned::parsed("a.jpg", "tesseract", r);
        assert_eq!(name("{merchant}", &scan).unwrap(), "etc-passwd");
    }

    #[test]
    fn names_are_cut_to_the_byte_limit_on_a_character_boundary() {
        let scan = Scanned::parsed("a.jpg", "t", receipt("店", "2024-01-01", 1));
        let template = "{merchant}".to_string() + &"é".repeat(150);
        let n = name(&template, &scan).unwrap();
        assert!(n.len() <= MAX_STEM_BYTES);
        assert!(n.starts_with("店é"));
    }

    #[test]
    fn missing_fields_and_failures_are_skips_with_reasons() {
        let r = Receipt {
            merchant: Some("Shop".into()),
            ..Receipt::default()
        };
        let scan = Scanned::parsed("a.jpg", "t", r);
        assert_eq!(
            name("{merchant}_{total}", &scan),
            Err(Skip::MissingField(Field::Total))
        );
        let r = Receipt {
            merchant: Some("***".into()),
            ..Receipt::default()
        };
        let scan = Scanned::parsed("a.jpg", "t", r);
        assert_eq!(
            name("{merchant}", &scan),
            Err(Skip::MissingField(Field::Merchant))
        );
        let failed = Scanned::failed("b.jpg", "t", "no text");
        assert_eq!(
            name("{merchant}", &failed),
            Err(Skip::ScanFailed("no text".into()))
        );
        assert_eq!(
            Skip::MissingField(Field::Total).to_string(),
            "no total found on the receipt"
        );
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        let err = Template::parse("{date}_{shop}").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown field `{shop}` in template `{date}_{shop}` (known: date, time, merchant, \
             total, subtotal, tax, tip, currency, payment, engine, stem)"
        );
        for (template, needle) in [
            ("{date", "`{` without `}`"),
            ("date}", "`}` without `{`"),
            ("{date}/{total}", "path separator"),
            ("{date}\\x", "path separator"),
            ("{date}\n", "control character"),
            ("receipt", "no `{field}`"),
            ("", "no `{field}`"),
        ] {
            let err = Template::parse(template).unwrap_err().to_string();
            assert!(err.contains(needle), "{template:?}: {err}");
        }
        let t = Template::parse("{{{date}}}").unwrap();
        let scan = Scanned::parsed("a.jpg", "t", receipt("x", "2024-01-01", 1));
        assert_eq!(t.render(&scan).unwrap(), "{2024-01-01}");
        assert_eq!(t.fields().collect::<Vec<_>>(), [Field::Date]);
    }

    #[test]
    fn placeholder_fallback_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jpg");
        let b = dir.path().join("b.jpg");
        fs::write(&a, "a").unwrap();
        fs::write(&b, "b").unwrap();
        let err = rename_onto_placeholder(&a, &b).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&b).unwrap(), b"b");
        let c = dir.path().join("c.jpg");
        rename_onto_placeholder(&a, &c).unwrap();
        assert_eq!(fs::read(&c).unwrap(), b"a");
        assert!(!a.exists());
        // a failed rename removes its placeholder again
        let err = rename_onto_placeholder(&a, &dir.path().join("d.jpg")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!dir.path().join("d.jpg").exists());
    }
}
