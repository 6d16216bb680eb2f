//! The overall deadline of one transfer ([`crate::Downloader::max_time`]): every request gets
//! what is left of it as ureq's global timeout (which keeps running while the body is read),
//! and retries do not wait past it.

use crate::DownloadError;
use std::time::{Duration, Instant};

/// When the transfer must be over, if ever.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    limit: Option<Duration>,
    end: Option<Instant>,
}

impl Deadline {
    /// Starts counting now.
    pub(crate) fn start(limit: Option<Duration>) -> Deadline {
        Deadline {
            limit,
            end: limit.map(|l| Instant::now() + l),
        }
    }

    /// The time left, `None` without a deadline; an error once it has passed.
    pub(crate) fn remaining(&self, url: &str) -> Result<Option<Duration>, DownloadError> {
        let Some(end) = self.end else {
            return Ok(None);
        };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.exceeded(url));
        }
        Ok(Some(left))
    }

    /// Whether a wait of `d` still ends before the deadline.
    pub(crate) fn allows_wait(&self, d: Duration) -> bool {
        self.end.is_none_or(|end| Instant::now() + d < end)
    }

    /// A timeout that happened because the deadline passed is reported as such.
    pub(crate) fn explain(&self, err: DownloadError) -> DownloadError {
        match (&err, self.end) {
            (DownloadError::Timeout { url, .. }, Some(end)) if Instant::now() + SLACK >= end => {
                self.exceeded(url)
            }
            _ => err,
        }
    }

    fn exceeded(&self, url: &str) -> DownloadError {
        DownloadError::DeadlineExceeded {
            url: url.to_string(),
            limit: self.limit.unwrap_or_default(),
        }
    }
}

/// Timer granularity: a timeout this close to the deadline is the deadline.
const SLACK: Duration = Duration::from_millis(50);
