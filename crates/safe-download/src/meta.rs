//! What the response says and means: URL and Location handling, Content-Type patterns and
//! sniff agreement, Content-Range, suggested names, and ureq errors mapped to ours.

use crate::{DownloadError, disposition_filename, safe_filename, url_filename};
use binary_io::Kind;
use std::io;
use ureq::http::HeaderMap;

/// Turns `--accept` text (`image/*,application/pdf,png`) into MIME patterns: full types,
/// `type/*`, `*/*`, or short names known to [`binary_io::Kind`]. The grammar is binary-io's
/// [`binary_io::parse_accept`], the same in every app.
pub fn parse_accept(list: &str) -> Result<Vec<String>, DownloadError> {
    binary_io::parse_accept(list).map_err(|e| DownloadError::InvalidAccept { pattern: e.pattern })
}

pub(crate) fn check_url(url: &str) -> Result<(), DownloadError> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(DownloadError::InvalidUrl {
            url: url.to_string(),
            reason: "only http:// and https:// urls are supported".into(),
        });
    }
    Ok(())
}

/// Resolves a Location against the current URL; `None` for schemes other than http/https.
pub(crate) fn resolve_location(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    let scheme_end = location.find(':');
    let has_scheme = scheme_end.is_some_and(|i| {
        i > 0
            && location[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && location[..i].starts_with(|c: char| c.is_ascii_alphabetic())
    });
    if has_scheme {
        let scheme = location[..scheme_end?].to_ascii_lowercase();
        return matches!(scheme.as_str(), "http" | "https").then(|| location.to_string());
    }
    let (scheme, rest) = base.split_once("://")?;
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = rest[authority_end..].split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    if location.starts_with('?') {
        return Some(format!("{origin}{path}{location}"));
    }
    Some(format!("{origin}{dir}{location}"))
}

pub(crate) fn suggested_name(url: &str, headers: &HeaderMap) -> Result<String, DownloadError> {
    let disposition = headers.get("content-disposition").map(|v| {
        // Raw UTF-8 (or Latin-1) bytes are common in filename= even though RFC 6266 says ASCII.
        let bytes = v.as_bytes();
        String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|_| bytes.iter().map(|&b| char::from(b)).collect())
    });
    if let Some(raw) = disposition.as_deref().and_then(disposition_filename) {
        return safe_filename(&raw);
    }
    match url_filename(url) {
        Some(raw) => safe_filename(&raw),
        None => Err(DownloadError::UnsafeFilename {
            name: String::new(),
            reason: "the url names no file and the server suggested none",
        }),
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn mime_essence(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn accepted(patterns: &[String], declared: Option<&str>) -> bool {
    let Some(declared) = declared else {
        return false;
    };
    patterns.iter().any(|p| {
        if binary_io::accept_matches(p, declared) {
            return true;
        }
        // Aliases such as image/jpg for image/jpeg.
        matches!((Kind::from_mime(p), Kind::from_mime(declared)), (Some(a), Some(b)) if a == b && a != Kind::Unknown)
    })
}

/// Whether the sniffed kind contradicts the declared type. Only types that promise a
/// signature are checked; `application/octet-stream` and unknown types promise nothing.
pub(crate) fn contradicts(declared: &str, sniffed: Kind) -> bool {
    let Some(kind) = Kind::from_mime(declared) else {
        return false;
    };
    match kind {
        Kind::Unknown => false,
        Kind::Text | Kind::Html => !matches!(sniffed, Kind::Text | Kind::Html | Kind::Unknown),
        promised => sniffed != promised,
    }
}

/// `Content-Range: bytes a-b/total` or `bytes */total` (total `*` is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContentRange {
    /// First and last byte, inclusive (`None` for `*`).
    pub(crate) span: Option<(u64, u64)>,
    /// The full size, when given.
    pub(crate) total: Option<u64>,
}

impl ContentRange {
    pub(crate) fn parse(headers: &HeaderMap) -> Option<ContentRange> {
        let v = header(headers, "content-range")?.trim();
        let spec = v.strip_prefix("bytes ")?.trim();
        let (range, total) = spec.split_once('/')?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse().ok()?),
        };
        let span = match range.trim() {
            "*" => None,
            r => {
                let (a, b) = r.split_once('-')?;
                let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a {
                    return None;
                }
                Some((a, b))
            }
        };
        Some(ContentRange { span, total })
    }
}

