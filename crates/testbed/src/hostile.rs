//! `/hostile/...`: servers that attack a downloader's resume, redirect, decoding and deadline
//! logic (issue 13): lying resumes, cross-origin redirects, stacked or odd content codings,
//! status lines dripped a byte at a time, absurd Retry-After values, header echo.
//!
//! Every endpoint is stateless: what it answers depends only on the request, so a test plants
//! the partial file and its sidecar itself and then asks.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use crate::http::{Request, Response};
use crate::random::PseudoRandomBytes;
use crate::server::{Reply, Shared};

/// Routes `/hostile/<what>`.
pub(crate) fn hostile(shared: &Shared, req: &Request, what: &str, out: &mut TcpStream) -> Reply {
    match what {
        "headers" => Reply::Send(echo_headers(req)),
        "redirect" => Reply::Send(redirect(req)),
        "encoded" => Reply::Send(encoded(req)),
        "slow-head" => slow_head(shared, req, out),
        "limited" => Reply::Send(limited(shared, req)),
        "retry-after" => Reply::Send(Response::text(503, "come back later\n").with_header(
            "Retry-After",
            req.query_param("value").unwrap_or_else(|| "999999".into()),
        )),
        _ => match what.strip_prefix("resume/") {
            Some(mode) => Reply::Send(resume(req, mode)),
            None => Reply::Send(Response::error(
                404,
                format!("no such hostile endpoint {what:?}"),
            )),
        },
    }
}

/// The request headers as JSON `[[name, value], ...]`, to see what a client sent.
fn echo_headers(req: &Request) -> Response {
    let pairs: Vec<serde_json::Value> = req
        .headers
        .iter()
        .map(|(k, v)| serde_json::json!([k, v]))
        .collect();
    Response::json(200, &serde_json::Value::Array(pairs))
}

/// `?to=URL[&status=302]`: a redirect anywhere, another host or port included.
fn redirect(req: &Request) -> Response {
    let to = req.query_param("to").unwrap_or_else(|| "/".into());
    let status = req
        .query_num("status")
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))
        .unwrap_or(302);
    Response::text(status, format!("see {to}\n")).with_header("Location", to)
}

fn pseudo(seed: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len as usize);
    let _ = PseudoRandomBytes::new(seed, len).read_to_end(&mut v);
    v
}

/// `?coding=VALUE&size=N&seed=S[&split=1][&raw=1][&corrupt=1]`: `/bytes/N?seed=S` sent with
/// `Content-Encoding: VALUE` as given (any case, comma-separated codings applied left to right).
/// gzip and x-gzip are gzip, deflate is zlib-wrapped (`raw=1`: raw deflate, as some servers send),
/// identity is nothing; any other coding is named but not applied. `split=1` sends each coding
/// on its own header line; `corrupt=1` damages the encoded bytes.
fn encoded(req: &Request) -> Response {
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    let size = req.query_num("size").unwrap_or(10_000).min(16 << 20);
    let seed = req.query_num("seed").unwrap_or(1);
    let value = req.query_param("coding").unwrap_or_else(|| "gzip".into());
    let raw = req.query_param("raw").is_some_and(|v| v == "1");
    let mut body = pseudo(seed, size);
    let codings: Vec<String> = value
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    for coding in &codings {
        body = match coding.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => {
                let mut e = GzEncoder::new(Vec::new(), Compression::fast());
                let _ = e.write_all(&body);
                e.finish().unwrap_or_default()
            }
            "deflate" if raw => {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
                let _ = e.write_all(&body);
                e.finish().unwrap_or_default()
            }
            "deflate" => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
                let _ = e.write_all(&body);
                e.finish().unwrap_or_default()
            }
            _ => body,
        };
    }
    if req.query_param("corrupt").is_some_and(|v| v == "1") && body.len() > 64 {
        // Past the header, so the damage shows in the compressed stream itself.
        let from = 20.min(body.len() / 4);
        for b in &mut body[from..from + 32] {
            *b ^= 0x5a;
        }
    }
    let mut resp = Response::new(200, "application/octet-stream", body);
    if req.query_param("split").is_some_and(|v| v == "1") {
        for coding in &codings {
            resp = resp.with_header("Content-Encoding", coding.as_str());
        }
    } else {
        resp = resp.with_header("Content-Encoding", value);
    }
    resp
}

/// Requests in service on `/hostile/limited`, per `key` (process-wide: use a unique key).
static IN_SERVICE: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// `?key=K&max=M&size=N&seed=S&delay_ms=D&retry_after=R`: at most M requests (default 2) per
/// key in service at once, each held D ms (default 50) and answered with `/bytes/N?seed=S`;
/// beyond M: 429 with `Retry-After: R` (default 0).
fn limited(shared: &Shared, req: &Request) -> Response {
    let key = req.query_param("key").unwrap_or_default();
    let max = req.query_num("max").unwrap_or(2);
    let admitted = {
        let mut guard = crate::server::lock(&IN_SERVICE);
        let count = guard
            .get_or_insert_with(HashMap::new)
            .entry(key.clone())
            .or_insert(0);
        if *count >= max {
            false
        } else {
            *count += 1;
            true
        }
    };
    if !admitted {
        shared.with_stats(|s| s.rate_limited += 1);
        return Response::text(429, "too many requests\n").with_header(
            "Retry-After",
            req.query_param("retry_after").unwrap_or_else(|| "0".into()),
        );
    }
    shared.pause(Duration::from_millis(
        req.query_num("delay_ms").unwrap_or(50),
    ));
    let body = pseudo(
        req.query_num("seed").unwrap_or(1),
        req.query_num("size").unwrap_or(1000).min(16 << 20),
    );
    if let Some(count) = crate::server::lock(&IN_SERVICE)
        .as_mut()
        .and_then(|m| m.get_mut(&key))
    {
        *count -= 1;
    }
    Response::new(200, "application/octet-stream", body)
}

