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
    let dir = state_dir()?.join("filewire").join("journals");
    create_private_dir(&dir)?;
    let canonical = std::fs::canonicalize(source).map_err(|e| Error::io(source, e))?;
    Ok(dir.join(journal_name(&canonical, url, shard)))
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

fn journal_name(canonical_source: &Path, url: &str, shard: Shard) -> String {
    let mut h = Sha256::new();
    h.update(os_bytes(canonical_source));
    h.update([0u8]);
    h.update(url.as_bytes());
    h.update([0u8]);
    h.update(shard.label().as_bytes());
    let hash = hex(&h.finalize()[..16]);
    let stem: String = canonical_source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_string())
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

    #[test]
    fn each_source_url_and_shard_has_its_own_name() {
        let a = journal_name(Path::new("/data/photos"), "http://one/", Shard::WHOLE);
        assert!(a.starts_with("photos-") && a.ends_with(".jsonl"), "{a}");
        assert_eq!(
            a,
            journal_name(Path::new("/data/photos"), "http://one/", Shard::WHOLE)
        );
        let others = [
            journal_name(Path::new("/data/photos"), "http://two/", Shard::WHOLE),
            journal_name(Path::new("/data/photos2"), "http://one/", Shard::WHOLE),
            journal_name(
                Path::new("/data/photos"),
                "http://one/",
                Shard::new(1, 4).unwrap(),
            ),
        ];
        for o in &others {
            assert_ne!(&a, o);
        }
        assert!(others[2].ends_with(".shard-1-of-4.jsonl"));
        let odd = journal_name(Path::new("/x/.hidden dir ü"), "u", Shard::WHOLE);
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
