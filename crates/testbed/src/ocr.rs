//! `POST /parse/image`: answers shaped like OCR.space's, chosen by a `scenario` parameter.
//!
//! The envelopes in `ocrspace/` are vendored from the team's shared data; their provenance is
//! in `ocrspace/README.md`: 01 is a real captured
//! success, 02 the official documentation sample, 03 a real error envelope, 04 a reconstructed
//! timeout envelope with the real message, 05 the real throttle text, 06 a made-up body of the
//! observed invalid-key shape.

use std::io::Read;
use std::time::Instant;

use serde_json::{Value, json};

use crate::http::{self, BodyReader, Request, Response};
use crate::multipart::Form;
use crate::server::Shared;
use crate::upload::read_multipart;

const SUCCESS: &str = include_str!("ocrspace/01_success_plain_real.json");
const PARTIAL: &str = include_str!("ocrspace/02_partial_with_overlay_docs.json");
const ERROR_PARAMETER: &str = include_str!("ocrspace/03_error_invalid_parameter_real.json");
const TIMEOUT: &str = include_str!("ocrspace/04_error_timeout_reconstructed.json");
const THROTTLED_TEXT: &str = include_str!("ocrspace/05_throttled_http403_body.txt");
const INVALID_KEY: &str = include_str!("ocrspace/06_invalid_key_body.json");

/// The free tier's upload limit: 1024 KB.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Largest urlencoded form read.
const MAX_URLENCODED_BYTES: u64 = 2 * 1024 * 1024;
/// What ParsedText says in `echo-text` without a `text_hint`.
const DEFAULT_ECHO_TEXT: &str = "TOTAL 12.50";

const JSON: &str = "application/json; charset=utf-8";

fn envelope(status: u16, body: &str) -> Response {
    Response::new(status, JSON, body.to_string())
}

/// The error envelope OCR.space sends with HTTP 200 when it refuses the input.
fn error_envelope(message: &str) -> Response {
    let body = json!({
        "OCRExitCode": 99,
        "IsErroredOnProcessing": true,
        "ErrorMessage": [message],
        "ErrorDetails": null,
        "ProcessingTimeInMilliseconds": "0",
    });
    Response::new(200, JSON, body.to_string())
}

/// Reads the form, multipart or urlencoded; anything else counts as an empty form.
fn read_form(req: &Request, body: &mut BodyReader<'_>) -> Result<Form, Response> {
    let content_type = req
        .header("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        return read_multipart(req, body);
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut raw = Vec::new();
        body.take(MAX_URLENCODED_BYTES + 1)
            .read_to_end(&mut raw)
            .map_err(|e| Response::error(400, format!("reading the form failed: {e}")).closing())?;
        if raw.len() as u64 > MAX_URLENCODED_BYTES {
            return Err(Response::error(413, "form is too large").closing());
        }
        let fields = http::query_pairs(&String::from_utf8_lossy(&raw));
        return Ok(Form {
            fields,
            files: Vec::new(),
        });
    }
    Ok(Form::default())
}

/// Records a request for `key`; false when it is over the limit for the window.
fn within_throttle(shared: &Shared, key: &str) -> bool {
    let now = Instant::now();
    let window = shared.config.ocr_window;
    let mut windows = crate::server::lock(&shared.ocr_windows);
    let times = windows.entry(key.to_string()).or_default();
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
    if times.len() >= shared.config.ocr_max_requests as usize {
        return false;
    }
    times.push_back(now);
    true
}

