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
//! assert_eq!(err.kind(), retry::FailureKind::Integrity);
//! assert!(!dir.path().join("photo.jpg").exists());
//! ```
//!
//! With [`Resume::Continue`] the data goes to `<final>.part` (with a small `<final>.part.json`
//! holding the URL, ETag, Last-Modified and total) and a later run asks for the rest with
//! `Range` and `If-Range`. The answer must prove it continues the part: a 206 with the recorded
//! validator and total and a range from the part's end; a 416 counts as "already complete" only
//! when the server's total is the recorded total and the part's size. Anything else starts over
//! (or fails with [`DownloadError::ResumeRefused`] when [`Downloader::restart`] is off).
//!
//! Redirects are followed by hand: `Authorization`, `Proxy-Authorization`, `Cookie` and a custom
//! `Host` header go only to the origin (scheme, host, port) they were given for, unless
//! [`Downloader::location_trusted`]. Every `Content-Encoding` is undone before writing (gzip,
//! x-gzip, deflate raw or zlib, any case, stacked) or refused ([`DownloadError::UnsupportedEncoding`]).
//! Besides the idle timeout there is a deadline for the status line and headers
//! ([`Downloader::header_timeout`]) and, optionally, for the whole transfer
//! ([`Downloader::max_time`]).
//!
//! Retries are off unless a [`retry::RetryPolicy`] is given ([`Downloader::retries`]);
//! [`Downloader::on_retry`] hears about each wait. [`batch`] downloads a list of URLs through a
//! [`batch_pool::Pool`] with a journal.
//!
//! What it does not do: no parallel range requests, no asking for compressed bodies (a server
//! that compresses anyway is decoded, and the decoded bytes count against the limits), no
//! cookie jar.

pub mod batch;
mod deadline;
mod decode;
mod disk;
mod error;
mod fetch;
mod meta;
mod name;
mod redirect;
mod resume;
mod wire;

pub use disk::{part_path, sidecar_path};
pub use error::DownloadError;
pub use meta::parse_accept;
pub use name::{
    MAX_NAME_BYTES, disposition_filename, safe_filename, shorten_filename, url_filename,
};

use binary_io::Kind;
use chunk_stream::{ProgressObserver, SharedObserver};
use deadline::Deadline;
use retry::{Decision, RetryPolicy};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limit for bodies the server compresses on its own (we ask for `identity`) when no
/// [`Downloader::max_size`] is set: 256 MiB.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 256 << 20;

/// The default deadline for the status line and headers: 30 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

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

/// A retry about to happen, for [`Downloader::on_retry`].
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// The URL being fetched.
    pub url: &'a str,
    /// Why the last try failed.
    pub error: &'a DownloadError,
    /// The wait the server asked for with Retry-After, if any.
    pub asked: Option<Duration>,
    /// The wait that will actually happen (Retry-After capped by the policy, or backoff).
    pub wait: Duration,
    /// The number of the coming try (2 for the first retry).
    pub next_try: u32,
    /// The cap on tries.
    pub max_tries: u32,
}

