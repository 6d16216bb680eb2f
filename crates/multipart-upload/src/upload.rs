//! Sending a [`Form`] over ureq: policy first, then a streamed body with Content-Length.

use crate::{Form, MultipartReader, UploadError};
use chunk_stream::{ProgressObserver, ProgressReader, SharedObserver};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The most of a response body kept in [`Response::body`].
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default idle timeout: the longest a single socket read or write may wait.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// ureq's output buffer, which the body is read straight into: one file read and one socket
/// write per 64 KiB. Buffers of 128 KiB and more once cost twice the system time; that was not
/// their size but their address (malloc maps them 16 bytes into a page, the slow case of the
/// kernel's copy on AMD Zen), which the reader now corrects for any buffer (see form.rs). With
/// that, 64 KiB to 256 KiB measured alike on loopback; 64 KiB keeps the buffer in L1/L2.
pub(crate) const SEND_BUFFER_BYTES: usize = 64 * 1024;
/// The most of an error response's body kept in [`UploadError::Status`].
const ERROR_BODY_BYTES: usize = 4096;

/// Uploads forms ([`Uploader::send`]) and raw file bodies ([`Uploader::put`]); [`crate::Tus`]
/// sends through one too. Cheap to clone; clones share one connection pool.
///
/// There is deliberately no way to send anything but a [`Form`] or a [`crate::FileBody`]: a
/// request cannot mix a JSON body with files. Send JSON as a text field (or as a file part with
/// type `application/json`).
#[derive(Clone)]
pub struct Uploader {
    agent: ureq::Agent,
    connect_timeout: Duration,
    idle_timeout: Duration,
    policy: Option<Arc<binary_io::FilePolicy>>,
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may hold credentials: print names only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Uploader")
            .field("policy", &self.policy.is_some())
            .field("headers", &names)
            .finish()
    }
}

impl Default for Uploader {
    fn default() -> Self {
        Uploader::new()
    }
}

fn agent(connect: Duration, idle: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A streamed body cannot be replayed to a redirect target.
        .max_redirects(0)
        .timeout_connect(Some(connect))
        .timeout_per_read(Some(idle))
        .timeout_per_write(Some(idle))
        .user_agent(concat!("filewire/", env!("CARGO_PKG_VERSION")))
        .output_buffer_size(SEND_BUFFER_BYTES)
        .build()
        .new_agent()
}

/// The server's successful (2xx) answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
    /// The URL that answered.
    pub url: String,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, UploadError> {
        serde_json::from_slice(&self.body).map_err(|e| UploadError::InvalidResponse {
            url: self.url.clone(),
            reason: format!("body is not the expected json: {e}"),
        })
    }
}

impl Uploader {
    /// An uploader with a connect timeout of 10 s and an idle (per read or write) timeout of 30 s.
    pub fn new() -> Uploader {
        Uploader {
            agent: agent(DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            policy: None,
            headers: Vec::new(),
        }
    }

    /// Sets the idle timeout: the longest a socket read or write may wait (default 30 s). A
    /// large upload that keeps moving is never cut off. The same meaning as
    /// `safe_download::Downloader::timeout`; the connect timeout is [`Uploader::connect_timeout`].
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self.agent = agent(self.connect_timeout, idle);
        self
    }

