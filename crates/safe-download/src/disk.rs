//! Where the bytes go on disk: an anonymous temporary file beside the destination, or the
//! `.part` file with its `.part.json` sidecar for `--continue`; fsync and hashing helpers.

use crate::{DownloadError, Resume};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use ureq::http::HeaderMap;

use crate::READ_CHUNK;
use crate::meta::header;
use binary_io::SNIFF_LEN;

/// Where the bytes go: an anonymous temp file in the destination folder, or the `.part` file.
pub(crate) enum Sink {
    Temp(tempfile::NamedTempFile),
    Part(File, PathBuf),
}

impl Sink {
    pub(crate) fn open(
        resume: Resume,
        final_path: &Path,
        start: u64,
        dir: &Path,
    ) -> Result<Sink, DownloadError> {
        match resume {
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
                Ok(Sink::Temp(tmp))
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
                Ok(Sink::Part(file, part))
            }
        }
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(t) => {
                let result = t.as_file_mut().write_all(bytes);
                result.map_err(|e| io_err(t.path(), e))
            }
            Sink::Part(f, p) => f.write_all(bytes).map_err(|e| io_err(p, e)),
        }
    }

    pub(crate) fn sync(&self) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(t) => sync(t.as_file(), t.path()),
            Sink::Part(f, p) => sync(f, p),
        }
    }

    /// Makes partial data durable before reporting a failure that keeps it.
    pub(crate) fn keep_partial(&self) -> Result<(), DownloadError> {
        match self {
            Sink::Temp(_) => Ok(()),
            Sink::Part(f, p) => sync(f, p),
        }
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
