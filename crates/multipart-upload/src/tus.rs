//! Resumable uploads over the tus 1.0 protocol (core and creation extension): [`Tus`].
//!
//! A new upload is created with a POST (`Upload-Length`, `Upload-Metadata` with the filename and
//! type) after an OPTIONS that learns `Tus-Max-Size`; then the file goes out in PATCHes of
//! [`Tus::chunk_size`] bytes, each with its own tries under a [`RetryPolicy`]. After a failed
//! PATCH a HEAD asks the server for its offset, so only what it lacks is sent again. The upload
//! URL is remembered in the state folder per (endpoint, file), so a later process (after a
//! crash or a SIGKILL) continues where the server stopped.

use crate::tus_state::{Record, Store};
use crate::upload::answer;
use crate::{FileBody, UploadError, Uploader};
use chunk_stream::{Progress, ProgressObserver, ProgressReader, SharedObserver};
use retry::{Decision, RetryPolicy, Retryable};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The protocol version spoken, sent as `Tus-Resumable` on every request.
pub const TUS_VERSION: &str = "1.0.0";
/// The default PATCH size: 4 MiB, few enough requests for speed, little to resend after a drop.
pub const DEFAULT_TUS_CHUNK_SIZE: u64 = 4 * 1024 * 1024;
/// How many times one run starts over with a new upload when the server says the upload is
/// gone (404/410) partway.
const MAX_NEW_UPLOADS: u32 = 2;

/// Whether to continue an upload remembered from an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resume {
    /// Ask the server for the remembered upload's offset and send only the rest.
    #[default]
    Continue,
    /// Ignore any remembered upload and create a new one (which is then remembered).
    StartOver,
}

/// Uploads files to a tus 1.0 endpoint, resuming across processes.
///
/// ```no_run
/// use multipart_upload::{FileBody, Tus, Uploader};
///
/// let tus = Tus::new(Uploader::new()).chunk_size(8 * 1024 * 1024);
/// let done = tus.upload("http://127.0.0.1:1080/files/", FileBody::open("video.mp4")?)?;
/// println!("{} bytes at {}", done.size, done.upload_url);
/// # Ok::<(), multipart_upload::UploadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tus {
    uploader: Uploader,
    chunk_size: u64,
    retry: RetryPolicy,
    state_dir: Option<PathBuf>,
    resume: Resume,
}

/// What a finished tus upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TusOutcome {
    /// The upload's URL on the server.
    pub upload_url: String,
    /// The file's size.
    pub size: u64,
    /// The server's offset when this run started sending (0 for a new upload).
    pub start_offset: u64,
    /// File bytes this run put into PATCH bodies, resent bytes included.
    pub sent: u64,
    /// Whether this run continued an upload remembered from an earlier one.
    pub resumed: bool,
    /// Uploads this run created (more than 1 when the server dropped one partway).
    pub created: u32,
    /// Failed requests that were tried again.
    pub retries: u32,
}

impl Tus {
    /// Sends with `uploader` (its timeouts, headers and policy), in chunks of
    /// [`DEFAULT_TUS_CHUNK_SIZE`], under the default [`RetryPolicy`], remembering uploads in
    /// [`crate::default_state_dir`].
    pub fn new(uploader: Uploader) -> Tus {
        Tus {
            uploader,
            chunk_size: DEFAULT_TUS_CHUNK_SIZE,
            retry: RetryPolicy::new(),
            state_dir: crate::default_state_dir(),
            resume: Resume::Continue,
        }
    }

    /// The most file bytes per PATCH (at least 1).
    pub fn chunk_size(mut self, bytes: u64) -> Tus {
        self.chunk_size = bytes.max(1);
        self
    }

    /// The tries and waits for each request (each PATCH has its own count).
    pub fn retry(mut self, policy: RetryPolicy) -> Tus {
        self.retry = policy;
        self
    }

