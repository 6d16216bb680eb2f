//! What may be sent: allowed kinds, size bounds, extension agreement.

use crate::{Error, Kind, OpenedFile, file_name, open};
use std::path::Path;

/// Whether a file name's extension must agree with the sniffed content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExtensionRule {
    /// Names are not looked at.
    #[default]
    Ignore,
    /// An extension naming another kind than the content is refused (`photo.jpg` holding HTML).
    /// A name without an extension passes.
    MustMatch,
}

/// A policy checked before anything goes on the wire: allowed kinds, size bounds, extensions.
///
/// The default allows any kind of any non-empty size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePolicy {
    allowed: Vec<Kind>,
    min: u64,
    max: Option<u64>,
    extension: ExtensionRule,
}

impl Default for FilePolicy {
    fn default() -> Self {
        FilePolicy::new()
    }
}

impl FilePolicy {
    /// Any kind, any size of at least one byte, names ignored.
    pub fn new() -> Self {
        FilePolicy {
            allowed: Vec::new(),
            min: 1,
            max: None,
            extension: ExtensionRule::Ignore,
        }
    }

    /// A profile picture: JPEG, PNG, WebP or GIF, at most 5 MB, extension agreeing with content.
    pub fn avatar() -> Self {
        FilePolicy::new()
            .allow([Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif])
            .max_size(5_000_000)
            .extension(ExtensionRule::MustMatch)
    }

    /// Restricts the allowed kinds (adds to the list; an empty list allows every kind).
    pub fn allow(mut self, kinds: impl IntoIterator<Item = Kind>) -> Self {
        for k in kinds {
            if !self.allowed.contains(&k) {
                self.allowed.push(k);
            }
        }
        self
    }

    /// The largest size accepted, in bytes.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max = Some(bytes);
        self
    }

    /// The smallest size accepted, in bytes (default 1: empty files are refused).
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min = bytes;
        self
    }

    /// Sets the extension rule.
    pub fn extension(mut self, rule: ExtensionRule) -> Self {
        self.extension = rule;
        self
    }

    /// The allowed kinds (empty: all).
    pub fn allowed(&self) -> &[Kind] {
        &self.allowed
    }

    /// The maximum size in bytes, if any.
    pub fn max(&self) -> Option<u64> {
        self.max
    }

    /// Opens `path` and applies every check; returns the opened file, rewound, ready to stream.
    pub fn check(&self, path: &Path) -> Result<OpenedFile, Error> {
        let opened = open(path)?;
        let name = opened.file_name();
        if opened.size == 0 && self.min > 0 {
            return Err(Error::Empty {
                path: path.to_path_buf(),
            });
        }
        self.check_size(&name, opened.size)?;
        self.check_kind(&name, opened.kind)?;
        if self.extension == ExtensionRule::MustMatch {
            check_extension(path, opened.kind)?;
        }
        Ok(opened)
    }

    /// Checks a size (a file's, or a download's declared or received length) against the bounds.
    pub fn check_size(&self, name: &str, size: u64) -> Result<(), Error> {
        if let Some(max) = self.max
            && size > max
        {
            return Err(Error::TooLarge {
                name: name.to_string(),
                max,
                actual: size,
            });
        }
        if size < self.min {
            return Err(Error::TooSmall {
                name: name.to_string(),
                min: self.min,
                actual: size,
            });
        }
        Ok(())
    }

    /// Checks a sniffed kind against the allowed list.
    pub fn check_kind(&self, name: &str, kind: Kind) -> Result<(), Error> {
        if self.allowed.is_empty() || self.allowed.contains(&kind) {
            return Ok(());
        }
        Err(Error::KindNotAllowed {
            name: name.to_string(),
            allowed: self.allowed.clone(),
            actual: kind,
        })
    }
}

fn check_extension(path: &Path, actual: Kind) -> Result<(), Error> {
    let Some(ext) = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    else {
        return Ok(());
    };
    if actual.extensions().contains(&ext.as_str()) {
        return Ok(());
    }
    Err(Error::ExtensionMismatch {
        name: file_name(path),
        extension: ext,
        actual,
    })
}
