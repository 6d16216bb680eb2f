//! The bounded pool: runs a job over every item, with retries and a concurrency limit.

use crate::limiter::{AdaptiveLimiter, Concurrency};
use retry::{Decision, RetryPolicy, Retryable};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Runs one job per item on a bounded set of threads and reports one [`Outcome`] per item.
///
/// Cheap to build and to keep; each [`run`](Pool::run) starts its own threads and joins them.
#[derive(Clone, Debug)]
pub struct Pool {
    concurrency: Concurrency,
    retry: RetryPolicy,
}

/// Which try of which item a job is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The item's position in the input.
    pub index: usize,
    /// 1 for the first try.
    pub try_number: u32,
}

/// The final word on one item.
#[derive(Debug)]
pub struct Outcome<T, V, E> {
    /// The item's position in the input.
    pub index: usize,
    /// The item itself, handed back.
    pub item: T,
    /// How many tries were made (at least 1).
    pub tries: u32,
    /// How many tries were answered with an overload (429/503).
    pub overloads: u32,
    /// From the first try's start to the last try's end (backoff waits included).
    pub elapsed: Duration,
    /// The last try's value, or the error that ended the item.
    pub result: Result<V, E>,
}

/// Totals of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Items given.
    pub items: usize,
    /// Items that ended well.
    pub ok: usize,
    /// Items that ended with an error.
    pub failed: usize,
    /// Items that needed more than one try.
    pub retried: usize,
    /// Tries made, all items together.
    pub tries: u64,
    /// Tries answered with an overload (429/503).
    pub overloads: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The most jobs that ran at once.
    pub peak_in_flight: usize,
    /// The concurrency limit when the run ended (the fixed bound, or where the adaptive settled).
    pub final_limit: usize,
}

/// A finished run: outcomes in input order, and totals.
#[derive(Debug)]
pub struct Run<T, V, E> {
    /// One outcome per item, in input order.
    pub outcomes: Vec<Outcome<T, V, E>>,
    /// Totals.
    pub summary: Summary,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(4)
    }
}

impl Pool {
    /// A pool running at most `workers` jobs at once (at least 1), default [`RetryPolicy`].
    pub fn new(workers: usize) -> Pool {
        Pool {
            concurrency: Concurrency::Fixed(workers.max(1)),
            retry: RetryPolicy::default(),
        }
    }

    /// A pool whose limit adapts to the peer (see [`AdaptiveLimiter`]).
    pub fn adaptive() -> Pool {
        Pool::new(1).concurrency(Concurrency::adaptive())
    }

    /// Sets the concurrency bound.
    pub fn concurrency(mut self, c: Concurrency) -> Self {
        self.concurrency = c;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Runs `job` over `items`; returns every outcome in input order.
    pub fn run<T, V, E, F>(&self, items: Vec<T>, job: F) -> Run<T, V, E>
    where
        T: Send,
        V: Send,
        E: Retryable + Send,
        F: Fn(&T, Attempt) -> Result<V, E> + Sync,
    {
        let mut outcomes = Vec::with_capacity(items.len());
        let summary = self.run_streaming(items, job, |o| outcomes.push(o));
        outcomes.sort_by_key(|o| o.index);
        Run { outcomes, summary }
    }

    /// Runs `job` over `items`, handing each outcome to `on_outcome` on the calling thread as
    /// soon as its item is finished (completion order). Returns the totals.
    ///
    /// A job that panics stops the run: no new tries start, and the panic is raised here.
    pub fn run_streaming<T, V, E, F, S>(&self, items: Vec<T>, job: F, mut on_outcome: S) -> Summary
    where
        T: Send,
        V: Send,
        E: Retryable + Send,
        F: Fn(&T, Attempt) -> Result<V, E> + Sync,
        S: FnMut(Outcome<T, V, E>),
    {
        let started = Instant::now();
        let n = items.len();
        let limiter = match self.concurrency {
            Concurrency::Fixed(k) => Limit::Fixed(k.max(1)),
            Concurrency::Adaptive(cfg) => Limit::Adaptive(AdaptiveLimiter::new(cfg)),
        };
        let threads = self.concurrency.max().min(n.max(1));
        let shared = Shared {
            state: Mutex::new(State {
                fresh: items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| Task {
                        index,
                        item,
                        tries: 0,
                        overloads: 0,
                        first_start: None,
                    })
                    .collect(),
                delayed: BinaryHeap::new(),
                seq: 0,
                in_flight: 0,
                peak_in_flight: 0,
                remaining: n,
                aborted: false,
                limiter,
            }),
            wake: Condvar::new(),
        };
        let mut summary = Summary {
            items: n,
            ..Summary::default()
        };
        let (tx, rx) = mpsc::channel::<Outcome<T, V, E>>();
        let panic = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let tx = tx.clone();
                    let shared = &shared;
                    let job = &job;
                    let retry = &self.retry;
                    scope.spawn(move || worker(shared, job, retry, tx))
                })
                .collect();
            drop(tx);
            for outcome in rx {
                summary.tries += u64::from(outcome.tries);
                summary.overloads += u64::from(outcome.overloads);
                if outcome.tries > 1 {
                    summary.retried += 1;
                }
                match outcome.result {
                    Ok(_) => summary.ok += 1,
                    Err(_) => summary.failed += 1,
                }
                on_outcome(outcome);
            }
            // Join here, so a job's own panic (not "a scoped thread panicked") reaches the caller.
            handles.into_iter().filter_map(|h| h.join().err()).next()
        });
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        let st = shared.lock();
        summary.peak_in_flight = st.peak_in_flight;
        summary.final_limit = st.limiter.limit();
        summary.elapsed = started.elapsed();
        summary
    }
}

