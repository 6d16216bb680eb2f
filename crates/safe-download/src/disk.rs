//! Where the bytes go on disk: an anonymous temporary file beside the destination, or the
//! `.part` file with its `.part.json` sidecar for `--continue`; fsync and hashing helpers.

use crate::{DownloadError, Resume};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use ureq::http::HeaderMap;

use crate::READ_CHUNK;
use crate::meta::header;
use binary_io::SNIFF_LEN;

/// Bytes written between two background flushes.
const FLUSH_EVERY: u64 = 32 << 20;

/// The file being written: an anonymous temp file in the destination folder, or the `.part` file.
pub(crate) enum Dest {
    Temp(tempfile::NamedTempFile),
    Part(File, PathBuf),
}

impl Dest {
    fn file(&self) -> &File {
        match self {
            Dest::Temp(t) => t.as_file(),
            Dest::Part(f, _) => f,
        }
    }

    fn path(&self) -> &Path {
        match self {
            Dest::Temp(t) => t.path(),
            Dest::Part(_, p) => p,
        }
    }
}

/// Where the bytes go, with writeback started in the background every [`FLUSH_EVERY`] bytes so
/// that the final fsync finds little left: the disk works while the network delivers.
pub(crate) struct Sink {
    dest: Dest,
    flusher: Option<Flusher>,
    since_flush: u64,
}

impl Sink {
    pub(crate) fn open(
        resume: Resume,
        final_path: &Path,
        start: u64,
        dir: &Path,
    ) -> Result<Sink, DownloadError> {
        let dest = match resume {
            Resume::Fresh => {
                let stem = final_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut builder = tempfile::Builder::new();
                // Like any newly created file (0666 less the umask), not tempfile's 0600.
                #[cfg(unix)]
                builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
                let tmp = builder
                    .prefix(&format!(".{stem}."))
                    .suffix(".fw-tmp")
                    .tempfile_in(dir)
                    .map_err(|e| io_err(dir, e))?;
                Dest::Temp(tmp)
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
                Dest::Part(file, part)
            }
        };
        Ok(Sink {
            dest,
            flusher: None,
            since_flush: 0,
        })
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), DownloadError> {
        let result = match &mut self.dest {
            Dest::Temp(t) => t.as_file_mut().write_all(bytes),
            Dest::Part(f, _) => f.write_all(bytes),
        };
        result.map_err(|e| io_err(self.dest.path(), e))?;
        self.since_flush += bytes.len() as u64;
        if self.since_flush >= FLUSH_EVERY {
            self.since_flush = 0;
            if self.flusher.is_none() {
                self.flusher = Flusher::start(self.dest.file());
            }
            if let Some(f) = &self.flusher {
                f.kick();
            }
        }
        Ok(())
    }

    /// Waits for background writeback, fsyncs, and hands the file over for the rename.
    pub(crate) fn finish(mut self) -> Result<Dest, DownloadError> {
        if let Some(f) = self.flusher.take() {
            f.stop();
        }
        sync(self.dest.file(), self.dest.path())?;
        Ok(self.dest)
    }

    /// Makes partial data durable before reporting a failure that keeps it.
    pub(crate) fn keep_partial(&self) -> Result<(), DownloadError> {
        match &self.dest {
            Dest::Temp(_) => Ok(()),
            Dest::Part(f, p) => sync(f, p),
        }
    }
}

/// A thread that calls `fdatasync` when kicked (kicks that pile up while it works count once).
struct Flusher {
    kick: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn start(file: &File) -> Option<Flusher> {
        let file = file.try_clone().ok()?;
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fw-flush".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
                    // Best effort: the final fsync reports any error.
                    let _ = file.sync_data();
                }
            })
            .ok()?;
        Some(Flusher {
            kick: Some(tx),
            thread: Some(thread),
        })
    }

    fn kick(&self) {
        if let Some(tx) = &self.kick {
            let _ = tx.send(());
        }
    }

    fn stop(mut self) {
        self.kick.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // On failure paths: the thread ends after its current flush, on its own.
        self.kick.take();
    }
}

/// The resume state beside a `.part` file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    total: Option<u64>,
}

/// Partial data found on disk that a Range request may continue.
#[derive(Debug)]
pub(crate) struct Partial {
    pub(crate) final_path: PathBuf,
    pub(crate) len: u64,
    sidecar: Sidecar,
}

impl Partial {
    pub(crate) fn load(final_path: &Path, url: &str) -> Option<Partial> {
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
    pub(crate) fn validator(&self) -> Option<String> {
        match &self.sidecar.etag {
            Some(e) if !e.starts_with("W/") => Some(e.clone()),
            _ => self.sidecar.last_modified.clone(),
        }
    }

    pub(crate) fn save(
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

pub(crate) fn discard(partial: &mut Option<Partial>) {
    *partial = None;
}

/// Failures after which partial data is still good for `--continue`.
pub(crate) fn keeps_partial(e: &DownloadError) -> bool {
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

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn io_err(path: &Path, source: io::Error) -> DownloadError {
    DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn sync(file: &File, path: &Path) -> Result<(), DownloadError> {
    file.sync_all().map_err(|e| io_err(path, e))
}

/// Makes the rename durable; best effort (not every filesystem lets a folder be opened).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

pub(crate) fn read_head(path: &Path) -> Result<Vec<u8>, DownloadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    file.take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    Ok(head)
}

pub(crate) fn hash_prefix(h: &mut Sha256, path: &Path, len: u64) -> Result<(), DownloadError> {
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

pub(crate) fn hash_file(path: &Path) -> Result<String, DownloadError> {
    let mut h = Sha256::new();
    hash_prefix(&mut h, path, u64::MAX)?;
    Ok(hex(&h.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn part_and_sidecar_sit_beside_the_final_name() {
        let p = Path::new("/tmp/x/photo.jpg");
        assert_eq!(part_path(p), Path::new("/tmp/x/photo.jpg.part"));
        assert_eq!(sidecar_path(p), Path::new("/tmp/x/photo.jpg.part.json"));
    }
}
