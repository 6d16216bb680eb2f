//! What a batch is made of: a folder walk or a JSON Lines manifest, and stable per-item keys.

use crate::Error;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One file of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The stable name of the item: the path relative to the walked folder (with `/`), or the
    /// path as written in the manifest. For a file name that is not UTF-8 this is a lossy
    /// rendering for messages, and [`Item::raw_key`] holds the exact bytes.
    pub key: String,
    /// The key's exact bytes when they are not UTF-8 (a file name in another encoding), so two
    /// names that differ only in such bytes stay two items. `None` for UTF-8 keys.
    pub raw_key: Option<Vec<u8>>,
    /// Where the file is.
    pub path: PathBuf,
    /// Extra form fields for this item (from the manifest), sorted by name.
    pub fields: BTreeMap<String, String>,
}

impl Item {
    /// The key's exact bytes: what journals, shards and idempotency keys are computed from.
    pub fn key_bytes(&self) -> &[u8] {
        self.raw_key.as_deref().unwrap_or(self.key.as_bytes())
    }
}

/// Files whose name starts with this are never part of a folder walk: fw-batch before 0.2 kept
/// its journal in the walked folder under this name, and such a file must not be uploaded.
pub const JOURNAL_PREFIX: &str = ".fw-batch.journal";

/// Every regular file under `dir`, recursively, sorted by key bytes; files named like an old
/// journal ([`JOURNAL_PREFIX`]) are skipped, and symbolic links, FIFOs, devices and sockets are
/// not followed or listed. Names that are not UTF-8 are kept exactly (see [`Item::raw_key`]).
pub fn walk_dir(dir: &Path) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&folder, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(JOURNAL_PREFIX)
                {
                    continue;
                }
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let (key, raw_key) = key_of(rel);
                items.push(Item {
                    key,
                    raw_key,
                    path,
                    fields: BTreeMap::new(),
                });
            }
        }
    }
    items.sort_by(|a, b| a.key_bytes().cmp(b.key_bytes()));
    Ok(items)
}

/// The journals fw-batch 0.1 left directly in `dir` (named [`JOURNAL_PREFIX`]...): a walk skips
/// them, and their lines, which do not say where or which version was sent, are not read.
pub fn older_journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(JOURNAL_PREFIX))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// The key of a relative path: its components joined with `/`, and the exact bytes when they
/// are not UTF-8.
fn key_of(rel: &Path) -> (String, Option<Vec<u8>>) {
    let parts: Vec<&std::ffi::OsStr> = rel.components().map(|c| c.as_os_str()).collect();
    let lossy = parts
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if parts.iter().all(|p| p.to_str().is_some()) {
        return (lossy, None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let raw = parts
            .iter()
            .map(|p| p.as_bytes())
            .collect::<Vec<_>>()
            .join(&b'/');
        (lossy, Some(raw))
    }
    #[cfg(not(unix))]
    {
        (lossy, None)
    }
}

#[derive(Deserialize)]
struct ManifestLine {
    path: String,
    #[serde(default)]
    fields: BTreeMap<String, serde_json::Value>,
}

/// Reads a JSON Lines manifest: one `{"path": "...", "fields": {"name": "value"}}` per line
/// (blank lines skipped). Relative paths are relative to the manifest's folder; field values
/// that are not strings are written as JSON (`3`, `true`).
///
/// The manifest must be a regular file: a FIFO or a device is refused before it is opened.
pub fn read_manifest(path: &Path) -> Result<Vec<Item>, Error> {
    let (file, _) = binary_io::open_regular(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut items = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ManifestLine =
            serde_json::from_str(&line).map_err(|e| Error::ManifestLine {
                path: path.to_path_buf(),
                line: i + 1,
                reason: e.to_string(),
            })?;
        if parsed.path.is_empty() {
            return Err(Error::ManifestLine {
                path: path.to_path_buf(),
                line: i + 1,
                reason: "empty path".to_string(),
            });
        }
        let fields = parsed
            .fields
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        items.push(Item {
            path: base.join(&parsed.path),
            key: parsed.path,
            raw_key: None,
            fields,
        });
    }
    Ok(items)
}

/// A key that names this exact upload: lower-hex SHA-256 of the item's key bytes, a NUL byte and
/// the file's content. Sent as an idempotency key, it lets a server drop a repeat of the same
/// item. Only regular files are read (see [`binary_io::open_regular`]).
pub fn content_key(item: &Item) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(item.key_bytes());
    h.update([0u8]);
    hash_file(&mut h, &item.path)?;
    Ok(hex(&h.finalize()))
}

