//! Checked, streaming, resumable downloads to a temporary file, renamed atomically when verified.
//!
//! A [`Downloader`] reads the status and headers first and refuses a non-2xx status, a
//! Content-Type outside the accepted list or a Content-Length over the limit before any file is
//! created. It then sniffs the first bytes ([`binary_io::sniff`]) and refuses a body that
//! contradicts its declared type (an HTML error page served as `image/jpeg`), streams the rest in
//! chunks into a temporary file in the destination folder while counting bytes against the limit
//! (a missing or lying Content-Length cannot get past it, nor can a gzip bomb), fsyncs, checks the
//! length and the optional SHA-256, and only then renames the file to its final name.
//!
//! ```
//! use safe_download::{DownloadError, Downloader, Target};
//! # let server = testbed::Testbed::start().unwrap();
//! # let url = |p: &str| server.url(p);
//! let dir = tempfile::tempdir().unwrap();
//! let done = Downloader::new()
//!     .max_size(5_000_000)
//!     .fetch(&url("/bytes/1000"), &Target::Path(dir.path().join("data.bin")))
//!     .unwrap();
//! assert_eq!(done.bytes, 1000);
//!
//! // A server that declares image/jpeg and sends an HTML error page: refused, nothing saved.
//! let err = Downloader::new()
//!     .fetch(&url("/fault/lying-type"), &Target::Path(dir.path().join("photo.jpg")))
//!     .unwrap_err();
//! assert!(matches!(err, DownloadError::TypeMismatch { .. }));
//! assert_eq!(err.exit_code(), 6);
//! assert!(!dir.path().join("photo.jpg").exists());
//! ```
//!
//! With [`Resume::Continue`] the data goes to `<final>.part` (with a small `<final>.part.json`
//! holding the URL, ETag and Last-Modified) and a later run asks for the rest with `Range` and
//! `If-Range`, starting over when the server ignores the range or the resource changed.
//!
//! What it does not do: no retries (batch-pool decides with [`batch_pool::Retryable`]), no
//! parallel range requests, no asking for compressed bodies (a server that compresses anyway is
//! decoded, and the decoded bytes count against the limits), and no cookies or authentication.

mod error;
mod name;
mod wire;

pub use error::DownloadError;
pub use name::{disposition_filename, safe_filename, url_filename};

use binary_io::{Kind, SNIFF_LEN};
use chunk_stream::{Progress, ProgressObserver, ProgressReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use ureq::http::{HeaderMap, Response};
use wire::{WatchConnector, Wire};

/// Limit for bodies the server compresses on its own when no explicit size limit is set.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 1 << 30;

/// Bytes read from the connection per call.
const READ_CHUNK: usize = 64 * 1024;

/// Where the file goes.
#[derive(Clone, Debug)]
pub enum Target {
    /// Exactly this path (`-o PATH`).
    Path(PathBuf),
    /// Into this folder, named by Content-Disposition or the URL (`-O`), checked by
    /// [`safe_filename`].
    Folder(PathBuf),
}

/// What to do when the final path exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Refuse with [`DownloadError::Exists`] (the default).
    #[default]
    Refuse,
    /// Replace it atomically once the new file is verified.
    Replace,
}

/// Whether to keep partial data for a later run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resume {
    /// Anonymous temporary file, removed on any failure (the default).
    #[default]
    Fresh,
    /// `<final>.part` kept on network failures and continued with Range/If-Range next time.
    Continue,
}

/// Whether to compute the SHA-256 of the file (always done when a digest is expected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Hashing {
    /// Only when [`Downloader::sha256`] is set (the default; fastest).
    #[default]
    WhenExpected,
    /// Always, reported in [`Downloaded::sha256`].
    Always,
}

/// A finished, verified download.
#[derive(Clone, Debug, Serialize)]
pub struct Downloaded {
    /// The final path.
    pub path: PathBuf,
    /// The file's size in bytes.
    pub bytes: u64,
    /// The declared Content-Type (without parameters), if any.
    pub content_type: Option<String>,
    /// The kind told by the first bytes.
    pub kind: Kind,
    /// The SHA-256 of the file (lower-case hex), when computed.
    pub sha256: Option<String>,
    /// Whether earlier partial data was continued (a 206 answer to a Range request).
    pub resumed: bool,
    /// The URL the data came from, after redirects.
    pub url: String,
}

