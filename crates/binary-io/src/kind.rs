//! File kinds and sniffing from magic bytes.

use serde::Serialize;
use std::fmt;

/// How many leading bytes [`sniff`] needs to decide (more are ignored).
pub const SNIFF_LEN: usize = 8192;

/// A file's real kind, as told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// JPEG image.
    Jpeg,
    /// PNG image.
    Png,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// BMP image.
    Bmp,
    /// TIFF image.
    Tiff,
    /// PDF document.
    Pdf,
    /// ZIP archive (also docx, xlsx, jar, ...).
    Zip,
    /// gzip stream.
    Gzip,
    /// An HTML page (often an error page where a file was expected).
    Html,
    /// An ELF executable or shared object.
    Elf,
    /// A Windows PE executable.
    Exe,
    /// Plain text (UTF-8 without control bytes).
    Text,
    /// Anything else: binary without a known signature.
    Unknown,
}

const ALL: [Kind; 14] = [
    Kind::Jpeg,
    Kind::Png,
    Kind::Gif,
    Kind::Webp,
    Kind::Bmp,
    Kind::Tiff,
    Kind::Pdf,
    Kind::Zip,
    Kind::Gzip,
    Kind::Html,
    Kind::Elf,
    Kind::Exe,
    Kind::Text,
    Kind::Unknown,
];

impl Kind {
    /// Every kind, for listings.
    pub fn all() -> &'static [Kind] {
        &ALL
    }

    /// The media type, e.g. `image/jpeg`.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Bmp => "image/bmp",
            Kind::Tiff => "image/tiff",
            Kind::Pdf => "application/pdf",
            Kind::Zip => "application/zip",
            Kind::Gzip => "application/gzip",
            Kind::Html => "text/html",
            Kind::Elf => "application/x-executable",
            Kind::Exe => "application/vnd.microsoft.portable-executable",
            Kind::Text => "text/plain",
            Kind::Unknown => "application/octet-stream",
        }
    }

    /// The kind for a media type; parameters and case are ignored (`image/JPEG; q=1`).
    /// Common aliases are accepted (`image/jpg`, `application/x-gzip`, `application/x-pdf`).
    pub fn from_mime(mime: &str) -> Option<Kind> {
        let essence = mime.split(';').next()?.trim().to_ascii_lowercase();
        let kind = match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Kind::Jpeg,
            "image/png" | "image/x-png" => Kind::Png,
            "image/gif" => Kind::Gif,
            "image/webp" => Kind::Webp,
            "image/bmp" | "image/x-bmp" | "image/x-ms-bmp" => Kind::Bmp,
            "image/tiff" => Kind::Tiff,
            "application/pdf" | "application/x-pdf" => Kind::Pdf,
            "application/zip" | "application/x-zip-compressed" => Kind::Zip,
            "application/gzip" | "application/x-gzip" => Kind::Gzip,
            "text/html" | "application/xhtml+xml" => Kind::Html,
            "application/x-executable" | "application/x-elf" | "application/x-sharedlib" => {
                Kind::Elf
            }
            "application/vnd.microsoft.portable-executable" | "application/x-msdownload" => {
                Kind::Exe
            }
            "text/plain" => Kind::Text,
            "application/octet-stream" => Kind::Unknown,
            _ => return None,
        };
        Some(kind)
    }

    /// The file-name extensions usually given to this kind, the preferred one first.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Kind::Png => &["png"],
            Kind::Gif => &["gif"],
            Kind::Webp => &["webp"],
            Kind::Bmp => &["bmp"],
            Kind::Tiff => &["tif", "tiff"],
            Kind::Pdf => &["pdf"],
            Kind::Zip => &["zip", "docx", "xlsx", "pptx", "odt", "jar", "apk", "epub"],
            Kind::Gzip => &["gz", "tgz"],
            Kind::Html => &["html", "htm"],
            Kind::Elf => &["", "so", "o", "elf", "bin"],
            Kind::Exe => &["exe", "dll"],
            Kind::Text => &["txt", "text", "csv", "md", "log", "json", "xml"],
            Kind::Unknown => &["bin", "dat"],
        }
    }

    /// The kind an extension claims (`jpg`, `.JPEG`), if it names one of the sniffable kinds.
    pub fn from_extension(ext: &str) -> Option<Kind> {
        let ext = ext.trim_start_matches('.').to_ascii_lowercase();
        if ext.is_empty() {
            return None;
        }
        // Text and Unknown claim nothing specific; bin is ambiguous.
        ALL.iter()
            .copied()
            .filter(|k| !matches!(k, Kind::Unknown | Kind::Elf))
            .find(|k| k.extensions().contains(&ext.as_str()))
    }

    /// Whether this is an image kind.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            Kind::Jpeg | Kind::Png | Kind::Gif | Kind::Webp | Kind::Bmp | Kind::Tiff
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Tells a file's kind from its first bytes ([`SNIFF_LEN`] are enough). Never looks at a name.
pub fn sniff(head: &[u8]) -> Kind {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if head.is_empty() {
        return Kind::Unknown;
    }
    if let Some(t) = infer::get(head)
        && let Some(kind) = Kind::from_mime(t.mime_type())
        && kind != Kind::Text
        && kind != Kind::Unknown
    {
        return kind;
    }
    if head.starts_with(b"\x7fELF") {
        return Kind::Elf;
    }
    if head.starts_with(b"MZ") {
        return Kind::Exe;
    }
    if looks_like_html(head) {
        return Kind::Html;
    }
    if looks_like_text(head) {
        return Kind::Text;
    }
    Kind::Unknown
}