    /// Remembers uploads under `dir` (a `tus` folder is made inside) instead of the default.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Tus {
        self.state_dir = Some(dir.into());
        self
    }

    /// Whether a remembered upload is continued.
    pub fn resume(mut self, resume: Resume) -> Tus {
        self.resume = resume;
        self
    }

    /// Checks `body` against the uploader's policy, then uploads it to `endpoint`, continuing
    /// the upload an earlier run left for the same endpoint and file when there is one.
    pub fn upload(&self, endpoint: &str, body: FileBody) -> Result<TusOutcome, UploadError> {
        self.upload_inner(endpoint, body, None)
    }

    /// Like [`Tus::upload`], reporting progress over the whole file to `observer`.
    pub fn upload_with_progress(
        &self,
        endpoint: &str,
        body: FileBody,
        observer: impl ProgressObserver + 'static,
    ) -> Result<TusOutcome, UploadError> {
        self.upload_inner(endpoint, body, Some(SharedObserver::new(observer)))
    }

    fn upload_inner(
        &self,
        endpoint: &str,
        body: FileBody,
        observer: Option<SharedObserver>,
    ) -> Result<TusOutcome, UploadError> {
        self.uploader.check_body(&body)?;
        let canonical = std::fs::canonicalize(body.path()).map_err(|source| UploadError::Io {
            path: body.path().to_path_buf(),
            source,
        })?;
        let store = self.state_dir.as_deref().map(Store::new);
        let record_file = store.as_ref().map(|s| s.file_for(endpoint, &canonical));
        let mut run = Run {
            tus: self,
            endpoint,
            body,
            canonical,
            store,
            record_file,
            observer,
            outcome: TusOutcome {
                upload_url: String::new(),
                size: 0,
                start_offset: 0,
                sent: 0,
                resumed: false,
                created: 0,
                retries: 0,
            },
        };
        run.outcome.size = run.body.size();
        run.go()
    }

    /// Calls `f` until it succeeds or the policy gives up; counts retries in `retries`.
    fn retrying<T>(
        &self,
        retries: &mut u32,
        mut f: impl FnMut() -> Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match f() {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            match self
                .retry
                .decide(&TusRetry(&error), tries, started.elapsed(), fastrand::f64())
            {
                Decision::RetryIn(wait) => {
                    *retries += 1;
                    std::thread::sleep(wait);
                }
                Decision::GiveUp(_) => return Err(error),
            }
        }
    }
}

/// tus adds two answers worth another try to the shared ones: 409 (the offset did not match:
/// ask again and continue from the server's) and 460 (the chunk's checksum failed).
struct TusRetry<'a>(&'a UploadError);

impl Retryable for TusRetry<'_> {
    fn is_retryable(&self) -> bool {
        matches!(self.0.status(), Some(409 | 460)) || self.0.is_retryable()
    }

    fn retry_after(&self) -> Option<Duration> {
        match self.0.status() {
            // The offset is learned at once: there is nothing to wait for.
            Some(409) => Some(Duration::ZERO),
            _ => Retryable::retry_after(self.0),
        }
    }
}

/// Whether the server no longer has the upload (expired, removed, or never kept).
fn is_gone(e: &UploadError) -> bool {
    matches!(e.status(), Some(404 | 410))
}

/// One upload in progress.
struct Run<'a> {
    tus: &'a Tus,
    endpoint: &'a str,
    body: FileBody,
    canonical: PathBuf,
    store: Option<Store>,
    record_file: Option<PathBuf>,
    observer: Option<SharedObserver>,
    outcome: TusOutcome,
}

