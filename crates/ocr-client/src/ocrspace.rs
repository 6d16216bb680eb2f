//! The OCR.space backend: `POST /parse/image` as multipart/form-data with an `apikey` header;
//! images over the plan's limit shrunk in memory, throttling and transient errors retried.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use multipart_upload::{FilePart, Form, UploadError, Uploader};
use retry::{Decision, RetryPolicy};

use crate::envelope::interpret_answer;
use crate::picture;
use crate::{ApiKey, OcrEngine, OcrError, OcrText};

/// The public OCR.space endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.ocr.space/parse/image";

/// The free plan's file size limit (the server says "1024 KB").
pub const FREE_PLAN_MAX_BYTES: u64 = 1024 * 1024;

/// OCR.space's recognition engines (`OCREngine` form field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcrSpaceEngine {
    /// Engine 1: fast, more languages.
    One = 1,
    /// Engine 2: better on receipts, numbers and special characters (the default).
    Two = 2,
    /// Engine 3: the newest, more languages and handwriting.
    Three = 3,
}

impl std::str::FromStr for OcrSpaceEngine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1" => Ok(OcrSpaceEngine::One),
            "2" => Ok(OcrSpaceEngine::Two),
            "3" => Ok(OcrSpaceEngine::Three),
            other => Err(format!("OCR.space engine must be 1, 2 or 3, not `{other}`")),
        }
    }
}

/// The request options sent as form fields.
#[derive(Clone, Debug)]
pub struct OcrSpaceOptions {
    /// `language`, e.g. `eng` (engine 3 also takes `auto`).
    pub language: String,
    /// `OCREngine`.
    pub engine: OcrSpaceEngine,
    /// `isTable`: keep each receipt line's label and amount on one line (recommended for receipts).
    pub is_table: bool,
    /// `scale`: upscale low-resolution scans on the server.
    pub scale: bool,
    /// `detectOrientation`: rotate the image upright on the server.
    pub detect_orientation: bool,
    /// `isOverlayRequired`: ask for word boxes, which give per-line boxes.
    pub overlay: bool,
    /// `filetype` (`PNG`, `JPG`, `GIF`, `PDF`, `TIF`, `BMP`); `None` sends the type sniffed
    /// from the file's bytes.
    pub filetype: Option<String>,
}

impl Default for OcrSpaceOptions {
    fn default() -> Self {
        OcrSpaceOptions {
            language: "eng".to_string(),
            engine: OcrSpaceEngine::Two,
            is_table: true,
            scale: true,
            detect_orientation: true,
            overlay: true,
            filetype: None,
        }
    }
}

impl OcrSpaceOptions {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let flag = |b: bool| if b { "true" } else { "false" }.to_string();
        let mut fields = vec![
            ("language", self.language.clone()),
            ("OCREngine", (self.engine as u8).to_string()),
            ("isTable", flag(self.is_table)),
            ("scale", flag(self.scale)),
            ("detectOrientation", flag(self.detect_orientation)),
            ("isOverlayRequired", flag(self.overlay)),
        ];
        if let Some(filetype) = &self.filetype {
            fields.push(("filetype", filetype.clone()));
        }
        fields
    }
}

