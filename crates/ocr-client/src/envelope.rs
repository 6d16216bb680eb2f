//! The OCR.space response envelope, read leniently, and what an answer means.
//!
//! The real service is loose with types: exit codes and times come as numbers or strings,
//! `ErrorMessage` is a string, a list or null, `ParsedResults` may be missing, and text lines end
//! in CRLF. Every field here accepts all of those shapes.

use serde::Deserialize;
use serde_json::Value;

use crate::{BoundingBox, OcrError, OcrLine, OcrText, PageFailure};

/// A `POST /parse/image` answer as OCR.space sends it (HTTP 200 JSON).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Envelope {
    /// One result per page or file; missing when processing failed.
    #[serde(rename = "ParsedResults", default, deserialize_with = "list_or_null")]
    pub parsed_results: Vec<ParsedResult>,
    /// 1 parsed, 2 partially parsed, 3 every page failed, 4 fatal error, 99 invalid request.
    #[serde(rename = "OCRExitCode", default, deserialize_with = "lenient_int")]
    pub ocr_exit_code: Option<i64>,
    /// Whether the whole request failed.
    #[serde(
        rename = "IsErroredOnProcessing",
        default,
        deserialize_with = "lenient_bool"
    )]
    pub is_errored_on_processing: bool,
    /// The server's error messages (a string, a list or null on the wire).
    #[serde(rename = "ErrorMessage", default, deserialize_with = "messages")]
    pub error_message: Vec<String>,
    /// The server's error details (a string, a list or null on the wire).
    #[serde(rename = "ErrorDetails", default, deserialize_with = "messages")]
    pub error_details: Vec<String>,
    /// Server-side processing time in milliseconds (a string on the wire).
    #[serde(
        rename = "ProcessingTimeInMilliseconds",
        default,
        deserialize_with = "lenient_int"
    )]
    pub processing_time_ms: Option<i64>,
    /// The searchable PDF's URL, or a sentence saying it was not requested.
    #[serde(
        rename = "SearchablePDFURL",
        default,
        deserialize_with = "lenient_string"
    )]
    pub searchable_pdf_url: Option<String>,
}

/// One page's result inside [`Envelope::parsed_results`].
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ParsedResult {
    /// Word boxes, when the overlay was requested.
    #[serde(rename = "TextOverlay", default)]
    pub text_overlay: Option<TextOverlay>,
    /// Detected rotation in degrees (a string on the wire).
    #[serde(rename = "TextOrientation", default, deserialize_with = "lenient_int")]
    pub text_orientation: Option<i64>,
    /// 1 success; 0 file not found, -10 OCR engine error, -20 timeout, -30 validation, -99 other.
    #[serde(
        rename = "FileParseExitCode",
        default,
        deserialize_with = "lenient_int"
    )]
    pub file_parse_exit_code: Option<i64>,
    /// The recognised text, lines separated by CRLF.
    #[serde(rename = "ParsedText", default, deserialize_with = "lenient_string")]
    pub parsed_text: Option<String>,
    /// This page's error messages.
    #[serde(rename = "ErrorMessage", default, deserialize_with = "messages")]
    pub error_message: Vec<String>,
    /// This page's error details.
    #[serde(rename = "ErrorDetails", default, deserialize_with = "messages")]
    pub error_details: Vec<String>,
}

/// Word positions of one page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TextOverlay {
    /// Lines of words, top to bottom.
    #[serde(rename = "Lines", default, deserialize_with = "list_or_null")]
    pub lines: Vec<OverlayLine>,
    /// Whether `lines` was filled in.
    #[serde(rename = "HasOverlay", default, deserialize_with = "lenient_bool")]
    pub has_overlay: bool,
}

/// One line of the overlay.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OverlayLine {
    /// The words of the line, left to right.
    #[serde(rename = "Words", default, deserialize_with = "list_or_null")]
    pub words: Vec<OverlayWord>,
}

/// One word of the overlay, in pixels.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OverlayWord {
    /// The word.
    #[serde(rename = "WordText", default, deserialize_with = "lenient_string")]
    pub text: Option<String>,
    /// Left edge.
    #[serde(rename = "Left", default, deserialize_with = "lenient_float")]
    pub left: Option<f64>,
    /// Top edge.
    #[serde(rename = "Top", default, deserialize_with = "lenient_float")]
    pub top: Option<f64>,
    /// Height.
    #[serde(rename = "Height", default, deserialize_with = "lenient_float")]
    pub height: Option<f64>,
    /// Width.
    #[serde(rename = "Width", default, deserialize_with = "lenient_float")]
    pub width: Option<f64>,
}

