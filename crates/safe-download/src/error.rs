//! The one error type of this crate, with an exit code per the README's exit-code table.

use binary_io::Kind;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use retry::FailureKind;

/// Everything that can stop a download. Each variant names the URL or path and, where it applies,
/// the expected and the actual values. When any of these is returned, no file stands under the
/// final name (a `--continue` download keeps its `.part` file for the next attempt).
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The URL could not be used (bad syntax, or a scheme other than http/https).
    #[error("{url}: invalid url: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `--accept` entry is neither a MIME type nor a known file extension.
    #[error("invalid accepted type {pattern:?} (expected e.g. image/jpeg, image/*, pdf)")]
    InvalidAccept {
        /// The entry as given.
        pattern: String,
    },
    /// A line of a batch list ([`crate::batch::parse_list`]) cannot be used.
    #[error("input list line {line}: {reason}")]
    InvalidList {
        /// The line number (1-based).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The destination exists and overwriting was not asked for.
    #[error("{path}: already exists (pass --force to replace it)")]
    Exists {
        /// The final path.
        path: PathBuf,
    },
    /// The server answered with a status other than 2xx (after following redirects).
    #[error("{url}: server answered {status}")]
    Status {
        /// The URL that answered.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The wait the server asked for with Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// The declared Content-Type is not in the accepted list.
    #[error("{url}: content type {} is not accepted (accepted: {})", declared.as_deref().unwrap_or("(none)"), accepted.join(", "))]
    ContentTypeNotAccepted {
        /// The URL.
        url: String,
        /// The Content-Type the server declared, without parameters.
        declared: Option<String>,
        /// The accepted patterns.
        accepted: Vec<String>,
    },
    /// The declared Content-Length is over the limit: refused before any file was created.
    #[error("{url}: declared size {declared} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The size limit in bytes.
        limit: u64,
        /// The Content-Length the server declared.
        declared: u64,
    },
    /// More bytes arrived than the limit allows (missing or lying Content-Length, or a body that
    /// expands when decompressed): stopped at the limit.
    #[error("{url}: body passed the limit of {limit} bytes{}", if *decompressed { " after decompression" } else { "" })]
    LimitExceeded {
        /// The URL.
        url: String,
        /// The limit in bytes that was reached.
        limit: u64,
        /// Whether more body had arrived than bytes on the wire: the server compressed it.
        decompressed: bool,
    },
    /// The first bytes contradict the declared Content-Type (e.g. an HTML page served as JPEG).
    #[error("{url}: declared {declared} but the body is {sniffed}")]
    TypeMismatch {
        /// The URL.
        url: String,
        /// The declared Content-Type.
        declared: String,
        /// The kind told by the first bytes.
        sniffed: Kind,
    },
    /// The connection ended before the declared length arrived.
    #[error("{url}: body truncated: expected {expected} bytes, received {received}")]
    Truncated {
        /// The URL.
        url: String,
        /// The expected total size in bytes.
        expected: u64,
        /// The bytes received in total.
        received: u64,
    },
    /// The server sent more bytes than its Content-Length declared.
    #[error("{url}: body longer than the declared {expected} bytes")]
    TooLong {
        /// The URL.
        url: String,
        /// The declared size in bytes.
        expected: u64,
    },
    /// The SHA-256 of the received file is not the one asked for.
    #[error("{url}: sha256 mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// The digest asked for (lower-case hex).
        expected: String,
        /// The digest of what arrived (lower-case hex).
        actual: String,
    },
    /// The name the server or URL suggests cannot be used safely as a file name.
    #[error("unsafe file name {name:?}: {reason}")]
    UnsafeFilename {
        /// The raw name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// More redirects than allowed (or a loop).
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects {
        /// The URL where the limit was reached.
        url: String,
        /// The redirect limit.
        limit: u32,
    },
    /// A redirect to a scheme other than http or https.
    #[error("{url}: redirect to unsupported location {location}")]
    UnsupportedRedirect {
        /// The URL that redirected.
        url: String,
        /// Where it pointed.
        location: String,
    },
    /// A connect or idle-read timeout.
    #[error("{url}: timed out ({phase})")]
    Timeout {
        /// The URL.
        url: String,
        /// Which timeout fired (connect, per read, ...).
        phase: String,
    },
    /// The overall deadline of the transfer ([`crate::Downloader::max_time`]) passed.
    #[error("{url}: no complete answer within the deadline of {}", crate::error::secs(*limit))]
    DeadlineExceeded {
        /// The URL.
        url: String,
        /// The deadline.
        limit: Duration,
    },
    /// The server applied a content coding this crate cannot undo (br, zstd, compress, ...):
    /// refused rather than saved still encoded.
    #[error("{url}: unsupported content coding {coding:?} (only gzip and deflate are decoded)")]
    UnsupportedEncoding {
        /// The URL.
        url: String,
        /// The coding as the server named it (lower-cased).
        coding: String,
    },
    /// The body is not valid data in the coding the server declared.
    #[error("{url}: body does not decode as its Content-Encoding says")]
    Undecodable {
        /// The URL.
        url: String,
        /// The decoder's complaint.
        #[source]
        source: io::Error,
    },
    /// The partial data cannot be continued and starting over was ruled out
    /// ([`crate::Downloader::restart`] false).
    #[error("{url}: cannot resume: {reason}; not starting over (no-restart)")]
    ResumeRefused {
        /// The URL.
        url: String,
        /// Why the server's answer does not continue the part.
        reason: String,
    },
    /// The peer reset the connection.
    #[error("{url}: connection reset by peer after {received} bytes")]
    Reset {
        /// The URL.
        url: String,
        /// The body bytes received in total before the reset.
        received: u64,
    },
    /// Any other network or protocol failure.
    #[error("{url}: network error")]
    Network {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: ureq::Error,
    },
    /// The server's answer could not be used (bad Content-Range, missing Location, ...).
    #[error("{url}: invalid response: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A local file operation failed.
    #[error("{path}: i/o error")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl DownloadError {
    /// What kind of failure this is, for callers that act on the kind (the apps map it to an
    /// exit code): invalid input (URL, accept list, list file), refused by policy before
    /// anything is written, rejected by the server, network or timeout, integrity, or other
    /// (local I/O).
    pub fn kind(&self) -> FailureKind {
        use DownloadError::*;
        match self {
            InvalidUrl { .. } | InvalidAccept { .. } | InvalidList { .. } => FailureKind::Invalid,
            Exists { .. }
            | ContentTypeNotAccepted { .. }
            | TooLarge { .. }
            | LimitExceeded { .. }
            | UnsafeFilename { .. }
            | UnsupportedRedirect { .. }
            | UnsupportedEncoding { .. }
            | ResumeRefused { .. } => FailureKind::Refused,
            Status { .. } | TooManyRedirects { .. } => FailureKind::Rejected,
            Timeout { .. } | DeadlineExceeded { .. } | Reset { .. } | Network { .. } => {
                FailureKind::Network
            }
            TypeMismatch { .. }
            | Truncated { .. }
            | TooLong { .. }
            | ChecksumMismatch { .. }
            | Undecodable { .. }
            | InvalidResponse { .. } => FailureKind::Integrity,
            Io { .. } => FailureKind::Other,
        }
    }
}

