//! The /fault/... endpoints, checked with a plain TcpStream client.

mod common;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use common::{Conn, get};
use testbed::Testbed;

#[test]
fn lying_type_says_jpeg_but_sends_html() {
    let server = Testbed::start().unwrap();
    let answer = get(server.addr(), "/fault/lying-type", "");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("image/jpeg"));
    assert!(answer.text().starts_with("<!DOCTYPE html>"));
    assert!(answer.complete);
}

#[test]
fn short_body_ends_before_its_content_length() {
    let server = Testbed::start().unwrap();
    let answer = get(server.addr(), "/fault/short", "");
    assert_eq!(answer.header("content-length"), Some("100000"));
    assert_eq!(answer.body.len(), 50_000);
    assert!(!answer.complete);
}

#[test]
fn long_body_sends_more_than_its_content_length() {
    let server = Testbed::start().unwrap();
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /fault/long HTTP/1.1\r\nHost: t\r\n\r\n");
    let answer = conn.read(false);
    assert_eq!(answer.header("content-length"), Some("1000"));
    assert_eq!(answer.body.len(), 1000);
    let mut extra = Vec::new();
    conn.reader.read_to_end(&mut extra).unwrap();
    assert_eq!(
        extra.len(),
        4000,
        "the bytes past Content-Length follow, then EOF"
    );
}

#[test]
fn endless_body_has_no_length_and_keeps_coming() {
    let server = Testbed::start().unwrap();
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /fault/endless HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        conn.reader.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"));
    assert!(!head.contains("content-length"));
    assert!(head.contains("connection: close"));
    let mut body = vec![0u8; 4 << 20];
    conn.reader.read_exact(&mut body).unwrap();
}

#[test]
fn drip_sends_a_byte_per_interval() {
    let server = Testbed::start().unwrap();
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /fault/drip?interval_ms=100 HTTP/1.1\r\nHost: t\r\n\r\n");
    let started = Instant::now();
    let mut all = Vec::new();
    loop {
        let mut b = [0u8; 256];
        let n = conn.reader.read(&mut b).unwrap();
        assert!(n > 0, "connection closed early");
        all.extend_from_slice(&b[..n]);
        let text = String::from_utf8_lossy(&all).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(head.contains("Content-Length: 1000"));
            if body.len() >= 3 {
                break;
            }
        }
    }
    // Three bytes need at least two intervals.
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn reset_aborts_the_connection_mid_body() {
    let server = Testbed::start().unwrap();
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /fault/reset?after=500 HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut all = Vec::new();
    let err = loop {
        let mut b = [0u8; 4096];
        match conn.reader.read(&mut b) {
            Ok(0) => panic!("clean EOF instead of a reset after {} bytes", all.len()),
            Ok(n) => all.extend_from_slice(&b[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("Content-Length: 100000"));
}

#[test]
fn gzip_bomb_is_small_on_the_wire_and_huge_inflated() {
    let server = Testbed::start().unwrap();
    let answer = get(
        server.addr(),
        "/fault/gzip-bomb",
        "Accept-Encoding: gzip\r\n",
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    assert_eq!(
        answer.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        answer.header("content-length"),
        Some(answer.body.len().to_string().as_str())
    );
    assert!(answer.body.len() < 2 << 20);
    let claimed = u32::from_le_bytes(answer.body[answer.body.len() - 4..].try_into().unwrap());
    assert!(u64::from(claimed) >= 1 << 30);
    let mut inflated = vec![0u8; 1 << 20];
    flate2::read::GzDecoder::new(&answer.body[..])
        .read_exact(&mut inflated)
        .unwrap();
}

#[test]
fn disposition_sends_hostile_filenames_as_asked() {
    let server = Testbed::start().unwrap();
    let cases = [
        (
            "filename=..%2F..%2Fevil.sh",
            "attachment; filename=\"../../evil.sh\"",
        ),
        (
            "filename=%2Fetc%2Fpasswd",
            "attachment; filename=\"/etc/passwd\"",
        ),
        (
            "filename=a%01b%1Fc%00d%0D%0Ae",
            "attachment; filename=\"a\u{1}b\u{1f}cde\"",
        ),
        (
            "filename_star=%E2%82%AC%20rates.txt",
            "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
        ),
    ];
    for (query, expected) in cases {
        let answer = get(server.addr(), &format!("/fault/disposition?{query}"), "");
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-disposition"),
            Some(expected),
            "{query}"
        );
        assert_eq!(answer.body, b"hello\n");
    }
}

#[test]
fn redirects_loop_chain_and_change_scheme() {
    let server = Testbed::start().unwrap();
    let looped = get(server.addr(), "/fault/redirect-loop", "");
    assert_eq!(looped.status, 302);
    assert_eq!(looped.header("location"), Some("/fault/redirect-loop"));

    let mut path = "/fault/redirect-chain?n=3".to_string();
    let mut hops = 0;
    loop {
        let answer = get(server.addr(), &path, "");
        if answer.status != 302 {
            assert_eq!(answer.status, 200);
            assert_eq!(answer.text(), "arrived");
            break;
        }
        path = answer.header("location").unwrap().to_string();
        hops += 1;
    }
    assert_eq!(hops, 3);

    let file = get(server.addr(), "/fault/redirect-scheme", "");
    assert_eq!(file.status, 302);
    assert_eq!(file.header("location"), Some("file:///etc/passwd"));
    let ftp = get(server.addr(), "/fault/redirect-scheme?to=ftp", "");
    assert_eq!(ftp.header("location"), Some("ftp://127.0.0.1/x"));
}

#[test]
fn status_endpoint_answers_the_code_asked_for() {
    let server = Testbed::start().unwrap();
    for code in [200u16, 404, 418, 500, 503] {
        assert_eq!(
            get(server.addr(), &format!("/fault/status/{code}"), "").status,
            code
        );
    }
    assert_eq!(get(server.addr(), "/fault/status/999", "").status, 400);
    assert_eq!(get(server.addr(), "/fault/nonsense", "").status, 404);
}

#[test]
fn storm_fails_k_times_per_key_then_succeeds() {
    let server = Testbed::start().unwrap();
    for _ in 0..2 {
        let answer = get(server.addr(), "/fault/storm?fail=2&key=a", "");
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("retry-after"), Some("0"));
    }
    let answer = get(server.addr(), "/fault/storm?fail=2&key=a", "");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "ok");
    assert_eq!(
        get(server.addr(), "/fault/storm?fail=2&key=b", "").status,
        503
    );
}
