//! The OCR.space backend: `POST /parse/image` as multipart/form-data with an `apikey` header.

use std::path::Path;
use std::time::Duration;

use multipart_upload::{FilePart, Form, UploadError, Uploader};

use crate::envelope::interpret_answer;
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

/// An OCR.space client. The key travels only in the `apikey` header and is scrubbed from every
/// error; files over the plan's limit are refused before any connection is made.
#[derive(Clone)]
pub struct OcrSpace {
    endpoint: String,
    key: ApiKey,
    options: OcrSpaceOptions,
    max_file_bytes: u64,
    uploader: Uploader,
}

impl std::fmt::Debug for OcrSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrSpace")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .field("options", &self.options)
            .field("max_file_bytes", &self.max_file_bytes)
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
        }
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

    /// The largest file sent (default [`FREE_PLAN_MAX_BYTES`]).
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
            UploadError::Status { status, body, .. } => {
                match interpret_answer(status, &self.key.scrub(&body), &url) {
                    Err(e) => e,
                    Ok(_) => OcrError::Status {
                        url,
                        status,
                        body: String::new(),
                    },
                }
            }
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

impl OcrEngine for OcrSpace {
    fn name(&self) -> &'static str {
        "ocrspace"
    }

    fn recognize(&self, image: &Path) -> Result<OcrText, OcrError> {
        let size = match std::fs::metadata(image) {
            Ok(m) => m.len(),
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
        if size > self.max_file_bytes {
            return Err(OcrError::FileTooLarge {
                path: image.to_path_buf(),
                limit: self.max_file_bytes,
                actual: size,
            });
        }
        let part = FilePart::from_path("file", image).map_err(|e| match e {
            UploadError::Refused(binary_io::Error::NotFound { path }) => {
                OcrError::ImageNotFound { path }
            }
            other => self.upload_error(image, other),
        })?;
        let Some(sniffed_filetype) = filetype(part.kind()) else {
            return Err(OcrError::UnsupportedFileType {
                path: image.to_path_buf(),
                actual: part.mime().to_string(),
            });
        };
        let mut form = Form::new();
        for (name, value) in self.options.fields() {
            form = form.text(name, value);
        }
        if self.options.filetype.is_none() {
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
            &self.key.scrub(&response.text()),
            &self.key.scrub(&self.endpoint),
        )
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
