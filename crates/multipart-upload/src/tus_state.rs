//! Where a tus upload is remembered between processes: one small JSON file per (endpoint, file)
//! in the state folder, written atomically.

use crate::{FileBody, UploadError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The user's state folder for filewire: `$XDG_STATE_HOME/filewire`, else
/// `~/.local/state/filewire` (the XDG Base Directory default); `None` when neither variable
/// gives an absolute path.
pub fn default_state_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").and_then(absolute) {
        return Some(dir.join("filewire"));
    }
    let home = std::env::var_os("HOME").and_then(absolute)?;
    Some(home.join(".local").join("state").join("filewire"))
}

/// What is remembered about one upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub endpoint: String,
    /// The file's canonical path (lossy when it is not UTF-8: JSON strings cannot hold it).
    pub path: String,
    /// The path's exact bytes in hex, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch, when known.
    pub modified_ns: Option<u128>,
    pub upload_url: String,
}

impl Record {
    pub fn new(endpoint: &str, path: &Path, body: &FileBody, upload_url: &str) -> Record {
        Record {
            endpoint: endpoint.to_string(),
            path: path.to_string_lossy().into_owned(),
            path_hex: path.to_str().is_none().then(|| path_hex(path)),
            size: body.size(),
            modified_ns: modified_ns(body),
            upload_url: upload_url.to_string(),
        }
    }

    /// Whether the record is for the file at `canonical`.
    fn is_for(&self, canonical: &Path) -> bool {
        match (&self.path_hex, canonical.to_str()) {
            (Some(hex), None) => *hex == path_hex(canonical),
            (None, Some(text)) => self.path == text,
            _ => false,
        }
    }

    /// Whether `body` is still the file this upload was made for (same size and mtime).
    pub fn matches(&self, body: &FileBody) -> bool {
        self.size == body.size() && self.modified_ns == modified_ns(body)
    }
}

fn path_hex(path: &Path) -> String {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn modified_ns(body: &FileBody) -> Option<u128> {
    body.modified()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
}

/// The `tus` folder inside the state folder.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(state_dir: &Path) -> Store {
        Store {
            dir: state_dir.join("tus"),
        }
    }

    /// The record's file: named by a hash of the endpoint and the file's canonical path, so the
    /// same command from another working folder finds it.
    pub fn file_for(&self, endpoint: &str, canonical: &Path) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(endpoint.as_bytes());
        hash.update([0]);
        hash.update(canonical.as_os_str().as_encoded_bytes());
        let hex: String = hash
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("{hex}.json"))
    }

    /// The record in `file`, if there is a readable one for this endpoint and path. A corrupt
    /// record is treated as absent: the worst that costs is a new upload.
    pub fn load(&self, file: &Path, endpoint: &str, canonical: &Path) -> Option<Record> {
        let bytes = std::fs::read(file).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        (record.endpoint == endpoint && record.is_for(canonical)).then_some(record)
    }

    /// Writes `record` to `file` atomically (a temporary file in the same folder, synced, then
    /// renamed), readable by the owner only: an upload URL is a capability.
    pub fn save(&self, file: &Path, record: &Record) -> Result<(), UploadError> {
        let fail = |source| UploadError::State {
            path: file.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let json = serde_json::to_vec_pretty(record).expect("a record serializes");
        let tmp = file.with_extension(format!("json.tmp{}", std::process::id()));
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&tmp)?;
            out.write_all(&json)?;
            out.sync_all()?;
            std::fs::rename(&tmp, file)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        Ok(())
    }

    /// Forgets the upload (it finished, or the server no longer has it).
    pub fn remove(&self, file: &Path) -> Result<(), UploadError> {
        match std::fs::remove_file(file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(UploadError::State {
                path: file.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_round_trip_and_other_endpoints_do_not_match() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a.bin");
        std::fs::write(&data, b"0123456789").unwrap();
        let body = FileBody::open(&data).unwrap();
        let store = Store::new(dir.path());
        let file = store.file_for("http://h/files/", &data);
        assert_ne!(file, store.file_for("http://other/files/", &data));
        let record = Record::new("http://h/files/", &data, &body, "http://h/files/1");
        store.save(&file, &record).unwrap();
        assert_eq!(store.load(&file, "http://h/files/", &data), Some(record));
        assert_eq!(store.load(&file, "http://x/", &data), None);
        store.remove(&file).unwrap();
        assert_eq!(store.load(&file, "http://h/files/", &data), None);
        store.remove(&file).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("tus")).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_is_remembered_exactly() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let latin1 = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.bin"));
        let other = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe8.bin"));
        for p in [&latin1, &other] {
            std::fs::write(p, b"0123456789").unwrap();
        }
        let file = store.file_for("e", &latin1);
        let record = Record::new("e", &latin1, &FileBody::open(&latin1).unwrap(), "u");
        store.save(&file, &record).unwrap();
        assert_eq!(store.load(&file, "e", &latin1), Some(record));
        // Same lossy rendering, other bytes: not this file's record.
        assert_eq!(store.load(&file, "e", &other), None);
    }

    #[test]
    fn a_changed_size_or_mtime_no_longer_matches() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a.bin");
        std::fs::write(&data, b"0123456789").unwrap();
        let record = Record::new("e", &data, &FileBody::open(&data).unwrap(), "u");
        assert!(record.matches(&FileBody::open(&data).unwrap()));
        std::fs::write(&data, b"01234567890").unwrap();
        assert!(!record.matches(&FileBody::open(&data).unwrap()));
    }
}