/// Checked downloads; cheap to clone. Each fetch uses its own connection pool.
#[derive(Clone, Debug)]
pub struct Downloader {
    connect_timeout: Duration,
    read_timeout: Duration,
    max_redirects: u32,
    accept: Vec<String>,
    max_size: Option<u64>,
    max_decompressed: u64,
    sha256: Option<String>,
    hashing: Hashing,
    overwrite: Overwrite,
    resume: Resume,
    headers: Vec<(String, String)>,
}

impl Default for Downloader {
    fn default() -> Self {
        Downloader::new()
    }
}

/// Turns `--accept` text (`image/*,application/pdf,png`) into MIME patterns: full types,
/// `type/*`, `*/*`, or file extensions known to [`binary_io::Kind`].
pub fn parse_accept(list: &str) -> Result<Vec<String>, DownloadError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let lower = item.to_ascii_lowercase();
        if lower.contains('/') {
            out.push(lower);
        } else if let Some(kind) = Kind::from_extension(&lower) {
            out.push(kind.mime().to_string());
        } else {
            return Err(DownloadError::InvalidAccept {
                pattern: item.to_string(),
            });
        }
    }
    Ok(out)
}

impl Downloader {
    /// Defaults: connect timeout 10 s, idle read timeout 30 s, 10 redirects, any type, no size
    /// limit (bodies the server compresses stop at [`DEFAULT_MAX_DECOMPRESSED`]), refuse to
    /// overwrite, no resume.
    pub fn new() -> Downloader {
        Downloader {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_redirects: 10,
            accept: Vec::new(),
            max_size: None,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            sha256: None,
            hashing: Hashing::WhenExpected,
            overwrite: Overwrite::Refuse,
            resume: Resume::Fresh,
            headers: Vec::new(),
        }
    }

