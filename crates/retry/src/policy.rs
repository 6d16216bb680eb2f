//! [`RetryPolicy`]: when to try a failed attempt again (caps on tries and total time, backoff
//! with full jitter, the server's `Retry-After` honoured and capped).

use std::time::Duration;

use crate::Retryable;

/// When to try a failed item again: a cap on tries and on total time, exponential backoff with
/// full jitter, and the server's `Retry-After` honoured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_tries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_elapsed: Option<Duration>,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_tries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_elapsed: Some(Duration::from_secs(300)),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again once this much time has passed.
    RetryIn(Duration),
    /// Stop: the error is final.
    GiveUp(GiveUpReason),
}

/// Why the policy stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The error is not worth retrying.
    NotRetryable,
    /// The cap on tries was reached.
    TriesExhausted,
    /// The next attempt would start after the cap on total time.
    OutOfTime,
}

impl RetryPolicy {
    /// The default policy: 5 tries, backoff from 100 ms up to 10 s, 300 s per item at most,
    /// server waits honoured up to 120 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// One try only: failures are final.
    pub fn no_retries() -> Self {
        Self::default().max_tries(1)
    }

    /// Total tries per item, the first included (at least 1).
    pub fn max_tries(mut self, tries: u32) -> Self {
        self.max_tries = tries.max(1);
        self
    }

    /// The backoff ceiling for the first retry; it doubles for each further retry.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// The largest backoff ceiling.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The total time one item may take, first try to last; `None` for no cap.
    pub fn max_elapsed(mut self, d: Option<Duration>) -> Self {
        self.max_elapsed = d;
        self
    }

    /// The longest server-given `Retry-After` that is honoured; longer waits are cut to this.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The cap on tries.
    pub fn tries(&self) -> u32 {
        self.max_tries
    }

    /// The backoff ceiling before retry number `retry` (1 for the first retry):
    /// `min(max_delay, base_delay * 2^(retry-1))`. The actual wait is uniform in `[0, ceiling]`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let shift = retry.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Decides what to do after attempt number `tries_so_far` failed with `error`, `elapsed`
    /// after the item's first try started. `jitter` is a uniform sample in `[0, 1)`.
    pub fn decide<E: Retryable + ?Sized>(
        &self,
        error: &E,
        tries_so_far: u32,
        elapsed: Duration,
        jitter: f64,
    ) -> Decision {
        if !error.is_retryable() {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if tries_so_far >= self.max_tries {
            return Decision::GiveUp(GiveUpReason::TriesExhausted);
        }
        let wait = match error.retry_after() {
            Some(server_wait) => server_wait.min(self.max_retry_after),
            None => self
                .backoff_ceiling(tries_so_far)
                .mul_f64(jitter.clamp(0.0, 1.0)),
        };
        if let Some(cap) = self.max_elapsed
            && elapsed + wait > cap
        {
            return Decision::GiveUp(GiveUpReason::OutOfTime);
        }
        Decision::RetryIn(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fail {
        retryable: bool,
        after: Option<Duration>,
    }
    impl Retryable for Fail {
        fn is_retryable(&self) -> bool {
            self.retryable
        }
        fn retry_after(&self) -> Option<Duration> {
            self.after
        }
    }

    #[test]
    fn non_retryable_errors_give_up_at_once() {
        let p = RetryPolicy::new();
        let e = Fail {
            retryable: false,
            after: None,
        };
        assert_eq!(
            p.decide(&e, 1, Duration::ZERO, 0.5),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
    }

    #[test]
    fn tries_are_capped() {
        let p = RetryPolicy::new().max_tries(3);
        let e = Fail {
            retryable: true,
            after: None,
        };
        assert!(matches!(
            p.decide(&e, 2, Duration::ZERO, 0.5),
            Decision::RetryIn(_)
        ));
        assert_eq!(
            p.decide(&e, 3, Duration::ZERO, 0.5),
            Decision::GiveUp(GiveUpReason::TriesExhausted)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_spans_zero_to_ceiling() {
        let p = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500))
            .max_tries(10);
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(4), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(60), Duration::from_millis(500));
        let e = Fail {
            retryable: true,
            after: None,
        };
        assert_eq!(
            p.decide(&e, 2, Duration::ZERO, 0.0),
            Decision::RetryIn(Duration::ZERO)
        );
        assert_eq!(
            p.decide(&e, 2, Duration::ZERO, 0.5),
            Decision::RetryIn(Duration::from_millis(100))
        );
    }

    #[test]
    fn server_retry_after_wins_over_backoff_and_is_capped() {
        let p = RetryPolicy::new().max_retry_after(Duration::from_secs(5));
        let e = Fail {
            retryable: true,
            after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            p.decide(&e, 1, Duration::ZERO, 0.0),
            Decision::RetryIn(Duration::from_secs(2))
        );
        let long = Fail {
            retryable: true,
            after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            p.decide(&long, 1, Duration::ZERO, 0.0),
            Decision::RetryIn(Duration::from_secs(5))
        );
    }

    #[test]
    fn gives_up_when_the_wait_would_pass_the_total_time_cap() {
        let p = RetryPolicy::new().max_elapsed(Some(Duration::from_secs(10)));
        let e = Fail {
            retryable: true,
            after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            p.decide(&e, 1, Duration::from_secs(6), 0.0),
            Decision::RetryIn(Duration::from_secs(3))
        );
        assert_eq!(
            p.decide(&e, 1, Duration::from_secs(8), 0.0),
            Decision::GiveUp(GiveUpReason::OutOfTime)
        );
    }
}
