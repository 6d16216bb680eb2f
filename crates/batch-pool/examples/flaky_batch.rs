//! A batch of 20 items against a pretend server that is overloaded now and then: every item ends
//! with an outcome, overloads are retried after the server's Retry-After, one bad item fails
//! without stopping the others.
//!
//! `cargo run -p batch-pool --example flaky_batch`

use batch_pool::{Pool, RetryPolicy, Retryable};
use std::time::Duration;

#[derive(Debug)]
enum JobError {
    /// The pretend server said 429 with `Retry-After`.
    Overloaded(Duration),
    /// A bad item: retrying will not help.
    Corrupt,
}

impl Retryable for JobError {
    fn is_retryable(&self) -> bool {
        matches!(self, JobError::Overloaded(_))
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Overloaded(d) => Some(*d),
            JobError::Corrupt => None,
        }
    }
    fn is_overload(&self) -> bool {
        matches!(self, JobError::Overloaded(_))
    }
}

fn main() {
    let pool = Pool::new(4).retry(RetryPolicy::new().base_delay(Duration::from_millis(5)));
    let run = pool.run((0..20u32).collect(), |n: &u32, attempt| {
        if *n == 13 {
            return Err(JobError::Corrupt);
        }
        if n.is_multiple_of(3) && attempt.try_number == 1 {
            return Err(JobError::Overloaded(Duration::from_millis(20)));
        }
        Ok(n * n)
    });
    for o in &run.outcomes {
        match &o.result {
            Ok(v) => println!("item {:>2}: ok {v:>3} after {} tries", o.item, o.tries),
            Err(e) => println!("item {:>2}: failed after {} tries: {e:?}", o.item, o.tries),
        }
    }
    let s = &run.summary;
    println!(
        "{} items: {} ok, {} failed, {} retried, {} overloads, {:?}",
        s.items, s.ok, s.failed, s.retried, s.overloads, s.elapsed
    );
}
