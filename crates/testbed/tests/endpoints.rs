//! /upload, /files, /flaky, /bytes and the server's HTTP/1.1 behaviour, checked with a plain
//! TcpStream client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Conn, Part, get, multipart, post_multipart, request, sha256_hex};
use testbed::{PseudoRandomBytes, Testbed};

/// File content full of things a sloppy parser trips on: CRLFs, boundary-like runs, NULs.
fn nasty_file(boundary: &str) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..3000u32 {
        data.extend_from_slice(&i.to_be_bytes());
        data.extend_from_slice(b"\r\n");
        if i % 50 == 0 {
            data.extend_from_slice(format!("--{}", &boundary[..boundary.len() - 1]).as_bytes());
            // The whole boundary, but not at the start of a line: still content.
            data.extend_from_slice(format!("x--{boundary}\r\n").as_bytes());
        }
        if i % 77 == 0 {
            data.extend_from_slice(b"\r\n\r\n--\0\0--\r\n");
        }
    }
    data
}

#[test]
fn upload_echoes_fields_and_hashes_of_file_parts() {
    let server = Testbed::start().unwrap();
    let boundary = "----fw-boundary-7MA4YWxkTrZu0gW";
    let file = nasty_file(boundary);
    let body = multipart(
        boundary,
        &[
            Part::Field("title", "first"),
            Part::File {
                name: "photo",
                filename: "receipt.jpg",
                content_type: "image/jpeg",
                data: &file,
            },
            Part::Field("title", "second"),
            Part::File {
                name: "empty",
                filename: "empty.bin",
                content_type: "application/octet-stream",
                data: b"",
            },
        ],
    );
    let answer = request(
        server.addr(),
        &post_multipart("/upload", boundary, &body, ""),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let json = answer.json();
    assert_eq!(json["fields"]["title"], "second", "the last value wins");
    assert_eq!(
        json["field_list"],
        serde_json::json!([["title", "first"], ["title", "second"]])
    );
    assert_eq!(json["content_length"], body.len() as u64);
    assert_eq!(json["chunked"], false);
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["field"], "photo");
    assert_eq!(files[0]["filename"], "receipt.jpg");
    assert_eq!(files[0]["content_type"], "image/jpeg");
    assert_eq!(files[0]["size"], file.len() as u64);
    assert_eq!(files[0]["sha256"], sha256_hex(&file));
    assert_eq!(files[1]["size"], 0);
    assert_eq!(files[1]["sha256"], sha256_hex(b""));

    let stats = server.stats();
    assert_eq!(stats.uploads.len(), 2);
    assert_eq!(stats.uploads[0].sha256, sha256_hex(&file));
    assert_eq!(stats.uploads[0].filename.as_deref(), Some("receipt.jpg"));
    assert_eq!(stats.uploads[0].size, file.len() as u64);
}

#[test]
fn upload_accepts_a_chunked_request_body_split_anywhere() {
    let server = Testbed::start().unwrap();
    let boundary = "chunky";
    let file = nasty_file(boundary);
    let body = multipart(
        boundary,
        &[
            Part::Field("a", "1"),
            Part::File {
                name: "f",
                filename: "f.bin",
                content_type: "application/octet-stream",
                data: &file,
            },
        ],
    );
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    // Chunk sizes that put chunk edges inside delimiters.
    let mut rest = &body[..];
    for size in [1usize, 2, 3, 5, 7, 11, 13, 4093].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = (*size).min(rest.len());
        req.extend_from_slice(format!("{n:x};ext=1\r\n").as_bytes());
        req.extend_from_slice(&rest[..n]);
        req.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    req.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    let answer = request(server.addr(), &req);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let json = answer.json();
    assert_eq!(json["chunked"], true);
    assert!(json["content_length"].is_null());
    assert_eq!(json["fields"]["a"], "1");
    assert_eq!(json["files"][0]["sha256"], sha256_hex(&file));
}