/// What the client tells its observer ([`OcrSpace::on_notice`]) while it works; apps print it
/// on stderr. Its `Display` is one line and never holds the key.
#[derive(Debug)]
pub enum Notice<'a> {
    /// An image over the plan's limit is sent re-encoded ([`picture::shrink_to_jpeg`]); the file
    /// itself is unchanged.
    Shrunk {
        /// The image.
        path: &'a Path,
        /// The plan's limit.
        limit: u64,
        /// What was done.
        shrunk: &'a picture::Shrunk,
    },
    /// A try failed in a way worth another; the next starts after `wait`.
    Retrying {
        /// The image.
        path: &'a Path,
        /// Why the try failed (key scrubbed).
        error: &'a OcrError,
        /// How long the client waits.
        wait: Duration,
        /// The number of the coming try (2 for the first retry).
        next_try: u32,
        /// The most tries there will be.
        max_tries: u32,
    },
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Shrunk {
                path,
                limit,
                shrunk,
            } => write!(
                f,
                "{}: {} bytes is over the OCR.space plan's {limit}-byte limit; sending it \
                 re-encoded as a JPEG of {} bytes, {} x {} pixels (quality {}); the file is unchanged",
                path.display(),
                shrunk.original_bytes,
                shrunk.jpeg.len(),
                shrunk.width,
                shrunk.height,
                shrunk.quality
            ),
            Notice::Retrying {
                path,
                error,
                wait,
                next_try,
                max_tries,
            } => {
                let wait = if *wait >= Duration::from_secs(1) {
                    format!("{} s", wait.as_secs_f64().round())
                } else {
                    format!("{} ms", wait.as_millis())
                };
                let attempt = format!("attempt {next_try} of {max_tries}");
                match error {
                    OcrError::Throttled { .. } => write!(
                        f,
                        "OCR.space throttled this key; retrying in {wait} ({attempt})"
                    ),
                    OcrError::Status { status: 429, .. } => write!(
                        f,
                        "OCR.space answered 429 (too many requests); retrying in {wait} ({attempt})"
                    ),
                    other => write!(
                        f,
                        "{}: {other}; retrying in {wait} ({attempt})",
                        path.display()
                    ),
                }
            }
        }
    }
}

/// Receives [`Notice`]s; shared by every thread using the client.
pub type NoticeFn = Arc<dyn Fn(&Notice<'_>) + Send + Sync>;

/// An OCR.space client. The key travels only in the `apikey` header and is scrubbed, in every
/// spelling ([`ApiKey::scrub`]), from every error and every text the server sends back; an image
/// over the plan's limit is shrunk in memory, and a file that cannot be made to fit is refused
/// before any connection is made. Throttling (403 "N number of times within S seconds"), 429,
/// 5xx, network failures and errors saying "try again" are retried by a [`RetryPolicy`].
#[derive(Clone)]
pub struct OcrSpace {
    endpoint: String,
    key: ApiKey,
    options: OcrSpaceOptions,
    max_file_bytes: u64,
    shrink: bool,
    retry: RetryPolicy,
    notice: Option<NoticeFn>,
    uploader: Uploader,
}

impl std::fmt::Debug for OcrSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrSpace")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .field("options", &self.options)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("shrink", &self.shrink)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OcrSpace {
    /// A client for the public endpoint with default options and the free plan's size limit.
    pub fn new(key: ApiKey) -> OcrSpace {
        OcrSpace {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            uploader: Uploader::new().header("apikey", key.expose()),
            key,
            options: OcrSpaceOptions::default(),
            max_file_bytes: FREE_PLAN_MAX_BYTES,
            shrink: true,
            retry: RetryPolicy::new().max_tries(4),
            notice: None,
        }
    }

    /// Whether an image over the limit is re-encoded to fit (default) or refused.
    pub fn shrink(mut self, yes: bool) -> OcrSpace {
        self.shrink = yes;
        self
    }

    /// The retry policy (default: 4 tries, waits as [`RetryPolicy::new`]);
    /// [`RetryPolicy::no_retries`] makes every failure final.
    pub fn retry(mut self, policy: RetryPolicy) -> OcrSpace {
        self.retry = policy;
        self
    }

    /// Tells `f` what the client does beyond a plain request: a shrunk image, a wait before a
    /// retry.
    pub fn on_notice(mut self, f: NoticeFn) -> OcrSpace {
        self.notice = Some(f);
        self
    }

    /// Posts to another endpoint (a paid plan's host, or a test server).
    pub fn endpoint(mut self, url: impl Into<String>) -> OcrSpace {
        self.endpoint = url.into();
        self
    }

    /// Replaces the request options.
    pub fn options(mut self, options: OcrSpaceOptions) -> OcrSpace {
        self.options = options;
        self
    }

    /// The largest file sent (default [`FREE_PLAN_MAX_BYTES`]); larger images are shrunk.
    pub fn max_file_bytes(mut self, bytes: u64) -> OcrSpace {
        self.max_file_bytes = bytes;
        self
    }

    /// The request timeout (connect and idle read); the uploader's defaults otherwise.
    pub fn timeout(mut self, timeout: Duration) -> OcrSpace {
        self.uploader = self.uploader.timeout(timeout);
        self
    }

    /// The endpoint in use.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    fn upload_error(&self, image: &Path, err: UploadError) -> OcrError {
        let url = self.key.scrub(&self.endpoint);
        match err {
            UploadError::Status {
                status,
                body,
                retry_after,
                ..
            } => match interpret_answer(status, &body, &url) {
                Err(OcrError::Throttled {
                    url,
                    max_requests,
                    window,
                    ..
                }) => OcrError::Throttled {
                    url,
                    max_requests,
                    window,
                    retry_after,
                },
                Err(OcrError::Status {
                    url, status, body, ..
                }) => OcrError::Status {
                    url,
                    status,
                    body,
                    retry_after,
                },
                Err(e) => e,
                Ok(_) => OcrError::Status {
                    url,
                    status,
                    body: String::new(),
                    retry_after,
                },
            },
            UploadError::Timeout { .. } => OcrError::Timeout { url },
            UploadError::Network { source, .. } => OcrError::Network {
                url,
                reason: self.key.scrub(&source.to_string()),
            },
            UploadError::InvalidResponse { reason, .. } => OcrError::InvalidResponse {
                url,
                reason: self.key.scrub(&reason),
            },
            other => OcrError::Upload {
                path: image.to_path_buf(),
                url,
                reason: self.key.scrub(&error_chain(&other)),
            },
        }
    }
}

