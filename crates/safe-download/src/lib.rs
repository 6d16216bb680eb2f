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
//! Retries are off unless a [`batch_pool::RetryPolicy`] is given ([`Downloader::retries`]).
//!
//! What it does not do: no parallel range requests, no asking for compressed bodies (a server
//! that compresses anyway is decoded, and the decoded bytes count against the limits), no
//! cookies or authentication.

mod disk;
mod error;
mod meta;
mod name;
mod wire;

pub use disk::{part_path, sidecar_path};
pub use error::DownloadError;
pub use meta::parse_accept;
pub use name::{disposition_filename, safe_filename, url_filename};

use batch_pool::{Decision, RetryPolicy};
use binary_io::{Kind, SNIFF_LEN};
use chunk_stream::{ProgressObserver, ProgressReader, SharedObserver};
use disk::{
    Dest, Partial, Sink, discard, hash_file, hash_prefix, hex, io_err, keeps_partial, parent_dir,
    read_head, sync, sync_dir,
};
use meta::{
    accepted, check_url, content_range_start, content_range_total, contradicts, header, map_read,
    map_ureq, mime_essence, resolve_location, suggested_name,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use ureq::http::{HeaderMap, Response};
use wire::{WatchConnector, Wire};

/// Limit for bodies the server compresses on its own (we ask for `identity`) when no
/// [`Downloader::max_size`] is set: 256 MiB.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 256 << 20;

/// Bytes read from the connection per call.
const READ_CHUNK: usize = 256 * 1024;

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
    retry: RetryPolicy,
}

impl Default for Downloader {
    fn default() -> Self {
        Downloader::new()
    }
}

impl Downloader {
    /// Defaults: connect timeout 10 s, idle read timeout 30 s, 10 redirects, any type, no size
    /// limit (bodies the server compresses stop at [`DEFAULT_MAX_DECOMPRESSED`]), refuse to
    /// overwrite, no resume, one try.
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
            retry: RetryPolicy::no_retries(),
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

    /// The most bytes a body the server compressed may expand to when no
    /// [`Downloader::max_size`] is set (default [`DEFAULT_MAX_DECOMPRESSED`]).
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

    /// When to try again after a retryable failure (network, timeout, cut, 429/5xx); the
    /// default is one try. Combine with [`Resume::Continue`] to continue where a cut left off.
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// An extra request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Downloads `url` to `target`.
    pub fn fetch(&self, url: &str, target: &Target) -> Result<Downloaded, DownloadError> {
        self.with_retries(url, target, None)
    }

    /// Downloads `url` to `target`, reporting progress (bytes include resumed data).
    pub fn fetch_with_progress(
        &self,
        url: &str,
        target: &Target,
        observer: impl ProgressObserver + 'static,
    ) -> Result<Downloaded, DownloadError> {
        // Retries resume the same transfer: every attempt reports to the one observer.
        let shared = SharedObserver::new(observer);
        self.with_retries(url, target, Some(&shared))
    }

    /// Runs attempts until one succeeds or the retry policy gives up. With
    /// [`Resume::Continue`] each retry continues the `.part` file.
    fn with_retries(
        &self,
        url: &str,
        target: &Target,
        observer: Option<&SharedObserver>,
    ) -> Result<Downloaded, DownloadError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let err = match self.run(url, target, observer) {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            match self
                .retry
                .decide(&err, tries, started.elapsed(), fastrand::f64())
            {
                Decision::RetryIn(wait) => std::thread::sleep(wait),
                Decision::GiveUp(_) => return Err(err),
            }
        }
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
        observer: Option<&SharedObserver>,
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
        observer: Option<&SharedObserver>,
    ) -> Result<Downloaded, DownloadError> {
        let dir = parent_dir(final_path);
        let hashing = self.sha256.is_some() || self.hashing == Hashing::Always;

        // Everything already on disk (416 to our range): verify the part file and finish.
        let Some(response) = response else {
            if let Some(limit) = self.max_size.filter(|&l| start > l) {
                return Err(DownloadError::TooLarge {
                    url: url.to_string(),
                    limit,
                    declared: start,
                });
            }
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
            reader = reader.observer(o.clone());
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
        let dest = sink.finish()?;
        self.check_digest(url, sha.as_deref())?;
        match dest {
            Dest::Temp(tmp) => self.persist_temp(tmp, final_path)?,
            Dest::Part(file, _) => {
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
        // More body than wire bytes means the server compressed it: cap the expansion unless
        // the caller chose a size limit.
        let expanding = body_bytes > wire.raw_in();
        if self.max_size.is_none() && expanding && body_bytes > self.max_decompressed {
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