pub(crate) fn map_ureq(url: &str, e: ureq::Error, received: Option<u64>) -> DownloadError {
    match e {
        ureq::Error::Timeout(t) => DownloadError::Timeout {
            url: url.to_string(),
            phase: t.to_string(),
        },
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            DownloadError::Timeout {
                url: url.to_string(),
                phase: "read".into(),
            }
        }
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionReset => {
            DownloadError::Reset {
                url: url.to_string(),
                received: received.unwrap_or(0),
            }
        }
        ureq::Error::BadUri(reason) => DownloadError::InvalidUrl {
            url: url.to_string(),
            reason,
        },
        other => DownloadError::Network {
            url: url.to_string(),
            source: other,
        },
    }
}

pub(crate) fn map_read(
    url: &str,
    e: io::Error,
    received: u64,
    expected: Option<u64>,
) -> DownloadError {
    if crate::decode::is_decode_failure(&e) {
        return DownloadError::Undecodable {
            url: url.to_string(),
            source: e,
        };
    }
    let e = ureq::Error::from(e);
    if crate::wire::was_reset() {
        return DownloadError::Reset {
            url: url.to_string(),
            received,
        };
    }
    if let (ureq::Error::Io(io), Some(expected)) = (&e, expected)
        && io.kind() == io::ErrorKind::UnexpectedEof
    {
        return DownloadError::Truncated {
            url: url.to_string(),
            expected,
            received,
        };
    }
    map_ureq(url, e, Some(received))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn resolves_locations_like_a_browser() {
        let base = "http://127.0.0.1:8080/a/b/c?x=1";
        assert_eq!(
            resolve_location(base, "/z").unwrap(),
            "http://127.0.0.1:8080/z"
        );
        assert_eq!(
            resolve_location(base, "d").unwrap(),
            "http://127.0.0.1:8080/a/b/d"
        );
        assert_eq!(
            resolve_location(base, "?y=2").unwrap(),
            "http://127.0.0.1:8080/a/b/c?y=2"
        );
        assert_eq!(
            resolve_location(base, "//other:1/p").unwrap(),
            "http://other:1/p"
        );
        assert_eq!(
            resolve_location(base, "HTTPS://h/p").unwrap(),
            "HTTPS://h/p"
        );
        assert_eq!(resolve_location("http://h", "x").unwrap(), "http://h/x");
    }

    #[test]
    fn refuses_redirects_to_other_schemes() {
        for loc in [
            "file:///etc/passwd",
            "ftp://127.0.0.1/x",
            "javascript:alert(1)",
            "data:,x",
        ] {
            assert_eq!(resolve_location("http://h/", loc), None, "{loc}");
        }
    }

    #[test]
    fn accept_patterns_match_wildcards_aliases_and_extensions() {
        let p = parse_accept("image/*, pdf").unwrap();
        assert_eq!(
            p,
            vec!["image/*".to_string(), "application/pdf".to_string()]
        );
        assert!(accepted(&p, Some("image/webp")));
        assert!(accepted(&p, Some("application/pdf")));
        assert!(!accepted(&p, Some("text/html")));
        assert!(!accepted(&p, None));
        assert!(accepted(&["image/jpeg".into()], Some("image/jpg")));
        assert!(parse_accept("nonsense").is_err());
    }

    #[test]
    fn html_served_as_jpeg_contradicts_but_octet_stream_promises_nothing() {
        assert!(contradicts("image/jpeg", Kind::Html));
        assert!(contradicts("image/png", Kind::Jpeg));
        assert!(contradicts("text/plain", Kind::Elf));
        assert!(!contradicts("image/jpeg", Kind::Jpeg));
        assert!(!contradicts("application/octet-stream", Kind::Html));
        assert!(!contradicts("application/x-unheard-of", Kind::Elf));
        assert!(!contradicts("text/html", Kind::Text));
    }

    #[test]
    fn reads_content_range() {
        let mut h = HeaderMap::new();
        h.insert("content-range", "bytes 100-199/1000".parse().unwrap());
        let r = ContentRange::parse(&h).unwrap();
        assert_eq!((r.span, r.total), (Some((100, 199)), Some(1000)));
        h.insert("content-range", "bytes */1000".parse().unwrap());
        let r = ContentRange::parse(&h).unwrap();
        assert_eq!((r.span, r.total), (None, Some(1000)));
        h.insert("content-range", "bytes 5-9/*".parse().unwrap());
        assert_eq!(ContentRange::parse(&h).unwrap().total, None);
        h.insert("content-range", "bytes 9-5/10".parse().unwrap());
        assert_eq!(ContentRange::parse(&h), None);
    }
}
