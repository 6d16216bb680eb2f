//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// What can go wrong reading a manifest, keeping a journal or parsing a shard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input (manifest, item, journal) is not a readable regular file: missing, a folder, a
    /// FIFO, a device.
    #[error(transparent)]
    File(#[from] binary_io::Error),
    /// Another process holds the journal's lock: two runs of one batch would send every file
    /// twice.
    #[error("journal {path} is in use by another run{}", holder_note(*.pid))]
    Locked {
        /// The journal.
        path: PathBuf,
        /// The process that holds it, as its last `run` line says.
        pid: Option<u32>,
    },
    /// No folder to keep journals in: neither `XDG_STATE_HOME` (absolute) nor `HOME` is set.
    #[error("no state folder for journals: neither XDG_STATE_HOME nor HOME is set")]
    NoStateDir,
    /// The journal would be inside the folder being uploaded, so a later run would upload it.
    #[error("journal {journal} is inside the folder being uploaded ({source_dir})")]
    JournalInSource {
        /// The journal.
        journal: PathBuf,
        /// The folder.
        source_dir: PathBuf,
    },
    /// A file or folder could not be read or written.
    #[error("i/o error on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A manifest line is not a JSON object with a string `path`.
    #[error("manifest {path} line {line}: {reason}")]
    ManifestLine {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The journal would be the manifest itself, and its lines would be appended to it.
    #[error("journal {journal} is the batch's manifest")]
    JournalIsManifest {
        /// The journal.
        journal: PathBuf,
    },
    /// A shard was not `INDEX/COUNT` with `INDEX < COUNT`.
    #[error("invalid shard {input:?}: expected INDEX/COUNT with 0 <= INDEX < COUNT")]
    InvalidShard {
        /// What was given.
        input: String,
    },
}

fn holder_note(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (process {pid})"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
