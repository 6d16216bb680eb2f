//! Accepting connections, the per-connection request loop and routing.

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::http::{self, BodyReader, Request, Response};
use crate::{RetryAfterStyle, Stats, TestbedBuilder};

/// How long an idle keep-alive connection (or a stalled request body) is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an unread request body is drained to keep a connection reusable.
const DRAIN_LIMIT_BYTES: u64 = 4 * 1024 * 1024;
/// How long and how much a closing connection keeps reading what the client still sends.
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
const LINGER_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub files_dir: Option<PathBuf>,
    pub max_concurrent: usize,
    pub service_time: Duration,
    pub retry_after: RetryAfterStyle,
    pub ocr_max_requests: u32,
    pub ocr_window: Duration,
    pub max_connections: usize,
    pub ocr_recordings: Option<PathBuf>,
}

/// The state of one `/flaky/<name>` resource.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlakyState {
    /// The first full GET has been cut.
    pub cut_done: bool,
    /// When set, the resource "changed" at the cut: new ETag and Last-Modified.
    pub changed_at: Option<std::time::SystemTime>,
}

/// Locks `m`, carrying on if a connection thread panicked while holding it: the counters and
/// fault state stay usable, and the panic already failed whatever test caused it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Everything the connection threads share.
pub(crate) struct Shared {
    pub config: Config,
    pub stats: Mutex<Stats>,
    /// Requests in service on `/ratelimit/upload`.
    pub in_flight: AtomicUsize,
    pub flaky: Mutex<HashMap<String, FlakyState>>,
    pub storms: Mutex<HashMap<String, u64>>,
    /// Request times per OCR API key, for throttling.
    pub ocr_windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    pub stopping: AtomicBool,
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn new(b: TestbedBuilder) -> Shared {
        Shared {
            config: Config {
                files_dir: b.files_dir,
                max_concurrent: b.max_concurrent,
                service_time: b.service_time,
                retry_after: b.retry_after,
                ocr_max_requests: b.ocr_max_requests,
                ocr_window: b.ocr_window,
                max_connections: b.max_connections,
                ocr_recordings: b.ocr_recordings,
            },
            stats: Mutex::new(Stats::default()),
            in_flight: AtomicUsize::new(0),
            flaky: Mutex::new(HashMap::new()),
            storms: Mutex::new(HashMap::new()),
            ocr_windows: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Updates the counters under the lock.
    pub(crate) fn with_stats(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Shuts down every open connection so their threads end.
    pub(crate) fn shut_down_connections(&self) {
        for stream in lock(&self.live).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Sleeps for `d` in short steps, returning early (false) when the server stops.
    pub(crate) fn pause(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }
}

/// Removes a connection from the live set when its thread ends.
struct LiveGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.live).remove(&self.id);
    }
}

/// Accepts until the server stops.
pub(crate) fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = conn else { continue };
        shared.with_stats(|s| s.connections += 1);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut live = lock(&shared.live);
            if live.len() >= shared.config.max_connections {
                drop(live);
                refuse_busy(stream);
                continue;
            }
            match stream.try_clone() {
                Ok(clone) => {
                    live.insert(id, clone);
                }
                Err(_) => continue,
            }
        }
        let conn_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("testbed-conn".into())
            .spawn(move || serve_connection(stream, &conn_shared, id));
        if spawned.is_err() {
            lock(&shared.live).remove(&id);
        }
    }
}

fn refuse_busy(mut stream: TcpStream) {
    let resp = Response::error(503, "too many connections").closing();
    let _ = http::write_response(&mut stream, resp, false, false);
}

/// What a handler did with the request.
pub(crate) enum Reply {
    /// Write this response (keep-alive allowed).
    Send(Response),
    /// The handler wrote to the socket itself; close the connection.
    Close,
    /// Abort the connection with a TCP RST.
    Reset,
}

