//! Fixed-size chunked reading that keeps memory flat whatever the size, and progress (bytes so
//! far, total when known, percent, rate, ETA) that any caller can observe without the bytes
//! changing.
//!
//! ```
//! use chunk_stream::{Chunks, Progress, ProgressReader};
//! use std::io::Read;
//!
//! let data = vec![7u8; 20_000];
//! // Chunks of 8 KiB from any reader, one reusable buffer.
//! let mut chunks = Chunks::new(&data[..]);
//! let mut sizes = Vec::new();
//! while let Some(chunk) = chunks.next_chunk().unwrap() {
//!     sizes.push(chunk.len());
//! }
//! assert_eq!(sizes, [8192, 8192, 3616]);
//!
//! // Progress from any reader: the observer sees bytes, total, percent, rate and ETA.
//! let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let mut reader = ProgressReader::new(&data[..], Some(data.len() as u64))
//!     .observer(move |p: &Progress| log.lock().unwrap().push(p.bytes));
//! let mut out = Vec::new();
//! reader.read_to_end(&mut out).unwrap();
//! reader.finish();
//! assert_eq!(out, data);
//! assert_eq!(*seen.lock().unwrap().last().unwrap(), 20_000);
//! ```
//!
//! What it does not do: no I/O of its own (it wraps any `Read`/`Write`), no terminal drawing (an
//! app turns [`Progress`] into a progress bar), no threads.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default chunk size: 8 KiB.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024;

/// A snapshot of a transfer's progress.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Bytes transferred so far (including bytes a resumed transfer started with).
    pub bytes: u64,
    /// The total, when known.
    pub total: Option<u64>,
    /// Time since the transfer started.
    pub elapsed: Duration,
    /// Bytes already present when the transfer started (a resumed download); not counted in the rate.
    pub start_bytes: u64,
}

impl Progress {
    /// Percent done (0–100), when the total is known. An empty total is 100 % done.
    pub fn percent(&self) -> Option<f64> {
        let total = self.total?;
        if total == 0 {
            return Some(100.0);
        }
        Some((self.bytes as f64 / total as f64 * 100.0).min(100.0))
    }

    /// Average rate in bytes per second over this transfer (0 before any time has passed).
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        self.bytes.saturating_sub(self.start_bytes) as f64 / secs
    }

    /// Estimated time left, when the total is known and bytes are flowing.
    pub fn eta(&self) -> Option<Duration> {
        let total = self.total?;
        let rate = self.rate();
        if rate <= 0.0 {
            return None;
        }
        let left = total.saturating_sub(self.bytes) as f64;
        Some(Duration::from_secs_f64(left / rate))
    }
}

/// Receives progress reports. Closures `FnMut(&Progress)` are observers.
pub trait ProgressObserver: Send {
    /// Called after every read or write that moved bytes.
    fn on_progress(&mut self, progress: &Progress);
    /// Called once when the transfer is finished (see [`ProgressReader::finish`]).
    fn on_finish(&mut self, _progress: &Progress) {}
}

impl<F: FnMut(&Progress) + Send> ProgressObserver for F {
    fn on_progress(&mut self, progress: &Progress) {
        self(progress)
    }
}

/// One observer fed by several transfers in turn — e.g. the attempts of one upload or download
/// that is retried: every clone forwards to the same observer, which therefore sees one
/// continuous transfer.
#[derive(Clone)]
pub struct SharedObserver(Arc<Mutex<Box<dyn ProgressObserver>>>);

impl SharedObserver {
    /// Wraps `observer` so that clones can be handed to each attempt.
    pub fn new(observer: impl ProgressObserver + 'static) -> Self {
        SharedObserver(Arc::new(Mutex::new(Box::new(observer))))
    }
}

impl ProgressObserver for SharedObserver {
    fn on_progress(&mut self, p: &Progress) {
        if let Ok(mut o) = self.0.lock() {
            o.on_progress(p);
        }
    }
    fn on_finish(&mut self, p: &Progress) {
        if let Ok(mut o) = self.0.lock() {
            o.on_finish(p);
        }
    }
}

/// Counts bytes and calls the observer; shared by the reader and the writer.
struct Meter {
    bytes: u64,
    start_bytes: u64,
    total: Option<u64>,
    started: Instant,
    observer: Option<Box<dyn ProgressObserver>>,
    finished: bool,
}

impl Meter {
    fn new(total: Option<u64>) -> Meter {
        Meter {
            bytes: 0,
            start_bytes: 0,
            total,
            started: Instant::now(),
            observer: None,
            finished: false,
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            bytes: self.bytes,
            total: self.total,
            elapsed: self.started.elapsed(),
            start_bytes: self.start_bytes,
        }
    }

    fn advance(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.bytes += n as u64;
        if self.observer.is_some() {
            let p = self.progress();
            if let Some(o) = self.observer.as_mut() {
                o.on_progress(&p);
            }
        }
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let p = self.progress();
        if let Some(o) = self.observer.as_mut() {
            o.on_finish(&p);
        }
    }
}

/// A `Read` adapter that reports progress to an observer and leaves the bytes untouched.
pub struct ProgressReader<R> {
    inner: R,
    meter: Meter,
}