/// OCR.space's `filetype` for a sniffed kind; `None` for kinds it does not read.
fn filetype(kind: binary_io::Kind) -> Option<&'static str> {
    use binary_io::Kind;
    match kind {
        Kind::Jpeg => Some("JPG"),
        Kind::Png => Some("PNG"),
        Kind::Gif => Some("GIF"),
        Kind::Bmp => Some("BMP"),
        Kind::Tiff => Some("TIF"),
        Kind::Pdf => Some("PDF"),
        _ => None,
    }
}

/// An error and its sources, joined with ": ".
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What is sent for one image: the file as it is, or its shrunk JPEG.
enum Payload {
    File,
    Shrunk(picture::Shrunk),
}

impl OcrSpace {
    /// Checks the file and decides what to send: the file itself when it is within the limit,
    /// else its shrunk JPEG (said to the observer), else a refusal.
    fn payload(&self, image: &Path) -> Result<Payload, OcrError> {
        let meta = match std::fs::metadata(image) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(OcrError::ImageNotFound {
                    path: image.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(OcrError::Io {
                    path: image.to_path_buf(),
                    source,
                });
            }
        };
        // A FIFO or a device is refused before anything opens it (decoding would block).
        binary_io::check_regular(image, &meta).map_err(|source| OcrError::NotAFile {
            path: image.to_path_buf(),
            source,
        })?;
        let size = meta.len();
        if size <= self.max_file_bytes {
            return Ok(Payload::File);
        }
        let too_large = || OcrError::FileTooLarge {
            path: image.to_path_buf(),
            limit: self.max_file_bytes,
            actual: size,
        };
        if !self.shrink {
            return Err(too_large());
        }
        match picture::shrink_to_jpeg(image, self.max_file_bytes) {
            Ok(shrunk) => {
                self.notify(&Notice::Shrunk {
                    path: image,
                    limit: self.max_file_bytes,
                    shrunk: &shrunk,
                });
                Ok(Payload::Shrunk(shrunk))
            }
            // Not an image the decoder reads (a PDF, a broken file): refused for its size, as
            // before there was shrinking.
            Err(OcrError::ImageDecode { .. }) => Err(too_large()),
            Err(e) => Err(e),
        }
    }

