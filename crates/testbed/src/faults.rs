//! `/fault/...`: servers that lie, stall, cut, reset, bomb and bounce.

use std::io::Write;
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use crate::http::{self, Request, Response};
use crate::server::{Reply, Shared};

/// Decompressed size of the gzip bomb.
const BOMB_BYTES: u64 = 1 << 30;
/// Zeros compressed once and repeated to build the bomb.
const BOMB_SEGMENT_BYTES: usize = 1 << 20;

/// Routes `/fault/<what>`.
pub(crate) fn fault(shared: &Shared, req: &Request, what: &str, out: &mut TcpStream) -> Reply {
    match what {
        "lying-type" => Reply::Send(Response::new(
            200,
            "image/jpeg",
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
             <body><h1>502 Bad Gateway</h1><p>The upstream image service is down.</p></body></html>\n",
        )),
        "short" => wrong_length(out, 100_000, 50_000),
        "long" => wrong_length(out, 1000, 5000),
        "endless" => endless(shared, out),
        "drip" => drip(shared, req, out),
        "reset" => reset(req, out),
        "gzip-bomb" => Reply::Send(
            Response::new(200, "application/octet-stream", gzip_bomb().to_vec())
                .with_header("Content-Encoding", "gzip"),
        ),
        "disposition" => Reply::Send(disposition(req)),
        "redirect-loop" => Reply::Send(redirect("/fault/redirect-loop")),
        "redirect-chain" => {
            let n = req.query_num("n").unwrap_or(3);
            if n == 0 {
                Reply::Send(Response::text(200, "arrived"))
            } else {
                Reply::Send(redirect(&format!("/fault/redirect-chain?n={}", n - 1)))
            }
        }
        "redirect-scheme" => {
            let to = match req.query_param("to").as_deref() {
                Some("ftp") => "ftp://127.0.0.1/x",
                _ => "file:///etc/passwd",
            };
            Reply::Send(redirect(to))
        }
        "storm" => Reply::Send(storm(shared, req)),
        _ => match what.strip_prefix("status/").map(str::parse::<u16>) {
            Some(Ok(code)) if (200..=599).contains(&code) => {
                let body = if code == 204 || code == 304 {
                    String::new()
                } else {
                    format!("status {code}\n")
                };
                Reply::Send(Response::text(code, body))
            }
            Some(_) => Reply::Send(Response::error(400, format!("bad status in {what:?}"))),
            None => Reply::Send(Response::error(404, format!("no such fault {what:?}"))),
        },
    }
}

fn redirect(location: &str) -> Response {
    Response::text(302, format!("see {location}\n")).with_header("Location", location)
}

/// Declares `declared` body bytes, sends `sent`, then closes.
fn wrong_length(out: &mut TcpStream, declared: u64, sent: usize) -> Reply {
    let headers = vec![
        (
            "Content-Type".to_string(),
            b"application/octet-stream".to_vec(),
        ),
        ("Content-Length".into(), declared.to_string().into_bytes()),
    ];
    if http::write_head(out, 200, &headers).is_ok() {
        let _ = out.write_all(&vec![b'x'; sent]);
    }
    Reply::Close
}

/// A body with no length that goes on until the client leaves (or 4 GiB).
fn endless(shared: &Shared, out: &mut TcpStream) -> Reply {
    let headers = vec![
        (
            "Content-Type".to_string(),
            b"application/octet-stream".to_vec(),
        ),
        ("Connection".into(), b"close".to_vec()),
    ];
    if http::write_head(out, 200, &headers).is_err() {
        return Reply::Close;
    }
    let chunk = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < 4 << 30 && !shared.stopping() {
        if out.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len() as u64;
    }
    Reply::Close
}

/// Content-Length 1000, then a byte every `interval_ms` (default 2000).
fn drip(shared: &Shared, req: &Request, out: &mut TcpStream) -> Reply {
    let interval = Duration::from_millis(req.query_num("interval_ms").unwrap_or(2000));
    let headers = vec![
        (
            "Content-Type".to_string(),
            b"application/octet-stream".to_vec(),
        ),
        ("Content-Length".into(), b"1000".to_vec()),
    ];
    if http::write_head(out, 200, &headers).is_err() {
        return Reply::Close;
    }
    for _ in 0..1000 {
        if out.write_all(b"d").is_err() || !shared.pause(interval) {
            break;
        }
    }
    Reply::Close
}

/// Content-Length 100000, `after` bytes (default 1000), then a TCP RST.
fn reset(req: &Request, out: &mut TcpStream) -> Reply {
    let after = req.query_num("after").unwrap_or(1000).min(100_000) as usize;
    let headers = vec![
        (
            "Content-Type".to_string(),
            b"application/octet-stream".to_vec(),
        ),
        ("Content-Length".into(), b"100000".to_vec()),
    ];
    if http::write_head(out, 200, &headers).is_ok() {
        let _ = out.write_all(&vec![b'r'; after]);
        let _ = out.flush();
    }
    Reply::Reset
}