enum Limit {
    Fixed(usize),
    Adaptive(AdaptiveLimiter),
}

impl Limit {
    fn limit(&self) -> usize {
        match self {
            Limit::Fixed(k) => *k,
            Limit::Adaptive(a) => a.limit(),
        }
    }
    fn epoch(&self) -> u64 {
        match self {
            Limit::Fixed(_) => 0,
            Limit::Adaptive(a) => a.epoch(),
        }
    }
}

struct Task<T> {
    index: usize,
    item: T,
    tries: u32,
    overloads: u32,
    first_start: Option<Instant>,
}

/// A task waiting for its retry time; ordered so the heap pops the earliest first.
struct Delayed<T> {
    ready_at: Instant,
    seq: u64,
    task: Task<T>,
}

impl<T> PartialEq for Delayed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ready_at == other.ready_at && self.seq == other.seq
    }
}
impl<T> Eq for Delayed<T> {}
impl<T> PartialOrd for Delayed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Delayed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.ready_at, other.seq).cmp(&(self.ready_at, self.seq))
    }
}

struct State<T> {
    fresh: VecDeque<Task<T>>,
    delayed: BinaryHeap<Delayed<T>>,
    seq: u64,
    in_flight: usize,
    peak_in_flight: usize,
    remaining: usize,
    aborted: bool,
    limiter: Limit,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    wake: Condvar,
}

impl<T> Shared<T> {
    /// Wakes as many waiting workers as could start a try now (not all of them: with a large
    /// adaptive pool, waking every idle thread on each completion costs more than the work).
    /// Delayed retries count as startable so that some worker sets a timer for the earliest.
    fn wake_waiters(&self, st: &State<T>) {
        if st.remaining == 0 || st.aborted {
            self.wake.notify_all();
            return;
        }
        let slots = st.limiter.limit().saturating_sub(st.in_flight);
        let waiting = st.fresh.len() + st.delayed.len();
        for _ in 0..slots.min(waiting) {
            self.wake.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A poisoned lock only means a job panicked elsewhere; the state itself stays consistent
        // because no job runs under the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Marks the run aborted if its worker unwinds (a job panicked), so the others stop waiting.
struct AbortOnPanic<'a, T>(&'a Shared<T>);

impl<T> Drop for AbortOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().aborted = true;
            self.0.wake.notify_all();
        }
    }
}

fn next_task<T>(shared: &Shared<T>) -> Option<(Task<T>, u64, usize)> {
    let mut st = shared.lock();
    loop {
        if st.remaining == 0 || st.aborted {
            return None;
        }
        let now = Instant::now();
        let has_slot = st.in_flight < st.limiter.limit();
        if has_slot {
            let ready = st.delayed.peek().is_some_and(|d| d.ready_at <= now);
            let task = if ready {
                st.delayed.pop().map(|d| d.task)
            } else {
                st.fresh.pop_front()
            };
            if let Some(task) = task {
                st.in_flight += 1;
                st.peak_in_flight = st.peak_in_flight.max(st.in_flight);
                let level = st.in_flight;
                let epoch = st.limiter.epoch();
                // This thread may have been the one timing the earliest delayed retry: hand
                // the timer to another idle worker while slots remain.
                if !st.delayed.is_empty() && st.in_flight < st.limiter.limit() {
                    shared.wake.notify_one();
                }
                return Some((task, epoch, level));
            }
        }
        let wake_at = if has_slot {
            st.delayed.peek().map(|d| d.ready_at)
        } else {
            None
        };
        st = match wake_at {
            Some(at) => {
                let wait = at.saturating_duration_since(now);
                shared
                    .wake
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => shared.wake.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

fn worker<T, V, E, F>(
    shared: &Shared<T>,
    job: &F,
    retry: &RetryPolicy,
    tx: mpsc::Sender<Outcome<T, V, E>>,
) where
    E: Retryable,
    F: Fn(&T, Attempt) -> Result<V, E>,
{
    let _guard = AbortOnPanic(shared);
    while let Some((mut task, epoch, level)) = next_task(shared) {
        let start = Instant::now();
        let first_start = *task.first_start.get_or_insert(start);
        task.tries += 1;
        let result = job(
            &task.item,
            Attempt {
                index: task.index,
                try_number: task.tries,
            },
        );
        let latency = start.elapsed();
        let mut st = shared.lock();
        st.in_flight -= 1;
        let result = match result {
            Ok(value) => {
                if let Limit::Adaptive(a) = &mut st.limiter {
                    a.on_success(latency, epoch);
                }
                Ok(value)
            }
            Err(error) => {
                if error.is_overload() {
                    task.overloads += 1;
                    if let Limit::Adaptive(a) = &mut st.limiter {
                        a.on_overload(epoch, level);
                    }
                }
                match retry.decide(&error, task.tries, first_start.elapsed(), fastrand::f64()) {
                    Decision::RetryIn(wait) => {
                        let seq = st.seq;
                        st.seq += 1;
                        st.delayed.push(Delayed {
                            ready_at: Instant::now() + wait,
                            seq,
                            task,
                        });
                        shared.wake_waiters(&st);
                        drop(st);
                        continue;
                    }
                    Decision::GiveUp(_) => Err(error),
                }
            }
        };
        st.remaining -= 1;
        shared.wake_waiters(&st);
        drop(st);
        let outcome = Outcome {
            index: task.index,
            item: task.item,
            tries: task.tries,
            overloads: task.overloads,
            elapsed: first_start.elapsed(),
            result,
        };
        // The receiver only goes away if the caller's callback panicked; nothing to do.
        let _ = tx.send(outcome);
    }
}
