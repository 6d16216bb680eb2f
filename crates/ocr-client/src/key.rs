//! The OCR.space API key: where it comes from (environment, a bounded and FIFO-safe `.env`), and
//! a type that never shows it, in any spelling a server may echo it back in.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable holding the OCR.space key.
pub const KEY_VARIABLE: &str = "OCRSPACE_API_KEY";

/// OCR.space's public demo key, heavily throttled.
pub const DEMO_KEY: &str = "helloworld";

/// The largest `.env` file read (64 KiB): a file of settings is a few hundred bytes; a larger one
/// is not read at all (a warning says so), so a `.env` linked to a huge file costs nothing.
pub const MAX_DOTENV_BYTES: u64 = 64 * 1024;

/// What replaces the key wherever it appears.
const REDACTED: &str = "***";

/// An API key. `Debug` prints `ApiKey(***)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the `apikey` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is the public demo key.
    pub fn is_demo(&self) -> bool {
        self.0 == DEMO_KEY
    }

    /// Replaces every occurrence of the key in `text` with `***`, in whatever spelling it has:
    /// each of its characters may be written as itself or escaped, and escapes may be mixed
    /// within one occurrence. Recognised escapes: JSON (`\u0053`, surrogate pairs, `\/`, `\\`,
    /// `\"` and the others), the same escaped twice (`\\u0053`, as JSON inside a JSON string),
    /// `\xHH`, URL encoding (`%53`, UTF-8 bytes of a non-ASCII character, `+` for a space) and
    /// HTML character references (`&#83;`, `&#x53;`, `&amp;` and the other four).
    ///
    /// ```
    /// let key = ocr_client::ApiKey::new("K9/ab");
    /// assert_eq!(key.scrub(r#"{"echo":"\u004b9\/a\u0062"}"#), r#"{"echo":"***"}"#);
    /// assert_eq!(key.scrub("K9%2Fab and &#75;9/ab"), "*** and ***");
    /// ```
    pub fn scrub(&self, text: &str) -> String {
        let key: Vec<char> = self.0.chars().collect();
        if key.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        while pos < text.len() {
            if let Some(end) = match_key(text, pos, &key) {
                out.push_str(REDACTED);
                pos = end;
                continue;
            }
            let c = text[pos..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            pos += c.len_utf8();
        }
        out
    }
}

/// The end of an occurrence of `key` starting at byte `pos` of `text`, in any spelling.
fn match_key(text: &str, pos: usize, key: &[char]) -> Option<usize> {
    let Some((&first, rest)) = key.split_first() else {
        return Some(pos);
    };
    spellings(&text[pos..])
        .into_iter()
        .filter(|&(c, _)| c == first)
        .find_map(|(_, len)| match_key(text, pos + len, rest))
}

/// Every character the start of `s` can stand for, with the bytes that spelling takes.
fn spellings(s: &str) -> Vec<(char, usize)> {
    let mut found = Vec::new();
    let Some(c) = s.chars().next() else {
        return found;
    };
    found.push((c, c.len_utf8()));
    let b = s.as_bytes();
    match c {
        '\\' => {
            if let Some(escaped) = json_escape(&s[1..]) {
                found.push((escaped.0, escaped.1 + 1));
            }
            // Escaped twice: `\\u0053`, `\\/`.
            if b.get(1) == Some(&b'\\')
                && let Some(escaped) = json_escape(&s[2..])
            {
                found.push((escaped.0, escaped.1 + 2));
            }
            if b.get(1) == Some(&b'x')
                && let Some(byte) = hex_byte(&b[2..])
                && byte.is_ascii()
            {
                found.push((char::from(byte), 4));
            }
        }
        '%' => {
            if let Some(decoded) = percent_char(b) {
                found.push(decoded);
            }
        }
        '+' => found.push((' ', 1)),
        '&' => {
            if let Some(decoded) = html_reference(s) {
                found.push(decoded);
            }
        }
        _ => {}
    }
    found
}

