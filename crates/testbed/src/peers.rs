//! Third-party peers for interop tests and benches: nginx (also as a WebDAV PUT target), Python
//! httpbin under gunicorn and the official tus server (@tus/server on Node), plus the shared
//! development data. Each starts on 127.0.0.1 and stops on drop.
//!
//! Tests call these and, when a peer is missing, skip with a message on stderr — unless
//! `FILEWIRE_REQUIRE_PEERS=1` (set by `cargo xtask test`), where a missing peer is a failure.
//! The development data (`../shared/data`) is different: `cargo xtask test` cannot install it, so
//! tests that need it skip on a user's clone and fail only under `CI=true` or
//! `FILEWIRE_REQUIRE_DATA=1` (see [`shared_data`]).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether missing peers must fail the test instead of skipping it.
pub fn peers_required() -> bool {
    std::env::var("FILEWIRE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Reports a missing peer: panics under `FILEWIRE_REQUIRE_PEERS=1`, else prints why the test skips.
/// Returns `None` so callers can write `let Some(x) = ... else { return };`.
pub fn missing<T>(what: &str, how_to_get_it: &str) -> Option<T> {
    if peers_required() {
        panic!("{what} is missing and FILEWIRE_REQUIRE_PEERS=1: {how_to_get_it}");
    }
    eprintln!("skipping: {what} is missing ({how_to_get_it}); `cargo xtask test` installs it");
    None
}

/// Whether missing development data must fail the test instead of skipping it: under `CI=true`
/// (CI sets it) or `FILEWIRE_REQUIRE_DATA=1`, so CI can never pass by skipping.
pub fn data_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("FILEWIRE_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// `../shared/data` (or `FILEWIRE_SHARED_DATA`), if present.
///
/// The development data lives beside the project root on the project's own machines only; a
/// user's clone has none. When it is missing the calling test skips: it says so on stderr and,
/// when `FILEWIRE_SKIP_LOG` names a file (as `cargo xtask test` does), appends a line there so the
/// run can end by listing what it skipped. Under [`data_required`] a missing folder panics instead.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("FILEWIRE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("data"));
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "the development data ../shared/data is missing (looked for {})",
        dir.display()
    );
    if data_required() {
        panic!("{why}, and CI=true or FILEWIRE_REQUIRE_DATA=1 requires it");
    }
    skip(&why);
    None
}

/// Records that the current test skips, and why: a line on stderr and, when `FILEWIRE_SKIP_LOG`
/// names a file, a line `TEST\tWHY` appended to it.
pub fn skip(why: &str) {
    let thread = std::thread::current();
    // The test binary's name without cargo's hash (`scan-0a1b…` → `scan`) says where it lives.
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, _hash)) => name.to_string(),
            None => stem,
        })
        .unwrap_or_default();
    let test = format!("{binary}::{}", thread.name().unwrap_or("a test"));
    eprintln!("skipping {test}: {why}");
    if let Some(log) = std::env::var_os("FILEWIRE_SKIP_LOG") {
        use std::io::Write;
        let line = format!("{test}\t{why}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "could not note the skip in {}: {e}",
                Path::new(&log).display()
            );
        }
    }
}

/// The workspace root, found from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testbed sits two levels below the root")
        .to_path_buf()
}

/// A free TCP port on 127.0.0.1, for third-party servers that cannot report a port-0 bind.
///
/// The kernel may hand the same port to two binds in a row once the first is closed, so ports
/// handed out by this process are remembered and never given twice (tests run in parallel).
pub fn free_port() -> std::io::Result<u16> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
}

