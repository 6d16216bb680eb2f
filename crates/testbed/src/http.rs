//! The HTTP/1.1 wire: request heads, request bodies (Content-Length or chunked) and responses.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Longest request head (request line plus headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The request line or a header line is malformed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The head is longer than the limit.
    #[error("request head exceeds {limit} bytes")]
    HeadTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The socket failed or closed mid-head.
    #[error("reading the request failed")]
    Io(#[from] io::Error),
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The path part of the target, not decoded.
    pub path: String,
    /// The raw query string (after `?`), empty when none.
    pub query: String,
    /// HTTP/1.1 (true) or HTTP/1.0 (false).
    pub http11: bool,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this request.
    pub(crate) fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |t: &str| conn.split(',').any(|x| x.trim() == t);
        if self.http11 {
            !has("close")
        } else {
            has("keep-alive")
        }
    }

    /// The decoded value of query parameter `name` (the last one wins).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query)
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The raw bytes of query parameter `name`, percent-decoded.
    pub(crate) fn query_param_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .filter(|(k, _)| percent_decode_str(k) == name)
            .map(|(_, v)| percent_decode(v))
            .next_back()
    }

    /// The raw (still percent-encoded) value of query parameter `name`.
    pub(crate) fn query_param_raw(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .next_back()
    }

    /// Query parameter `name` parsed as a number.
    pub(crate) fn query_num(&self, name: &str) -> Option<u64> {
        self.query_param(name).and_then(|v| v.trim().parse().ok())
    }
}

/// Percent-decodes `s` into bytes (`+` stays `+`); malformed escapes are kept as they are.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Percent-decodes into a string, replacing invalid UTF-8.
pub(crate) fn percent_decode_str(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode(s)).into_owned()
}

/// `a=1&b=x%20y` into decoded pairs (`+` is a space, as in forms).
pub(crate) fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode_str(&k.replace('+', " ")),
                percent_decode_str(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Reads one request head. `Ok(None)` when the client closed the connection between requests.
pub(crate) fn read_head(src: &mut BufReader<TcpStream>) -> Result<Option<Request>, WireError> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = src
            .by_ref()
            .take((MAX_HEAD_BYTES + 1 - before) as u64)
            .read_until(b'\n', &mut head)?;
        if n == 0 {
            if head.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(None);
            }
            return Err(WireError::Malformed("connection closed mid-head".into()));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(WireError::HeadTooLong {
                limit: MAX_HEAD_BYTES,
            });
        }
        // Tolerate stray blank lines before the request line (RFC 9112 section 2.2).
        if head.iter().all(|b| *b == b'\r' || *b == b'\n') {
            head.clear();
            continue;
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
    }
    let text = std::str::from_utf8(&head)
        .map_err(|_| WireError::Malformed("request head is not UTF-8".into()))?;
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WireError::Malformed(format!(
            "bad request line {request_line:?}"
        )));
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        other => {
            return Err(WireError::Malformed(format!(
                "unsupported version {other:?}"
            )));
        }
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(WireError::Malformed(format!("bad method {method:?}")));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| WireError::Malformed(format!("bad header line {line:?}")))?;
        if name.is_empty() || name.ends_with(' ') || name.starts_with([' ', '\t']) {
            return Err(WireError::Malformed(format!("bad header name {name:?}")));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        http11,
        headers,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body at all.
    Empty,
    /// `remaining` bytes left by Content-Length.
    Length { remaining: u64 },
    /// Chunked: `remaining` bytes left in the current chunk; `done` after the last chunk.
    Chunked { remaining: u64, done: bool },
}

/// A request body as a `Read`, framed by Content-Length or chunked transfer coding.
pub(crate) struct BodyReader<'a> {
    src: &'a mut BufReader<TcpStream>,
    framing: Framing,
    /// The declared Content-Length, when there was one.
    pub content_length: Option<u64>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// Whether the client waits for `100 Continue` and has not had it yet.
    continue_pending: bool,
}