impl Run<'_> {
    fn go(mut self) -> Result<TusOutcome, UploadError> {
        let size = self.body.size();
        let (url, mut offset) = match self.remembered()? {
            Some(found) => found,
            None => {
                self.check_max_size()?;
                (self.create()?, 0)
            }
        };
        self.outcome.upload_url = url;
        self.outcome.start_offset = offset;
        while offset < size {
            let mut retries = self.outcome.retries;
            let result = {
                // After a failed PATCH the server may hold part of the chunk: ask before the
                // next try. A failed HEAD leaves the question open.
                let mut need_offset = false;
                let mut current = offset;
                let tus = self.tus;
                let this = &mut self;
                tus.retrying(&mut retries, || {
                    if need_offset {
                        let url = this.outcome.upload_url.clone();
                        current = this.head(&url)?.1;
                        need_offset = false;
                    }
                    if current >= size {
                        return Ok(current);
                    }
                    let sent = this.patch(current);
                    need_offset = sent.is_err();
                    sent
                })
            };
            self.outcome.retries = retries;
            match result {
                Ok(now) => offset = now,
                Err(e) if is_gone(&e) && self.outcome.created < MAX_NEW_UPLOADS => {
                    // Expired or lost: the server keeps nothing of it, so start over.
                    self.forget()?;
                    self.outcome.upload_url = self.create()?;
                    offset = 0;
                }
                Err(e) => return Err(self.explain(e)),
            }
        }
        self.forget()?;
        if let Some(observer) = self.observer.as_mut() {
            observer.on_finish(&Progress {
                bytes: size,
                total: Some(size),
                elapsed: Duration::ZERO,
                start_bytes: self.outcome.start_offset,
            });
        }
        Ok(self.outcome)
    }

    /// The remembered upload for this endpoint and file, with the server's offset, unless
    /// resumption is off, nothing is remembered, the file changed since, or the server no longer
    /// has it.
    fn remembered(&mut self) -> Result<Option<(String, u64)>, UploadError> {
        let (Some(store), Some(file)) = (&self.store, &self.record_file) else {
            return Ok(None);
        };
        if self.tus.resume == Resume::StartOver {
            return Ok(None);
        }
        let Some(record) = store.load(file, self.endpoint, &self.canonical) else {
            return Ok(None);
        };
        if !record.matches(&self.body) {
            return Ok(None);
        }
        let mut retries = self.outcome.retries;
        let head = self
            .tus
            .retrying(&mut retries, || self.head(&record.upload_url));
        self.outcome.retries = retries;
        match head {
            Ok((Some(length), _)) if length != self.body.size() => Ok(None),
            Ok((_, offset)) if offset <= self.body.size() => {
                self.outcome.resumed = true;
                Ok(Some((record.upload_url, offset)))
            }
            Ok((_, offset)) => Err(UploadError::InvalidResponse {
                url: record.upload_url,
                reason: format!(
                    "Upload-Offset {offset} is past the file's {} bytes",
                    self.body.size()
                ),
            }),
            Err(e) if is_gone(&e) => Ok(None),
            Err(e) => Err(self.explain(e)),
        }
    }

    /// Refuses, before any file byte is sent, a file larger than the server's `Tus-Max-Size`
    /// (learned with OPTIONS; a server that does not answer OPTIONS is judged by its POST).
    fn check_max_size(&mut self) -> Result<(), UploadError> {
        let url = self.endpoint;
        let uploader = &self.tus.uploader;
        let mut retries = self.outcome.retries;
        let answer = self.tus.retrying(&mut retries, || {
            let request = uploader.request(uploader.agent().options(url), &[]);
            answer(url, request.call())
        });
        self.outcome.retries = retries;
        let headers = match answer {
            Ok((_, headers)) => headers,
            Err(UploadError::Status { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(versions) = header("tus-version")
            && !versions.split(',').any(|v| v.trim() == TUS_VERSION)
        {
            return Err(UploadError::Unsupported {
                url: url.to_string(),
                reason: format!("it speaks tus {versions}, not {TUS_VERSION}"),
            });
        }
        let max = header("tus-max-size").and_then(|v| v.trim().parse::<u64>().ok());
        match max {
            Some(max) if self.body.size() > max => Err(UploadError::TooLargeForServer {
                path: self.body.path().to_path_buf(),
                size: self.body.size(),
                max,
            }),
            _ => Ok(()),
        }
    }

    /// Creates an upload with a POST and remembers its URL.
    fn create(&mut self) -> Result<String, UploadError> {
        let url = self.endpoint;
        let metadata = format!(
            "filename {},filetype {}",
            base64(self.body.file_name().as_bytes()),
            base64(self.body.mime().as_bytes())
        );
        let uploader = &self.tus.uploader;
        let size = self.body.size().to_string();
        let mut retries = self.outcome.retries;
        let created = self.tus.retrying(&mut retries, || {
            let request = uploader
                .agent()
                .post(url)
                .header("Tus-Resumable", TUS_VERSION)
                .header("Upload-Length", size.as_str())
                .header("Upload-Metadata", metadata.as_str());
            let request = uploader.request(
                request,
                &["tus-resumable", "upload-length", "upload-metadata"],
            );
            answer(url, request.send_empty())
        });
        self.outcome.retries = retries;
        let (_, headers) = created.map_err(|e| self.explain(e))?;
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| UploadError::InvalidResponse {
                url: url.to_string(),
                reason: "the creation answer has no Location".to_string(),
            })?;
        let upload_url = resolve(url, location);
        self.outcome.created += 1;
        if let (Some(store), Some(file)) = (&self.store, &self.record_file) {
            let record = Record::new(self.endpoint, &self.canonical, &self.body, &upload_url);
            store.save(file, &record)?;
        }
        Ok(upload_url)
    }

    /// The server's `Upload-Length` (when it sends one) and `Upload-Offset` for `url`.
    fn head(&self, url: &str) -> Result<(Option<u64>, u64), UploadError> {
        let request = self
            .tus
            .uploader
            .agent()
            .head(url)
            .header("Tus-Resumable", TUS_VERSION);
        let request = self.tus.uploader.request(request, &["tus-resumable"]);
        let (_, headers) = answer(url, request.call())?;
        let length = number(&headers, "upload-length");
        let offset =
            number(&headers, "upload-offset").ok_or_else(|| UploadError::InvalidResponse {
                url: url.to_string(),
                reason: "the HEAD answer has no valid Upload-Offset".to_string(),
            })?;
        Ok((length, offset))
    }

    /// Sends the chunk starting at `offset`; returns the server's new offset.
    fn patch(&mut self, offset: u64) -> Result<u64, UploadError> {
        let url = self.outcome.upload_url.clone();
        let size = self.body.size();
        let len = self.tus.chunk_size.min(size - offset);
        let request = self
            .tus
            .uploader
            .agent()
            .patch(&url)
            .header("Tus-Resumable", TUS_VERSION)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .header("Content-Length", len.to_string());
        let request = self.tus.uploader.request(
            request,
            &[
                "tus-resumable",
                "upload-offset",
                "content-type",
                "content-length",
            ],
        );
        self.outcome.sent += len;
        let observer = self.observer.clone();
        let reader = self.body.range(offset, len)?;
        let result = match observer {
            Some(observer) => {
                let mut reader = ProgressReader::new(reader, Some(size))
                    .starting_at(offset)
                    .observer(observer);
                request.send(ureq::SendBody::from_reader(&mut reader))
            }
            None => {
                let mut reader = reader;
                request.send(ureq::SendBody::from_reader(&mut reader))
            }
        };
        let (_, headers) = answer(&url, result)?;
        match number(&headers, "upload-offset") {
            Some(now) if now > offset && now <= offset + len => Ok(now),
            Some(now) => Err(UploadError::InvalidResponse {
                url,
                reason: format!(
                    "Upload-Offset {now} after sending bytes {offset}..{}",
                    offset + len
                ),
            }),
            None => Err(UploadError::InvalidResponse {
                url,
                reason: "the PATCH answer has no valid Upload-Offset".to_string(),
            }),
        }
    }

    /// Forgets the remembered upload.
    fn forget(&self) -> Result<(), UploadError> {
        match (&self.store, &self.record_file) {
            (Some(store), Some(file)) => store.remove(file),
            _ => Ok(()),
        }
    }

    /// Turns tus's 412 (no common protocol version) into a clear error.
    fn explain(&self, e: UploadError) -> UploadError {
        match e {
            UploadError::Status {
                status: 412, url, ..
            } => UploadError::Unsupported {
                url,
                reason: format!("it refused tus {TUS_VERSION} (412 Precondition Failed)"),
            },
            e => e,
        }
    }
}

fn number(headers: &ureq::http::HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `location` made absolute against `base` (servers may answer with a path).
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let folder = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{folder}{location}")
}

/// Standard base64 with padding, as `Upload-Metadata` values are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn locations_resolve_against_the_endpoint() {
        let e = "http://127.0.0.1:1080/files/?x=1";
        assert_eq!(resolve(e, "http://h/u/1"), "http://h/u/1");
        assert_eq!(resolve(e, "/files/abc"), "http://127.0.0.1:1080/files/abc");
        assert_eq!(resolve(e, "abc"), "http://127.0.0.1:1080/files/abc");
        assert_eq!(
            resolve("http://127.0.0.1:1080", "abc"),
            "http://127.0.0.1:1080/abc"
        );
    }

    #[test]
    fn conflicts_and_checksum_failures_are_tried_again_and_gone_is_not() {
        let status = |code| UploadError::Status {
            url: "u".into(),
            status: code,
            body: String::new(),
            retry_after: None,
        };
        assert!(TusRetry(&status(409)).is_retryable());
        assert_eq!(TusRetry(&status(409)).retry_after(), Some(Duration::ZERO));
        assert!(TusRetry(&status(460)).is_retryable());
        assert!(TusRetry(&status(503)).is_retryable());
        assert!(!TusRetry(&status(410)).is_retryable());
        assert!(is_gone(&status(410)) && is_gone(&status(404)));
        assert!(!TusRetry(&status(413)).is_retryable());
    }
}
