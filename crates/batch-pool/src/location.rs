//! Where a batch's journal lives: in the user's state folder, never inside what is uploaded.

use crate::manifest::hex;
use crate::{Error, Shard};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The default journal of a batch: `$XDG_STATE_HOME/filewire/journals/NAME.jsonl` (or
/// `~/.local/state/filewire/journals/`), creating that folder (mode 0700) if needed.
///
/// `NAME` is the source's folder or file name (made file-name safe) and a hash of the source's
/// canonical path, the URL and the shard, so each batch (source, destination, shard) has its own
/// journal on this machine, and a second run of the same batch finds the first one's lock.
/// `source` is the folder walked or the manifest read.
pub fn default_journal(source: &Path, url: &str, shard: Shard) -> Result<PathBuf, Error> {
    let canonical = std::fs::canonicalize(source).map_err(|e| Error::io(source, e))?;
    let stem = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_string());
    keyed_journal(&stem, &[&os_bytes(&canonical), url.as_bytes()], shard)
}

/// A journal in the state folder for any batch: `$XDG_STATE_HOME/filewire/journals/NAME.jsonl`
/// (or `~/.local/state/filewire/journals/`), creating that folder (mode 0700) if needed.
///
/// `NAME` is `stem` (made file-name safe, at most 40 characters, for people reading the folder)
/// and a hash of every part of `key` and the shard, so each batch, as the caller's key tells
/// them apart, has its own journal. [`default_journal`] keys by source and URL; a download list
/// by the list and the output folder.
pub fn keyed_journal(stem: &str, key: &[&[u8]], shard: Shard) -> Result<PathBuf, Error> {
    let dir = state_dir()?.join("filewire").join("journals");
    create_private_dir(&dir)?;
    Ok(dir.join(journal_name(stem, key, shard)))
}

/// The bytes of a path as the OS holds them (on Unix, exactly; elsewhere its text), for keys.
pub fn path_key(path: &Path) -> Vec<u8> {
    os_bytes(path)
}

/// Refuses a journal that a batch would read as data: one inside `source` when it is the folder
/// being walked (a later run would upload it), or `source` itself when it is a manifest (the
/// journal's lines would be appended to it). A journal whose folder does not exist yet is let
/// through (opening it will fail).
pub fn check_journal_outside(journal: &Path, source: &Path) -> Result<(), Error> {
    let canonical = std::fs::canonicalize(source).map_err(|e| Error::io(source, e))?;
    let Some(resolved) = resolve(journal) else {
        return Ok(());
    };
    if canonical.is_dir() && resolved.starts_with(&canonical) {
        return Err(Error::JournalInSource {
            journal: journal.to_path_buf(),
            source_dir: canonical,
        });
    }
    if resolved == canonical {
        return Err(Error::JournalIsManifest {
            journal: journal.to_path_buf(),
        });
    }
    Ok(())
}

/// The canonical path of a file that may not exist yet: its folder resolved, its name kept.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

/// `$XDG_STATE_HOME` when set to an absolute path (the XDG spec says to ignore a relative one),
/// else `$HOME/.local/state`.
fn state_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir);
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".local").join("state")),
        _ => Err(Error::NoStateDir),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

fn journal_name(stem: &str, key: &[&[u8]], shard: Shard) -> String {
    let mut h = Sha256::new();
    // Each part then a NUL: for (source, url) the same bytes, and so the same names, as before.
    for part in key {
        h.update(part);
        h.update([0u8]);
    }
    h.update(shard.label().as_bytes());
    let hash = hex(&h.finalize()[..16]);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let stem = stem.trim_start_matches('.');
    if shard.is_whole() {
        format!("{stem}-{hash}.jsonl")
    } else {
        format!("{stem}-{hash}.{}.jsonl", shard.label())
    }
}

#[cfg(unix)]
fn os_bytes(p: &Path) -> Vec<u8> {
    std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()).to_vec()
}

#[cfg(not(unix))]
fn os_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name `default_journal` gives a canonical source and a URL.
    fn name(source: &str, url: &str, shard: Shard) -> String {
        let stem = Path::new(source).file_name().unwrap().to_string_lossy();
        journal_name(&stem, &[source.as_bytes(), url.as_bytes()], shard)
    }

    #[test]
    fn each_source_url_and_shard_has_its_own_name() {
        let a = name("/data/photos", "http://one/", Shard::WHOLE);
        assert!(a.starts_with("photos-") && a.ends_with(".jsonl"), "{a}");
        assert_eq!(a, name("/data/photos", "http://one/", Shard::WHOLE));
        // Journals written before keys had any number of parts keep their names.
        assert_eq!(a, "photos-f228a15a1ac45c890009ee48be60a5b4.jsonl");
        let others = [
            name("/data/photos", "http://two/", Shard::WHOLE),
            name("/data/photos2", "http://one/", Shard::WHOLE),
            name("/data/photos", "http://one/", Shard::new(1, 4).unwrap()),
            // The parts are kept apart: moving a byte across the boundary is another batch.
            journal_name("photos", &[b"/data/photosh", b"ttp://one/"], Shard::WHOLE),
        ];
        for o in &others {
            assert_ne!(&a, o);
        }
        assert!(others[2].ends_with(".shard-1-of-4.jsonl"));
        let odd = name("/x/.hidden dir ü", "u", Shard::WHOLE);
        assert!(odd.starts_with("hidden_dir__-"), "{odd}");
    }

    #[test]
    fn a_journal_inside_the_folder_is_refused_by_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        for inside in [
            src.join("j.jsonl"),
            src.join("sub/j.jsonl"),
            src.join("sub/../j.jsonl"),
        ] {
            assert!(
                matches!(
                    check_journal_outside(&inside, &src),
                    Err(Error::JournalInSource { .. })
                ),
                "{}",
                inside.display()
            );
        }
        check_journal_outside(&dir.path().join("j.jsonl"), &src).unwrap();
        check_journal_outside(&dir.path().join("src2.jsonl"), &src).unwrap();
        let manifest = dir.path().join("m.jsonl");
        std::fs::write(&manifest, "").unwrap();
        assert!(matches!(
            check_journal_outside(&src.join("../m.jsonl"), &manifest),
            Err(Error::JournalIsManifest { .. })
        ));
        check_journal_outside(&dir.path().join("j.jsonl"), &manifest).unwrap();
    }
}