/// Waits for `child` to answer HTTP on `port`; false if it exited first or the time ran out.
///
/// A bare connect is not proof: a port taken by someone else between [`free_port`] and the
/// bind makes the child exit while a connect still succeeds, and a connect to a port nobody
/// listens on yet can connect to itself (Linux picks the same port as the source, a TCP
/// simultaneous open), which also blocks the child's bind. So the check is an HTTP answer from a
/// connection whose two ends differ, while the child is still running.
fn wait_for_child_port(child: &mut Child, port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if answers_http(port) {
            return matches!(child.try_wait(), Ok(None));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn answers_http(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if conn.local_addr().map(|a| a.port()).ok() == Some(port) {
        return false; // connected to itself: nothing listens yet
    }
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    if conn
        .write_all(b"HEAD / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    conn.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// A throwaway nginx on 127.0.0.1, killed on drop.
pub struct Nginx {
    /// The port it listens on.
    pub port: u16,
    /// Its prefix folder (config, logs, temp files).
    pub dir: PathBuf,
    child: Child,
}

impl Nginx {
    /// The nginx binary: `FILEWIRE_NGINX`, else /usr/sbin/nginx.
    pub fn binary() -> Option<PathBuf> {
        find_program("FILEWIRE_NGINX", &["/usr/sbin/nginx", "/usr/bin/nginx"])
    }

    /// Starts nginx in `dir` with `server_body` inside `server { listen 127.0.0.1:PORT; ... }` and
    /// `http_extra` at http level. Returns `None` (or panics, see [`missing`]) when nginx is absent.
    pub fn start(dir: &Path, http_extra: &str, server_body: &str) -> Option<Nginx> {
        let Some(nginx) = Self::binary() else {
            return missing("nginx", "apt-get install nginx-light");
        };
        for sub in ["logs", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).expect("creating nginx folders");
        }
        let d = dir.display();
        let conf_path = dir.join("nginx.conf");
        for _attempt in 0..5 {
            let port = free_port().expect("free port");
            let conf = format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/logs/error.log warn;\npid {d}/nginx.pid;\n\
events {{ worker_connections 1024; }}\n\
http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  sendfile on;\n  {http_extra}\n  server {{\n    listen 127.0.0.1:{port};\n    {server_body}\n  }}\n}}\n"
            );
            std::fs::write(&conf_path, conf).expect("writing nginx.conf");
            let mut child = Command::new(&nginx)
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .spawn()
                .expect("starting nginx");
            if wait_for_child_port(&mut child, port, Duration::from_secs(10)) {
                return Some(Nginx {
                    port,
                    dir: dir.to_path_buf(),
                    child,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default();
        panic!("nginx did not start listening on 127.0.0.1 after 5 tries: {log}");
    }

    /// Starts nginx in `dir` as a WebDAV PUT target: `PUT /dav/NAME` stores the body as
    /// [`Nginx::dav_root`]`/NAME` (201 when created, 204 when replaced), bodies of any size.
    pub fn start_webdav(dir: &Path) -> Option<Nginx> {
        let root = dir.join("dav-root");
        std::fs::create_dir_all(root.join("dav")).expect("creating the WebDAV root");
        let server = format!(
            "location /dav/ {{ root {}; dav_methods PUT; create_full_put_path on; dav_access user:rw; client_max_body_size 0; }}",
            root.display()
        );
        Self::start(dir, "", &server)
    }

    /// Where [`Nginx::start_webdav`] stores `PUT /dav/NAME`: this folder's `dav/NAME`.
    pub fn dav_root(&self) -> PathBuf {
        self.dir.join("dav-root")
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python's httpbin (Werkzeug/Flask) under gunicorn on 127.0.0.1, killed on drop.
pub struct Httpbin {
    /// The port it listens on.
    pub port: u16,
    child: Child,
}

impl Httpbin {
    /// The venv python holding httpbin and gunicorn: `FILEWIRE_PYTHON`, else the one
    /// `cargo xtask test` makes under target/xtask/venv.
    pub fn python() -> Option<PathBuf> {
        let venv = workspace_root().join("target/xtask/venv/bin/python");
        let venv = venv.to_string_lossy().into_owned();
        find_program("FILEWIRE_PYTHON", &[venv.as_str()])
    }

    /// Starts httpbin; `None` (or a panic, see [`missing`]) when it is not installed.
    pub fn start() -> Option<Httpbin> {
        let Some(python) = Self::python() else {
            return missing(
                "Python httpbin",
                "run `cargo xtask test` to make target/xtask/venv",
            );
        };
        for _attempt in 0..5 {
            let port = free_port().expect("free port");
            let mut child = Command::new(&python)
                .args([
                    "-m",
                    "gunicorn",
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                    "-b",
                ])
                .arg(format!("127.0.0.1:{port}"))
                .arg("httpbin:app")
                .stdin(Stdio::null())
                .spawn()
                .expect("starting gunicorn");
            if wait_for_child_port(&mut child, port, Duration::from_secs(30)) {
                return Some(Httpbin { port, child });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("httpbin did not start listening on 127.0.0.1 after 5 tries");
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The official tus 1.0 server, `@tus/server` with `@tus/file-store` on Node, started from
/// `crates/testbed/peers/tus-server.js` on 127.0.0.1; killed on drop.
///
/// Uploads go to [`TusServer::endpoint`] and are stored as files named by the upload id in
/// [`TusServer::store`]. [`TusServer::bytes_read`] says how many bytes it has read from clients
/// in total, so a test can bound what a resumed upload sent.
pub struct TusServer {
    /// The port it listens on (kept across [`TusServer::restart`]).
    pub port: u16,
    store: PathBuf,
    max_size: Option<u64>,
    child: Option<Child>,
}

impl TusServer {
    /// The node_modules folder holding @tus/server and @tus/file-store: `FILEWIRE_TUS_MODULES`,
    /// else the one `cargo xtask test` installs under target/xtask/npm.
    pub fn modules() -> Option<PathBuf> {
        let default = workspace_root().join("target/xtask/npm/node_modules");
        let default = default.to_string_lossy().into_owned();
        find_program("FILEWIRE_TUS_MODULES", &[default.as_str()])
            .filter(|m| m.join("@tus").join("server").is_dir())
    }

    /// The Node program: `FILEWIRE_NODE`, else `node` from PATH.
    pub fn node() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("FILEWIRE_NODE") {
            return Some(PathBuf::from(p));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("node"))
            .find(|p| p.is_file())
    }

    /// Starts the server storing uploads in `store`, announcing `Tus-Max-Size: max_size` when
    /// given. `None` (or a panic, see [`missing`]) when Node or the packages are absent.
    pub fn start(store: &Path, max_size: Option<u64>) -> Option<TusServer> {
        if Self::node().is_none() {
            return missing("Node.js", "apt-get install nodejs");
        }
        if Self::modules().is_none() {
            return missing(
                "@tus/server and @tus/file-store",
                "run `cargo xtask test` to install them under target/xtask/npm",
            );
        }
        std::fs::create_dir_all(store).expect("creating the tus store");
        let mut server = TusServer {
            port: 0,
            store: store.to_path_buf(),
            max_size,
            child: None,
        };
        for _attempt in 0..5 {
            server.port = free_port().expect("free port");
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("@tus/server did not start listening on 127.0.0.1 after 5 tries");
    }

    fn spawn(&mut self) -> bool {
        let script = workspace_root().join("crates/testbed/peers/tus-server.js");
        let mut command = Command::new(Self::node().expect("checked in start"));
        command
            .arg(script)
            .arg(Self::modules().expect("checked in start"))
            .arg(self.port.to_string())
            .arg(&self.store)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(max) = self.max_size {
            command.arg(max.to_string());
        }
        let mut child = command.spawn().expect("starting node");
        if wait_for_child_port(&mut child, self.port, Duration::from_secs(30)) {
            self.child = Some(child);
            return true;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kills the server (SIGKILL: no goodbye to clients); uploads stay in the store.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store, after [`TusServer::stop`]. Panics if the
    /// port cannot be had again within 10 s.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
        }
        panic!("@tus/server did not restart on port {}", self.port);
    }

    /// The creation endpoint: `http://127.0.0.1:PORT/files/`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/files/", self.port)
    }

    /// The folder the uploads are stored in.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// Where the upload at `upload_url` is stored: the store's file named by the URL's last
    /// path segment.
    pub fn stored_file(&self, upload_url: &str) -> PathBuf {
        let id = upload_url.rsplit('/').next().unwrap_or(upload_url);
        self.store.join(id)
    }

    /// Every byte the server has read from client sockets since it started (request lines,
    /// headers and bodies).
    pub fn bytes_read(&self) -> std::io::Result<u64> {
        use std::io::{Read, Write};
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.write_all(
            b"GET /__filewire/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer)?;
        let value = answer
            .split("\"bytes_read\":")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok());
        value.ok_or_else(|| std::io::Error::other(format!("unexpected stats answer: {answer}")))
    }
}

impl Drop for TusServer {
    fn drop(&mut self) {
        self.stop();
    }
}
