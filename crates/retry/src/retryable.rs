//! [`Retryable`]: what a retry loop needs to know about a failure, and the one rule for which
//! HTTP statuses are worth another try.

use std::time::Duration;

/// What a retry loop needs to know about a failed attempt to decide whether to try again.
///
/// The HTTP crates implement it on their error types (e.g. 429/503 with `Retry-After`, other 5xx
/// and network errors are retryable; 4xx and local file problems are not).
pub trait Retryable {
    /// Whether the failure is worth another try.
    fn is_retryable(&self) -> bool;

    /// The wait the server asked for (`Retry-After`), if any.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// Whether the failure says the server is overloaded (429/503): the adaptive limiter backs off.
    fn is_overload(&self) -> bool {
        false
    }
}

/// Whether an HTTP answer with this status is worth another try: 408 (request timeout), 429 (too
/// many requests) and every 5xx. Other 4xx answers say the request itself is wrong.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Whether an HTTP answer with this status says the server is overloaded: 429 and 503. An
/// adaptive limiter backs off on these.
pub fn is_overload_status(status: u16) -> bool {
    status == 429 || status == 503
}