/// `?interval_ms=N` (default 1000): a 200 whose status line and headers arrive one byte every
/// N ms, then a 10-byte body, so only a deadline on the whole exchange stops it.
fn slow_head(shared: &Shared, req: &Request, out: &mut TcpStream) -> Reply {
    let interval = Duration::from_millis(req.query_num("interval_ms").unwrap_or(1000));
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: 10\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for b in head {
        if out.write_all(&[*b]).is_err() || !shared.pause(interval) {
            return Reply::Close;
        }
    }
    let _ = out.write_all(b"0123456789");
    Reply::Close
}

/// `/hostile/resume/<mode>?size=N&seed=S`: a resource of N pseudo-random bytes with strong ETag
/// `"v1-S-N"` and a fixed Last-Modified, whose answers to `Range: bytes=K-` lie per mode:
///
/// - `honest`: 206 from K (416 `*/N` when K >= N), If-Range honoured.
/// - `range-lie`: every Range gets 416 `Content-Range: bytes */K` (the part's own size).
/// - `etag-change`: the resource is now version 2 (seed S+1, ETag `"v2-..."`); a Range gets a
///   206 of version 2 whatever If-Range says.
/// - `total-change`: same ETag, but the resource now has N+1000 bytes; a Range gets a 206 with
///   that total, If-Range ignored.
/// - `date-change`: no ETag; Last-Modified moved one day on; a Range gets a 206 anyway.
fn resume(req: &Request, mode: &str) -> Response {
    let size = req.query_num("size").unwrap_or(100_000).min(64 << 20);
    let seed = req.query_num("seed").unwrap_or(1);
    let old_date = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (seed, size, etag, date) = match mode {
        "honest" | "range-lie" => (seed, size, Some(format!("\"v1-{seed}-{size}\"")), old_date),
        "etag-change" => (
            seed + 1,
            size,
            Some(format!("\"v2-{seed}-{size}\"")),
            old_date,
        ),
        "total-change" => (
            seed,
            size + 1000,
            Some(format!("\"v1-{seed}-{size}\"")),
            old_date,
        ),
        "date-change" => (seed, size, None, old_date + Duration::from_secs(86_400)),
        _ => return Response::error(404, format!("no such resume mode {mode:?}")),
    };
    let body = pseudo(seed, size);
    let with_validators = |mut r: Response| {
        if let Some(e) = &etag {
            r = r.with_header("ETag", e.as_str());
        }
        r.with_header("Last-Modified", httpdate::fmt_http_date(date))
    };
    let start = req
        .header("range")
        .and_then(|r| r.trim().strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.trim().parse::<u64>().ok());
    let Some(start) = start else {
        return with_validators(Response::new(200, "application/octet-stream", body));
    };
    if mode == "range-lie" {
        return with_validators(
            Response::new(416, "text/plain", "range not satisfiable\n")
                .with_header("Content-Range", format!("bytes */{start}")),
        );
    }
    if mode == "honest" {
        let if_range_ok = match req.header("if-range") {
            None => true,
            Some(v) => etag.as_deref() == Some(v.trim()),
        };
        if !if_range_ok {
            return with_validators(Response::new(200, "application/octet-stream", body));
        }
    }
    if start >= size {
        return with_validators(
            Response::new(416, "text/plain", "range not satisfiable\n")
                .with_header("Content-Range", format!("bytes */{size}")),
        );
    }
    with_validators(
        Response::new(
            206,
            "application/octet-stream",
            body[start as usize..].to_vec(),
        )
        .with_header(
            "Content-Range",
            format!("bytes {start}-{}/{size}", size - 1),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_modes_have_distinct_validators() {
        let mut req = Request {
            method: "GET".into(),
            path: "/hostile/resume/honest".into(),
            query: "size=10&seed=3".into(),
            http11: true,
            headers: vec![],
        };
        let a = resume(&req, "honest");
        let b = resume(&req, "etag-change");
        let etag = |r: &Response| {
            r.headers
                .iter()
                .find(|(k, _)| k == "ETag")
                .map(|(_, v)| v.clone())
        };
        assert_ne!(etag(&a), etag(&b));
        req.headers.push(("Range".into(), "bytes=4-".into()));
        assert_eq!(resume(&req, "range-lie").status, 416);
        assert_eq!(resume(&req, "honest").status, 206);
    }
}