impl<'a> BodyReader<'a> {
    /// Works out the body's framing from the head.
    pub(crate) fn new(
        src: &'a mut BufReader<TcpStream>,
        req: &Request,
    ) -> Result<BodyReader<'a>, WireError> {
        let te = req.header("transfer-encoding");
        let cl = req.header("content-length");
        let chunked = match te {
            None => false,
            Some(v) if v.trim().eq_ignore_ascii_case("chunked") => true,
            Some(v) => {
                return Err(WireError::Malformed(format!(
                    "unsupported transfer-encoding {v:?}"
                )));
            }
        };
        if chunked && cl.is_some() {
            return Err(WireError::Malformed(
                "both transfer-encoding and content-length".into(),
            ));
        }
        let content_length = match cl {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| WireError::Malformed(format!("bad content-length {v:?}")))?,
            ),
        };
        let framing = if chunked {
            Framing::Chunked {
                remaining: 0,
                done: false,
            }
        } else {
            match content_length {
                Some(0) | None => Framing::Empty,
                Some(n) => Framing::Length { remaining: n },
            }
        };
        let continue_pending = req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
            && framing != Framing::Empty;
        Ok(BodyReader {
            src,
            framing,
            content_length,
            chunked,
            continue_pending,
        })
    }

    /// Whether the client is still waiting for `100 Continue` (nothing of the body read yet).
    pub(crate) fn awaiting_continue(&self) -> bool {
        self.continue_pending
    }

    /// Whether the whole body has been read.
    pub(crate) fn is_done(&self) -> bool {
        matches!(
            self.framing,
            Framing::Empty | Framing::Length { remaining: 0 } | Framing::Chunked { done: true, .. }
        )
    }

    /// Reads and discards up to `limit` bytes; true if the body is then fully read.
    pub(crate) fn drain(&mut self, limit: u64) -> bool {
        if self.continue_pending {
            return false;
        }
        let mut sink = io::sink();
        match io::copy(&mut self.by_ref().take(limit), &mut sink) {
            Ok(_) => self.is_done(),
            Err(_) => false,
        }
    }

    fn send_continue(&mut self) -> io::Result<()> {
        if self.continue_pending {
            self.continue_pending = false;
            let mut s: &TcpStream = self.src.get_ref();
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        Ok(())
    }

    /// Reads a chunk-size line; returns the size.
    fn read_chunk_size(&mut self) -> io::Result<u64> {
        let mut line = Vec::new();
        self.src.by_ref().take(4096).read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(bad_data("chunk size line missing or too long"));
        }
        let text = std::str::from_utf8(&line).map_err(|_| bad_data("chunk size not UTF-8"))?;
        let size = text.trim().split(';').next().unwrap_or("").trim();
        u64::from_str_radix(size, 16).map_err(|_| bad_data(&format!("bad chunk size {size:?}")))
    }

    fn expect_crlf(&mut self) -> io::Result<()> {
        let mut crlf = [0u8; 2];
        self.src.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(bad_data("chunk data not followed by CRLF"));
        }
        Ok(())
    }

    fn skip_trailers(&mut self) -> io::Result<()> {
        loop {
            let mut line = Vec::new();
            let n = self.src.by_ref().take(8192).read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if line == b"\r\n" || line == b"\n" {
                return Ok(());
            }
        }
    }
}

fn bad_data(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.is_done() {
            return Ok(0);
        }
        self.send_continue()?;
        match self.framing {
            Framing::Empty => Ok(0),
            Framing::Length { remaining } => {
                let want = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                let n = self.src.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("body ended {remaining} bytes short of its content-length"),
                    ));
                }
                self.framing = Framing::Length {
                    remaining: remaining - n as u64,
                };
                Ok(n)
            }
            Framing::Chunked { mut remaining, .. } => {
                if remaining == 0 {
                    remaining = self.read_chunk_size()?;
                    if remaining == 0 {
                        self.skip_trailers()?;
                        self.framing = Framing::Chunked {
                            remaining: 0,
                            done: true,
                        };
                        return Ok(0);
                    }
                }
                let want = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                let n = self.src.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                remaining -= n as u64;
                if remaining == 0 {
                    self.expect_crlf()?;
                }
                self.framing = Framing::Chunked {
                    remaining,
                    done: false,
                };
                Ok(n)
            }
        }
    }
}

