//! `/files/<name>`, `/flaky/<name>` and `/bytes/<n>`: bodies with validators and ranges.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::{self, Body, Request, Response};
use crate::random::PseudoRandomBytes;
use crate::server::{Reply, Shared};

/// A file to serve and its validators.
struct FileMeta {
    path: PathBuf,
    /// The decoded name asked for (its extension picks the Content-Type).
    name: String,
    size: u64,
    etag: String,
    last_modified: SystemTime,
}

/// The Content-Type for a file name's extension.
pub(crate) fn content_type_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("txt") => "text/plain; charset=utf-8",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Finds `name` under the files folder, refusing anything that could leave it.
fn locate(shared: &Shared, raw_name: &str) -> Result<FileMeta, Response> {
    let Some(dir) = &shared.config.files_dir else {
        return Err(Response::error(404, "no files folder is configured"));
    };
    let name = http::percent_decode_str(raw_name);
    let bad = name.is_empty()
        || name.contains('\\')
        || name.contains('\0')
        || name.starts_with('/')
        || name
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(Response::error(403, format!("refused file name {name:?}")));
    }
    let path = dir.join(&name);
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        _ => return Err(Response::error(404, format!("no such file {name:?}"))),
    };
    let last_modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let nanos = last_modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    Ok(FileMeta {
        path,
        name,
        size: meta.len(),
        etag: format!("\"{:x}-{:x}\"", meta.len(), nanos),
        last_modified,
    })
}

/// What to send for a Range header.
#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    Full,
    /// First and last byte, inclusive.
    Partial(u64, u64),
    Unsatisfiable,
}

/// Reads a `Range` header against a body of `size` bytes (one range only; anything else is
/// ignored, as RFC 9110 allows).
fn decide_range(range: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return RangeAnswer::Full;
        };
        if n == 0 || size == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Partial(size.saturating_sub(n), size - 1);
    }
    let Ok(first) = a.parse::<u64>() else {
        return RangeAnswer::Full;
    };
    let last = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(l) if l >= first => l,
            _ => return RangeAnswer::Full,
        }
    };
    if first >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial(first, last.min(size - 1))
}

/// Whether an `If-Range` value matches the current validators (strong comparison).
fn if_range_matches(value: &str, etag: &str, last_modified: SystemTime) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return value == etag;
    }
    match httpdate::parse_http_date(value) {
        Ok(date) => httpdate::fmt_http_date(date) == httpdate::fmt_http_date(last_modified),
        Err(_) => false,
    }
}

/// Answers a GET/HEAD for a file with the given validators.
fn respond(req: &Request, meta: &FileMeta, honour_range: bool) -> Response {
    let mut range = if honour_range {
        decide_range(req.header("range"), meta.size)
    } else {
        RangeAnswer::Full
    };
    if range != RangeAnswer::Full
        && let Some(v) = req.header("if-range")
        && !if_range_matches(v, &meta.etag, meta.last_modified)
    {
        range = RangeAnswer::Full;
    }
    let file = match File::open(&meta.path) {
        Ok(f) => f,
        Err(e) => return Response::error(500, format!("opening {}: {e}", meta.path.display())),
    };
    let base = |status: u16| Response {
        status,
        headers: vec![
            ("Content-Type".into(), content_type_for(&meta.name).into()),
            ("Accept-Ranges".into(), b"bytes".to_vec()),
            ("ETag".into(), meta.etag.clone().into_bytes()),
            (
                "Last-Modified".into(),
                httpdate::fmt_http_date(meta.last_modified).into_bytes(),
            ),
        ],
        body: Body::Empty,
        close: false,
    };
    match range {
        RangeAnswer::Full => {
            let mut resp = base(200);
            resp.body = Body::Reader(Box::new(file), meta.size);
            resp
        }
        RangeAnswer::Partial(first, last) => {
            let mut file = file;
            if let Err(e) = file.seek(SeekFrom::Start(first)) {
                return Response::error(500, format!("seeking {}: {e}", meta.path.display()));
            }
            let mut resp = base(206).with_header(
                "Content-Range",
                format!("bytes {first}-{last}/{}", meta.size),
            );
            resp.body = Body::Reader(Box::new(file), last - first + 1);
            resp
        }
        RangeAnswer::Unsatisfiable => {
            let mut resp = base(416).with_header("Content-Range", format!("bytes */{}", meta.size));
            resp.headers[0].1 = b"text/plain; charset=utf-8".to_vec();
            resp.body = Body::Bytes(b"range not satisfiable\n".to_vec());
            resp
        }
    }
}

/// `GET|HEAD /files/<name>`.
pub(crate) fn serve(shared: &Shared, req: &Request, name: &str) -> Response {
    match locate(shared, name) {
        Ok(meta) => respond(req, &meta, true),
        Err(resp) => resp,
    }
}

