//! A deliberately plain HTTP/1.1 client over `std::net::TcpStream` for the testbed's tests:
//! no ureq and none of the project's crates, so the server is checked by independent code.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False when the body ended before its Content-Length (or chunked terminator).
    pub complete: bool,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// A connection that can carry several requests.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to testbed");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("send request");
    }

    /// Reads one final response (skipping 1xx), framing the body the way HTTP/1.1 says.
    pub fn read(&mut self, head_request: bool) -> Raw {
        loop {
            let raw = read_one(&mut self.reader, head_request);
            if raw.status >= 200 {
                return raw;
            }
        }
    }

    /// Sends a request and reads its response.
    pub fn roundtrip(&mut self, bytes: &[u8]) -> Raw {
        self.send(bytes);
        let head = bytes.starts_with(b"HEAD ");
        self.read(head)
    }
}

fn read_one(r: &mut BufReader<TcpStream>, head_request: bool) -> Raw {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let mut parts = line.trim_end().splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header line");
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header has a colon");
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut raw = Raw {
        status,
        headers,
        body: Vec::new(),
        complete: true,
    };
    if head_request || status < 200 || status == 204 || status == 304 {
        return raw;
    }
    if raw
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end).unwrap();
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            raw.body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = raw.header("content-length") {
        let len: u64 = len.parse().unwrap();
        let _ = r.by_ref().take(len).read_to_end(&mut raw.body);
        raw.complete = raw.body.len() as u64 == len;
    } else {
        let _ = r.read_to_end(&mut raw.body);
    }
    raw
}

/// One request on a fresh connection.
pub fn request(addr: SocketAddr, bytes: &[u8]) -> Raw {
    Conn::open(addr).roundtrip(bytes)
}

/// `GET path` with `extra` header lines (each ending in CRLF), closing after.
pub fn get(addr: SocketAddr, path: &str, extra: &str) -> Raw {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n");
    request(addr, req.as_bytes())
}

/// A form part.
pub enum Part<'a> {
    Field(&'a str, &'a str),
    File {
        name: &'a str,
        filename: &'a str,
        content_type: &'a str,
        data: &'a [u8],
    },
}

/// A multipart/form-data body built by hand.
pub fn multipart(boundary: &str, parts: &[Part<'_>]) -> Vec<u8> {
    let mut b = Vec::new();
    for part in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
            Part::File {
                name,
                filename,
                content_type,
                data,
            } => {
                b.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                b.extend_from_slice(data);
            }
        }
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    b
}

/// A POST with a Content-Length multipart body.
pub fn post_multipart(path: &str, boundary: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