impl<R: Read> ProgressReader<R> {
    /// Wraps `inner`; `total` is the expected byte count when known.
    pub fn new(inner: R, total: Option<u64>) -> Self {
        ProgressReader {
            inner,
            meter: Meter::new(total),
        }
    }

    /// Sets the observer.
    pub fn observer(mut self, observer: impl ProgressObserver + 'static) -> Self {
        self.meter.observer = Some(Box::new(observer));
        self
    }

    /// Starts the count at `bytes_already` (a resumed transfer); the rate counts only new bytes.
    pub fn starting_at(mut self, bytes_already: u64) -> Self {
        self.meter.bytes = bytes_already;
        self.meter.start_bytes = bytes_already;
        self
    }

    /// The progress so far.
    pub fn progress(&self) -> Progress {
        self.meter.progress()
    }

    /// Tells the observer the transfer is over (once; later calls do nothing).
    pub fn finish(&mut self) {
        self.meter.finish()
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Unwraps the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.advance(n);
        Ok(n)
    }
}

/// A `Write` adapter that reports progress to an observer and leaves the bytes untouched.
pub struct ProgressWriter<W> {
    inner: W,
    meter: Meter,
}

impl<W: Write> ProgressWriter<W> {
    /// Wraps `inner`; `total` is the expected byte count when known.
    pub fn new(inner: W, total: Option<u64>) -> Self {
        ProgressWriter {
            inner,
            meter: Meter::new(total),
        }
    }

    /// Sets the observer.
    pub fn observer(mut self, observer: impl ProgressObserver + 'static) -> Self {
        self.meter.observer = Some(Box::new(observer));
        self
    }

    /// Starts the count at `bytes_already` (a resumed transfer); the rate counts only new bytes.
    pub fn starting_at(mut self, bytes_already: u64) -> Self {
        self.meter.bytes = bytes_already;
        self.meter.start_bytes = bytes_already;
        self
    }

    /// The progress so far.
    pub fn progress(&self) -> Progress {
        self.meter.progress()
    }

    /// Tells the observer the transfer is over (once; later calls do nothing).
    pub fn finish(&mut self) {
        self.meter.finish()
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer, mutably.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps the writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for ProgressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Fixed-size chunks from any reader through one reusable buffer: every chunk is full except
/// possibly the last, whatever sizes the underlying reads return.
pub struct Chunks<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> Chunks<R> {
    /// Chunks of [`DEFAULT_CHUNK_SIZE`] bytes.
    pub fn new(inner: R) -> Self {
        Self::with_size(inner, DEFAULT_CHUNK_SIZE)
    }

    /// Chunks of `chunk_size` bytes (at least 1).
    pub fn with_size(inner: R, chunk_size: usize) -> Self {
        Chunks {
            inner,
            buf: vec![0; chunk_size.max(1)],
        }
    }

    /// The chunk size in bytes.
    pub fn chunk_size(&self) -> usize {
        self.buf.len()
    }

    /// The next chunk, or `None` at the end. Interrupted reads are retried.
    pub fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        let mut filled = 0;
        while filled < self.buf.len() {
            match self.inner.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            Ok(None)
        } else {
            Ok(Some(&self.buf[..filled]))
        }
    }

    /// Unwraps the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Copies `reader` to `writer` in chunks of `chunk_size` bytes; returns the bytes copied.
pub fn copy_chunked<R: Read, W: Write>(
    reader: &mut R,
    writer: &mut W,
    chunk_size: usize,
) -> io::Result<u64> {
    let mut chunks = Chunks::with_size(reader, chunk_size);
    let mut total = 0u64;
    while let Some(chunk) = chunks.next_chunk()? {
        writer.write_all(chunk)?;
        total += chunk.len() as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rate_and_eta_follow_from_bytes_and_time() {
        let p = Progress {
            bytes: 250,
            total: Some(1000),
            elapsed: Duration::from_secs(5),
            start_bytes: 0,
        };
        assert_eq!(p.percent(), Some(25.0));
        assert_eq!(p.rate(), 50.0);
        assert_eq!(p.eta(), Some(Duration::from_secs(15)));
    }

    #[test]
    fn unknown_total_has_no_percent_or_eta() {
        let p = Progress {
            bytes: 10,
            total: None,
            elapsed: Duration::from_secs(1),
            start_bytes: 0,
        };
        assert_eq!(p.percent(), None);
        assert_eq!(p.eta(), None);
        assert_eq!(p.rate(), 10.0);
    }

    #[test]
    fn empty_total_is_complete_and_no_time_means_no_rate() {
        let p = Progress {
            bytes: 0,
            total: Some(0),
            elapsed: Duration::ZERO,
            start_bytes: 0,
        };
        assert_eq!(p.percent(), Some(100.0));
        assert_eq!(p.rate(), 0.0);
        assert_eq!(p.eta(), None);
    }

    #[test]
    fn resumed_transfer_rate_counts_only_new_bytes() {
        let p = Progress {
            bytes: 600,
            total: Some(1000),
            elapsed: Duration::from_secs(2),
            start_bytes: 400,
        };
        assert_eq!(p.rate(), 100.0);
        assert_eq!(p.percent(), Some(60.0));
        assert_eq!(p.eta(), Some(Duration::from_secs(4)));
    }
}
