//! tus uploads against the official server (@tus/server with @tus/file-store on Node): whole
//! uploads, runs cut short and resumed, a server killed and restarted mid-upload, a file changed
//! between runs, an upload the server lost, and Tus-Max-Size.

use chunk_stream::Progress;
use multipart_upload::{FileBody, Resume, Tus, TusOutcome, UploadError, Uploader};
use retry::FailureKind;
use retry::RetryPolicy;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testbed::peers::TusServer;

const CHUNK: u64 = 256 * 1024;

struct Setup {
    dir: tempfile::TempDir,
    server: Arc<Mutex<TusServer>>,
    endpoint: String,
}

impl Setup {
    fn start(max_size: Option<u64>) -> Option<Setup> {
        let dir = tempfile::tempdir().unwrap();
        let server = TusServer::start(&dir.path().join("store"), max_size)?;
        let endpoint = server.endpoint();
        Some(Setup {
            dir,
            server: Arc::new(Mutex::new(server)),
            endpoint,
        })
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn file(&self, name: &str, len: usize, seed: u64) -> PathBuf {
        let path = self.dir.path().join(name);
        write_noise(&path, len, seed);
        path
    }

    /// A client that retries quickly (a restarting server is back within a second or two).
    fn tus(&self) -> Tus {
        Tus::new(Uploader::new())
            .chunk_size(CHUNK)
            .state_dir(self.state())
            .retry(
                RetryPolicy::new()
                    .max_tries(40)
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(250)),
            )
    }

    /// Uploads `path` with a client that does not retry and kills the server once the client
    /// has handed over `stop_at` bytes; then restarts it. Returns the failed run's error.
    fn interrupted_run(&self, path: &Path, stop_at: u64) -> UploadError {
        let server = Arc::clone(&self.server);
        let mut stopped = false;
        let observer = move |p: &Progress| {
            if p.bytes >= stop_at && !stopped {
                stopped = true;
                server.lock().unwrap().stop();
            }
        };
        let err = self
            .tus()
            .retry(RetryPolicy::no_retries())
            .upload_with_progress(&self.endpoint, FileBody::open(path).unwrap(), observer)
            .unwrap_err();
        self.server.lock().unwrap().restart();
        err
    }

    /// The stored upload equals the file, and nothing is remembered any more.
    fn assert_stored(&self, done: &TusOutcome, path: &Path) {
        let stored = self.server.lock().unwrap().stored_file(&done.upload_url);
        let stored = std::fs::read(&stored).unwrap();
        assert!(
            stored == std::fs::read(path).unwrap(),
            "stored bytes differ"
        );
        let remembered = std::fs::read_dir(self.state().join("tus"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(remembered, 0, "a finished upload is forgotten");
    }

    fn uploads_in_store(&self) -> usize {
        let server = self.server.lock().unwrap();
        std::fs::read_dir(server.store())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                !name.to_string_lossy().ends_with(".json")
            })
            .count()
    }
}

fn write_noise(path: &Path, len: usize, seed: u64) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn uploads_a_file_in_chunks_with_its_name_and_type() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("clip.bin", 3 * CHUNK as usize + 1234, 1);
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(done.size, 3 * CHUNK + 1234);
    assert_eq!(done.sent, done.size);
    assert_eq!(
        (done.resumed, done.created, done.start_offset),
        (false, 1, 0)
    );
    s.assert_stored(&done, &path);
    let info = s.server.lock().unwrap().stored_file(&done.upload_url);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(info.with_extension("json")).unwrap()).unwrap();
    assert_eq!(info["metadata"]["filename"], "clip.bin");
    assert_eq!(info["metadata"]["filetype"], "application/octet-stream");
}

#[test]
fn an_empty_file_is_created_complete() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("empty.txt", 0, 0);
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!((done.size, done.sent), (0, 0));
    s.assert_stored(&done, &path);
}

