//! The crate's error type and its exit codes.

use std::path::PathBuf;
use std::time::Duration;

use retry::FailureKind;

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A file was refused by the policy, or could not be opened, before any byte was sent.
    #[error("refused before sending")]
    Refused(#[from] binary_io::Error),
    /// The server answered with a status outside 2xx.
    #[error("{url} answered {status}")]
    Status {
        /// The URL posted to.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body (lossy UTF-8, at most 4 KiB).
        body: String,
        /// The server's Retry-After, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Connecting, sending or receiving failed.
    #[error("network error talking to {url}")]
    Network {
        /// The URL posted to.
        url: String,
        /// What ureq reported.
        #[source]
        source: ureq::Error,
    },
    /// A connect, read or write timeout expired.
    #[error("timed out talking to {url}")]
    Timeout {
        /// The URL posted to.
        url: String,
    },
    /// Reading a file failed while streaming it.
    #[error("reading {path} failed")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file changed size between being added to the form and being sent, so the body would
    /// not match its announced Content-Length.
    #[error("{path} changed size while uploading: expected {expected} bytes, found {actual}")]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// Its size when added to the form.
        expected: u64,
        /// Its size (or the bytes found) while streaming.
        actual: u64,
    },
    /// A file's content contained the multipart boundary (new boundaries collided each time).
    #[error("{path} contains the multipart boundary")]
    BoundaryCollision {
        /// The file.
        path: PathBuf,
    },
    /// The request could not be made as given (a malformed URL or header).
    #[error("invalid request to {url}: {reason}")]
    InvalidRequest {
        /// The URL as given.
        url: String,
        /// What is wrong with the request.
        reason: String,
    },
    /// The file is larger than the tus server's `Tus-Max-Size`; nothing was sent.
    #[error("{path} is {size} bytes, more than the server accepts ({max} bytes, its Tus-Max-Size)")]
    TooLargeForServer {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The server's `Tus-Max-Size`.
        max: u64,
    },
    /// The server does not speak the protocol version this client does (tus 412).
    #[error("{url} cannot take this upload: {reason}")]
    Unsupported {
        /// The URL that answered.
        url: String,
        /// What it said.
        reason: String,
    },
    /// Remembering or forgetting a resumable upload in the state folder failed.
    #[error("cannot update the upload state in {path}")]
    State {
        /// The state file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server's answer could not be read or understood.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The URL posted to.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
}

impl UploadError {
    /// What kind of failure this is, for callers that act on the kind (the apps map it to an
    /// exit code): refused before sending (policy, a file that cannot be opened, a file over the
    /// server's `Tus-Max-Size`), rejected by the server, network or timeout, integrity (a file
    /// changed underway, an unreadable answer), an invalid URL or header, or other (local I/O, a
    /// state folder that cannot be written).
    pub fn kind(&self) -> FailureKind {
        match self {
            UploadError::Refused(_) | UploadError::TooLargeForServer { .. } => FailureKind::Refused,
            UploadError::Status { .. } | UploadError::Unsupported { .. } => FailureKind::Rejected,
            UploadError::Network { .. } | UploadError::Timeout { .. } => FailureKind::Network,
            UploadError::FileChanged { .. } | UploadError::InvalidResponse { .. } => {
                FailureKind::Integrity
            }
            UploadError::InvalidRequest { .. } => FailureKind::Invalid,
            UploadError::Io { .. }
            | UploadError::BoundaryCollision { .. }
            | UploadError::State { .. } => FailureKind::Other,
        }
    }

    /// Whether this is a refusal before sending: the policy's, or the server's `Tus-Max-Size`.
    pub fn is_refusal(&self) -> bool {
        matches!(self, UploadError::Refused(e) if e.is_refusal())
            || matches!(self, UploadError::TooLargeForServer { .. })
    }

    /// The HTTP status, for [`UploadError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            UploadError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl retry::Retryable for UploadError {
    /// 408, 429 and 5xx answers, network failures and timeouts are worth another try.
    fn is_retryable(&self) -> bool {
        match self {
            UploadError::Status { status, .. } => retry::is_retryable_status(*status),
            UploadError::Network { .. } | UploadError::Timeout { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            UploadError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// 429 and 503 mean the server is overloaded.
    fn is_overload(&self) -> bool {
        matches!(self, UploadError::Status { status, .. } if retry::is_overload_status(*status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retry::Retryable;

    fn status(code: u16, retry_after: Option<Duration>) -> UploadError {
        UploadError::Status {
            url: "http://127.0.0.1:1/upload".into(),
            status: code,
            body: String::new(),
            retry_after,
        }
    }

    #[test]
    fn overload_answers_are_retryable_and_carry_retry_after() {
        let e = status(429, Some(Duration::from_secs(2)));
        assert!(e.is_retryable() && e.is_overload());
        assert_eq!(Retryable::retry_after(&e), Some(Duration::from_secs(2)));
        assert!(status(503, None).is_overload());
        assert!(status(500, None).is_retryable() && !status(500, None).is_overload());
    }

    #[test]
    fn client_errors_are_final_and_exit_4() {
        let e = status(413, None);
        assert!(!e.is_retryable());
        assert_eq!(e.kind(), FailureKind::Rejected);
    }

    #[test]
    fn timeouts_are_retryable_and_exit_5() {
        let e = UploadError::Timeout {
            url: "http://127.0.0.1:1/".into(),
        };
        assert!(e.is_retryable());
        assert_eq!(e.kind(), FailureKind::Network);
    }

    #[test]
    fn messages_are_lower_case_without_trailing_punctuation() {
        let e = UploadError::FileChanged {
            path: "a.bin".into(),
            expected: 10,
            actual: 3,
        };
        let msg = e.to_string();
        assert_eq!(
            msg,
            "a.bin changed size while uploading: expected 10 bytes, found 3"
        );
        assert_eq!(e.kind(), FailureKind::Integrity);
    }
}