#[test]
fn upload_rejects_malformed_bodies_with_400_json() {
    let server = Testbed::start().unwrap();
    let truncated = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno closing boundary";
    let answer = request(
        server.addr(),
        &post_multipart("/upload", "b", truncated, "Connection: close\r\n"),
    );
    assert_eq!(answer.status, 400);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("closing boundary")
    );

    let no_boundary = "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc";
    let answer = request(server.addr(), no_boundary.as_bytes());
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"].is_string());

    let not_form = "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(request(server.addr(), not_form.as_bytes()).status, 400);
    assert!(server.stats().uploads.is_empty());
}

#[test]
fn upload_delay_holds_the_answer() {
    let server = Testbed::start().unwrap();
    let body = multipart("b", &[Part::Field("x", "y")]);
    let started = Instant::now();
    let answer = request(
        server.addr(),
        &post_multipart("/upload?delay_ms=150", "b", &body, ""),
    );
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn one_connection_carries_several_requests_and_expect_continue_works() {
    let server = Testbed::start().unwrap();
    let mut conn = Conn::open(server.addr());
    let body = multipart("b", &[Part::Field("n", "1")]);
    for _ in 0..2 {
        let answer = conn.roundtrip(&post_multipart("/upload", "b", &body, ""));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("connection"), Some("keep-alive"));
    }
    // Expect: 100-continue: the head first, the body only after the interim answer.
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    conn.send(head.as_bytes());
    let mut interim = [0u8; 25];
    conn.reader.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.send(&body);
    assert_eq!(conn.read(false).status, 200);
    let stats = server.stats();
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.requests, 3);
    server.reset_stats();
    assert_eq!(server.stats().requests, 0);
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let server = Testbed::start().unwrap();
    assert_eq!(get(server.addr(), "/nowhere", "").status, 404);
    assert_eq!(get(server.addr(), "/upload", "").status, 405);
    let garbage = request(server.addr(), b"HELLO\r\n\r\n");
    assert_eq!(garbage.status, 400);
    assert_eq!(
        server.url("/x"),
        format!("http://127.0.0.1:{}/x", server.addr().port())
    );
}

#[test]
fn dropping_the_server_closes_idle_connections_and_the_listener() {
    let server = Testbed::start().unwrap();
    let addr = server.addr();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Make sure the server has taken the connection before stopping.
    idle.write_all(b"GET /fault/status/200 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).unwrap();
    let started = Instant::now();
    server.shutdown();
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(addr).is_err());
}

fn files_server() -> (tempfile::TempDir, Testbed, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), &data).unwrap();
    std::fs::write(dir.path().join("photo.jpg"), b"\xff\xd8\xff fake").unwrap();
    let server = Testbed::builder().files_dir(dir.path()).start().unwrap();
    (dir, server, data)
}

