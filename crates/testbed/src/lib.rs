//! A loopback HTTP/1.1 server for tests and demos: multipart echo, static files with ranges,
//! faults, rate limits and an OCR.space-shaped endpoint.
//!
//! Its one job is to be a real, misbehaving-on-demand peer on `127.0.0.1`, port 0, so that the
//! project's clients are tested over real sockets. It is hand-written blocking HTTP/1.1 over
//! `std::net` (a thread per connection, keep-alive, at most 256 live connections) with its own
//! streaming multipart parser: it shares no code with the crates it tests.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let server = testbed::Testbed::start()?;
//! let mut conn = std::net::TcpStream::connect(server.addr())?;
//! conn.write_all(b"GET /fault/status/418 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 418 "));
//! assert_eq!(server.stats().requests, 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Endpoints
//!
//! | request | answer |
//! |---|---|
//! | `POST /upload[?delay_ms=N]` | multipart echo, 200 JSON `{"fields": {name: last value}, "field_list": [[name, value]...], "files": [{"field","filename","content_type","size","sha256"}], "content_length": N or null, "chunked": bool}`; malformed body: 400 `{"error": ...}`. Content-Length or chunked bodies, `Expect: 100-continue` honoured |
//! | `GET\|HEAD /files/<name>` | file from [`TestbedBuilder::files_dir`]: Content-Type by extension, strong ETag, Last-Modified, `Range` (`a-b`, `a-`, `-n`: 206 + Content-Range; unsatisfiable: 416), `If-Range` (ETag or date; no match: full 200), 404 missing, 403 for `..` |
//! | `GET /flaky/<name>?cut_after=N` | as `/files`, but the first full (non-Range) GET of each name is cut after N body bytes (default half); `&ignore_range=1`: later answers are full 200s whatever the Range; `&change_etag=1`: ETag and Last-Modified change at the cut |
//! | `GET /bytes/<n>?seed=S[&chunked=1]` | n bytes of [`PseudoRandomBytes`], streamed with Content-Length (or chunked, without a length) |
//! | `GET /fault/lying-type` | 200 `image/jpeg` with an HTML body |
//! | `GET /fault/short` / `long` | Content-Length 100000 with 50000 bytes / 1000 with 5000, then close |
//! | `GET /fault/endless` | no Content-Length, never ends (until the client leaves or 4 GiB) |
//! | `GET /fault/drip?interval_ms=N` | Content-Length 1000, one byte every N ms (default 2000) |
//! | `GET /fault/reset?after=N` | Content-Length 100000, N bytes (default 1000), then a TCP RST |
//! | `GET /fault/gzip-bomb` | `Content-Encoding: gzip`, about 1 MiB that inflates to 1 GiB of zeros |
//! | `GET /fault/disposition?filename=RAW` | `Content-Disposition: attachment; filename="RAW"` (percent-decoded; CR, LF, NUL dropped); `filename_star=RAW` adds `filename*=UTF-8''RAW` as sent |
//! | `GET /fault/redirect-loop`, `redirect-chain?n=K`, `redirect-scheme[?to=ftp]` | 302 to itself; K hops then 200 "arrived"; 302 to `file:///etc/passwd` or `ftp://127.0.0.1/x` |
//! | `GET /fault/status/<code>` | that status (200..=599) with a short text body |
//! | `GET /fault/storm?fail=K&key=X` | the first K requests per key: 503 + `Retry-After: 0`; then 200 "ok" |
//! | `POST /ratelimit/upload` | at most K in service ([`TestbedBuilder::rate_limit`]); beyond: 429 + Retry-After ([`RetryAfterStyle`]); else the `/upload` echo after the service time (from arrival), plus `"idempotency_key"`; `X-Idempotency-Key` is echoed as a header |
//! | `POST /parse/image` | OCR.space-shaped: key from header or field `apikey` (missing or `invalid`: 403 JSON); `scenario` field or query: `success` (default), `partial`, `error`, `timeout`, `echo-text` (ParsedText = field or query `text_hint`, else "TOTAL 12.50"), `throttled` (403 text), `invalid-key`, `throttle-first`/`too-many`/`try-again` (the first `n` calls per key get the 403 throttle text for `window` s, a 429 with `Retry-After: after`, or a "try again later" envelope; then as `echo-text`), `echo-key`/`echo-key-error`/`echo-key-500` (a hostile echo of the key, JSON-escaped per `spelling`: `unicode` or `mixed`, in ParsedText, ErrorMessage or a 500 body); a `file` part is required (else an E301 error envelope) and at most 1024 KB; more than N requests per key per window ([`TestbedBuilder::ocr_throttle`]): 403 "You may only perform this action upto maximum N number of times within S seconds" |
//! | `GET /hostile/resume/<mode>?size=N&seed=S` | resumes that lie: `honest`, `range-lie` (416 `*/K` for any `bytes=K-`), `etag-change`, `total-change`, `date-change` (see the module `hostile`) |
//! | `GET /hostile/redirect?to=URL[&status=S]`, `/hostile/headers` | a redirect anywhere (another port included); the request headers echoed as JSON `[[name, value]...]` |
//! | `GET /hostile/encoded?coding=VALUE&size=N&seed=S[&split=1][&raw=1][&corrupt=1]` | `/bytes` encoded per VALUE (gzip, x-gzip, deflate: zlib or `raw=1` raw, any case, stacked left to right; unknown codings named, not applied), `Content-Encoding: VALUE` as given (`split=1`: one header line per coding; `corrupt=1` damages the encoded bytes) |
//! | `GET /hostile/slow-head?interval_ms=N` | status line and headers one byte every N ms (default 1000), then 10 bytes |
//! | `GET /hostile/retry-after?value=V` | 503 with `Retry-After: V` (default 999999) |
//! | `GET /hostile/limited?key=K&max=M&size=N&seed=S&delay_ms=D&retry_after=R` | at most M (default 2) requests per key in service, each held D ms (default 50), answered with `/bytes/N?seed=S`; beyond: 429 + `Retry-After: R` (default 0), counted in `rate_limited` |
//! | `GET /stats[?files=1]` | the [`Stats`] counters as JSON (`uploads` is a count, `uploaded_bytes` their total; `files=1` lists them), for a server run as a separate process (`fw-testbed`) |
//! | anything else | 404 JSON (405 for a known path with the wrong method) |
//!
//! It does not: speak TLS or HTTP/2, listen anywhere but loopback, persist anything, or do
//! real OCR. [`peers`] starts third-party servers (nginx, httpbin) for interop tests.

