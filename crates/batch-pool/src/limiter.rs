//! How many jobs may run at once: a fixed bound, or an adaptive limit that finds the server's.

use std::time::Duration;

/// The concurrency bound of a [`Pool`](crate::Pool).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Concurrency {
    /// Exactly this many jobs at once (at least 1).
    Fixed(usize),
    /// An [`AdaptiveLimiter`] that starts low and settles just under what the peer allows.
    Adaptive(AdaptiveConfig),
}

impl Concurrency {
    /// The adaptive bound with default settings (start at 1, never above 64).
    pub fn adaptive() -> Self {
        Concurrency::Adaptive(AdaptiveConfig::default())
    }

    /// The most jobs that can ever run at once under this bound (the pool's thread count).
    pub fn max(&self) -> usize {
        match self {
            Concurrency::Fixed(n) => (*n).max(1),
            Concurrency::Adaptive(c) => c.max.max(1),
        }
    }
}

/// Settings of the [`AdaptiveLimiter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveConfig {
    /// The limit to start from.
    pub initial: usize,
    /// The limit never goes below this.
    pub min: usize,
    /// The limit never goes above this.
    pub max: usize,
    /// Multiplicative decrease on an overload signal (the new limit is `level * backoff`).
    pub backoff: f64,
    /// Smoothed latency above `latency_tolerance * baseline` stops growth; twice that cuts.
    /// Loose by default (2.0): on a busy machine latency is noisy, and 429s are the sharp signal.
    pub latency_tolerance: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            initial: 1,
            min: 1,
            max: 64,
            backoff: 0.8,
            latency_tolerance: 2.0,
        }
    }
}

/// An AIMD concurrency limiter with a remembered ceiling and a latency signal.
///
/// - **Slow start**: the limit grows by one per success until the first overload.
/// - **Multiplicative decrease**: an overload (429/503) from a job started at concurrency `level`
///   sets the limit to `level * backoff`, remembers `level` as the ceiling, and ignores further
///   overloads from jobs started before the cut (they were sent under the old limit).
/// - **Additive increase**: one more slot per `limit` successes; the step that would reach the
///   remembered ceiling again waits longer (a probe), twice as long after each failed probe,
///   so a server with a hard limit sees a 429 only rarely. A failed probe steps back one slot
///   (the ceiling is confirmed) instead of cutting; a probe that holds forgets the ceiling.
/// - **Latency**: the smoothed job latency is compared with the fastest seen (the baseline);
///   above `latency_tolerance` times the baseline the limit stops growing, above twice that it
///   is cut like an overload (a queue is building before any 429).
#[derive(Clone, Debug)]
pub struct AdaptiveLimiter {
    config: AdaptiveConfig,
    limit: f64,
    slow_start: bool,
    epoch: u64,
    ceiling: Option<usize>,
    probe_rounds: u32,
    probe_successes: u64,
    held_at_ceiling: u64,
    baseline: Option<f64>,
    smoothed: Option<f64>,
    samples: u64,
}

const FIRST_PROBE_ROUNDS: u32 = 2;
const MAX_PROBE_ROUNDS: u32 = 256;
const MIN_LATENCY_SAMPLES: u64 = 20;

impl AdaptiveLimiter {
    /// A limiter with these settings.
    pub fn new(config: AdaptiveConfig) -> Self {
        let min = config.min.max(1);
        let max = config.max.max(min);
        let config = AdaptiveConfig { min, max, ..config };
        AdaptiveLimiter {
            config,
            limit: config.initial.clamp(min, max) as f64,
            slow_start: true,
            epoch: 0,
            ceiling: None,
            probe_rounds: FIRST_PROBE_ROUNDS,
            probe_successes: 0,
            held_at_ceiling: 0,
            baseline: None,
            smoothed: None,
            samples: 0,
        }
    }

    /// The current limit: how many jobs may be in flight.
    pub fn limit(&self) -> usize {
        (self.limit.floor() as usize).clamp(self.config.min, self.config.max)
    }