/// Serves one connection's requests until it closes.
fn serve_connection(stream: TcpStream, shared: &Shared, id: u64) {
    let _guard = LiveGuard { shared, id };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    while !shared.stopping() {
        let req = match http::read_head(&mut reader) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(http::WireError::Io(_)) => return,
            Err(e) => {
                let _ = http::write_response(
                    &mut writer,
                    Response::error(400, e.to_string()).closing(),
                    false,
                    false,
                );
                return;
            }
        };
        shared.with_stats(|s| s.requests += 1);
        let mut body = match BodyReader::new(&mut reader, &req) {
            Ok(b) => b,
            Err(e) => {
                let _ = http::write_response(
                    &mut writer,
                    Response::error(400, e.to_string()).closing(),
                    false,
                    false,
                );
                return;
            }
        };
        let reply = route(shared, &req, &mut body, &mut writer);
        match reply {
            Reply::Send(resp) => {
                // Read what the handler left of the body, so the next request starts clean.
                let clean = body.drain(DRAIN_LIMIT_BYTES);
                let keep = req.keep_alive() && clean && !resp.close;
                let head_only = req.method == "HEAD";
                if http::write_response(&mut writer, resp, head_only, keep).is_err() || !keep {
                    let _ = writer.flush();
                    let _ = writer.shutdown(Shutdown::Write);
                    lingering_close(&mut reader);
                    return;
                }
            }
            Reply::Close => {
                let _ = writer.flush();
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Reset => {
                let _ = socket2::SockRef::from(&writer).set_linger(Some(Duration::ZERO));
                return;
            }
        }
    }
}

/// Reads and drops what the client still sends (bounded in bytes and time) before closing, so
/// unread request bytes do not make the kernel answer with a RST that destroys the response.
fn lingering_close(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().set_read_timeout(Some(LINGER_TIMEOUT));
    let _ = std::io::copy(&mut reader.take(LINGER_LIMIT_BYTES), &mut std::io::sink());
}

/// Picks the handler for a request.
fn route(shared: &Shared, req: &Request, body: &mut BodyReader<'_>, out: &mut TcpStream) -> Reply {
    let path = req.path.as_str();
    let method = req.method.as_str();
    let get_like = method == "GET" || method == "HEAD";
    let not_allowed = |allow: &str| {
        Reply::Send(
            Response::error(405, format!("method {method} not allowed on {path}"))
                .with_header("Allow", allow),
        )
    };
    if path == "/upload" {
        return if method == "POST" {
            Reply::Send(crate::upload::echo(shared, req, body))
        } else {
            not_allowed("POST")
        };
    }
    if path == "/ratelimit/upload" {
        return if method == "POST" {
            Reply::Send(crate::upload::rate_limited(shared, req, body))
        } else {
            not_allowed("POST")
        };
    }
    if path == "/parse/image" {
        return if method == "POST" {
            Reply::Send(crate::ocr::parse_image(shared, req, body))
        } else {
            not_allowed("POST")
        };
    }
    if let Some(name) = path.strip_prefix("/files/") {
        return if get_like {
            Reply::Send(crate::files::serve(shared, req, name))
        } else {
            not_allowed("GET, HEAD")
        };
    }
    if let Some(name) = path.strip_prefix("/flaky/") {
        return if get_like {
            crate::files::flaky(shared, req, name, out)
        } else {
            not_allowed("GET, HEAD")
        };
    }
    if let Some(n) = path.strip_prefix("/bytes/") {
        return if get_like {
            Reply::Send(crate::files::bytes(req, n))
        } else {
            not_allowed("GET, HEAD")
        };
    }
    if path == "/stats" {
        return if get_like {
            Reply::Send(stats_json(shared, req))
        } else {
            not_allowed("GET, HEAD")
        };
    }
    if let Some(what) = path.strip_prefix("/hostile/") {
        return if get_like {
            crate::hostile::hostile(shared, req, what, out)
        } else {
            not_allowed("GET, HEAD")
        };
    }
    if let Some(fault) = path.strip_prefix("/fault/") {
        return if get_like {
            crate::faults::fault(shared, req, fault, out)
        } else {
            not_allowed("GET, HEAD")
        };
    }
    Reply::Send(Response::error(404, format!("no such endpoint {path}")))
}

/// `GET /stats[?files=1]`: the counters as JSON, for a server run as a separate process.
fn stats_json(shared: &Shared, req: &Request) -> Response {
    let stats = lock(&shared.stats).clone();
    let mut value = serde_json::json!({
        "connections": stats.connections,
        "requests": stats.requests,
        "uploads": stats.uploads.len(),
        "uploaded_bytes": stats.uploads.iter().map(|f| f.size).sum::<u64>(),
        "rate_limited": stats.rate_limited,
        "max_in_flight": stats.max_in_flight,
        "ocr_requests": stats.ocr_requests,
    });
    if req.query_param("files").is_some_and(|v| v == "1") {
        value["files"] = stats
            .uploads
            .iter()
            .map(|f| {
                serde_json::json!({
                    "field": f.field,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                    "sha256": f.sha256,
                })
            })
            .collect();
    }
    Response::json(200, &value)
}