mod faults;
mod files;
mod hostile;
mod http;
mod multipart;
mod ocr;
pub mod peers;
mod random;
mod server;
mod upload;

pub use random::PseudoRandomBytes;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use server::Shared;

/// How a 429 answer says when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfterStyle {
    /// `Retry-After: N` (delay in whole seconds; `Seconds(0)` for fast benches).
    Seconds(u64),
    /// `Retry-After: <HTTP-date>`, that far from the moment of the answer.
    HttpDate(Duration),
}

/// A snapshot of what the server has seen since start or the last [`Testbed::reset_stats`].
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// Requests parsed.
    pub requests: u64,
    /// Every file part received by `/upload` and `/ratelimit/upload` (answered 200 only).
    pub uploads: Vec<ReceivedFile>,
    /// 429 answers.
    pub rate_limited: u64,
    /// Peak number of requests in service at once on `/ratelimit/upload`.
    pub max_in_flight: usize,
    /// Requests to `/parse/image`.
    pub ocr_requests: u64,
}

/// One file part as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFile {
    /// The form field name.
    pub field: String,
    /// The `filename` parameter, when sent.
    pub filename: Option<String>,
    /// The part's Content-Type, when sent.
    pub content_type: Option<String>,
    /// Bytes in the part's body.
    pub size: u64,
    /// SHA-256 of the part's body, lower-case hex.
    pub sha256: String,
}