impl retry::Retryable for DownloadError {
    fn is_retryable(&self) -> bool {
        use DownloadError::*;
        match self {
            Status { status, .. } => retry::is_retryable_status(*status),
            Timeout { .. } | Reset { .. } | Network { .. } | Truncated { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            DownloadError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn is_overload(&self) -> bool {
        matches!(self, DownloadError::Status { status, .. } if retry::is_overload_status(*status))
    }
}

/// `2s`, `1.5s`: a duration as a person reads it.
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{s:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retry::Retryable;

    #[test]
    fn failures_are_classified_by_kind() {
        let url = "http://127.0.0.1/x".to_string();
        let e = DownloadError::TypeMismatch {
            url: url.clone(),
            declared: "image/jpeg".into(),
            sniffed: Kind::Html,
        };
        assert_eq!(e.kind(), retry::FailureKind::Integrity);
        let e = DownloadError::Status {
            url: url.clone(),
            status: 404,
            retry_after: None,
        };
        assert_eq!(e.kind(), retry::FailureKind::Rejected);
        assert!(!e.is_retryable());
        let e = DownloadError::Status {
            url: url.clone(),
            status: 503,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(e.is_retryable() && e.is_overload());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        let e = DownloadError::TooLarge {
            url,
            limit: 10,
            declared: 11,
        };
        assert_eq!(e.kind(), retry::FailureKind::Refused);
        assert_eq!(
            e.to_string(),
            "http://127.0.0.1/x: declared size 11 bytes is over the limit of 10 bytes"
        );
    }
}
