//! A bounded worker pool for batches: per-item outcomes, retries honouring Retry-After, adaptive
//! concurrency, a journal and sharding.
//!
//! This crate knows nothing of HTTP: it learns what to retry from the small [`Retryable`] trait
//! that the HTTP crates implement on their error types.
//!
//! ```
//! use batch_pool::{parse_retry_after, Retryable};
//! use std::time::{Duration, SystemTime};
//!
//! struct Busy;
//! impl Retryable for Busy {
//!     fn is_retryable(&self) -> bool { true }
//!     fn retry_after(&self) -> Option<Duration> { parse_retry_after("2", SystemTime::now()) }
//!     fn is_overload(&self) -> bool { true }
//! }
//! assert_eq!(Busy.retry_after(), Some(Duration::from_secs(2)));
//! ```
//!
//! It does not send anything, read files for you or decide what an item is.

mod retry;

pub use retry::{Decision, GiveUpReason, RetryPolicy, Retryable, parse_retry_after};
