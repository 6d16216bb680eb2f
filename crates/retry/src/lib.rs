//! What to retry and how long to wait, and what kind of failure an error is: the vocabulary the
//! transfer crates and the batch runner share.
//!
//! - [`Retryable`] is asked of a failed attempt: worth another try? did the server say when
//!   (`Retry-After`)? is it overloaded? [`is_retryable_status`] is the one rule for HTTP
//!   statuses (408, 429, 5xx), [`is_overload_status`] the one for overload (429, 503).
//! - [`RetryPolicy`] decides about a failed try: non-retryable errors give up at once, the
//!   server's `Retry-After` is honoured (capped), otherwise exponential backoff with full jitter,
//!   with caps on tries and on total time. [`parse_retry_after`] reads the header.
//! - [`FailureKind`] classifies an error (refused, invalid, rejected, network, integrity, other)
//!   so callers ask instead of matching on variants; the apps map a kind to an exit code.
//!
//! ```
//! use retry::{Decision, RetryPolicy, Retryable, is_retryable_status};
//! use std::time::Duration;
//!
//! struct Answer(u16);
//! impl Retryable for Answer {
//!     fn is_retryable(&self) -> bool { is_retryable_status(self.0) }
//! }
//!
//! let policy = RetryPolicy::new().max_tries(3);
//! assert!(matches!(policy.decide(&Answer(503), 1, Duration::ZERO, 0.5), Decision::RetryIn(_)));
//! assert!(matches!(policy.decide(&Answer(404), 1, Duration::ZERO, 0.5), Decision::GiveUp(_)));
//! ```
//!
//! Why a crate of its own: multipart-upload, safe-download and ocr-client need to say what is
//! worth retrying, and batch-pool needs to ask; with the vocabulary here no transfer crate depends
//! on the batch runner (ripgrep's `grep-matcher` plays the same part between its crates).
//!
//! It does not sleep, run loops or know about HTTP clients: callers wait and try again.

mod after;
mod kind;
mod policy;
mod retryable;

pub use after::parse_retry_after;
pub use kind::FailureKind;
pub use policy::{Decision, GiveUpReason, RetryPolicy};
pub use retryable::{Retryable, is_overload_status, is_retryable_status};
