//! Where the bytes go on disk: an anonymous temporary file beside the destination, or the
//! `.part` file for `--continue`; fsync and hashing helpers.

use crate::{DownloadError, Resume};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::READ_CHUNK;
use binary_io::SNIFF_LEN;

/// The most bytes of the final name repeated in a temporary file's name.
const TEMP_STEM_BYTES: usize = 64;

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
                // The temp name repeats a bounded piece of the final name, so that a final
                // name near the 255-byte limit still has a temp name that fits.
                let name = final_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let stem = crate::name::truncate_utf8(&name, TEMP_STEM_BYTES);
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

/// Failures after which partial data is still good for `--continue`.
pub(crate) fn keeps_partial(e: &DownloadError) -> bool {
    matches!(
        e,
        DownloadError::Truncated { .. }
            | DownloadError::Reset { .. }
            | DownloadError::Timeout { .. }
            | DownloadError::DeadlineExceeded { .. }
            | DownloadError::ResumeRefused { .. }
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