    /// Increments on every cut; jobs remember the epoch they started in.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The concurrency level that last drew an overload, while it is remembered.
    pub fn ceiling(&self) -> Option<usize> {
        self.ceiling
    }

    /// A job started in `started_epoch` succeeded after `latency`.
    pub fn on_success(&mut self, latency: Duration, started_epoch: u64) {
        let congestion = self.observe_latency(latency);
        if congestion >= 2.0 * self.config.latency_tolerance && started_epoch == self.epoch {
            let level = self.limit();
            self.cut(level);
            // Re-learn the baseline: the slower latency may be the new normal (a busy machine).
            self.baseline = None;
            self.smoothed = None;
            self.samples = 0;
            return;
        }
        if congestion >= self.config.latency_tolerance {
            return;
        }
        if self.slow_start {
            self.limit = (self.limit + 1.0).min(self.config.max as f64);
            return;
        }
        let current = self.limit();
        match self.ceiling {
            Some(c) if current + 1 >= c && current < c => {
                self.probe_successes += 1;
                if self.probe_successes >= u64::from(self.probe_rounds) * current as u64 {
                    self.probe_successes = 0;
                    self.limit = (current + 1) as f64;
                }
            }
            Some(c) if current >= c => {
                self.held_at_ceiling += 1;
                if self.held_at_ceiling >= 2 * current as u64 {
                    self.ceiling = None;
                    self.probe_rounds = FIRST_PROBE_ROUNDS;
                    self.held_at_ceiling = 0;
                }
                self.limit += 1.0 / self.limit;
            }
            _ => self.limit += 1.0 / self.limit,
        }
        self.limit = self.limit.min(self.config.max as f64);
    }

    /// A job started in `started_epoch` at concurrency `level` (itself included) was told the
    /// server is overloaded.
    pub fn on_overload(&mut self, started_epoch: u64, level: usize) {
        if started_epoch != self.epoch {
            return;
        }
        let level = level.max(1);
        match self.ceiling {
            // At (or one off) the known ceiling: a failed probe, or a request that met another's
            // refusal at the server. The peer's limit is confirmed, so step back one slot and
            // wait twice as long before the next probe; keep the ceiling where it was.
            Some(c) if level + 1 >= c && level <= c + 1 => {
                self.probe_rounds = (self.probe_rounds * 2).min(MAX_PROBE_ROUNDS);
                self.step_back(level);
            }
            // First overload, or far from the known ceiling (the peer's capacity changed).
            _ => {
                self.probe_rounds = FIRST_PROBE_ROUNDS;
                self.ceiling = Some(level);
                self.cut(level);
            }
        }
    }

    fn step_back(&mut self, level: usize) {
        self.limit = (level.saturating_sub(1) as f64)
            .min(self.limit)
            .clamp(self.config.min as f64, self.config.max as f64);
        self.epoch += 1;
        self.probe_successes = 0;
        self.held_at_ceiling = 0;
    }

    fn cut(&mut self, level: usize) {
        let from = (level as f64).min(self.limit.max(1.0));
        self.limit = (from * self.config.backoff)
            .floor()
            .clamp(self.config.min as f64, self.config.max as f64);
        self.slow_start = false;
        self.epoch += 1;
        self.probe_successes = 0;
        self.held_at_ceiling = 0;
    }