/// `Content-Disposition` built from the query: `filename` percent-decoded (CR, LF and NUL
/// dropped so the response stays parseable), `filename_star` passed through as sent.
fn disposition(req: &Request) -> Response {
    let mut value = b"attachment".to_vec();
    if let Some(mut raw) = req.query_param_bytes("filename") {
        raw.retain(|b| !matches!(b, b'\r' | b'\n' | b'\0'));
        value.extend_from_slice(b"; filename=\"");
        value.extend_from_slice(&raw);
        value.push(b'"');
    }
    if let Some(raw) = req.query_param_raw("filename_star") {
        value.extend_from_slice(b"; filename*=UTF-8''");
        value.extend(raw.bytes().filter(|b| !matches!(b, b'\r' | b'\n' | b'\0')));
    }
    Response::new(200, "application/octet-stream", "hello\n")
        .with_header("Content-Disposition", value)
}

/// The first `fail` requests (default 3) per `key` get 503 with `Retry-After: 0`, then 200.
fn storm(shared: &Shared, req: &Request) -> Response {
    let fail = req.query_num("fail").unwrap_or(3);
    let key = req.query_param("key").unwrap_or_default();
    let seen = {
        let mut storms = crate::server::lock(&shared.storms);
        let count = storms.entry(key).or_insert(0);
        *count += 1;
        *count
    };
    if seen <= fail {
        Response::text(503, format!("storm: failure {seen} of {fail}\n"))
            .with_header("Retry-After", "0")
    } else {
        Response::text(200, "ok")
    }
}

/// The gzip bomb, built on first use and shared by every server in the process.
pub(crate) fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        gzip_of_zeros(
            BOMB_SEGMENT_BYTES,
            (BOMB_BYTES / BOMB_SEGMENT_BYTES as u64) as usize,
        )
    })
}

/// A gzip member holding `segments * segment_len` zero bytes.
///
/// One segment is deflated once with a full flush (byte-aligned, dictionary reset), so the
/// same compressed bytes can be repeated; an empty final block and the trailer close it.
/// The CRC-32 of the zeros is computed in closed form, not by walking a gigabyte.
fn gzip_of_zeros(segment_len: usize, segments: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; segment_len];
    let mut deflater = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(64 * 1024);
    loop {
        let consumed = deflater.total_in() as usize;
        if segment.capacity() - segment.len() < 1024 {
            segment.reserve(64 * 1024);
        }
        deflater
            .compress_vec(&zeros[consumed..], &mut segment, FlushCompress::Full)
            .expect("deflating zeros in memory cannot fail");
        if deflater.total_in() as usize == zeros.len() && segment.capacity() - segment.len() >= 1024
        {
            break;
        }
    }
    let total = segment_len as u64 * segments as u64;
    let mut out = Vec::with_capacity(segment.len() * segments + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    for _ in 0..segments {
        out.extend_from_slice(&segment);
    }
    out.extend_from_slice(&[0x03, 0x00]); // empty final block, fixed Huffman
    out.extend_from_slice(&crc32_of_zeros(total).to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out
}

/// Applies a GF(2) 32x32 matrix (columns in `mat`) to `vec`.
fn gf2_times(mat: &[u32; 32], mut vec: u32) -> u32 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 != 0 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn gf2_square(mat: &[u32; 32]) -> [u32; 32] {
    let mut sq = [0u32; 32];
    for (n, col) in sq.iter_mut().enumerate() {
        *col = gf2_times(mat, mat[n]);
    }
    sq
}

/// CRC-32 (IEEE, as gzip uses) of `n` zero bytes, by squaring the "one zero bit" operator.
fn crc32_of_zeros(n: u64) -> u32 {
    let mut op = [0u32; 32];
    op[0] = 0xedb8_8320;
    for (i, col) in op.iter_mut().enumerate().skip(1) {
        *col = 1 << (i - 1);
    }
    for _ in 0..3 {
        op = gf2_square(&op); // 2, 4, then 8 zero bits: one zero byte
    }
    let mut crc = 0xffff_ffffu32;
    let mut n = n;
    while n > 0 {
        if n & 1 != 0 {
            crc = gf2_times(&op, crc);
        }
        op = gf2_square(&op);
        n >>= 1;
    }
    crc ^ 0xffff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn crc_of_zeros_matches_a_real_crc() {
        for n in [0usize, 1, 2, 7, 1000, 70_000] {
            let mut crc = flate2::Crc::new();
            crc.update(&vec![0u8; n]);
            assert_eq!(crc32_of_zeros(n as u64), crc.sum(), "n = {n}");
        }
    }

    #[test]
    fn repeated_segments_make_a_valid_gzip_member() {
        let gz = gzip_of_zeros(10_000, 7);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 70_000);
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn the_bomb_is_small_but_claims_a_gibibyte() {
        let gz = gzip_bomb();
        assert!(gz.len() < 2 << 20, "{} bytes", gz.len());
        let isize = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap());
        assert_eq!(u64::from(isize), BOMB_BYTES % (1 << 32));
        // The first few MiB decode as zeros.
        let mut head = vec![0u8; 4 << 20];
        flate2::read::GzDecoder::new(gz)
            .read_exact(&mut head)
            .unwrap();
        assert!(head.iter().all(|&b| b == 0));
    }
}
