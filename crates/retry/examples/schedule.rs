//! Prints what a retry policy decides for a run of failures: a 503 with `Retry-After: 2`, then
//! 502s without one (backoff with jitter), until the tries run out.
//!
//! `cargo run -p retry --example schedule`

use std::time::{Duration, SystemTime};

use retry::{
    Decision, FailureKind, RetryPolicy, Retryable, is_overload_status, is_retryable_status,
    parse_retry_after,
};

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
}

impl Retryable for Answer {
    fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    fn is_overload(&self) -> bool {
        is_overload_status(self.status)
    }
}

fn main() {
    let policy = RetryPolicy::new().max_tries(5);
    let answers = [
        Answer {
            status: 503,
            retry_after: parse_retry_after("2", SystemTime::now()),
        },
        Answer {
            status: 502,
            retry_after: None,
        },
        Answer {
            status: 502,
            retry_after: None,
        },
        Answer {
            status: 502,
            retry_after: None,
        },
        Answer {
            status: 502,
            retry_after: None,
        },
    ];
    let mut elapsed = Duration::ZERO;
    for (i, answer) in answers.iter().enumerate() {
        let tries = i as u32 + 1;
        match policy.decide(answer, tries, elapsed, fastrand::f64()) {
            Decision::RetryIn(wait) => {
                println!("try {tries}: HTTP {} -> retry in {wait:?}", answer.status);
                elapsed += wait;
            }
            Decision::GiveUp(why) => {
                println!(
                    "try {tries}: HTTP {} -> give up ({why:?}); a {} failure",
                    answer.status,
                    FailureKind::Rejected
                );
                break;
            }
        }
    }
}