    /// Idle timeout: the longest wait for the next bytes (headers or body).
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.read_timeout = idle;
        self
    }

    /// The longest wait to establish a connection.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How many redirects to follow (http and https only).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// Accepted Content-Type patterns (see [`parse_accept`]); empty accepts anything.
    pub fn accept(mut self, patterns: Vec<String>) -> Self {
        self.accept = patterns;
        self
    }

    /// The most bytes the file may have, declared or received (after any decoding).
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The most bytes a body the server compressed may expand to (default
    /// [`DEFAULT_MAX_DECOMPRESSED`]; [`Downloader::max_size`] applies as well).
    pub fn max_decompressed(mut self, bytes: u64) -> Self {
        self.max_decompressed = bytes;
        self
    }

    /// The SHA-256 the file must have (hex, any case).
    pub fn sha256(mut self, hex: &str) -> Self {
        self.sha256 = Some(hex.trim().to_ascii_lowercase());
        self
    }

    /// When to compute the file's SHA-256.
    pub fn hashing(mut self, h: Hashing) -> Self {
        self.hashing = h;
        self
    }

    /// What to do when the final path exists.
    pub fn overwrite(mut self, o: Overwrite) -> Self {
        self.overwrite = o;
        self
    }

    /// Whether to keep and continue partial data.
    pub fn resume(mut self, r: Resume) -> Self {
        self.resume = r;
        self
    }

    /// An extra request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Downloads `url` to `target`.
    pub fn fetch(&self, url: &str, target: &Target) -> Result<Downloaded, DownloadError> {
        self.run(url, target, None)
    }

    /// Downloads `url` to `target`, reporting progress (bytes include resumed data).
    pub fn fetch_with_progress(
        &self,
        url: &str,
        target: &Target,
        observer: impl ProgressObserver + 'static,
    ) -> Result<Downloaded, DownloadError> {
        self.run(url, target, Some(Box::new(observer)))
    }

    fn agent(&self, wire: &Arc<Wire>) -> ureq::Agent {
        use ureq::config::AutoHeaderValue;
        use ureq::unversioned::resolver::DefaultResolver;
        use ureq::unversioned::transport::{Connector, DefaultConnector};
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_per_read(Some(self.read_timeout))
            .accept_encoding(AutoHeaderValue::Provided(Arc::new("identity".into())))
            .user_agent(AutoHeaderValue::Provided(Arc::new(format!(
                "filewire-safe-download/{}",
                env!("CARGO_PKG_VERSION")
            ))))
            .input_buffer_size(256 * 1024)
            .build();
        let connector = DefaultConnector::new().chain(WatchConnector(wire.clone()));
        ureq::Agent::with_parts(config, connector, DefaultResolver::default())
    }

    fn run(
        &self,
        url: &str,
        target: &Target,
        observer: Option<Box<dyn ProgressObserver>>,
    ) -> Result<Downloaded, DownloadError> {
        check_url(url)?;
        if let Target::Path(path) = target {
            self.check_free(path)?;
        }
        let wire = Arc::new(Wire::default());
        let agent = self.agent(&wire);

        // The partial file we may continue: known up front for -o, guessed from the URL for -O.
        let guess = match target {
            Target::Path(p) => Some(p.clone()),
            Target::Folder(dir) => url_filename(url)
                .and_then(|n| safe_filename(&n).ok())
                .map(|n| dir.join(n)),
        };
        let mut partial = match (self.resume, &guess) {
            (Resume::Continue, Some(path)) => Partial::load(path, url),
            _ => None,
        };

        let (final_url, response, final_path, start) = loop {
            let range = partial.as_ref().map(|p| (p.len, p.validator()));
            let (final_url, response) = self.get(&agent, url, range.as_ref())?;
            let status = response.status().as_u16();
            let headers = response.headers();
            if status == 416 {
                if let Some(p) = &partial {
                    if content_range_total(headers) == Some(p.len) {
                        // Everything is already here: verify and finish below.
                        let path = p.final_path.clone();
                        break (final_url, None, path, p.len);
                    }
                    // The part is longer than the resource now: start over.
                    drop(response);
                    discard(&mut partial);
                    continue;
                }
            }
            if !(200..300).contains(&status) {
                return Err(DownloadError::Status {
                    url: final_url,
                    status,
                    retry_after: header(headers, "retry-after")
                        .and_then(|v| batch_pool::parse_retry_after(v, SystemTime::now())),
                });
            }
            let final_path = match target {
                Target::Path(p) => p.clone(),
                Target::Folder(dir) => dir.join(suggested_name(url, headers)?),
            };
            if status == 206 {
                let Some(p) = &partial else {
                    return Err(DownloadError::InvalidResponse {
                        url: final_url,
                        reason: "206 partial content to a request without Range".into(),
                    });
                };
                let starts_at = content_range_start(headers);
                if starts_at != Some(p.len) || p.final_path != final_path {
                    // Not the continuation we asked for: start over with a full request.
                    drop(response);
                    discard(&mut partial);
                    continue;
                }
                break (final_url, Some(response), final_path, p.len);
            }
            // 200 (or another 2xx): the whole resource; any partial data is stale.
            discard(&mut partial);
            break (final_url, Some(response), final_path, 0);
        };
        if matches!(target, Target::Folder(_)) {
            self.check_free(&final_path)?;
        }
        let outcome = self.receive(&wire, &final_url, response, &final_path, start, observer);
        if let Err(e) = &outcome {
            if self.resume == Resume::Continue && !keeps_partial(e) {
                let _ = fs::remove_file(part_path(&final_path));
                let _ = fs::remove_file(sidecar_path(&final_path));
            }
        }
        outcome
    }

    /// GET with manual redirects, so that the limit, loops and other schemes get clear errors.
    fn get(
        &self,
        agent: &ureq::Agent,
        url: &str,
        range: Option<&(u64, Option<String>)>,
    ) -> Result<(String, Response<ureq::Body>), DownloadError> {
        let mut current = url.to_string();
        let mut hops = 0;
        loop {
            let mut req = agent.get(&current);
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            if let Some((offset, validator)) = range {
                req = req.header("Range", format!("bytes={offset}-"));
                if let Some(v) = validator {
                    req = req.header("If-Range", v.as_str());
                }
            }
            let response = req.call().map_err(|e| map_ureq(&current, e, None))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok((current, response));
            }
            let Some(location) = header(response.headers(), "location").map(str::to_string) else {
                return Err(DownloadError::InvalidResponse {
                    url: current,
                    reason: format!("{status} without a Location header"),
                });
            };
            // Read the short redirect body so the connection can be reused cleanly.
            let mut body = response.into_body();
            let _ = io::copy(&mut body.as_reader().take(64 * 1024), &mut io::sink());
            let next = resolve_location(&current, &location).ok_or_else(|| {
                DownloadError::UnsupportedRedirect {
                    url: current.clone(),
                    location: location.clone(),
                }
            })?;
            hops += 1;
            if hops > self.max_redirects {
                return Err(DownloadError::TooManyRedirects {
                    url: current,
                    limit: self.max_redirects,
                });
            }
            current = next;
        }
    }

    fn check_free(&self, path: &Path) -> Result<(), DownloadError> {
        if self.overwrite == Overwrite::Refuse && fs::symlink_metadata(path).is_ok() {
            return Err(DownloadError::Exists {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    fn check_headers(
        &self,
        url: &str,
        headers: &HeaderMap,
        total: Option<u64>,
    ) -> Result<Option<String>, DownloadError> {
        let declared = header(headers, "content-type").map(mime_essence);
        if !self.accept.is_empty() && !accepted(&self.accept, declared.as_deref()) {
            return Err(DownloadError::ContentTypeNotAccepted {
                url: url.to_string(),
                declared,
                accepted: self.accept.clone(),
            });
        }
        if let (Some(limit), Some(total)) = (self.max_size, total) {
            if total > limit {
                return Err(DownloadError::TooLarge {
                    url: url.to_string(),
                    limit,
                    declared: total,
                });
            }
        }
        Ok(declared)
    }

    #[allow(clippy::too_many_arguments)]
    fn receive(
        &self,
        wire: &Wire,
        url: &str,
        response: Option<Response<ureq::Body>>,
        final_path: &Path,
        start: u64,
        observer: Option<Box<dyn ProgressObserver>>,
    ) -> Result<Downloaded, DownloadError> {
        let dir = parent_dir(final_path);
        let hashing = self.sha256.is_some() || self.hashing == Hashing::Always;

        // Everything already on disk (416 to our range): verify the part file and finish.
        let Some(response) = response else {
            let part = part_path(final_path);
            let head = read_head(&part)?;
            let kind = binary_io::sniff(&head);
            let sha = if hashing {
                Some(hash_file(&part)?)
            } else {
                None
            };
            self.check_digest(url, sha.as_deref())?;
            let file = File::open(&part).map_err(|e| io_err(&part, e))?;
            sync(&file, &part)?;
            self.persist_part(final_path)?;
            sync_dir(&dir);
            return Ok(Downloaded {
                path: final_path.to_path_buf(),
                bytes: start,
                content_type: None,
                kind,
                sha256: sha,
                resumed: true,
                url: url.to_string(),
            });
        };

        // Connections dropped before this response (redirects, abandoned attempts) do not count.
        wire.clear_excess();
        let headers = response.headers().clone();
        let length = header(&headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let expected = match (start, content_range_total(&headers), length) {
            (0, _, length) => length,
            (start, Some(total), Some(length)) if start + length != total => {
                return Err(DownloadError::InvalidResponse {
                    url: url.to_string(),
                    reason: format!(
                        "content-range total {total} is not {start} + content-length {length}"
                    ),
                });
            }
            (_, Some(total), _) => Some(total),
            (start, None, length) => length.map(|l| start + l),
        };
        let declared = self.check_headers(url, &headers, expected)?;

        let mut body = response.into_body().into_reader();
        let mut received = start;
        let read_err = |e: io::Error, received: u64| map_read(wire, url, e, received, expected);

        // The first bytes of the file: from the part file when continuing, then from the body.
        let mut head = if start > 0 {
            read_head(&part_path(final_path))?
        } else {
            Vec::new()
        };
        head.truncate(SNIFF_LEN);
        let mut new_bytes_in_head = 0usize;
        let mut head_error = None;
        while head.len() < SNIFF_LEN {
            let mut buf = vec![0u8; SNIFF_LEN - head.len()];
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    new_bytes_in_head += n;
                    received += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    head_error = Some(e);
                    break;
                }
            }
        }
        if head_error.is_some() && self.resume == Resume::Fresh {
            return Err(read_err(head_error.take().expect("checked"), received));
        }
        let kind = binary_io::sniff(&head);
        if let Some(declared) = &declared {
            // A cut head is only judged when it is long enough to mean something.
            if contradicts(declared, kind) && (head_error.is_none() || head.len() >= SNIFF_LEN) {
                return Err(DownloadError::TypeMismatch {
                    url: url.to_string(),
                    declared: declared.clone(),
                    sniffed: kind,
                });
            }
        }
        self.check_limit(wire, url, received - start, received)?;

        // Only now does a file appear in the destination folder.
        let mut sink = Sink::open(self.resume, final_path, start, &dir)?;
        if self.resume == Resume::Continue && start == 0 {
            Partial::save(final_path, url, &headers, expected)?;
        }
        let mut hasher = hashing.then(Sha256::new);
        if let Some(h) = hasher.as_mut() {
            if start > 0 {
                hash_prefix(h, &part_path(final_path), start)?;
            }
        }
        let fresh = &head[head.len() - new_bytes_in_head..];
        sink.write(fresh)?;
        if let Some(h) = hasher.as_mut() {
            h.update(fresh);
        }
        if let Some(e) = head_error {
            sink.keep_partial()?;
            return Err(read_err(e, received));
        }

        let mut reader = ProgressReader::new(body, expected).starting_at(received);
        if let Some(o) = observer {
            reader = reader.observer(Forward(o));
        }
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    sink.keep_partial()?;
                    return Err(read_err(e, received));
                }
            };
            received += n as u64;
            self.check_limit(wire, url, received - start, received)?;
            sink.write(&buf[..n])?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
        }
        reader.finish();
        if wire.had_excess() {
            return Err(DownloadError::TooLong {
                url: url.to_string(),
                expected: expected.unwrap_or(received),
            });
        }
        if let Some(expected) = expected {
            if received != expected {
                sink.keep_partial()?;
                return Err(DownloadError::Truncated {
                    url: url.to_string(),
                    expected,
                    received,
                });
            }
        }
        let sha = hasher.map(|h| hex(&h.finalize()));
        sink.sync()?;
        self.check_digest(url, sha.as_deref())?;
        match sink {
            Sink::Temp(tmp) => self.persist_temp(tmp, final_path)?,
            Sink::Part(file, _) => {
                drop(file);
                self.persist_part(final_path)?;
            }
        }
        sync_dir(&dir);
        Ok(Downloaded {
            path: final_path.to_path_buf(),
            bytes: received,
            content_type: declared,
            kind,
            sha256: sha,
            resumed: start > 0,
            url: url.to_string(),
        })
    }

    /// `body_bytes` arrived in this response; `total` is the file size so far.
    fn check_limit(
        &self,
        wire: &Wire,
        url: &str,
        body_bytes: u64,
        total: u64,
    ) -> Result<(), DownloadError> {
        if let Some(limit) = self.max_size {
            if total > limit {
                return Err(DownloadError::LimitExceeded {
                    url: url.to_string(),
                    limit,
                    decompressed: body_bytes > wire.raw_in(),
                });
            }
        }
        // More body than wire bytes means the server compressed it: cap the expansion.
        if body_bytes > wire.raw_in() && body_bytes > self.max_decompressed {
            return Err(DownloadError::LimitExceeded {
                url: url.to_string(),
                limit: self.max_decompressed,
                decompressed: true,
            });
        }
        Ok(())
    }

    fn check_digest(&self, url: &str, actual: Option<&str>) -> Result<(), DownloadError> {
        match (&self.sha256, actual) {
            (Some(expected), Some(actual)) if expected != actual => {
                Err(DownloadError::ChecksumMismatch {
                    url: url.to_string(),
                    expected: expected.clone(),
                    actual: actual.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    fn persist_temp(
        &self,
        tmp: tempfile::NamedTempFile,
        final_path: &Path,
    ) -> Result<(), DownloadError> {
        let result = match self.overwrite {
            Overwrite::Replace => tmp.persist(final_path).map(drop),
            Overwrite::Refuse => tmp.persist_noclobber(final_path).map(drop),
        };
        result.map_err(|e| match e.error.kind() {
            io::ErrorKind::AlreadyExists => DownloadError::Exists {
                path: final_path.to_path_buf(),
            },
            _ => io_err(final_path, e.error),
        })
    }

    fn persist_part(&self, final_path: &Path) -> Result<(), DownloadError> {
        let part = part_path(final_path);
        match self.overwrite {
            Overwrite::Replace => {
                fs::rename(&part, final_path).map_err(|e| io_err(final_path, e))?
            }
            Overwrite::Refuse => {
                // hard_link fails when the name exists: no window where a file is replaced.
                fs::hard_link(&part, final_path).map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => DownloadError::Exists {
                        path: final_path.to_path_buf(),
                    },
                    _ => io_err(final_path, e),
                })?;
                fs::remove_file(&part).map_err(|e| io_err(&part, e))?;
            }
        }
        let _ = fs::remove_file(sidecar_path(final_path));
        Ok(())
    }
}

/// Passes progress to a boxed observer.
struct Forward(Box<dyn ProgressObserver>);

impl ProgressObserver for Forward {
    fn on_progress(&mut self, p: &Progress) {
        self.0.on_progress(p);
    }
    fn on_finish(&mut self, p: &Progress) {
        self.0.on_finish(p);
    }
}

/// Where the bytes go: an anonymous temp file in the destination folder, or the `.part` file.
enum Sink {
    Temp(tempfile::NamedTempFile),
    Part(File, PathBuf),
}

impl Sink {
    fn open(
        resume: Resume,
        final_path: &Path,
        start: u64,
        dir: &Path,
    ) -> Result<Sink, DownloadError> {
        match resume {
            Resume::Fresh => {
                let stem = final_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = tempfile::Builder::new()
                    .prefix(&format!(".{stem}."))
                    .suffix(".fw-tmp")
                    .tempfile_in(dir)
                    .map_err(|e| io_err(dir, e))?;
                Ok(Sink::Temp(tmp))
            }
            Resume::Continue => {
                let part = part_path(final_path);
                let mut file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(start == 0)
                    .open(&part)
                    .map_err(|e| io_err(&part, e))?;
                if start > 0 {
                    file.set_len(start).map_err(|e| io_err(&part, e))?;
                    file.seek(SeekFrom::Start(start))
                        .map_err(|e| io_err(&part, e))?;
                }
                Ok(Sink::Part(file, part))
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(t) => {
                let path = t.path().to_path_buf();
                t.as_file_mut()
                    .write_all(bytes)
                    .map_err(|e| io_err(&path, e))
            }
            Sink::Part(f, p) => f.write_all(bytes).map_err(|e| io_err(p, e)),
        }
    }

    fn sync(&self) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(t) => sync(t.as_file(), t.path()),
            Sink::Part(f, p) => sync(f, p),
        }
    }

    /// Makes partial data durable before reporting a failure that keeps it.
    fn keep_partial(&self) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(_) => Ok(()),
            Sink::Part(f, p) => sync(f, p),
        }
    }
}