    /// Feeds a latency sample; returns smoothed latency / baseline (0 while still learning).
    fn observe_latency(&mut self, latency: Duration) -> f64 {
        let l = latency.as_secs_f64().max(1e-6);
        self.samples += 1;
        self.baseline = Some(match self.baseline {
            // The baseline follows new minima at once and drifts up slowly, so a lasting
            // change of the peer's speed is learned without one lucky sample ruling forever.
            Some(b) if l < b => l,
            Some(b) => b + (l - b) * 0.005,
            None => l,
        });
        self.smoothed = Some(match self.smoothed {
            Some(s) => s * 0.9 + l * 0.1,
            None => l,
        });
        if self.samples < MIN_LATENCY_SAMPLES {
            return 0.0;
        }
        match (self.smoothed, self.baseline) {
            (Some(s), Some(b)) => s / b,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS10: Duration = Duration::from_millis(10);

    /// A server that serves `k` at once and refuses the rest: run `rounds` rounds in which the
    /// limiter sends `limit` requests; returns (limits per round, overloads).
    fn simulate(k: usize, rounds: usize) -> (Vec<usize>, usize) {
        let mut l = AdaptiveLimiter::new(AdaptiveConfig::default());
        let mut limits = Vec::new();
        let mut overloads = 0;
        for _ in 0..rounds {
            let n = l.limit();
            let epoch = l.epoch();
            limits.push(n);
            for level in 1..=n {
                if level > k {
                    overloads += 1;
                    l.on_overload(epoch, level);
                } else {
                    l.on_success(MS10, epoch);
                }
            }
        }
        (limits, overloads)
    }

    #[test]
    fn starts_at_the_initial_limit_and_grows_while_jobs_succeed() {
        let mut l = AdaptiveLimiter::new(AdaptiveConfig::default());
        assert_eq!(l.limit(), 1);
        for _ in 0..5 {
            l.on_success(MS10, 0);
        }
        assert_eq!(l.limit(), 6);
    }

    #[test]
    fn never_leaves_min_and_max() {
        let cfg = AdaptiveConfig {
            initial: 3,
            min: 2,
            max: 4,
            ..AdaptiveConfig::default()
        };
        let mut l = AdaptiveLimiter::new(cfg);
        for _ in 0..100 {
            l.on_success(MS10, l.epoch());
        }
        assert_eq!(l.limit(), 4);
        for _ in 0..10 {
            l.on_overload(l.epoch(), 1);
        }
        assert_eq!(l.limit(), 2);
    }

    #[test]
    fn an_overload_cuts_the_limit_once_per_epoch() {
        let mut l = AdaptiveLimiter::new(AdaptiveConfig::default());
        for _ in 0..9 {
            l.on_success(MS10, 0);
        }
        assert_eq!(l.limit(), 10);
        l.on_overload(0, 10);
        assert_eq!(l.limit(), 8);
        // Jobs sent under the old limit report overloads too; they are stale.
        l.on_overload(0, 10);
        l.on_overload(0, 9);
        assert_eq!(l.limit(), 8);
    }

    #[test]
    fn converges_just_under_a_hard_server_limit_with_few_overloads() {
        for k in [3, 8, 20] {
            let (limits, overloads) = simulate(k, 400);
            let tail = &limits[200..];
            assert!(tail.iter().all(|&n| n <= k + 1), "k={k} tail={tail:?}");
            let mean = tail.iter().sum::<usize>() as f64 / tail.len() as f64;
            assert!(mean >= 0.75 * k as f64, "k={k} mean={mean} tail={tail:?}");
            let sent: usize = limits.iter().sum();
            let share = overloads as f64 / sent as f64;
            assert!(share < 0.02, "k={k}: {overloads} overloads of {sent}");
        }
    }

    #[test]
    fn rising_latency_stops_growth_then_cuts() {
        let mut l = AdaptiveLimiter::new(AdaptiveConfig::default());
        for _ in 0..30 {
            l.on_success(MS10, l.epoch());
        }
        let grown = l.limit();
        assert!(grown > 20);
        // Latency at 10x the baseline: the smoothed ratio climbs past 2 (stop) and 4 (cut)
        // before the slowly drifting baseline catches up.
        let mut cut = false;
        for _ in 0..60 {
            l.on_success(Duration::from_millis(100), l.epoch());
            if l.limit() < grown {
                cut = true;
                break;
            }
        }
        assert!(cut, "limit stayed at {}", l.limit());
    }

    #[test]
    fn a_probe_that_holds_forgets_the_ceiling() {
        let mut l = AdaptiveLimiter::new(AdaptiveConfig::default());
        for _ in 0..4 {
            l.on_success(MS10, 0);
        }
        l.on_overload(0, 5);
        assert_eq!(l.ceiling(), Some(5));
        for _ in 0..500 {
            l.on_success(MS10, l.epoch());
        }
        assert_eq!(l.ceiling(), None);
        assert!(l.limit() > 5);
    }
}