/// Settings of a [`Testbed`], made by [`Testbed::builder`].
#[derive(Debug, Clone)]
pub struct TestbedBuilder {
    files_dir: Option<PathBuf>,
    max_concurrent: usize,
    service_time: Duration,
    retry_after: RetryAfterStyle,
    ocr_max_requests: u32,
    ocr_window: Duration,
    max_connections: usize,
    port: u16,
    ocr_recordings: Option<PathBuf>,
}

impl Default for TestbedBuilder {
    fn default() -> Self {
        TestbedBuilder {
            files_dir: None,
            max_concurrent: 8,
            service_time: Duration::from_millis(10),
            retry_after: RetryAfterStyle::Seconds(1),
            ocr_max_requests: 10,
            ocr_window: Duration::from_secs(600),
            max_connections: 256,
            port: 0,
            ocr_recordings: None,
        }
    }
}

impl TestbedBuilder {
    /// The folder `/files/<name>` and `/flaky/<name>` serve from (none by default: 404).
    pub fn files_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.files_dir = Some(dir.into());
        self
    }

    /// `/ratelimit/upload` serves at most `max_concurrent` requests at once (more get 429),
    /// each taking `service_time`. Default 8 and 10 ms.
    pub fn rate_limit(mut self, max_concurrent: usize, service_time: Duration) -> Self {
        self.max_concurrent = max_concurrent;
        self.service_time = service_time;
        self
    }

    /// The Retry-After form of 429 answers. Default `Seconds(1)`.
    pub fn retry_after(mut self, style: RetryAfterStyle) -> Self {
        self.retry_after = style;
        self
    }

    /// `/parse/image` allows `max_requests` per API key per `window`, like OCR.space's free
    /// tier (default 10 per 600 s); beyond that it answers 403 with the service's text.
    pub fn ocr_throttle(mut self, max_requests: u32, window: Duration) -> Self {
        self.ocr_max_requests = max_requests;
        self.ocr_window = window;
        self
    }

    /// A folder of recorded OCR.space answers: when an image sent to `/parse/image` (scenario
    /// `success`, the default) has the SHA-256 `HEX`, the answer is the file `HEX.json` from this
    /// folder, so a client sees the text of the receipt it actually sent. Images without a
    /// recording get the vendored success envelope.
    pub fn ocr_recordings(mut self, dir: impl Into<PathBuf>) -> Self {
        self.ocr_recordings = Some(dir.into());
        self
    }

    /// Most connections served at once (default 256); beyond that new ones get 503 and close.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The loopback port to listen on (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds 127.0.0.1 and starts serving on a background thread.
    pub fn start(self) -> std::io::Result<Testbed> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(self));
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("testbed-accept-{}", addr.port()))
            .spawn(move || server::accept_loop(listener, accept_shared))?;
        Ok(Testbed {
            addr,
            shared,
            accept: Some(accept),
        })
    }
}

/// A running server on 127.0.0.1. Dropping it stops it: the listener closes, the accept
/// thread is joined and every open connection is shut down.
pub struct Testbed {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Testbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testbed").field("addr", &self.addr).finish()
    }
}

impl Testbed {
    /// Starts a server with default settings on 127.0.0.1, port 0.
    pub fn start() -> std::io::Result<Testbed> {
        TestbedBuilder::default().start()
    }

    /// Settings to change before [`TestbedBuilder::start`].
    pub fn builder() -> TestbedBuilder {
        TestbedBuilder::default()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        crate::server::lock(&self.shared.stats).clone()
    }

    /// Zeroes the counters (fault state such as flaky and storm counters is kept).
    pub fn reset_stats(&self) {
        *crate::server::lock(&self.shared.stats) = Stats::default();
    }

    /// Stops the server (the same as dropping it).
    pub fn shutdown(self) {
        drop(self);
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            // Wake the blocking accept so it sees the flag.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = accept.join();
        }
        self.shared.shut_down_connections();
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_testbed_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Testbed>();
        assert_send_sync::<super::Stats>();
    }
}