    fn notify(&self, notice: &Notice<'_>) {
        if let Some(f) = &self.notice {
            f(notice);
        }
    }

    /// One request.
    fn send_once(&self, image: &Path, payload: &Payload) -> Result<OcrText, OcrError> {
        let part = match payload {
            Payload::File => FilePart::from_path("file", image).map_err(|e| match e {
                UploadError::Refused(binary_io::Error::NotFound { path }) => {
                    OcrError::ImageNotFound { path }
                }
                other => self.upload_error(image, other),
            })?,
            Payload::Shrunk(shrunk) => {
                let stem = image
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "image".to_string());
                FilePart::from_bytes("file", format!("{stem}.jpg"), shrunk.jpeg.clone())
            }
        };
        let Some(sniffed_filetype) = filetype(part.kind()) else {
            return Err(OcrError::UnsupportedFileType {
                path: image.to_path_buf(),
                actual: part.mime().to_string(),
            });
        };
        let mut form = Form::new();
        for (name, value) in self.options.fields() {
            if name == "filetype" && matches!(payload, Payload::Shrunk(_)) {
                continue;
            }
            form = form.text(name, value);
        }
        if self.options.filetype.is_none() || matches!(payload, Payload::Shrunk(_)) {
            // The server goes by the file name's extension unless told; the bytes are surer.
            form = form.text("filetype", sniffed_filetype);
        }
        let form = form.part(part);
        let response = self
            .uploader
            .send(&self.endpoint, form)
            .map_err(|e| self.upload_error(image, e))?;
        interpret_answer(
            response.status,
            &response.text(),
            &self.key.scrub(&self.endpoint),
        )
    }
}

impl OcrEngine for OcrSpace {
    fn name(&self) -> &'static str {
        "ocrspace"
    }

    fn recognize(&self, image: &Path) -> Result<OcrText, OcrError> {
        let scrub = |text: &str| self.key.scrub(text);
        let payload = self.payload(image)?;
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            // Scrubbed after the server's JSON is decoded: an escaped echo of the key is caught
            // in its decoded form, and an unescaped body in its raw one.
            let error = match self.send_once(image, &payload) {
                Ok(text) => return Ok(text.scrubbed(&scrub)),
                Err(e) => e.scrubbed(&scrub),
            };
            match self
                .retry
                .decide(&error, tries, started.elapsed(), fastrand::f64())
            {
                Decision::RetryIn(wait) => {
                    self.notify(&Notice::Retrying {
                        path: image,
                        error: &error,
                        wait,
                        next_try: tries + 1,
                        max_tries: self.retry.tries(),
                    });
                    std::thread::sleep(wait);
                }
                Decision::GiveUp(_) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_ask_for_table_mode_engine_two_and_overlay() {
        let fields = OcrSpaceOptions::default().fields();
        let get = |n: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("isTable"), Some("true"));
        assert_eq!(get("OCREngine"), Some("2"));
        assert_eq!(get("isOverlayRequired"), Some("true"));
        assert_eq!(get("language"), Some("eng"));
        assert_eq!(get("filetype"), None);
    }

    #[test]
    fn only_kinds_ocrspace_reads_get_a_filetype() {
        use binary_io::Kind;
        assert_eq!(filetype(Kind::Jpeg), Some("JPG"));
        assert_eq!(filetype(Kind::Tiff), Some("TIF"));
        assert_eq!(filetype(Kind::Pdf), Some("PDF"));
        assert_eq!(filetype(Kind::Html), None);
        assert_eq!(filetype(Kind::Zip), None);
        assert_eq!(filetype(Kind::Unknown), None);
    }

    #[test]
    fn engine_parses_from_one_two_three_only() {
        assert_eq!("3".parse::<OcrSpaceEngine>(), Ok(OcrSpaceEngine::Three));
        assert!("4".parse::<OcrSpaceEngine>().is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let client = OcrSpace::new(ApiKey::new("SeCrEtKeY42"));
        assert!(!format!("{client:?}").contains("SeCrEtKeY42"));
    }
}