#[test]
fn files_are_served_with_type_length_and_validators() {
    let (_dir, server, data) = files_server();
    let answer = get(server.addr(), "/files/data.bin", "");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, data);
    assert_eq!(
        answer.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(answer.header("content-length"), Some("10000"));
    assert_eq!(answer.header("accept-ranges"), Some("bytes"));
    let etag = answer.header("etag").unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(httpdate::parse_http_date(answer.header("last-modified").unwrap()).is_ok());
    let jpg = get(server.addr(), "/files/photo.jpg", "");
    assert_eq!(jpg.header("content-type"), Some("image/jpeg"));

    let head = request(
        server.addr(),
        b"HEAD /files/data.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("10000"));
    assert_eq!(head.header("etag"), Some(etag));
}

#[test]
fn ranges_give_206_and_out_of_range_gives_416() {
    let (_dir, server, data) = files_server();
    let cases: [(&str, usize, usize); 4] = [
        ("bytes=0-99", 0, 99),
        ("bytes=9000-", 9000, 9999),
        ("bytes=-10", 9990, 9999),
        ("bytes=9990-20000", 9990, 9999),
    ];
    for (range, first, last) in cases {
        let answer = get(
            server.addr(),
            "/files/data.bin",
            &format!("Range: {range}\r\n"),
        );
        assert_eq!(answer.status, 206, "{range}");
        assert_eq!(
            answer.header("content-range"),
            Some(format!("bytes {first}-{last}/10000").as_str())
        );
        assert_eq!(answer.body, data[first..=last], "{range}");
    }
    let answer = get(server.addr(), "/files/data.bin", "Range: bytes=10000-\r\n");
    assert_eq!(answer.status, 416);
    assert_eq!(answer.header("content-range"), Some("bytes */10000"));
}

#[test]
fn if_range_that_does_not_match_gives_the_full_body() {
    let (_dir, server, data) = files_server();
    let full = get(server.addr(), "/files/data.bin", "");
    let etag = full.header("etag").unwrap().to_string();
    let date = full.header("last-modified").unwrap().to_string();

    let same = get(
        server.addr(),
        "/files/data.bin",
        &format!("Range: bytes=100-\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!(same.status, 206);
    assert_eq!(same.body, data[100..]);
    let by_date = get(
        server.addr(),
        "/files/data.bin",
        &format!("Range: bytes=100-\r\nIf-Range: {date}\r\n"),
    );
    assert_eq!(by_date.status, 206);

    let other = get(
        server.addr(),
        "/files/data.bin",
        "Range: bytes=100-\r\nIf-Range: \"something-else\"\r\n",
    );
    assert_eq!(other.status, 200);
    assert_eq!(other.body, data);
    let old_date = get(
        server.addr(),
        "/files/data.bin",
        "Range: bytes=100-\r\nIf-Range: Thu, 01 Jan 1998 00:00:00 GMT\r\n",
    );
    assert_eq!(old_date.status, 200);
}

#[test]
fn missing_files_are_404_and_escapes_are_refused() {
    let (dir, server, _) = files_server();
    std::fs::write(dir.path().join("..").join("secret-testbed.txt"), b"secret").ok();
    assert_eq!(get(server.addr(), "/files/nope.bin", "").status, 404);
    for path in [
        "/files/../secret-testbed.txt",
        "/files/%2e%2e/secret-testbed.txt",
        "/files/sub/%2E%2E/%2E%2E/secret-testbed.txt",
        "/files/..%2fsecret-testbed.txt",
    ] {
        let answer = get(server.addr(), path, "");
        assert_eq!(answer.status, 403, "{path}");
        assert!(!answer.text().contains("secret\n"));
    }
    std::fs::remove_file(dir.path().join("..").join("secret-testbed.txt")).ok();
    let no_dir = Testbed::start().unwrap();
    assert_eq!(get(no_dir.addr(), "/files/data.bin", "").status, 404);
}

#[test]
fn flaky_cuts_the_first_full_get_and_then_resumes() {
    let (_dir, server, data) = files_server();
    let first = get(server.addr(), "/flaky/data.bin?cut_after=4000", "");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-length"), Some("10000"));
    assert!(!first.complete);
    assert_eq!(first.body, data[..4000]);
    let etag = first.header("etag").unwrap().to_string();

    let resumed = get(
        server.addr(),
        "/flaky/data.bin?cut_after=4000",
        &format!("Range: bytes=4000-\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!(resumed.status, 206);
    assert_eq!(resumed.body, data[4000..]);
    // Later full GETs are whole.
    let again = get(server.addr(), "/flaky/data.bin?cut_after=4000", "");
    assert!(again.complete);
    assert_eq!(again.body, data);
    // Same validators as /files.
    let files = get(server.addr(), "/files/data.bin", "");
    assert_eq!(files.header("etag"), Some(etag.as_str()));
}

#[test]
fn flaky_can_ignore_ranges_or_change_its_etag_after_the_cut() {
    let (_dir, server, data) = files_server();
    let cut = get(
        server.addr(),
        "/flaky/data.bin?cut_after=10&ignore_range=1",
        "",
    );
    assert_eq!(cut.body.len(), 10);
    let ignored = get(
        server.addr(),
        "/flaky/data.bin?cut_after=10&ignore_range=1",
        "Range: bytes=10-\r\n",
    );
    assert_eq!(ignored.status, 200);
    assert_eq!(ignored.body, data);

    let cut = get(
        server.addr(),
        "/flaky/photo.jpg?cut_after=3&change_etag=1",
        "",
    );
    assert!(!cut.complete);
    let old_etag = cut.header("etag").unwrap().to_string();
    let after = get(
        server.addr(),
        "/flaky/photo.jpg?cut_after=3&change_etag=1",
        &format!("Range: bytes=3-\r\nIf-Range: {old_etag}\r\n"),
    );
    assert_eq!(
        after.status, 200,
        "the resource changed, so the whole body comes back"
    );
    assert_ne!(after.header("etag"), Some(old_etag.as_str()));
    assert_eq!(after.body, b"\xff\xd8\xff fake");
}

#[test]
fn bytes_are_deterministic_and_match_pseudo_random_bytes() {
    let server = Testbed::start().unwrap();
    let a = get(server.addr(), "/bytes/100003?seed=9", "");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-length"), Some("100003"));
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    let mut expected = Vec::new();
    PseudoRandomBytes::new(9, 100_003)
        .read_to_end(&mut expected)
        .unwrap();
    assert_eq!(a.body, expected);
    let b = get(server.addr(), "/bytes/100003?seed=10", "");
    assert_ne!(a.body, b.body);
    let chunked = get(server.addr(), "/bytes/100003?seed=9&chunked=1", "");
    assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunked.header("content-length"), None);
    assert_eq!(chunked.body, expected);
    // A huge length is streamed, not allocated: read the head and a little, then leave.
    let mut conn = Conn::open(server.addr());
    conn.send(b"GET /bytes/1073741824?seed=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut head = [0u8; 17];
    conn.reader.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200 OK\r\n");
}

#[test]
fn connections_beyond_the_limit_get_503() {
    let server = Testbed::builder().max_connections(1).start().unwrap();
    let mut first = Conn::open(server.addr());
    // A full round trip proves the server holds the first connection.
    let answer = first.roundtrip(b"GET /fault/status/200 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(answer.status, 200);
    let second = get(server.addr(), "/fault/status/200", "");
    assert_eq!(second.status, 503);
    drop(first);
}

#[test]
fn early_400_reaches_a_client_still_sending_a_large_body() {
    let server = Testbed::start().unwrap();
    let body = vec![b'a'; 12 << 20];
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let answer = request(server.addr(), &req);
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("connection"), Some("close"));
}

#[test]
fn garbage_and_mutated_bodies_get_answers_and_the_server_carries_on() {
    let server = Testbed::start().unwrap();
    let mut noise = PseudoRandomBytes::new(77, u64::MAX);
    // Random bytes as a whole request: 400 or a closed connection, never a hang or a crash.
    for len in [1usize, 5, 40, 300, 5000] {
        let mut junk = vec![0u8; len];
        noise.read_exact(&mut junk).unwrap();
        junk.extend_from_slice(b"\r\n\r\n");
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = conn.write_all(&junk);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        if !answer.is_empty() {
            assert!(answer.starts_with(b"HTTP/1.1 400 "), "{len} bytes of junk");
        }
    }
    // A valid body with bytes flipped: 200 or 400, always a well-formed answer.
    let file = nasty_file("mut-b");
    let body = multipart(
        "mut-b",
        &[
            Part::Field("a", "1"),
            Part::File {
                name: "f",
                filename: "f.bin",
                content_type: "application/octet-stream",
                data: &file,
            },
        ],
    );
    let mut statuses = std::collections::BTreeSet::new();
    let mut conn = Conn::open(server.addr());
    for round in 0..60 {
        let mut mutated = body.clone();
        let mut pick = [0u8; 8];
        for _ in 0..(round % 4 + 1) {
            noise.read_exact(&mut pick).unwrap();
            // Aim most flips at the framing near the start and end, where it matters.
            let spot = u64::from_le_bytes(pick) as usize;
            let at = match round % 3 {
                0 => spot % 200,
                1 => mutated.len() - 1 - spot % 60,
                _ => spot % mutated.len(),
            };
            mutated[at] = pick[0];
        }
        let answer = conn.roundtrip(&post_multipart("/upload", "mut-b", &mutated, ""));
        assert!(
            matches!(answer.status, 200 | 400),
            "round {round}: {}",
            answer.status
        );
        assert!(answer.json().is_object());
        statuses.insert(answer.status);
        if answer.header("connection") == Some("close") {
            conn = Conn::open(server.addr());
        }
    }
    assert_eq!(statuses.len(), 2, "both outcomes seen: {statuses:?}");
    assert_eq!(get(server.addr(), "/fault/status/200", "").status, 200);
}
