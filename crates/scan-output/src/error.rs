//! The crate's one error type.

use std::path::PathBuf;

/// Why an output could not be written or a file could not be renamed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// A rename template names a field that does not exist.
    #[error("unknown field `{{{field}}}` in template `{template}` (known: {known})")]
    UnknownField {
        /// The template as given.
        template: String,
        /// The unknown name between the braces.
        field: String,
        /// The names a template may use, comma-separated.
        known: String,
    },
    /// A rename template is malformed: an unclosed brace, a path separator, no field at all.
    #[error("invalid template `{template}`: {reason}")]
    InvalidTemplate {
        /// The template as given.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Writing an output (the CSV's or the report's destination) failed.
    #[error("cannot write {}", path.as_ref().map_or("the output".to_string(), |p| p.display().to_string()))]
    Write {
        /// The file being written, when there is one.
        path: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Renaming a file failed (the file keeps its old name).
    #[error("cannot rename {} to {}", from.display(), to.display())]
    Rename {
        /// The file to rename.
        from: PathBuf,
        /// The name it was to get.
        to: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Every name from the planned one up to its `-9999` variant is taken.
    #[error("cannot rename {}: {} and its numbered variants up to -{max} are all taken", from.display(), to.display())]
    NoFreeName {
        /// The file to rename.
        from: PathBuf,
        /// The planned name.
        to: PathBuf,
        /// The highest suffix tried.
        max: u32,
    },
}

impl OutputError {
    pub(crate) fn write(path: Option<PathBuf>, source: std::io::Error) -> OutputError {
        OutputError::Write { path, source }
    }
}
