//! Interop with a third-party multipart parser: Python httpbin (Werkzeug) under gunicorn.
//! Skips with a message when the venv is missing, fails under `FILEWIRE_REQUIRE_PEERS=1`.

use multipart_upload::{FilePart, Form, Uploader};
use serde_json::Value;
use testbed::peers::Httpbin;

/// Decodes standard base64 (httpbin returns binary files as `data:...;base64,...`).
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// Binary content that is not UTF-8 and holds CR/LF and delimiter-like runs.
fn tricky_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..=255u8 {
        v.extend_from_slice(b"\r\n--filewire-");
        v.push(i);
        v.extend_from_slice(b"--\r\n\r\n\xff\x00\r");
    }
    v
}

fn post(httpbin: &Httpbin, form: Form) -> Value {
    let response = Uploader::new().send(&httpbin.url("/post"), form).unwrap();
    assert_eq!(response.status, 200);
    response.json().unwrap()
}

#[test]
fn httpbin_gets_fields_and_a_binary_file_byte_for_byte() {
    let Some(httpbin) = Httpbin::start() else {
        return;
    };
    let content = tricky_bytes();
    let form = Form::new()
        .text("user", "ada")
        .text("note", "two\r\nlines")
        .part(FilePart::from_bytes("blob", "blob.bin", content.clone()));
    let announced = form.content_length();
    let response = Uploader::new()
        .header("X-Request-Tag", "interop-1")
        .send(&httpbin.url("/post"), form)
        .unwrap();
    let echo: Value = response.json().unwrap();
    assert_eq!(echo["headers"]["X-Request-Tag"], "interop-1");
    assert_eq!(echo["form"]["user"], "ada");
    assert_eq!(echo["form"]["note"], "two\r\nlines");
    assert_eq!(echo["headers"]["Content-Length"], announced.to_string());
    assert!(echo["headers"].get("Transfer-Encoding").is_none());
    let data_url = echo["files"]["blob"].as_str().unwrap();
    let b64 = data_url
        .split_once(";base64,")
        .map(|(_, b)| b)
        .expect("binary files come back as a base64 data URL");
    assert_eq!(base64_decode(b64), content);
}

#[test]
fn httpbin_gets_a_streamed_file_from_disk() {
    let Some(httpbin) = Httpbin::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let text = "line 1\r\n--not-a-boundary\r\nline 3 é\n".repeat(2000);
    std::fs::write(&path, &text).unwrap();
    let form = Form::new().file("notes", &path).unwrap();
    let echo = post(&httpbin, form);
    assert_eq!(echo["files"]["notes"], text);
}

#[test]
fn werkzeug_undoes_the_escaping_of_quotes_and_keeps_utf8_names() {
    let Some(httpbin) = Httpbin::start() else {
        return;
    };
    let form = Form::new()
        .text("say \"hi\"", "1")
        .text("reçu", "2")
        .part(FilePart::from_bytes("fi\"le", "a \"b\".txt", b"x".to_vec()));
    let echo = post(&httpbin, form);
    assert_eq!(echo["form"]["say \"hi\""], "1");
    assert_eq!(echo["form"]["reçu"], "2");
    assert_eq!(echo["files"]["fi\"le"], "x");
}
