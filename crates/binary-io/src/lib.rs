//! Open any file as bytes, tell its real kind from its first bytes (not its name), and check a
//! [`FilePolicy`] — allowed kinds, size bounds, extension agreement — before anything goes on the
//! wire.
//!
//! ```
//! use binary_io::{FilePolicy, Kind};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("photo.jpg");
//! // An HTML error page saved as photo.jpg is refused, naming the file and both kinds.
//! std::fs::write(&path, b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>").unwrap();
//! let err = FilePolicy::avatar().check(&path).unwrap_err();
//! assert!(err.is_refusal());
//! assert_eq!(binary_io::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Kind::Png);
//! ```
//!
//! Only regular files are inputs: [`open_regular`] (under [`open`] and [`FilePolicy::check`])
//! refuses a FIFO, a device or a socket before opening it, so `/dev/zero` or a named pipe given as
//! an upload fails at once with [`Error::NotRegularFile`] instead of hanging or sending nothing.
//!
//! What it does not do: no networking (callers apply the same policy to a download's declared
//! size and first bytes with [`FilePolicy::check_size`] and [`FilePolicy::check_kind`]), no
//! decoding of images, and no trust in file names beyond the optional extension check.

mod accept;
mod kind;
mod policy;

pub use accept::{AcceptError, accept_matches, accepted_kinds, parse_accept};
pub use kind::{Kind, SNIFF_LEN, sniff};
pub use policy::{ExtensionRule, FilePolicy};

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What went wrong opening, reading or checking a file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist.
    #[error("{path}: no such file")]
    NotFound {
        /// The path asked for.
        path: PathBuf,
    },
    /// The path is a directory, not a file.
    #[error("{path}: is a directory, not a file")]
    IsDirectory {
        /// The path asked for.
        path: PathBuf,
    },
    /// The path is a FIFO, a device or a socket: reading it could block forever (a FIFO with no
    /// writer) or never end (`/dev/zero`), and it has no size to announce.
    #[error("{path}: not a regular file ({what})")]
    NotRegularFile {
        /// The path asked for.
        path: PathBuf,
        /// What it is instead: `a FIFO`, `a character device`, `a block device`, `a socket`.
        what: &'static str,
    },
    /// The file exists but may not be read.
    #[error("{path}: permission denied")]
    PermissionDenied {
        /// The path asked for.
        path: PathBuf,
    },
    /// The file has no bytes.
    #[error("{path}: file is empty")]
    Empty {
        /// The path asked for.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("{path}: read failed")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The content's kind is not in the policy's allowed list.
    #[error("{name}: content is {actual}, allowed: {}", kinds_list(.allowed))]
    KindNotAllowed {
        /// The file (or resource) name.
        name: String,
        /// What the policy allows.
        allowed: Vec<Kind>,
        /// What the bytes are.
        actual: Kind,
    },
    /// Larger than the policy's maximum.
    #[error("{name}: {actual} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// The file (or resource) name.
        name: String,
        /// The policy's maximum, in bytes.
        max: u64,
        /// The actual (or declared) size, in bytes.
        actual: u64,
    },
    /// Smaller than the policy's minimum.
    #[error("{name}: {actual} bytes is under the minimum of {min} bytes")]
    TooSmall {
        /// The file (or resource) name.
        name: String,
        /// The policy's minimum, in bytes.
        min: u64,
        /// The actual size, in bytes.
        actual: u64,
    },
    /// The file name's extension says one kind, the content another.
    #[error("{name}: extension .{extension} does not match its content ({actual})")]
    ExtensionMismatch {
        /// The file name.
        name: String,
        /// The extension found on the name.
        extension: String,
        /// What the bytes are.
        actual: Kind,
    },
    /// A size string that could not be parsed (see [`parse_size`]).
    #[error("invalid size `{input}` (expected e.g. 512, 64k, 5MB, 5MiB, 1GiB)")]
    InvalidSize {
        /// The text given.
        input: String,
    },
}

fn kinds_list(kinds: &[Kind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.mime()).collect();
    names.join(", ")
}

impl Error {
    /// Whether this is a policy refusal (kind, size, extension) rather than a file problem.
    /// Apps map refusals to exit code 3.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::KindNotAllowed { .. }
                | Error::TooLarge { .. }
                | Error::TooSmall { .. }
                | Error::ExtensionMismatch { .. }
                | Error::Empty { .. }
        )
    }

    fn from_io(path: &Path, source: io::Error) -> Error {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::NotFound => Error::NotFound { path },
            io::ErrorKind::PermissionDenied => Error::PermissionDenied { path },
            io::ErrorKind::IsADirectory => Error::IsDirectory { path },
            _ => Error::Io { path, source },
        }
    }
}