    /// Sets the connect timeout: the longest wait for a TCP (and TLS) connection (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self.agent = agent(d, self.idle_timeout);
        self
    }

    /// Checks every file part against `p` before any byte is sent (before connecting).
    pub fn policy(mut self, p: binary_io::FilePolicy) -> Self {
        self.policy = Some(Arc::new(p));
        self
    }

    /// Adds a request header (e.g. an API key; never printed by this crate).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Checks `form` against the policy, then posts it to `url`.
    pub fn send(&self, url: &str, form: Form) -> Result<Response, UploadError> {
        self.send_inner(url, form, None)
    }

    /// Like [`Uploader::send`], reporting the body's progress to `observer` as it is sent.
    pub fn send_with_progress(
        &self,
        url: &str,
        form: Form,
        observer: impl ProgressObserver + 'static,
    ) -> Result<Response, UploadError> {
        // A boundary collision restarts the body: every attempt reports to the one observer.
        let shared = SharedObserver::new(observer);
        self.send_inner(url, form, Some(shared))
    }

    /// Checks every file part of `form` against the policy, if one is set.
    pub fn check(&self, form: &Form) -> Result<(), UploadError> {
        if let Some(policy) = &self.policy {
            for part in form.files() {
                part.check(policy)?;
            }
        }
        Ok(())
    }

    fn send_inner(
        &self,
        url: &str,
        form: Form,
        observer: Option<SharedObserver>,
    ) -> Result<Response, UploadError> {
        self.check(&form)?;
        let mut body = form.into_reader();
        // One retry with a fresh boundary; a second collision means the content targets it.
        for attempt in 0..2 {
            match self.attempt(url, &mut body, observer.clone()) {
                Err(UploadError::BoundaryCollision { .. }) if attempt == 0 => {
                    body.restart_with_new_boundary()?;
                }
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    fn attempt(
        &self,
        url: &str,
        body: &mut MultipartReader,
        observer: Option<SharedObserver>,
    ) -> Result<Response, UploadError> {
        let request = self
            .agent
            .post(url)
            .header("Content-Type", body.content_type())
            .header("Content-Length", body.content_length().to_string());
        // The body's own type and length win over headers of the same name.
        let request = self.request(request, &["content-type", "content-length"]);
        let total = body.content_length();
        let result = match observer {
            Some(shared) => {
                let mut reader = ProgressReader::new(&mut *body, Some(total)).observer(shared);
                let result = request.send(ureq::SendBody::from_reader(&mut reader));
                if result.is_ok() {
                    reader.finish();
                }
                result
            }
            None => request.send(ureq::SendBody::from_reader(body)),
        };
        let (response, _headers) = answer(url, result)?;
        Ok(response)
    }

    /// The request builder for `method` with the uploader's headers, minus any whose name is in
    /// `replaced` (set by the caller instead).
    pub(crate) fn request<B>(
        &self,
        mut request: ureq::RequestBuilder<B>,
        replaced: &[&str],
    ) -> ureq::RequestBuilder<B> {
        for (name, value) in &self.headers {
            if !replaced.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        request
    }

    /// Whether a header named `name` was set with [`Uploader::header`].
    pub(crate) fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub(crate) fn file_policy(&self) -> Option<&binary_io::FilePolicy> {
        self.policy.as_deref()
    }
}

/// Reads the answer to a request: the body (at most [`MAX_RESPONSE_BYTES`]) and headers; a
/// status outside 2xx is an [`UploadError::Status`].
pub(crate) fn answer(
    url: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(Response, ureq::http::HeaderMap), UploadError> {
    let mut response = result.map_err(|e| map_error(url, e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let retry_after =
        header("retry-after").and_then(|v| retry::parse_retry_after(&v, SystemTime::now()));
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => UploadError::InvalidResponse {
                url: url.to_string(),
                reason: format!("answer is larger than {MAX_RESPONSE_BYTES} bytes"),
            },
            e => map_error(url, e),
        })?;
    if !(200..300).contains(&status) {
        let end = bytes.len().min(ERROR_BODY_BYTES);
        return Err(UploadError::Status {
            url: url.to_string(),
            status,
            body: String::from_utf8_lossy(&bytes[..end]).into_owned(),
            retry_after,
        });
    }
    Ok((
        Response {
            status,
            content_type,
            body: bytes,
            url: url.to_string(),
        },
        headers,
    ))
}

/// Turns a ureq error into ours, unwrapping errors the body reader raised.
pub(crate) fn map_error(url: &str, e: ureq::Error) -> UploadError {
    match e {
        ureq::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<UploadError>()) => {
            let inner = io.into_inner().expect("checked above");
            *inner.downcast::<UploadError>().expect("checked above")
        }
        ureq::Error::Timeout(_) => UploadError::Timeout {
            url: url.to_string(),
        },
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => UploadError::Timeout {
            url: url.to_string(),
        },
        ureq::Error::BadUri(reason) => UploadError::InvalidRequest {
            url: url.to_string(),
            reason,
        },
        ureq::Error::Http(e) => UploadError::InvalidRequest {
            url: url.to_string(),
            reason: e.to_string(),
        },
        source => UploadError::Network {
            url: url.to_string(),
            source,
        },
    }
}