#[test]
fn a_run_cut_short_is_resumed_by_the_next_from_the_servers_offset() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let size = 8 * CHUNK;
    let path = s.file("big.bin", size as usize, 2);
    let err = s.interrupted_run(&path, size / 2);
    assert!(matches!(err.kind(), FailureKind::Network), "{err:?}");
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert!(done.resumed, "{done:?}");
    assert!(done.start_offset > 0, "{done:?}");
    assert_eq!(done.sent, size - done.start_offset, "only the rest is sent");
    assert_eq!(done.created, 0);
    assert_eq!(s.uploads_in_store(), 1);
    s.assert_stored(&done, &path);
}

#[test]
fn no_resume_starts_a_new_upload_even_when_one_is_remembered() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("big.bin", 6 * CHUNK as usize, 3);
    s.interrupted_run(&path, 3 * CHUNK);
    let done = s
        .tus()
        .resume(Resume::StartOver)
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(
        (done.resumed, done.start_offset, done.created),
        (false, 0, 1)
    );
    assert_eq!(s.uploads_in_store(), 2);
    s.assert_stored(&done, &path);
}

#[test]
fn a_server_killed_as_a_chunk_ends_and_restarted_is_ridden_out() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("big.bin", 8 * CHUNK as usize, 4);
    let server = Arc::clone(&s.server);
    let mut restarted = None;
    let observer = move |p: &Progress| {
        if p.bytes == 3 * CHUNK && restarted.is_none() {
            server.lock().unwrap().stop();
            let server = Arc::clone(&server);
            restarted = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                server.lock().unwrap().restart();
            }));
        }
    };
    let done = s
        .tus()
        .upload_with_progress(&s.endpoint, FileBody::open(&path).unwrap(), observer)
        .unwrap();
    assert!(done.retries >= 1, "{done:?}");
    assert_eq!(done.created, 1, "the same upload continues: {done:?}");
    assert!(
        done.sent <= 8 * CHUNK + CHUNK,
        "at most one chunk again: {done:?}"
    );
    s.assert_stored(&done, &path);
}

#[test]
fn a_file_changed_since_the_last_run_starts_a_new_upload() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("doc.bin", 6 * CHUNK as usize, 5);
    s.interrupted_run(&path, 3 * CHUNK);
    // Same size, new content and a later modification time.
    write_noise(&path, 6 * CHUNK as usize, 6);
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(
        (done.resumed, done.start_offset, done.created),
        (false, 0, 1)
    );
    s.assert_stored(&done, &path);

    // A different size is a different file too.
    s.interrupted_run(&path, 3 * CHUNK);
    write_noise(&path, 5 * CHUNK as usize, 7);
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!((done.resumed, done.start_offset), (false, 0));
    s.assert_stored(&done, &path);
}

#[test]
fn an_upload_the_server_no_longer_has_starts_over() {
    let Some(s) = Setup::start(None) else {
        return;
    };
    let path = s.file("big.bin", 6 * CHUNK as usize, 8);
    s.interrupted_run(&path, 3 * CHUNK);
    // Expire it the way a server's cleanup would: its files are gone, so HEAD answers 404.
    {
        let server = s.server.lock().unwrap();
        for entry in std::fs::read_dir(server.store()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(
        (done.resumed, done.start_offset, done.created),
        (false, 0, 1)
    );
    s.assert_stored(&done, &path);
}

#[test]
fn a_file_over_tus_max_size_is_refused_before_any_byte_is_sent() {
    let Some(s) = Setup::start(Some(1024 * 1024)) else {
        return;
    };
    let path = s.file("big.bin", 2 * 1024 * 1024, 9);
    let before = s.server.lock().unwrap().bytes_read().unwrap();
    let err = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&path).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::TooLargeForServer {
                max: 1048576,
                size: 2097152,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_refusal());
    assert_eq!(err.kind(), FailureKind::Refused);
    let read = s.server.lock().unwrap().bytes_read().unwrap() - before;
    assert!(read < 2048, "only an OPTIONS went out, {read} bytes read");
    assert_eq!(s.uploads_in_store(), 0);

    // Within the limit it goes through.
    let small = s.file("small.bin", 512 * 1024, 10);
    let done = s
        .tus()
        .upload(&s.endpoint, FileBody::open(&small).unwrap())
        .unwrap();
    s.assert_stored(&done, &small);
}
