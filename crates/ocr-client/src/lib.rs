//! OCR engines behind one trait: an image path in, recognised text (with per-line boxes where
//! the engine gives them) out.
//!
//! Three engines implement [`OcrEngine`]:
//! - [`OcrSpace`], the OCR.space web API (`POST /parse/image`, multipart, `apikey` header). Its
//!   envelope is read leniently ([`Envelope`]) and every failure is typed ([`OcrError`]):
//!   processing errors, partial results, throttling (HTTP 403 with "N number of times within S
//!   seconds"), refused keys, timeouts. An image over the plan's size limit is re-encoded as a
//!   smaller JPEG in memory ([`picture::shrink_to_jpeg`]) and refused only when it cannot fit.
//!   Throttling, 429 and "try again" answers are retried with a [`retry::RetryPolicy`], each
//!   wait told to an observer ([`Notice`]). The key comes from [`resolve_key`] (environment,
//!   then a bounded `.env`, then the demo key) and never appears in output, logs or errors, in
//!   any escaped spelling ([`ApiKey::scrub`]).
//! - [`Tesseract`], the local `tesseract` program, run with TSV output.
//! - [`Ppocr`], PP-OCRv4 run offline in pure Rust (the `rten` runtime); its model files are
//!   pinned by SHA-256 and installed into the user's cache ([`models`]). Images are decoded by
//!   [`picture`], which every engine may use.
//!
//! ```
//! use ocr_client::{parse_tsv, Envelope, OcrError};
//!
//! let body = r#"{"ParsedResults":[{"FileParseExitCode":"1","ParsedText":"TOTAL 9.00\r\n"}],
//!                "OCRExitCode":1,"IsErroredOnProcessing":false}"#;
//! let text = Envelope::from_json(body).unwrap().into_text("https://api.ocr.space/parse/image").unwrap();
//! assert_eq!(text.text, "TOTAL 9.00\n");
//!
//! let throttled = ocr_client::interpret_answer(
//!     403,
//!     "You may only perform this action upto maximum 10 number of times within 600 seconds",
//!     "https://api.ocr.space/parse/image",
//! );
//! assert!(matches!(throttled, Err(OcrError::Throttled { max_requests: 10, .. })));
//!
//! let lines = parse_tsv("5\t1\t1\t1\t1\t1\t10\t20\t90\t30\t96\tTOTAL\n5\t1\t1\t1\t1\t2\t120\t20\t60\t30\t95\t9.00\n");
//! assert_eq!(lines.lines[0].text, "TOTAL 9.00");
//! ```
//!
//! It does not parse receipts (that is `receipt-parse`) or run several images at once (the
//! caller's pool does).

mod envelope;
mod error;
mod geometry;
mod key;
pub mod models;
mod ocrspace;
pub mod picture;
mod ppocr;
mod tesseract;
mod text;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use envelope::{
    Envelope, OverlayLine, OverlayWord, ParsedResult, TextOverlay, interpret_answer,
    parse_throttle_message,
};
pub use error::{MAX_THROTTLE_WINDOW, OcrError, PageFailure};
pub use key::{
    ApiKey, DEMO_KEY, KEY_VARIABLE, KeySource, MAX_DOTENV_BYTES, ResolvedKey, resolve_key,
    resolve_key_with,
};
pub use ocrspace::{
    DEFAULT_ENDPOINT, FREE_PLAN_MAX_BYTES, Notice, NoticeFn, OcrSpace, OcrSpaceEngine,
    OcrSpaceOptions,
};
pub use ppocr::{Ppocr, PpocrOptions, rows};
pub use tesseract::{DEFAULT_PSM, DEFAULT_TIMEOUT, Prepare, Tesseract, parse_tsv};
pub use text::{MAX_TEXT_BYTES, TextInput, is_text_input, read_text};

/// Something that turns an image file into text.
pub trait OcrEngine: Send + Sync {
    /// A short name for logs and output (`tesseract`, `ocrspace`, `ppocr`).
    fn name(&self) -> &'static str;

    /// Recognises the text in the image at `image`.
    fn recognize(&self, image: &Path) -> Result<OcrText, OcrError>;
}

/// Recognised text: the whole text (LF line ends) and its lines, with boxes when known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OcrText {
    /// The text, lines separated by `\n`.
    pub text: String,
    /// The lines, top to bottom.
    pub lines: Vec<OcrLine>,
}

impl OcrText {
    /// This text with `scrub` applied to the whole text and to every line (see
    /// [`ApiKey::scrub`]).
    pub fn scrubbed(self, scrub: &dyn Fn(&str) -> String) -> OcrText {
        OcrText {
            text: scrub(&self.text),
            lines: self
                .lines
                .into_iter()
                .map(|l| OcrLine {
                    text: scrub(&l.text),
                    ..l
                })
                .collect(),
        }
    }

    /// Appends a line to both `lines` and `text`.
    pub fn push_line(&mut self, line: OcrLine) {
        self.text.push_str(&line.text);
        self.text.push('\n');
        self.lines.push(line);
    }
}

/// One recognised line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcrLine {
    /// The line's words separated by single spaces.
    pub text: String,
    /// Where it is on the image, when the engine says.
    pub bbox: Option<BoundingBox>,
    /// How sure the engine is, 0 to 1, when it says (ppocr: the mean character probability).
    pub confidence: Option<f32>,
}

/// A rectangle in image pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    pub left: u32,
    /// Top edge.
    pub top: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl BoundingBox {
    /// The smallest box holding both.
    pub fn union(self, other: BoundingBox) -> BoundingBox {
        let left = self.left.min(other.left);
        let top = self.top.min(other.top);
        let right = (self.left + self.width).max(other.left + other.width);
        let bottom = (self.top + self.height).max(other.top + other.height);
        BoundingBox {
            left,
            top,
            width: right - left,
            height: bottom - top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_covers_both_boxes() {
        let a = BoundingBox {
            left: 10,
            top: 5,
            width: 10,
            height: 10,
        };
        let b = BoundingBox {
            left: 0,
            top: 12,
            width: 5,
            height: 8,
        };
        assert_eq!(
            a.union(b),
            BoundingBox {
                left: 0,
                top: 5,
                width: 20,
                height: 15
            }
        );
    }
}