/// The resume state beside a `.part` file.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    total: Option<u64>,
}

/// Partial data found on disk that a Range request may continue.
#[derive(Debug)]
struct Partial {
    final_path: PathBuf,
    len: u64,
    sidecar: Sidecar,
}

impl Partial {
    fn load(final_path: &Path, url: &str) -> Option<Partial> {
        let len = fs::metadata(part_path(final_path)).ok()?.len();
        let text = fs::read_to_string(sidecar_path(final_path)).ok()?;
        let sidecar: Sidecar = serde_json::from_str(&text).ok()?;
        if sidecar.url != url || len == 0 {
            return None;
        }
        if sidecar.etag.is_none() && sidecar.last_modified.is_none() {
            // Without a validator a changed resource could not be told apart: start over.
            return None;
        }
        Some(Partial {
            final_path: final_path.to_path_buf(),
            len,
            sidecar,
        })
    }

    /// If-Range wants a strong ETag, else the Last-Modified date.
    fn validator(&self) -> Option<String> {
        match &self.sidecar.etag {
            Some(e) if !e.starts_with("W/") => Some(e.clone()),
            _ => self.sidecar.last_modified.clone(),
        }
    }

    fn save(
        final_path: &Path,
        url: &str,
        headers: &HeaderMap,
        total: Option<u64>,
    ) -> Result<(), DownloadError> {
        let sidecar = Sidecar {
            url: url.to_string(),
            etag: header(headers, "etag").map(str::to_string),
            last_modified: header(headers, "last-modified").map(str::to_string),
            total,
        };
        let path = sidecar_path(final_path);
        let text = serde_json::to_string(&sidecar).expect("sidecar serializes");
        fs::write(&path, text).map_err(|e| io_err(&path, e))
    }
}