fn looks_like_html(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    while let Some((first, tail)) = rest.split_first() {
        if first.is_ascii_whitespace() {
            rest = tail;
        } else {
            break;
        }
    }
    const OPENERS: [&[u8]; 9] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<title",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
    ];
    let prefix: Vec<u8> = rest.iter().take(16).map(u8::to_ascii_lowercase).collect();
    if OPENERS.iter().any(|o| prefix.starts_with(o)) {
        return true;
    }
    // An XML prolog or comment followed by an html element within the head.
    if prefix.starts_with(b"<?xml") || prefix.starts_with(b"<!--") {
        let lower: Vec<u8> = rest.iter().take(1024).map(u8::to_ascii_lowercase).collect();
        return lower.windows(5).any(|w| w == b"<html");
    }
    false
}

fn looks_like_text(head: &[u8]) -> bool {
    // Allow a UTF-8 sequence cut at the end of the sniffed window.
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    valid
        && !head
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_signatures() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"), Kind::Jpeg);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Kind::Gif);
        assert_eq!(sniff(b"%PDF-1.7\n"), Kind::Pdf);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), Kind::Elf);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Kind::Webp);
    }

    #[test]
    fn sniffs_html_error_pages_in_any_case() {
        assert_eq!(sniff(b"\n  <!DOCTYPE HTML>\n<html>"), Kind::Html);
        assert_eq!(
            sniff(b"<html><body>502 Bad Gateway</body></html>"),
            Kind::Html
        );
        assert_eq!(sniff(b"\xEF\xBB\xBF<HTML>"), Kind::Html);
    }

    #[test]
    fn tells_text_from_binary() {
        assert_eq!(sniff("TOTAL 12,50 €\r\n".as_bytes()), Kind::Text);
        assert_eq!(sniff(b"\x00\x01\x02\x03binary"), Kind::Unknown);
        assert_eq!(sniff(b""), Kind::Unknown);
    }

    #[test]
    fn text_cut_inside_a_utf8_sequence_is_still_text() {
        let s = "é".repeat(10);
        let bytes = &s.as_bytes()[..19];
        assert_eq!(sniff(bytes), Kind::Text);
    }

    #[test]
    fn maps_mime_and_extension_both_ways() {
        for k in Kind::all() {
            assert_eq!(Kind::from_mime(k.mime()), Some(*k), "{k:?}");
        }
        assert_eq!(
            Kind::from_mime("IMAGE/JPG; charset=binary"),
            Some(Kind::Jpeg)
        );
        assert_eq!(Kind::from_extension(".JPEG"), Some(Kind::Jpeg));
        assert_eq!(Kind::from_extension("png"), Some(Kind::Png));
        assert_eq!(Kind::from_extension(""), None);
        assert_eq!(Kind::from_extension("xyz"), None);
        assert!(Kind::Webp.is_image() && !Kind::Pdf.is_image());
    }
}
