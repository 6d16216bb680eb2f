//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// What can go wrong reading a manifest, keeping a journal or parsing a shard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// A shard was not `INDEX/COUNT` with `INDEX < COUNT`.
    #[error("invalid shard {input:?}: expected INDEX/COUNT with 0 <= INDEX < COUNT")]
    InvalidShard {
        /// What was given.
        input: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
