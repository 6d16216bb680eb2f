//! File names suggested by the server (Content-Disposition, RFC 6266) or the URL, checked so that
//! they can only ever name a plain file inside the destination folder.

use crate::DownloadError;

/// The file name a `Content-Disposition` value suggests: `filename*` (RFC 8187, UTF-8 or
/// ISO-8859-1, percent-encoded) wins over `filename` (token or quoted string). The raw name is
/// returned as sent: pass it through [`safe_filename`] before using it.
pub fn disposition_filename(header: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(header).into_iter().skip(1) {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        match name.as_str() {
            "filename*" => extended = decode_ext_value(value),
            "filename" => plain = Some(unquote(value)),
            _ => {}
        }
    }
    extended.or(plain)
}

/// The last segment of a URL's path, percent-decoded (query and fragment ignored).
pub fn url_filename(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    if last.is_empty() {
        return None;
    }
    let bytes = percent_decode(last);
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The longest file name (in bytes) this crate chooses: room is left within the usual 255-byte
/// limit for `.part.json` and for temporary names beside it.
pub const MAX_NAME_BYTES: usize = 200;

/// The longest extension kept when a name is shortened (dot included).
const MAX_KEPT_EXTENSION: usize = 16;

/// Checks that `raw` can be used as a file name inside a folder: not empty, no path separators,
/// not `.`/`..`, no drive or stream separator, no NUL or other control characters, not hidden,
/// not a reserved device name (CON, NUL, COM1, ...). Returns it unchanged, or shortened to
/// [`MAX_NAME_BYTES`] (on a character boundary, keeping a short extension) when longer.
pub fn safe_filename(raw: &str) -> Result<String, DownloadError> {
    let refuse = |reason| {
        Err(DownloadError::UnsafeFilename {
            name: raw.to_string(),
            reason,
        })
    };
    if raw.is_empty() {
        return refuse("empty name");
    }
    if raw.chars().any(char::is_control) {
        return refuse("contains a control character");
    }
    if raw.contains(['/', '\\']) {
        return refuse("contains a path separator");
    }
    if raw == "." || raw == ".." {
        return refuse("is a relative path component");
    }
    if raw.starts_with('.') {
        return refuse("starts with a dot (hidden file)");
    }
    if raw.contains(':') {
        return refuse("contains a drive or stream separator");
    }
    let short = shorten_filename(raw, MAX_NAME_BYTES);
    let stem = short
        .split('.')
        .next()
        .unwrap_or(raw)
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        return refuse("is a reserved device name");
    }
    Ok(short)
}

/// `name` cut to at most `max` bytes on a character boundary, keeping its extension when that
/// is short (`a…a.pdf` stays a `.pdf`); unchanged when it fits.
pub fn shorten_filename(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let ext = name
        .rfind('.')
        .filter(|&i| i > 0 && name.len() - i <= MAX_KEPT_EXTENSION && name.len() - i < max)
        .map_or("", |i| &name[i..]);
    let stem = &name[..name.len() - ext.len()];
    let stem = truncate_utf8(stem, max - ext.len()).trim_end_matches([' ', '.']);
    format!("{stem}{ext}")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Splits a header value on `;` outside quoted strings.
fn split_params(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// A token or a quoted string (backslash escapes removed).
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_string();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// RFC 8187 `charset'language'value-chars`.
fn decode_ext_value(value: &str) -> Option<String> {
    let mut it = value.splitn(3, '\'');
    let charset = it.next()?.to_ascii_lowercase();
    let _language = it.next()?;
    let encoded = it.next()?;
    let bytes = percent_decode(encoded);
    match charset.as_str() {
        "utf-8" => String::from_utf8(bytes).ok(),
        "iso-8859-1" => Some(bytes.into_iter().map(char::from).collect()),
        _ => None,
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_filename_wins_over_plain() {
        let h = "attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt";
        assert_eq!(disposition_filename(h).as_deref(), Some("€ rates.txt"));
    }

    #[test]
    fn quoted_names_keep_semicolons_and_escapes() {
        let h = r#"attachment; filename="a;b \"c\".pdf""#;
        assert_eq!(disposition_filename(h).as_deref(), Some("a;b \"c\".pdf"));
        assert_eq!(
            disposition_filename("attachment; filename=token.bin").as_deref(),
            Some("token.bin")
        );
        assert_eq!(
            disposition_filename("attachment; FILENAME*=iso-8859-1'en'%E9t%E9.txt").as_deref(),
            Some("été.txt")
        );
        assert_eq!(disposition_filename("inline"), None);
    }

    #[test]
    fn url_names_are_the_decoded_last_segment() {
        assert_eq!(
            url_filename("http://h:1/files/a%20b.jpg?x=1#f").as_deref(),
            Some("a b.jpg")
        );
        assert_eq!(url_filename("http://h/dir/"), None);
        assert_eq!(url_filename("http://h"), None);
        assert_eq!(
            url_filename("http://h/x/..%2F..%2Fetc").as_deref(),
            Some("../../etc")
        );
    }

    #[test]
    fn refuses_every_way_out_of_the_folder() {
        for bad in [
            "../x",
            "..",
            ".",
            "/etc/passwd",
            "a\\b",
            "C:evil",
            "nul\0.txt",
            "bell\u{7}",
            "new\nline",
            ".bashrc",
            "CON",
            "con.txt",
            "LPT1.log",
            "",
        ] {
            assert!(safe_filename(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn long_names_are_shortened_keeping_the_extension() {
        let long = format!("{}.pdf", "a".repeat(250));
        let short = safe_filename(&long).unwrap();
        assert_eq!(short.len(), MAX_NAME_BYTES);
        assert!(short.ends_with(".pdf") && short.starts_with("aaa"));
        // Multi-byte characters are never split.
        let euro = "€".repeat(100);
        let short = safe_filename(&euro).unwrap();
        assert!(short.len() <= MAX_NAME_BYTES && short.chars().all(|c| c == '€'));
        // An extension longer than the budget is not kept.
        let odd = format!("x.{}", "e".repeat(300));
        assert!(safe_filename(&odd).unwrap().len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn keeps_ordinary_names_unchanged() {
        for good in [
            "photo.jpg",
            "€ rates.txt",
            "a..b",
            "CONSOLE.txt",
            "COM10",
            "x y (1).pdf",
        ] {
            assert_eq!(safe_filename(good).unwrap(), good);
        }
    }
}