/// `GET|HEAD /flaky/<name>?cut_after=N[&ignore_range=1][&change_etag=1]`.
pub(crate) fn flaky(shared: &Shared, req: &Request, name: &str, out: &mut TcpStream) -> Reply {
    let mut meta = match locate(shared, name) {
        Ok(meta) => meta,
        Err(resp) => return Reply::Send(resp),
    };
    let flag = |k: &str| req.query_param(k).is_some_and(|v| v == "1" || v == "true");
    let ignore_range = flag("ignore_range");
    let change_etag = flag("change_etag");
    let cut_after = req
        .query_num("cut_after")
        .unwrap_or(meta.size / 2)
        .min(meta.size);
    let state = {
        let mut all = crate::server::lock(&shared.flaky);
        let state = all.entry(name.to_string()).or_default();
        let first_full_get =
            req.method == "GET" && req.header("range").is_none() && !state.cut_done;
        if first_full_get {
            state.cut_done = true;
            if change_etag {
                let later = SystemTime::now().max(meta.last_modified) + Duration::from_secs(1);
                state.changed_at = Some(later);
            }
            None
        } else {
            Some(state.clone())
        }
    };
    let Some(state) = state else {
        return cut(&meta, cut_after, out);
    };
    if let Some(changed) = state.changed_at {
        meta.etag = format!("{}-changed\"", meta.etag.trim_end_matches('"'));
        meta.last_modified = changed;
    }
    Reply::Send(respond(req, &meta, !(ignore_range && state.cut_done)))
}

/// Sends a full 200 head, `cut_after` body bytes, then shuts the socket.
fn cut(meta: &FileMeta, cut_after: u64, out: &mut TcpStream) -> Reply {
    let headers = vec![
        (
            "Content-Type".to_string(),
            content_type_for(&meta.name).as_bytes().to_vec(),
        ),
        ("Accept-Ranges".into(), b"bytes".to_vec()),
        ("ETag".into(), meta.etag.clone().into_bytes()),
        (
            "Last-Modified".into(),
            httpdate::fmt_http_date(meta.last_modified).into_bytes(),
        ),
        ("Content-Length".into(), meta.size.to_string().into_bytes()),
    ];
    if http::write_head(out, 200, &headers).is_err() {
        return Reply::Close;
    }
    if let Ok(file) = File::open(&meta.path) {
        let _ = std::io::copy(&mut std::io::Read::take(file, cut_after), out);
    }
    Reply::Close
}

/// `GET|HEAD /bytes/<n>?seed=S[&chunked=1]`.
pub(crate) fn bytes(req: &Request, n: &str) -> Response {
    let Ok(len) = n.parse::<u64>() else {
        return Response::error(400, format!("bad byte count {n:?}"));
    };
    let seed = req.query_num("seed").unwrap_or(0);
    let source = Box::new(PseudoRandomBytes::new(seed, len));
    let chunked = req.query_param("chunked").is_some_and(|v| v == "1");
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), b"application/octet-stream".to_vec())],
        body: if chunked {
            Body::Chunked(source)
        } else {
            Body::Reader(source, len)
        },
        close: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        use RangeAnswer::*;
        assert_eq!(decide_range(None, 10), Full);
        assert_eq!(decide_range(Some("bytes=0-4"), 10), Partial(0, 4));
        assert_eq!(decide_range(Some("bytes=5-"), 10), Partial(5, 9));
        assert_eq!(decide_range(Some("bytes=-3"), 10), Partial(7, 9));
        assert_eq!(decide_range(Some("bytes=-30"), 10), Partial(0, 9));
        assert_eq!(decide_range(Some("bytes=8-100"), 10), Partial(8, 9));
        assert_eq!(decide_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(decide_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(decide_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(decide_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(decide_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(decide_range(Some("items=0-1"), 10), Full);
        assert_eq!(decide_range(Some("bytes=x-1"), 10), Full);
    }

    #[test]
    fn if_range_compares_strong_etags_and_exact_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(t);
        assert!(if_range_matches("\"a-1\"", "\"a-1\"", t));
        assert!(!if_range_matches("W/\"a-1\"", "\"a-1\"", t));
        assert!(!if_range_matches("\"a-2\"", "\"a-1\"", t));
        assert!(if_range_matches(&date, "\"a-1\"", t));
        assert!(!if_range_matches(
            &date,
            "\"a-1\"",
            t + Duration::from_secs(1)
        ));
        assert!(!if_range_matches("yesterday", "\"a-1\"", t));
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type_for("a.JPG"), "image/jpeg");
        assert_eq!(content_type_for("x/y.webp"), "image/webp");
        assert_eq!(content_type_for("z.bin"), "application/octet-stream");
        assert_eq!(content_type_for("noext"), "application/octet-stream");
    }
}