impl Envelope {
    /// Reads an envelope from JSON text.
    pub fn from_json(body: &str) -> Result<Envelope, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// What the envelope means: the recognised text, or the typed failure it reports.
    /// `url` names the endpoint in errors.
    pub fn into_text(self, url: &str) -> Result<OcrText, OcrError> {
        let exit_code = self.ocr_exit_code.unwrap_or(0);
        if self.is_errored_on_processing || matches!(exit_code, 3 | 4 | 99) {
            let mut messages = self.error_message;
            messages.extend(self.error_details);
            for page in &self.parsed_results {
                messages.extend(page.error_message.iter().cloned());
                messages.extend(page.error_details.iter().cloned());
            }
            if messages
                .iter()
                .any(|m| m.to_ascii_lowercase().contains("timed out"))
            {
                return Err(OcrError::ServerTimeout { messages });
            }
            return Err(OcrError::Processing {
                exit_code,
                messages,
            });
        }
        if self.parsed_results.is_empty() {
            return Err(OcrError::InvalidResponse {
                url: url.to_string(),
                reason: format!(
                    "no ParsedResults and no error (OCRExitCode {})",
                    self.ocr_exit_code
                        .map_or_else(|| "missing".to_string(), |c| c.to_string())
                ),
            });
        }
        let mut text = OcrText::default();
        let mut failures = Vec::new();
        for (index, page) in self.parsed_results.into_iter().enumerate() {
            let page_code = page.file_parse_exit_code.unwrap_or(1);
            if page_code != 1 {
                let mut messages = page.error_message;
                messages.extend(page.error_details);
                failures.push(PageFailure {
                    page: index,
                    exit_code: page_code,
                    messages,
                });
                continue;
            }
            append_page(&mut text, page);
        }
        if !failures.is_empty() || exit_code == 2 {
            return Err(OcrError::Partial {
                recognised: Box::new(text),
                failures,
            });
        }
        Ok(text)
    }
}

/// What an HTTP answer from `POST /parse/image` means: 200 JSON is an [`Envelope`]; 403 is either
/// the throttle (plain text, parsed into N requests per S seconds) or a refused key; other
/// statuses are [`OcrError::Status`]. `url` names the endpoint in errors.
pub fn interpret_answer(status: u16, body: &str, url: &str) -> Result<OcrText, OcrError> {
    if (status == 403 || status == 429)
        && let Some((max_requests, window_secs)) = parse_throttle_message(body)
    {
        return Err(OcrError::Throttled {
            url: url.to_string(),
            max_requests,
            window: std::time::Duration::from_secs(window_secs),
            retry_after: None,
        });
    }
    if status == 401 || status == 403 {
        return Err(OcrError::InvalidKey {
            url: url.to_string(),
            status,
        });
    }
    if !(200..300).contains(&status) {
        return Err(OcrError::Status {
            url: url.to_string(),
            status,
            body: snippet(body),
            retry_after: None,
        });
    }
    let envelope = Envelope::from_json(body).map_err(|e| OcrError::InvalidResponse {
        url: url.to_string(),
        reason: format!("body is not an OCR.space envelope ({e}): {}", snippet(body)),
    })?;
    envelope.into_text(url)
}

/// At most 512 bytes of a body, cut on a character boundary.
fn snippet(body: &str) -> String {
    let mut end = body.len().min(512);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].trim().to_string()
}

/// Adds one page's text and lines (boxes from the overlay when it has one) to `out`.
fn append_page(out: &mut OcrText, page: ParsedResult) {
    let page_text = normalise_newlines(page.parsed_text.as_deref().unwrap_or(""));
    let overlay = page
        .text_overlay
        .filter(|o| o.has_overlay && !o.lines.is_empty());
    match overlay {
        Some(overlay) => {
            for line in overlay.lines {
                let words: Vec<&OverlayWord> = line.words.iter().collect();
                let text = words
                    .iter()
                    .filter_map(|w| w.text.as_deref())
                    .collect::<Vec<_>>()
                    .join(" ");
                let bbox = words
                    .iter()
                    .filter_map(|w| word_box(w))
                    .reduce(BoundingBox::union);
                out.lines.push(OcrLine {
                    text,
                    bbox,
                    confidence: None,
                });
            }
        }
        None => out.lines.extend(page_text.lines().map(|l| OcrLine {
            text: l.to_string(),
            bbox: None,
            confidence: None,
        })),
    }
    if !out.text.is_empty() && !out.text.ends_with('\n') {
        out.text.push('\n');
    }
    out.text.push_str(&page_text);
}