/// What a response carries after its head.
pub(crate) enum Body {
    /// Nothing.
    Empty,
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// `len` bytes from a reader, streamed.
    Reader(Box<dyn Read + Send>, u64),
    /// A reader streamed to its end with chunked transfer coding (no Content-Length).
    Chunked(Box<dyn Read + Send>),
}

/// A response to write.
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Body,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    /// A response with `status` and a body of `content_type`.
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.as_bytes().to_vec())],
            body: Body::Bytes(body.into()),
            close: false,
        }
    }

    /// A plain-text response.
    pub(crate) fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// A JSON response.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }

    /// `{"error": msg}` with `status`.
    pub(crate) fn error(status: u16, msg: impl Into<String>) -> Response {
        Response::json(status, &serde_json::json!({ "error": msg.into() }))
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Marks the connection to close after this response.
    pub(crate) fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// The declared body length.
    fn body_len(&self) -> u64 {
        match &self.body {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Reader(_, len) => *len,
            Body::Chunked(_) => 0,
        }
    }
}

/// The reason phrase of a status code.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes a status line and headers (plus Date and Server) ending with the blank line.
pub(crate) fn write_head(
    out: &mut impl Write,
    status: u16,
    headers: &[(String, Vec<u8>)],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    head.extend_from_slice(b"Server: filewire-testbed\r\n");
    head.extend_from_slice(
        format!(
            "Date: {}\r\n",
            httpdate::fmt_http_date(std::time::SystemTime::now())
        )
        .as_bytes(),
    );
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    out.write_all(&head)
}

/// Writes a whole response; `head_only` for HEAD requests (headers as for GET, no body).
pub(crate) fn write_response(
    out: &mut impl Write,
    mut resp: Response,
    head_only: bool,
    keep_alive: bool,
) -> io::Result<()> {
    let len = resp.body_len();
    let mut headers = std::mem::take(&mut resp.headers);
    if matches!(resp.body, Body::Chunked(_)) {
        headers.push(("Transfer-Encoding".into(), b"chunked".to_vec()));
    } else if !(resp.status == 204 || resp.status == 304 || resp.status < 200) {
        headers.push(("Content-Length".into(), len.to_string().into_bytes()));
    }
    let conn: &[u8] = if keep_alive && !resp.close {
        b"keep-alive"
    } else {
        b"close"
    };
    headers.push(("Connection".into(), conn.to_vec()));
    if head_only {
        write_head(out, resp.status, &headers)?;
        return out.flush();
    }
    match resp.body {
        Body::Empty => write_head(out, resp.status, &headers)?,
        Body::Bytes(b) => {
            // One write for head and body: one packet for small answers.
            let mut all = Vec::with_capacity(512 + b.len());
            write_head(&mut all, resp.status, &headers)?;
            all.extend_from_slice(&b);
            out.write_all(&all)?;
        }
        Body::Reader(mut r, len) => {
            write_head(out, resp.status, &headers)?;
            let copied = copy_exact(&mut r, out, len)?;
            if copied != len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("response body source gave {copied} of {len} bytes"),
                ));
            }
        }
        Body::Chunked(mut r) => {
            write_head(out, resp.status, &headers)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                out.write_all(format!("{n:x}\r\n").as_bytes())?;
                out.write_all(&buf[..n])?;
                out.write_all(b"\r\n")?;
            }
            out.write_all(b"0\r\n\r\n")?;
        }
    }
    out.flush()
}

/// Copies up to `len` bytes with a large buffer (the default 8 KiB halves file throughput).
fn copy_exact(src: &mut dyn Read, out: &mut impl Write, len: u64) -> io::Result<u64> {
    let mut buf = vec![
        0u8;
        usize::try_from(len.min(256 * 1024))
            .unwrap_or(256 * 1024)
            .max(1)
    ];
    let mut copied = 0u64;
    while copied < len {
        let want = buf
            .len()
            .min(usize::try_from(len - copied).unwrap_or(usize::MAX));
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        copied += n as u64;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_escapes_and_junk() {
        assert_eq!(percent_decode("a%20b%2F..%2fc"), b"a b/../c");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%00%0A"), b"\0\n");
    }

    #[test]
    fn query_pairs_decode_plus_and_percent() {
        assert_eq!(
            query_pairs("a=1&b=x+y%21&c"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("c".into(), String::new())
            ]
        );
    }
}