/// A JSON escape after its backslash: the character and the bytes taken (without the backslash).
fn json_escape(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let simple = match *b.first()? {
        b'/' => Some('/'),
        b'\\' => Some('\\'),
        b'"' => Some('"'),
        b'\'' => Some('\''),
        b'n' => Some('\n'),
        b't' => Some('\t'),
        b'r' => Some('\r'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'u' => None,
        _ => return None,
    };
    if let Some(c) = simple {
        return Some((c, 1));
    }
    let unit = hex_u16(b.get(1..5)?)?;
    if (0xD800..0xDC00).contains(&unit) {
        // A high surrogate: the low one follows as `\uDC00`..`\uDFFF`.
        if b.get(5..7)? != b"\\u" {
            return None;
        }
        let low = hex_u16(b.get(7..11)?)?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        let code = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
        return Some((char::from_u32(code)?, 11));
    }
    Some((char::from_u32(u32::from(unit))?, 5))
}

fn hex_u16(digits: &[u8]) -> Option<u16> {
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn hex_byte(b: &[u8]) -> Option<u8> {
    let digits = b.get(..2)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `%HH` (and, for a non-ASCII character, its further `%HH` UTF-8 bytes) at the start of `b`.
fn percent_char(b: &[u8]) -> Option<(char, usize)> {
    let first = hex_byte(b.get(1..)?)?;
    let len = match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    let mut bytes = vec![first];
    for i in 1..len {
        let at = 3 * i;
        if b.get(at) != Some(&b'%') {
            return None;
        }
        bytes.push(hex_byte(b.get(at + 1..)?)?);
    }
    let c = std::str::from_utf8(&bytes).ok()?.chars().next()?;
    Some((c, 3 * len))
}

/// An HTML character reference at the start of `s` (`&#83;`, `&#x53;`, `&amp;` ...).
fn html_reference(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let body = &s[1..end];
    let c = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
    } else if let Some(dec) = body.strip_prefix('#') {
        char::from_u32(dec.parse().ok()?)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where a resolved key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The `OCRSPACE_API_KEY` environment variable.
    Environment,
    /// A `.env` file (the environment had no key).
    DotEnv(PathBuf),
    /// Neither: the throttled public demo key. Apps warn about it on stderr.
    Demo,
}

/// A key, where it came from, and what was wrong with the `.env` file on the way.
#[derive(Clone, Debug)]
pub struct ResolvedKey {
    /// The key.
    pub key: ApiKey,
    /// Its origin.
    pub source: KeySource,
    /// Problems with `.env` worth a warning (not a regular file, too large, a line that is not
    /// UTF-8); none of them quotes the file's content, which may hold the key.
    pub warnings: Vec<String>,
}

/// Finds the key: `OCRSPACE_API_KEY` from the environment, else `OCRSPACE_API_KEY=` in
/// `dir/.env` (which never overrides the environment), else the demo key.
pub fn resolve_key(dir: &Path) -> ResolvedKey {
    resolve_key_with(std::env::var(KEY_VARIABLE).ok().as_deref(), dir)
}

/// [`resolve_key`] with the environment's value given explicitly (for tests and embedding).
/// An empty value counts as absent.
///
/// `.env` is read only when it is a regular file (a FIFO, a device or a folder, also behind a
/// symbolic link, is never opened for reading, so it cannot hang or feed endless bytes) of at most
/// [`MAX_DOTENV_BYTES`]; a UTF-8 byte-order mark is dropped; a line that is not UTF-8 is skipped
/// with a warning naming its number. Each of these is in [`ResolvedKey::warnings`].
pub fn resolve_key_with(environment: Option<&str>, dir: &Path) -> ResolvedKey {
    if let Some(key) = environment.map(str::trim).filter(|k| !k.is_empty()) {
        return ResolvedKey {
            key: ApiKey::new(key),
            source: KeySource::Environment,
            warnings: Vec::new(),
        };
    }
    let dotenv = dir.join(".env");
    let mut warnings = Vec::new();
    if let Some(bytes) = read_dotenv(&dotenv, &mut warnings)
        && let Some(key) = dotenv_value(&bytes, KEY_VARIABLE, &dotenv, &mut warnings)
    {
        return ResolvedKey {
            key: ApiKey::new(key),
            source: KeySource::DotEnv(dotenv),
            warnings,
        };
    }
    ResolvedKey {
        key: ApiKey::new(DEMO_KEY),
        source: KeySource::Demo,
        warnings,
    }
}

/// The bytes of `.env`, or `None` (with a warning unless it simply does not exist).
fn read_dotenv(path: &Path, warnings: &mut Vec<String>) -> Option<Vec<u8>> {
    let (file, meta) = match binary_io::open_regular(path) {
        Ok(opened) => opened,
        Err(binary_io::Error::NotFound { .. }) => return None,
        Err(e) => {
            warnings.push(format!("{e}; not read"));
            return None;
        }
    };
    let too_large = |size: u64| {
        format!(
            "{}: not read: it is {size} bytes, over the {MAX_DOTENV_BYTES}-byte limit for a .env file",
            path.display()
        )
    };
    if meta.len() > MAX_DOTENV_BYTES {
        warnings.push(too_large(meta.len()));
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    if let Err(e) = file.take(MAX_DOTENV_BYTES + 1).read_to_end(&mut bytes) {
        warnings.push(format!("{}: not read ({e})", path.display()));
        return None;
    }
    if bytes.len() as u64 > MAX_DOTENV_BYTES {
        warnings.push(too_large(bytes.len() as u64));
        return None;
    }
    Some(bytes)
}

/// The value of `name` in `.env` bytes: `NAME=value`, optional `export `, optional single or
/// double quotes, `#` comments; the last assignment wins; empty values count as absent. A line
/// that is not UTF-8 is skipped with a warning giving its number only.
fn dotenv_value(
    contents: &[u8],
    name: &str,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let contents = contents.strip_prefix(b"\xef\xbb\xbf").unwrap_or(contents);
    let mut found = None;
    for (index, raw) in contents.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(raw) else {
            warnings.push(format!(
                "{}: line {} is not UTF-8; skipped",
                path.display(),
                index + 1
            ));
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != name {
            continue;
        }
        let value = value.trim();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value.split(" #").next().unwrap_or("").trim(),
        };
        found = (!value.is_empty()).then(|| value.to_string());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(contents: &str, name: &str) -> Option<String> {
        dotenv_value(
            contents.as_bytes(),
            name,
            Path::new(".env"),
            &mut Vec::new(),
        )
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("K8s3cr3tValue");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let resolved = ResolvedKey {
            key,
            source: KeySource::Environment,
            warnings: Vec::new(),
        };
        assert!(!format!("{resolved:?}").contains("K8s3cr3tValue"));
    }

    #[test]
    fn scrub_replaces_the_key_everywhere() {
        let key = ApiKey::new("abc123");
        assert_eq!(key.scrub("x abc123 y abc123"), "x *** y ***");
        assert_eq!(key.scrub("abc12 abc1234"), "abc12 ***4");
        assert_eq!(ApiKey::new("").scrub("text"), "text");
    }

    #[test]
    fn scrub_finds_every_escaped_spelling_of_the_key() {
        let key = ApiKey::new("Sk/9\\\"é😀+x");
        // Each character spelled every way there is, one spelling per occurrence.
        let spelled: [&[&str]; 9] = [
            &[
                "S",
                "\\u0053",
                "\\u0053",
                "\\\\u0053",
                "\\x53",
                "%53",
                "&#83;",
                "&#x53;",
            ],
            &[
                "k",
                "\\u006b",
                "\\u006B",
                "\\\\u006b",
                "\\x6b",
                "%6b",
                "&#107;",
                "&#x6B;",
            ],
            &[
                "/", "\\/", "\\u002f", "\\\\/", "\\x2f", "%2F", "&#47;", "&#x2f;",
            ],
            &[
                "9",
                "\\u0039",
                "\\u0039",
                "\\\\u0039",
                "\\x39",
                "%39",
                "&#57;",
                "&#x39;",
            ],
            &[
                "\\",
                "\\\\",
                "\\u005c",
                "\\\\u005C",
                "\\x5c",
                "%5C",
                "&#92;",
                "&#x5c;",
            ],
            &[
                "\"",
                "\\\"",
                "\\u0022",
                "\\\\u0022",
                "\\x22",
                "%22",
                "&quot;",
                "&#x22;",
            ],
            &[
                "é",
                "\\u00e9",
                "\\u00E9",
                "\\\\u00e9",
                "é",
                "%C3%A9",
                "&#233;",
                "&#xe9;",
            ],
            &[
                "😀",
                "\\ud83d\\ude00",
                "\\uD83D\\uDE00",
                "😀",
                "😀",
                "%F0%9F%98%80",
                "&#128512;",
                "&#x1F600;",
            ],
            &[
                "+",
                "\\u002b",
                "\\u002B",
                "\\\\u002b",
                "\\x2b",
                "%2B",
                "&#43;",
                "&#x2b;",
            ],
        ];
        for way in 0..8 {
            let mut echoed: String = spelled.iter().map(|s| s[way]).collect();
            echoed.push('x');
            let text = format!("{{\"echo\":\"{echoed}\"}} tail");
            assert_eq!(key.scrub(&text), "{\"echo\":\"***\"} tail", "{text}");
        }
        // Mixed within one occurrence.
        let mixed = "S\\u006b\\/9%5C&quot;\\u00e9😀%2Bx";
        assert_eq!(key.scrub(mixed), "***");
        // A space in the key may come as `+` in a form body.
        assert_eq!(ApiKey::new("a b").scrub("k=a+b&z"), "k=***&z");
        // Not the key: left alone.
        assert_eq!(key.scrub("\\u0053k/9"), "\\u0053k/9");
    }

    #[test]
    fn environment_wins_over_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=from-file\n").unwrap();
        let r = resolve_key_with(Some("from-env"), dir.path());
        assert_eq!(r.key.expose(), "from-env");
        assert_eq!(r.source, KeySource::Environment);
    }

    #[test]
    fn dotenv_is_used_when_environment_is_absent_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# keys\nOTHER=1\nexport OCRSPACE_API_KEY=\"from-file\" # mine\n",
        )
        .unwrap();
        for env in [None, Some(""), Some("  ")] {
            let r = resolve_key_with(env, dir.path());
            assert_eq!(r.key.expose(), "from-file");
            assert_eq!(r.source, KeySource::DotEnv(dir.path().join(".env")));
            assert!(r.warnings.is_empty());
        }
    }

    #[test]
    fn demo_key_when_neither_has_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=\nOTHER=x\n").unwrap();
        let r = resolve_key_with(None, dir.path());
        assert!(r.key.is_demo());
        assert_eq!(r.source, KeySource::Demo);
        let none = tempfile::tempdir().unwrap();
        assert!(resolve_key_with(None, none.path()).warnings.is_empty());
    }

    #[test]
    fn dotenv_values_unquoted_quoted_and_commented() {
        assert_eq!(value("A=1\nA=2\n", "A").as_deref(), Some("2"));
        assert_eq!(value("A = 'x y' \n", "A").as_deref(), Some("x y"));
        assert_eq!(value("A=v # note\n", "A").as_deref(), Some("v"));
        assert_eq!(value("A=crlf\r\n", "A").as_deref(), Some("crlf"));
        assert_eq!(value("AB=1\n", "A"), None);
        assert_eq!(value("garbage line\n", "A"), None);
    }

    #[test]
    fn dotenv_with_a_bom_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            b"\xef\xbb\xbfOCRSPACE_API_KEY=bom-key\r\n",
        )
        .unwrap();
        let r = resolve_key_with(None, dir.path());
        assert_eq!(r.key.expose(), "bom-key");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_warning_naming_its_number_not_its_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            b"# caf\xe9\nOCRSPACE_API_KEY=S3cr\xe9t\nOCRSPACE_API_KEY=good-one\n",
        )
        .unwrap();
        let r = resolve_key_with(None, dir.path());
        assert_eq!(r.key.expose(), "good-one");
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("line 1 is not UTF-8"));
        assert!(r.warnings[1].contains("line 2 is not UTF-8"));
        assert!(r.warnings.iter().all(|w| !w.contains("S3cr")));
    }

    #[test]
    fn a_large_dotenv_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = "OCRSPACE_API_KEY=big\n".to_string();
        body.push_str(&"# padding\n".repeat(7000));
        std::fs::write(dir.path().join(".env"), body).unwrap();
        let r = resolve_key_with(None, dir.path());
        assert_eq!(r.source, KeySource::Demo);
        assert!(
            r.warnings[0].contains("over the 65536-byte limit"),
            "{:?}",
            r.warnings
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dotenv_fifo_or_device_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join(".env");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // Opening a FIFO for reading would wait for a writer forever: this returns at once.
        let r = resolve_key_with(None, dir.path());
        assert_eq!(r.source, KeySource::Demo);
        assert!(r.warnings[0].contains("FIFO"), "{:?}", r.warnings);
        std::fs::remove_file(&fifo).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &fifo).unwrap();
        let r = resolve_key_with(None, dir.path());
        assert_eq!(r.source, KeySource::Demo);
        assert!(r.warnings[0].contains("device"), "{:?}", r.warnings);
    }
}