/// `POST /parse/image`.
pub(crate) fn parse_image(shared: &Shared, req: &Request, body: &mut BodyReader<'_>) -> Response {
    shared.with_stats(|s| s.ocr_requests += 1);
    let form = match read_form(req, body) {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let key = req
        .header("apikey")
        .map(str::to_string)
        .or_else(|| form.field("apikey").map(str::to_string))
        .unwrap_or_default();
    if key.trim().is_empty() || key == "invalid" {
        return envelope(403, INVALID_KEY);
    }
    if !within_throttle(shared, &key) {
        let text = format!(
            "You may only perform this action upto maximum {} number of times within {} seconds",
            shared.config.ocr_max_requests,
            shared.config.ocr_window.as_secs()
        );
        return Response::text(403, text);
    }
    let scenario = form
        .field("scenario")
        .map(str::to_string)
        .or_else(|| req.query_param("scenario"))
        .unwrap_or_else(|| "success".into());
    match scenario.as_str() {
        "throttled" => return Response::text(403, THROTTLED_TEXT),
        "invalid-key" => return envelope(403, INVALID_KEY),
        "echo-key" | "echo-key-error" | "echo-key-500" => {
            return echo_key(&scenario, &key, req.query_param("spelling").as_deref());
        }
        "throttle-first" | "too-many" | "try-again" => {
            if let Some(refusal) = refuse_first(shared, req, &scenario, &key) {
                return refusal;
            }
        }
        _ => {}
    }
    let Some(file) = form.files.iter().find(|f| f.head.name == "file") else {
        return error_envelope(
            "E301: No file uploaded. Send the image as a form part named 'file'",
        );
    };
    if file.size > MAX_FILE_BYTES {
        return error_envelope(
            "File failed validation. File size exceeds the maximum permissible file size limit of 1024 KB",
        );
    }
    match scenario.as_str() {
        "success" => match recorded_answer(shared, &file.sha256) {
            Some(body) => Response::new(200, JSON, body),
            None => envelope(200, SUCCESS),
        },
        "partial" => envelope(200, PARTIAL),
        "error" => envelope(200, ERROR_PARAMETER),
        "timeout" => envelope(200, TIMEOUT),
        "echo-text" | "throttle-first" | "too-many" | "try-again" => {
            let query_hint = req.query_param("text_hint");
            let text = form
                .field("text_hint")
                .or(query_hint.as_deref())
                .unwrap_or(DEFAULT_ECHO_TEXT);
            let mut value: Value = serde_json::from_str(SUCCESS).expect("vendored JSON parses");
            value["ParsedResults"][0]["ParsedText"] = Value::String(text.to_string());
            Response::new(200, JSON, value.to_string())
        }
        other => Response::error(400, format!("unknown scenario {other:?}")),
    }
}

/// `throttle-first`, `too-many`, `try-again`: the first `n` requests (query, default 2) of this
/// scenario and key are refused the way OCR.space refuses under load; later ones pass.
///
/// - `throttle-first`: 403 with the throttle text for "maximum n number of times within
///   `window` seconds" (query `window`, default 1), no Retry-After.
/// - `too-many`: 429 with `Retry-After: after` (query, default 1).
/// - `try-again`: 200 with an error envelope whose message says to try again later (the wording
///   is reconstructed: OCR.space's E500 family asks clients to retry).
fn refuse_first(shared: &Shared, req: &Request, scenario: &str, key: &str) -> Option<Response> {
    let n = req.query_num("n").unwrap_or(2);
    let seen = {
        let mut counts = crate::server::lock(&shared.ocr_windows);
        let calls = counts.entry(format!("\0{scenario}\0{key}")).or_default();
        calls.push_back(Instant::now());
        calls.len() as u64
    };
    if seen > n {
        return None;
    }
    Some(match scenario {
        "throttle-first" => Response::text(
            403,
            format!(
                "You may only perform this action upto maximum {n} number of times within {} seconds",
                req.query_num("window").unwrap_or(1)
            ),
        ),
        "too-many" => Response::text(429, "Too Many Requests").with_header(
            "Retry-After",
            req.query_num("after").unwrap_or(1).to_string(),
        ),
        _ => {
            let body = json!({
                "OCRExitCode": 4,
                "IsErroredOnProcessing": true,
                "ErrorMessage": ["E500: The OCR engine is busy. Please try again later."],
                "ErrorDetails": "",
                "ProcessingTimeInMilliseconds": "3",
            });
            Response::new(200, JSON, body.to_string())
        }
    })
}

/// A hostile server that echoes the API key back JSON-escaped, so that only a client that
/// decodes before it redacts keeps it out of its output. `spelling` (query): `unicode` escapes
/// every character as `\uXXXX`; `mixed` (default) escapes every other character in upper-case
/// hex and writes `/` as `\/`.
///
/// - `echo-key`: 200, success; the key is in `ParsedText` (as a merchant line) and in a word.
/// - `echo-key-error`: 200, an error envelope with the key in `ErrorMessage` and `ErrorDetails`.
/// - `echo-key-500`: 500 with a JSON body holding the key (shown raw by clients).
fn echo_key(scenario: &str, key: &str, spelling: Option<&str>) -> Response {
    let escaped: String = key
        .chars()
        .enumerate()
        .map(|(i, c)| match (spelling, c) {
            (Some("unicode"), _) => escape_char(c, false),
            (_, '/') => "\\/".to_string(),
            (_, c) if i % 2 == 0 => escape_char(c, true),
            (_, '"') => "\\\"".to_string(),
            (_, '\\') => "\\\\".to_string(),
            (_, c) => c.to_string(),
        })
        .collect();
    match scenario {
        "echo-key" => {
            let body = format!(
                r#"{{"ParsedResults":[{{"TextOverlay":{{"Lines":[{{"Words":[{{"WordText":"{escaped}","Left":1,"Top":1,"Height":9,"Width":90}}]}}],"HasOverlay":true}},"FileParseExitCode":1,"ParsedText":"{escaped}\r\nTOTAL 12.50\r\n","ErrorMessage":"","ErrorDetails":""}}],"OCRExitCode":1,"IsErroredOnProcessing":false,"ErrorMessage":null,"ProcessingTimeInMilliseconds":"5"}}"#
            );
            Response::new(200, JSON, body)
        }
        "echo-key-error" => {
            let body = format!(
                r#"{{"OCRExitCode":99,"IsErroredOnProcessing":true,"ErrorMessage":["E201: API key {escaped} is not valid for this plan"],"ErrorDetails":"key={escaped}","ProcessingTimeInMilliseconds":"0"}}"#
            );
            Response::new(200, JSON, body)
        }
        _ => Response::new(
            500,
            JSON,
            format!(r#"{{"error":"internal error for apikey {escaped}"}}"#),
        ),
    }
}

/// `c` as a JSON `\uXXXX` escape (a surrogate pair outside the BMP).
fn escape_char(c: char, upper: bool) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| {
            if upper {
                format!("\\u{u:04X}")
            } else {
                format!("\\u{u:04x}")
            }
        })
        .collect()
}

/// The recorded answer for an image with this SHA-256, if the testbed was given a folder of
/// recordings holding `SHA256.json`.
fn recorded_answer(shared: &Shared, sha256: &str) -> Option<String> {
    let dir = shared.config.ocr_recordings.as_ref()?;
    if sha256.is_empty() || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read_to_string(dir.join(format!("{sha256}.json"))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_envelopes_are_json_of_the_expected_shape() {
        for (name, text) in [
            ("success", SUCCESS),
            ("partial", PARTIAL),
            ("error", ERROR_PARAMETER),
            ("timeout", TIMEOUT),
            ("invalid key", INVALID_KEY),
        ] {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(v.get("OCRExitCode").is_some(), "{name}");
            assert!(v.get("IsErroredOnProcessing").is_some(), "{name}");
        }
        assert_eq!(INVALID_KEY.len(), 88);
        assert!(THROTTLED_TEXT.starts_with("You may only perform this action upto maximum 10"));
    }
}
