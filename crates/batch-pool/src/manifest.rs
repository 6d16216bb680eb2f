//! What a batch is made of: a folder walk or a JSON Lines manifest, and stable per-item keys.

use crate::Error;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One file of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The stable name of the item: the path relative to the walked folder (with `/`), or the
    /// path as written in the manifest. Journals and shards use it.
    pub key: String,
    /// Where the file is.
    pub path: PathBuf,
    /// Extra form fields for this item (from the manifest), sorted by name.
    pub fields: BTreeMap<String, String>,
}

/// Files whose name starts with this are never part of a folder walk (journals live there).
pub const JOURNAL_PREFIX: &str = ".fw-batch.journal";

/// Every regular file under `dir`, recursively, sorted by key; journal files are skipped and
/// symbolic links are not followed.
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
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                items.push(Item {
                    key,
                    path,
                    fields: BTreeMap::new(),
                });
            }
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(items)
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
pub fn read_manifest(path: &Path) -> Result<Vec<Item>, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
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
            fields,
        });
    }
    Ok(items)
}

/// A key that names this exact upload: lower-hex SHA-256 of the item key, a NUL byte and the
/// file's content. Sent as an idempotency key, it lets a server drop a repeat of the same item.
pub fn content_key(key: &str, path: &Path) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update([0u8]);
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
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
        let a = content_key("f", &p).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, content_key("f", &p).unwrap());
        assert_ne!(a, content_key("g", &p).unwrap());
        std::fs::write(&p, "hellp").unwrap();
        assert_ne!(a, content_key("f", &p).unwrap());
    }
}