fn discard(partial: &mut Option<Partial>) {
    *partial = None;
}

/// Failures after which partial data is still good for `--continue`.
fn keeps_partial(e: &DownloadError) -> bool {
    matches!(
        e,
        DownloadError::Truncated { .. }
            | DownloadError::Reset { .. }
            | DownloadError::Timeout { .. }
            | DownloadError::Network { .. }
            | DownloadError::Status { .. }
            | DownloadError::Exists { .. }
    )
}

/// `<final>.part`
pub fn part_path(final_path: &Path) -> PathBuf {
    let mut s = final_path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// `<final>.part.json`
pub fn sidecar_path(final_path: &Path) -> PathBuf {
    let mut s = final_path.as_os_str().to_owned();
    s.push(".part.json");
    PathBuf::from(s)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn check_url(url: &str) -> Result<(), DownloadError> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(DownloadError::InvalidUrl {
            url: url.to_string(),
            reason: "only http:// and https:// urls are supported".into(),
        });
    }
    Ok(())
}

/// Resolves a Location against the current URL; `None` for schemes other than http/https.
fn resolve_location(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    let scheme_end = location.find(':');
    let has_scheme = scheme_end.is_some_and(|i| {
        i > 0
            && location[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && location[..i].starts_with(|c: char| c.is_ascii_alphabetic())
    });
    if has_scheme {
        let scheme = location[..scheme_end?].to_ascii_lowercase();
        return matches!(scheme.as_str(), "http" | "https").then(|| location.to_string());
    }
    let (scheme, rest) = base.split_once("://")?;
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = rest[authority_end..].split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    if location.starts_with('?') {
        return Some(format!("{origin}{path}{location}"));
    }
    Some(format!("{origin}{dir}{location}"))
}

fn suggested_name(url: &str, headers: &HeaderMap) -> Result<String, DownloadError> {
    let disposition = headers.get("content-disposition").map(|v| {
        // Raw UTF-8 (or Latin-1) bytes are common in filename= even though RFC 6266 says ASCII.
        let bytes = v.as_bytes();
        String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|_| bytes.iter().map(|&b| char::from(b)).collect())
    });
    if let Some(raw) = disposition.as_deref().and_then(disposition_filename) {
        return safe_filename(&raw);
    }
    match url_filename(url) {
        Some(raw) => safe_filename(&raw),
        None => Err(DownloadError::UnsafeFilename {
            name: String::new(),
            reason: "the url names no file and the server suggested none",
        }),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn mime_essence(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn accepted(patterns: &[String], declared: Option<&str>) -> bool {
    let Some(declared) = declared else {
        return false;
    };
    patterns.iter().any(|p| {
        if p == "*/*" || p == declared {
            return true;
        }
        if let Some(prefix) = p.strip_suffix("/*") {
            return declared.split('/').next() == Some(prefix);
        }
        // Aliases such as image/jpg for image/jpeg.
        matches!((Kind::from_mime(p), Kind::from_mime(declared)), (Some(a), Some(b)) if a == b && a != Kind::Unknown)
    })
}

/// Whether the sniffed kind contradicts the declared type. Only types that promise a
/// signature are checked; `application/octet-stream` and unknown types promise nothing.
fn contradicts(declared: &str, sniffed: Kind) -> bool {
    let Some(kind) = Kind::from_mime(declared) else {
        return false;
    };
    match kind {
        Kind::Unknown => false,
        Kind::Text | Kind::Html => !matches!(sniffed, Kind::Text | Kind::Html | Kind::Unknown),
        promised => sniffed != promised,
    }
}

fn content_range_start(headers: &HeaderMap) -> Option<u64> {
    let v = header(headers, "content-range")?.trim();
    let spec = v.strip_prefix("bytes ")?.trim();
    let (range, _total) = spec.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    start.trim().parse().ok()
}

fn content_range_total(headers: &HeaderMap) -> Option<u64> {
    let v = header(headers, "content-range")?.trim();
    let (_, total) = v.rsplit_once('/')?;
    total.trim().parse().ok()
}

fn map_ureq(url: &str, e: ureq::Error, received: Option<u64>) -> DownloadError {
    match e {
        ureq::Error::Timeout(t) => DownloadError::Timeout {
            url: url.to_string(),
            phase: t.to_string(),
        },
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            DownloadError::Timeout {
                url: url.to_string(),
                phase: "read".into(),
            }
        }
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionReset => {
            DownloadError::Reset {
                url: url.to_string(),
                received: received.unwrap_or(0),
            }
        }
        ureq::Error::BadUri(reason) => DownloadError::InvalidUrl {
            url: url.to_string(),
            reason,
        },
        other => DownloadError::Network {
            url: url.to_string(),
            source: other,
        },
    }
}

fn map_read(
    wire: &Wire,
    url: &str,
    e: io::Error,
    received: u64,
    expected: Option<u64>,
) -> DownloadError {
    let e = ureq::Error::from(e);
    if wire.was_reset() {
        return DownloadError::Reset {
            url: url.to_string(),
            received,
        };
    }
    if let (ureq::Error::Io(io), Some(expected)) = (&e, expected) {
        if io.kind() == io::ErrorKind::UnexpectedEof {
            return DownloadError::Truncated {
                url: url.to_string(),
                expected,
                received,
            };
        }
    }
    map_ureq(url, e, Some(received))
}

fn io_err(path: &Path, source: io::Error) -> DownloadError {
    DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sync(file: &File, path: &Path) -> Result<(), DownloadError> {
    file.sync_all().map_err(|e| io_err(path, e))
}

/// Makes the rename durable; best effort (not every filesystem lets a folder be opened).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn read_head(path: &Path) -> Result<Vec<u8>, DownloadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    file.take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    Ok(head)
}

fn hash_prefix(h: &mut Sha256, path: &Path, len: u64) -> Result<(), DownloadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = reader.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

fn hash_file(path: &Path) -> Result<String, DownloadError> {
    let mut h = Sha256::new();
    hash_prefix(&mut h, path, u64::MAX)?;
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations_like_a_browser() {
        let base = "http://127.0.0.1:8080/a/b/c?x=1";
        assert_eq!(
            resolve_location(base, "/z").unwrap(),
            "http://127.0.0.1:8080/z"
        );
        assert_eq!(
            resolve_location(base, "d").unwrap(),
            "http://127.0.0.1:8080/a/b/d"
        );
        assert_eq!(
            resolve_location(base, "?y=2").unwrap(),
            "http://127.0.0.1:8080/a/b/c?y=2"
        );
        assert_eq!(
            resolve_location(base, "//other:1/p").unwrap(),
            "http://other:1/p"
        );
        assert_eq!(
            resolve_location(base, "HTTPS://h/p").unwrap(),
            "HTTPS://h/p"
        );
        assert_eq!(resolve_location("http://h", "x").unwrap(), "http://h/x");
    }

    #[test]
    fn refuses_redirects_to_other_schemes() {
        for loc in [
            "file:///etc/passwd",
            "ftp://127.0.0.1/x",
            "javascript:alert(1)",
            "data:,x",
        ] {
            assert_eq!(resolve_location("http://h/", loc), None, "{loc}");
        }
    }

    #[test]
    fn accept_patterns_match_wildcards_aliases_and_extensions() {
        let p = parse_accept("image/*, pdf").unwrap();
        assert_eq!(
            p,
            vec!["image/*".to_string(), "application/pdf".to_string()]
        );
        assert!(accepted(&p, Some("image/webp")));
        assert!(accepted(&p, Some("application/pdf")));
        assert!(!accepted(&p, Some("text/html")));
        assert!(!accepted(&p, None));
        assert!(accepted(&["image/jpeg".into()], Some("image/jpg")));
        assert!(parse_accept("nonsense").is_err());
    }

    #[test]
    fn html_served_as_jpeg_contradicts_but_octet_stream_promises_nothing() {
        assert!(contradicts("image/jpeg", Kind::Html));
        assert!(contradicts("image/png", Kind::Jpeg));
        assert!(contradicts("text/plain", Kind::Elf));
        assert!(!contradicts("image/jpeg", Kind::Jpeg));
        assert!(!contradicts("application/octet-stream", Kind::Html));
        assert!(!contradicts("application/x-unheard-of", Kind::Elf));
        assert!(!contradicts("text/html", Kind::Text));
    }

    #[test]
    fn reads_content_range() {
        let mut h = HeaderMap::new();
        h.insert("content-range", "bytes 100-199/1000".parse().unwrap());
        assert_eq!(content_range_start(&h), Some(100));
        assert_eq!(content_range_total(&h), Some(1000));
        h.insert("content-range", "bytes */1000".parse().unwrap());
        assert_eq!(content_range_start(&h), None);
        assert_eq!(content_range_total(&h), Some(1000));
    }

    #[test]
    fn part_and_sidecar_sit_beside_the_final_name() {
        let p = Path::new("/tmp/x/photo.jpg");
        assert_eq!(part_path(p), Path::new("/tmp/x/photo.jpg.part"));
        assert_eq!(sidecar_path(p), Path::new("/tmp/x/photo.jpg.part.json"));
    }
}