fn word_box(w: &OverlayWord) -> Option<BoundingBox> {
    let px = |v: Option<f64>| v.map(|v| v.max(0.0).round() as u32);
    Some(BoundingBox {
        left: px(w.left)?,
        top: px(w.top)?,
        width: px(w.width)?,
        height: px(w.height)?,
    })
}

/// CRLF and lone CR become LF.
pub(crate) fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Reads OCR.space's plain-text throttle answer ("You may only perform this action upto maximum
/// 10 number of times within 600 seconds", possibly XML-wrapped) into (N, S seconds).
pub fn parse_throttle_message(body: &str) -> Option<(u64, u64)> {
    let lower = body.to_ascii_lowercase();
    if !lower.contains("you may only perform this action") {
        return None;
    }
    let number_after = |word: &str| -> Option<u64> {
        let rest = &lower[lower.find(word)? + word.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    Some((number_after("maximum")?, number_after("within")?))
}

fn list_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn lenient_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    })
}

fn lenient_float<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    })
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// A string, a list of strings or null; empty strings dropped.
fn messages<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = match Value::deserialize(d)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        other => vec![other],
    };
    Ok(values
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .filter(|s| !s.trim().is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = include_str!("../tests/data/01_success_plain_real.json");
    const PARTIAL: &str = include_str!("../tests/data/02_partial_with_overlay_docs.json");
    const INVALID_PARAMETER: &str =
        include_str!("../tests/data/03_error_invalid_parameter_real.json");
    const TIMEOUT: &str = include_str!("../tests/data/04_error_timeout_reconstructed.json");
    const THROTTLED_BODY: &str = include_str!("../tests/data/05_throttled_http403_body.txt");
    const THROTTLED_WRAPPED: &str = include_str!("../tests/data/05_throttled_http403_real.json");
    const INVALID_KEY: &str = include_str!("../tests/data/06_invalid_key_http403_observed.json");

    const URL: &str = "http://127.0.0.1:1/parse/image";

    #[test]
    fn success_envelope_with_string_numbers_and_crlf_gives_lf_text() {
        let env = Envelope::from_json(SUCCESS).unwrap();
        assert_eq!(env.ocr_exit_code, Some(1));
        assert_eq!(env.processing_time_ms, Some(312));
        assert_eq!(env.parsed_results[0].text_orientation, Some(0));
        assert!(env.error_message.is_empty());
        let text = env.into_text(URL).unwrap();
        assert_eq!(text.text, "sweetsmill\napp-donations\napp-registration\n");
        let lines: Vec<&str> = text.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(lines, ["sweetsmill", "app-donations", "app-registration"]);
        assert!(text.lines.iter().all(|l| l.bbox.is_none()));
    }

    #[test]
    fn partial_envelope_keeps_the_good_page_and_reports_the_failed_one() {
        let env = Envelope::from_json(PARTIAL).unwrap();
        assert_eq!(env.ocr_exit_code, Some(2));
        assert_eq!(env.parsed_results[0].file_parse_exit_code, Some(1));
        assert_eq!(env.parsed_results[1].file_parse_exit_code, Some(-10));
        match env.into_text(URL) {
            Err(OcrError::Partial {
                recognised,
                failures,
            }) => {
                assert_eq!(recognised.text, "This is a sample parsed result");
                assert_eq!(recognised.lines.len(), 1);
                assert_eq!(recognised.lines[0].text, "Word 1 Word 2");
                assert_eq!(
                    recognised.lines[0].bbox,
                    Some(BoundingBox {
                        left: 106,
                        top: 90,
                        width: 66,
                        height: 13
                    })
                );
                assert_eq!(failures.len(), 1);
                assert_eq!(failures[0].page, 1);
                assert_eq!(failures[0].exit_code, -10);
                assert_eq!(
                    failures[0].messages,
                    [
                        "...error message (if any)",
                        "...detailed error message (if any)"
                    ]
                );
            }
            other => panic!("expected a partial result, got {other:?}"),
        }
    }

    #[test]
    fn errored_envelope_with_message_list_is_a_processing_error_with_the_messages() {
        let env = Envelope::from_json(INVALID_PARAMETER).unwrap();
        assert!(env.parsed_results.is_empty());
        match env.into_text(URL) {
            Err(OcrError::Processing {
                exit_code,
                messages,
            }) => {
                assert_eq!(exit_code, 99);
                assert_eq!(messages.len(), 2);
                assert!(messages[0].starts_with("Parameter name 'file' is invalid"));
            }
            other => panic!("expected a processing error, got {other:?}"),
        }
    }

    #[test]
    fn timed_out_envelope_is_a_server_timeout() {
        let err = Envelope::from_json(TIMEOUT)
            .unwrap()
            .into_text(URL)
            .unwrap_err();
        match &err {
            OcrError::ServerTimeout { messages } => {
                assert_eq!(messages, &["Timed out waiting for results"])
            }
            other => panic!("expected a server timeout, got {other:?}"),
        }
        assert_eq!(err.kind(), retry::FailureKind::Rejected);
    }

    #[test]
    fn error_message_as_plain_string_is_one_message() {
        let env = Envelope::from_json(
            r#"{"OCRExitCode":"4","IsErroredOnProcessing":"true","ErrorMessage":"E500: boom","ErrorDetails":""}"#,
        )
        .unwrap();
        match env.into_text(URL) {
            Err(OcrError::Processing {
                exit_code,
                messages,
            }) => {
                assert_eq!(exit_code, 4);
                assert_eq!(messages, ["E500: boom"]);
            }
            other => panic!("expected a processing error, got {other:?}"),
        }
    }

    #[test]
    fn missing_parsed_results_without_error_is_an_invalid_response() {
        let env =
            Envelope::from_json(r#"{"OCRExitCode":1,"IsErroredOnProcessing":false}"#).unwrap();
        assert!(matches!(
            env.into_text(URL),
            Err(OcrError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn throttle_text_parses_into_count_and_window() {
        assert_eq!(parse_throttle_message(THROTTLED_BODY), Some((10, 600)));
        let wrapped: Value = serde_json::from_str(THROTTLED_WRAPPED).unwrap();
        assert_eq!(wrapped["http_status"], 403);
        assert_eq!(
            parse_throttle_message(wrapped["body"].as_str().unwrap()),
            Some((10, 600))
        );
        let variants: Vec<(u64, u64)> = wrapped["variants_seen_in_public_code"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| parse_throttle_message(v.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(variants, [(10, 600), (180, 3600), (500, 86400)]);
        assert_eq!(
            parse_throttle_message(
                "<string>You may only perform this action upto maximum 180 number of times within 3600 seconds</string>"
            ),
            Some((180, 3600))
        );
    }

    #[test]
    fn http_403_with_throttle_text_is_throttled_with_count_and_window() {
        match interpret_answer(403, THROTTLED_BODY, URL) {
            Err(OcrError::Throttled {
                url,
                max_requests,
                window,
                ..
            }) => {
                assert_eq!(url, URL);
                assert_eq!(max_requests, 10);
                assert_eq!(window, std::time::Duration::from_secs(600));
            }
            other => panic!("expected throttled, got {other:?}"),
        }
    }

    #[test]
    fn http_403_without_throttle_text_is_an_invalid_key() {
        let observed: Value = serde_json::from_str(INVALID_KEY).unwrap();
        let status = observed["http_status"].as_u64().unwrap() as u16;
        let body = observed["body"].as_str().unwrap_or("");
        let err = interpret_answer(status, body, URL).unwrap_err();
        assert!(
            matches!(err, OcrError::InvalidKey { status: 403, .. }),
            "{err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Rejected);
    }

    #[test]
    fn http_200_success_body_gives_text_and_500_gives_status_error() {
        assert_eq!(interpret_answer(200, SUCCESS, URL).unwrap().lines.len(), 3);
        assert!(matches!(
            interpret_answer(500, "oops", URL),
            Err(OcrError::Status { status: 500, .. })
        ));
        assert!(matches!(
            interpret_answer(200, "<html>not json</html>", URL),
            Err(OcrError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn other_403_bodies_are_not_throttle_messages() {
        let observed: Value = serde_json::from_str(INVALID_KEY).unwrap();
        assert_eq!(observed["http_status"], 403);
        assert!(observed["body"].is_null());
        assert_eq!(parse_throttle_message(""), None);
        assert_eq!(
            parse_throttle_message(r#"{"ErrorMessage":"The API key is invalid"}"#),
            None
        );
    }
}