/// Called before each retry wait.
pub type RetryHook = Arc<dyn Fn(&RetryNotice<'_>) + Send + Sync>;

/// Called with the verified, fsynced file just before it takes its final name; an error stops
/// the rename. A batch journals its intent here, so that a run killed between the rename and the
/// journal's `done` line still knows the file at the final name as its own.
pub(crate) type CommitHook = Arc<dyn Fn(&Path) -> Result<(), DownloadError> + Send + Sync>;

/// Checked downloads; cheap to clone. Each fetch uses its own connection pool unless an agent
/// is shared with [`Downloader::agent_pool`].
#[derive(Clone)]
pub struct Downloader {
    connect_timeout: Duration,
    read_timeout: Duration,
    header_timeout: Duration,
    max_time: Option<Duration>,
    max_redirects: u32,
    location_trusted: bool,
    restart: bool,
    on_retry: Option<RetryHook>,
    shared_agent: Option<ureq::Agent>,
    /// With [`Resume::Continue`], bodies declared shorter than this go through a temp file
    /// (nothing worth resuming; saves the part and sidecar bookkeeping).
    min_part: u64,
    /// Whether each rename is made durable with an fsync of the folder (a batch does it once
    /// per folder at the end instead).
    sync_dirs: bool,
    before_commit: Option<CommitHook>,
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

impl fmt::Debug for Downloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downloader")
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("max_time", &self.max_time)
            .field("max_redirects", &self.max_redirects)
            .field("location_trusted", &self.location_trusted)
            .field("restart", &self.restart)
            .field("accept", &self.accept)
            .field("max_size", &self.max_size)
            .field("overwrite", &self.overwrite)
            .field("resume", &self.resume)
            .field("retry", &self.retry)
            // Header values may be secrets: names only.
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Downloader {
    fn default() -> Self {
        Downloader::new()
    }
}

impl Downloader {
    /// Defaults: connect timeout 10 s, idle read timeout 30 s, 30 s for the status line and
    /// headers, no overall deadline, 10 redirects (credentials kept to their origin), any type,
    /// no size limit (bodies the server compresses stop at [`DEFAULT_MAX_DECOMPRESSED`]), refuse
    /// to overwrite, no resume (and restart when resuming is impossible), one try.
    pub fn new() -> Downloader {
        Downloader {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_time: None,
            max_redirects: 10,
            location_trusted: false,
            restart: true,
            on_retry: None,
            shared_agent: None,
            min_part: 0,
            sync_dirs: true,
            before_commit: None,
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

    /// The longest wait from sending a request to the end of the response headers (default
    /// [`DEFAULT_HEADER_TIMEOUT`]): a server dripping its status line cannot hold a transfer.
    pub fn header_timeout(mut self, d: Duration) -> Self {
        self.header_timeout = d;
        self
    }

    /// An overall deadline for one fetch: redirects, body and retries included (default none).
    pub fn max_time(mut self, d: Option<Duration>) -> Self {
        self.max_time = d;
        self
    }

    /// Sends credential headers (`Authorization`, `Proxy-Authorization`, `Cookie`, `Host`) to
    /// every redirect target, not only to the first URL's origin (curl's `--location-trusted`).
    pub fn location_trusted(mut self, yes: bool) -> Self {
        self.location_trusted = yes;
        self
    }

    /// With [`Resume::Continue`]: whether to start over from zero when the server's answer
    /// does not continue the part (default true); false fails with
    /// [`DownloadError::ResumeRefused`] and keeps the part.
    pub fn restart(mut self, yes: bool) -> Self {
        self.restart = yes;
        self
    }

    /// Calls `hook` before every retry wait, e.g. to say on stderr that the server asked for a
    /// long Retry-After.
    pub fn on_retry(mut self, hook: impl Fn(&RetryNotice<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Shares one connection pool of `max_idle` idle connections (per host, too) between this
    /// downloader and its clones, so that a batch reuses connections across files. The agent
    /// takes the timeouts set so far: call this after them.
    pub fn agent_pool(mut self, max_idle: usize) -> Self {
        self.shared_agent = Some(self.build_agent(max_idle.max(1)));
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

    /// The retry policy set with [`Downloader::retries`].
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
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

    /// Runs attempts until one succeeds, the retry policy gives up or the deadline would pass.
    /// With [`Resume::Continue`] each retry continues the `.part` file.
    fn with_retries(
        &self,
        url: &str,
        target: &Target,
        observer: Option<&SharedObserver>,
    ) -> Result<Downloaded, DownloadError> {
        let started = Instant::now();
        let deadline = Deadline::start(self.max_time);
        let mut tries = 0;
        loop {
            tries += 1;
            let err = match self.run(url, target, observer, &deadline) {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            let wait = match self
                .retry
                .decide(&err, tries, started.elapsed(), fastrand::f64())
            {
                Decision::RetryIn(wait) if deadline.allows_wait(wait) => wait,
                _ => return Err(err),
            };
            if let Some(hook) = &self.on_retry {
                hook(&RetryNotice {
                    url,
                    error: &err,
                    asked: retry::Retryable::retry_after(&err),
                    wait,
                    next_try: tries + 1,
                    max_tries: self.retry.tries(),
                });
            }
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_headers_but_never_shows_their_values() {
        let d = Downloader::new().header("Authorization", "Bearer s3cret");
        let shown = format!("{d:?}");
        assert!(shown.contains("Authorization"));
        assert!(!shown.contains("s3cret"));
    }
}
