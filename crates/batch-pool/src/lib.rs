//! A bounded worker pool for batches: per-item outcomes, retries honouring Retry-After, adaptive
//! concurrency, a journal for resuming and a stable sharding of the work.
//!
//! - [`Pool`] runs a job over a list of items on a fixed set of threads and returns one
//!   [`Outcome`] per item (ok with a value, or the error after N tries), in input order
//!   ([`Pool::run`]) or streamed as they finish ([`Pool::run_streaming`]).
//! - [`RetryPolicy`] decides about failed tries: non-retryable errors fail at once, the server's
//!   `Retry-After` is honoured, otherwise exponential backoff with full jitter, with caps on tries
//!   and total time. A retried item waits in a timer queue, not on a thread: the thread takes other
//!   work meanwhile.
//! - [`Concurrency::Adaptive`] runs an [`AdaptiveLimiter`] (AIMD with a remembered ceiling and a
//!   latency signal) so a batch settles just under what the server allows without being told.
//! - [`Journal`] (JSON Lines, locked by one run at a time, kept in the user's state folder by
//!   [`default_journal`], or [`keyed_journal`] for batches of other kinds) knows each item by
//!   its [`Identity`]: destination, exact key and file [`Version`]. With [`walk_dir`]/[`read_manifest`], [`content_key`] and [`Shard`] these are the
//!   pieces a resumable, shardable batch needs.
//!
//! Why plain `std` threads and a mutex-guarded queue rather than rayon or crossbeam workers: the
//! jobs block on the network, so each in-flight job needs its own thread (rayon's pool is sized
//! for CPU work and its scope would not let us gate starts by a limit that changes at run time),
//! and the scheduler needs three things under one lock — the fresh queue, a timer heap of delayed
//! retries, and the limiter — which a `Mutex` plus `Condvar` gives directly.
//!
//! ```
//! use batch_pool::{Pool, RetryPolicy, Retryable};
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! struct Flaky;
//! impl Retryable for Flaky {
//!     fn is_retryable(&self) -> bool { true }
//! }
//!
//! let pool = Pool::new(4).retry(RetryPolicy::new().base_delay(Duration::from_millis(1)));
//! let run = pool.run((1..=10).collect(), |n: &u32, attempt| {
//!     // Odd numbers fail on their first try.
//!     if n % 2 == 1 && attempt.try_number == 1 { Err(Flaky) } else { Ok(n * 10) }
//! });
//! assert_eq!(run.summary.ok, 10);
//! assert_eq!(run.summary.retried, 5);
//! assert_eq!(run.outcomes[2].result.as_ref().unwrap(), &30);
//! ```
//!
//! It does not do I/O for the job (no HTTP here: the HTTP crates implement [`Retryable`] on
//! their errors), and it does not persist anything unless you write to a [`Journal`].

mod error;
mod journal;
mod limiter;
mod location;
mod manifest;
mod plan;
mod pool;
mod shard;

pub use error::Error;
pub use journal::{Destination, Identity, Journal, JournalState, Recorded, Version};
pub use limiter::{AdaptiveConfig, AdaptiveLimiter, Concurrency};
pub use location::{check_journal_outside, default_journal, keyed_journal, path_key};
pub use manifest::{Item, JOURNAL_PREFIX, content_key, older_journals, read_manifest, walk_dir};
pub use plan::{Plan, Planned};
pub use pool::{Attempt, Outcome, Pool, Run, Summary};
// The retry vocabulary lives in the `retry` crate, shared with the transfer crates; it is
// re-exported so a batch needs one import.
pub use retry::{Decision, GiveUpReason, RetryPolicy, Retryable, parse_retry_after};
pub use shard::{Shard, shard_of};