/// Feeds a regular file's content to `h`.
pub(crate) fn hash_file(h: &mut Sha256, path: &Path) -> Result<(), Error> {
    let (mut file, _) = binary_io::open_regular(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_finds_nested_files_sorted_and_skips_journals() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("z.txt"), "z").unwrap();
        std::fs::write(dir.path().join("b/c/x.jpg"), "x").unwrap();
        std::fs::write(dir.path().join("a.png"), "a").unwrap();
        std::fs::write(dir.path().join(".fw-batch.journal.jsonl"), "{}").unwrap();
        let keys: Vec<_> = walk_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys, ["a.png", "b/c/x.jpg", "z.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn walk_keeps_names_that_are_not_utf8_apart() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(OsStr::from_bytes(b"d\xe9"))).unwrap();
        for name in [&b"a\xff.bin"[..], b"a\xfe.bin", b"d\xe9/x"] {
            std::fs::write(dir.path().join(OsStr::from_bytes(name)), name).unwrap();
        }
        std::fs::write(dir.path().join("plain.txt"), "plain.txt").unwrap();
        let items = walk_dir(dir.path()).unwrap();
        let raw: Vec<&[u8]> = items.iter().map(Item::key_bytes).collect();
        assert_eq!(
            raw,
            [&b"a\xfe.bin"[..], b"a\xff.bin", b"d\xe9/x", b"plain.txt"]
        );
        assert_eq!(items[0].key, "a\u{fffd}.bin");
        assert_eq!(items[0].key, items[1].key, "both render alike");
        assert!(items[3].raw_key.is_none());
        for item in &items {
            assert_eq!(std::fs::read(&item.path).unwrap(), item.key_bytes());
        }
    }

    #[test]
    fn manifest_resolves_relative_paths_and_reads_fields() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.jsonl");
        std::fs::write(
            &m,
            "{\"path\": \"a.jpg\", \"fields\": {\"user\": \"7\", \"n\": 3}}\n\n{\"path\": \"/abs/b.jpg\"}\n",
        )
        .unwrap();
        let items = read_manifest(&m).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].path, dir.path().join("a.jpg"));
        assert_eq!(items[0].fields["user"], "7");
        assert_eq!(items[0].fields["n"], "3");
        assert_eq!(items[1].path, PathBuf::from("/abs/b.jpg"));
        assert_eq!(items[1].key, "/abs/b.jpg");
    }

    #[test]
    fn manifest_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.jsonl");
        std::fs::write(&m, "{\"path\": \"a\"}\n{\"nopath\": 1}\n").unwrap();
        match read_manifest(&m) {
            Err(Error::ManifestLine { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn content_key_depends_on_key_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "hello").unwrap();
        let item = |key: &str, raw_key: Option<&[u8]>| Item {
            key: key.to_string(),
            raw_key: raw_key.map(<[u8]>::to_vec),
            path: p.clone(),
            fields: BTreeMap::new(),
        };
        let a = content_key(&item("f", None)).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, content_key(&item("f", None)).unwrap());
        assert_ne!(a, content_key(&item("g", None)).unwrap());
        // Two names that render alike but differ in their raw bytes get their own keys.
        let x = content_key(&item("f\u{fffd}", Some(b"f\xff"))).unwrap();
        let y = content_key(&item("f\u{fffd}", Some(b"f\xfe"))).unwrap();
        assert_ne!(x, y);
        std::fs::write(&p, "hellp").unwrap();
        assert_ne!(a, content_key(&item("f", None)).unwrap());
    }
}