/// A file opened for reading, with its size and sniffed kind; positioned at its first byte.
#[derive(Debug)]
pub struct OpenedFile {
    /// The open file, rewound to the start.
    pub file: File,
    /// The path it was opened from.
    pub path: PathBuf,
    /// Its size in bytes when opened.
    pub size: u64,
    /// Its kind, from its first bytes.
    pub kind: Kind,
}

impl OpenedFile {
    /// The final component of the path, lossily as UTF-8 (for messages and form filenames).
    pub fn file_name(&self) -> String {
        file_name(&self.path)
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Opens a regular file, records its size and sniffs its kind from the first [`SNIFF_LEN`] bytes,
/// then rewinds. Directories, FIFOs, devices, missing and unreadable files get their own errors
/// (see [`open_regular`]); an empty file is opened (its kind is [`Kind::Unknown`]) and left to the
/// policy to refuse.
pub fn open(path: &Path) -> Result<OpenedFile, Error> {
    let (mut file, meta) = open_regular(path)?;
    let mut head = Vec::with_capacity(SNIFF_LEN.min(meta.len() as usize));
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::from_io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::from_io(path, e))?;
    let kind = if head.is_empty() {
        Kind::Unknown
    } else {
        sniff(&head)
    };
    Ok(OpenedFile {
        file,
        path: path.to_path_buf(),
        size: meta.len(),
        kind,
    })
}

/// Opens `path` for reading if it is a regular file (a symbolic link is followed), and returns
/// it with its metadata. Everything a tool is given as an input file should come through here.
///
/// A FIFO, a device or a socket is refused with [`Error::NotRegularFile`] *before* it is opened:
/// opening a FIFO waits for a writer, and `/dev/zero` would read as an endless (or, by its size,
/// empty) file. The open itself is non-blocking and the opened file is checked again, so a path
/// swapped for a FIFO between the check and the open is refused too, not waited on. (On a regular
/// file the non-blocking flag changes nothing.)
pub fn open_regular(path: &Path) -> Result<(File, Metadata), Error> {
    let before = std::fs::metadata(path).map_err(|e| Error::from_io(path, e))?;
    check_regular(path, &before)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| Error::from_io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::from_io(path, e))?;
    check_regular(path, &meta)?;
    Ok((file, meta))
}

/// Refuses anything but a regular file, naming what it is.
pub fn check_regular(path: &Path, meta: &Metadata) -> Result<(), Error> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(Error::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    Err(Error::NotRegularFile {
        path: path.to_path_buf(),
        what: special_kind(&kind),
    })
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Reads a whole file as bytes. Fails on directories, missing, unreadable and empty files.
/// For large files prefer [`open`] and stream (see the chunk-stream crate).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    let mut opened = open(path)?;
    if opened.size == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut bytes = Vec::with_capacity(opened.size as usize);
    opened
        .file
        .read_to_end(&mut bytes)
        .map_err(|e| Error::from_io(path, e))?;
    Ok(bytes)
}

/// Parses a human size: `512`, `64k`/`64KB` (×1000), `64KiB` (×1024), `5MB`, `5MiB`, `1G`, `1GiB`.
/// Decimal fractions are allowed (`1.5MB`). Case-insensitive; spaces ignored.
pub fn parse_size(input: &str) -> Result<u64, Error> {
    let invalid = || Error::InvalidSize {
        input: input.to_string(),
    };
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() || num.matches('.').count() > 1 {
        return Err(invalid());
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(invalid()),
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let mut total = whole.checked_mul(multiplier).ok_or_else(invalid)?;
    if !frac.is_empty() {
        // Exact integer arithmetic: frac digits / 10^len * multiplier.
        let digits = frac.len().min(9) as u32;
        let frac_value: u64 = frac[..digits as usize].parse().map_err(|_| invalid())?;
        let scale = 10u64.pow(digits);
        let part = (frac_value as u128 * multiplier as u128 / scale as u128) as u64;
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_with_decimal_and_binary_units() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("5MB").unwrap(), 5_000_000);
        assert_eq!(parse_size("5 MiB").unwrap(), 5 * 1024 * 1024);
        assert_eq!(parse_size("64k").unwrap(), 64_000);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("0.5KiB").unwrap(), 512);
    }

    #[test]
    fn io_errors_map_to_their_own_variants() {
        let p = Path::new("x.jpg");
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(matches!(
            Error::from_io(p, denied),
            Error::PermissionDenied { .. }
        ));
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert!(matches!(Error::from_io(p, missing), Error::NotFound { .. }));
        let other = io::Error::other("disk on fire");
        assert!(matches!(Error::from_io(p, other), Error::Io { .. }));
    }

    #[test]
    fn rejects_malformed_sizes() {
        for bad in ["", "MB", "5XB", "1.2.3MB", "-5", "99999999999999999999"] {
            assert!(
                matches!(parse_size(bad), Err(Error::InvalidSize { .. })),
                "{bad:?} should be invalid"
            );
        }
    }
}
