//! Chunked reading and progress over real files and awkward readers.

use chunk_stream::{
    Chunks, DEFAULT_CHUNK_SIZE, Progress, ProgressObserver, ProgressReader, ProgressWriter,
    SharedObserver, copy_chunked,
};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

/// Returns at most `max` bytes per read, varying, and an Interrupted error now and then.
struct Stingy<'a> {
    data: &'a [u8],
    pos: usize,
    calls: usize,
}

impl Read for Stingy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(7) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = (self.calls % 1000 + 1)
            .min(buf.len())
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Fails with a real error after `ok_bytes`.
struct Failing {
    ok_bytes: usize,
    given: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given >= self.ok_bytes {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer reset"));
        }
        let n = buf.len().min(self.ok_bytes - self.given);
        buf[..n].fill(1);
        self.given += n;
        Ok(n)
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn chunks_are_full_size_except_the_last_whatever_the_reads_return() {
    let data = pattern(100_000);
    let mut chunks = Chunks::new(Stingy {
        data: &data,
        pos: 0,
        calls: 0,
    });
    let mut joined = Vec::new();
    let mut sizes = Vec::new();
    while let Some(c) = chunks.next_chunk().unwrap() {
        sizes.push(c.len());
        joined.extend_from_slice(c);
    }
    assert_eq!(joined, data);
    let (last, full) = sizes.split_last().unwrap();
    assert!(full.iter().all(|&s| s == DEFAULT_CHUNK_SIZE));
    assert_eq!(*last, 100_000 % DEFAULT_CHUNK_SIZE);
}

#[test]
fn chunk_size_is_configurable_and_exact_multiples_have_no_short_chunk() {
    let data = pattern(4096 * 3);
    let mut chunks = Chunks::with_size(&data[..], 4096);
    assert_eq!(chunks.chunk_size(), 4096);
    let mut n = 0;
    while let Some(c) = chunks.next_chunk().unwrap() {
        assert_eq!(c.len(), 4096);
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(chunks.next_chunk().unwrap().is_none(), "stays at the end");
}

#[test]
fn empty_input_has_no_chunks() {
    let mut chunks = Chunks::new(io::empty());
    assert!(chunks.next_chunk().unwrap().is_none());
}

#[test]
fn read_errors_surface_with_their_kind() {
    let mut chunks = Chunks::new(Failing {
        ok_bytes: 10_000,
        given: 0,
    });
    assert_eq!(
        chunks.next_chunk().unwrap().unwrap().len(),
        DEFAULT_CHUNK_SIZE
    );
    let err = chunks.next_chunk().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn progress_reader_leaves_a_real_file_unchanged_and_reports_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let data = pattern(300_001);
    std::fs::write(&path, &data).unwrap();

    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = reports.clone();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = ProgressReader::new(file, Some(data.len() as u64))
        .observer(move |p: &Progress| log.lock().unwrap().push(*p));
    let mut out = Vec::new();
    copy_chunked(&mut reader, &mut out, DEFAULT_CHUNK_SIZE).unwrap();
    assert_eq!(out, data);

    let reports = reports.lock().unwrap();
    assert!(
        reports.windows(2).all(|w| w[0].bytes < w[1].bytes),
        "monotonic"
    );
    let last = reports.last().unwrap();
    assert_eq!(last.bytes, data.len() as u64);
    assert_eq!(last.percent(), Some(100.0));
    assert_eq!(reader.progress().bytes, data.len() as u64);
}

struct Finishes(Arc<Mutex<(u32, u64)>>);

impl ProgressObserver for Finishes {
    fn on_progress(&mut self, _p: &Progress) {}
    fn on_finish(&mut self, p: &Progress) {
        let mut g = self.0.lock().unwrap();
        g.0 += 1;
        g.1 = p.bytes;
    }
}

#[test]
fn finish_is_reported_once() {
    let seen: Arc<Mutex<(u32, u64)>> = Arc::default();
    let mut reader = ProgressReader::new(&b"hello"[..], Some(5)).observer(Finishes(seen.clone()));
    io::copy(&mut reader, &mut io::sink()).unwrap();
    reader.finish();
    reader.finish();
    assert_eq!(*seen.lock().unwrap(), (1, 5));
}

#[test]
fn progress_writer_counts_from_a_resume_point() {
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = reports.clone();
    let mut writer = ProgressWriter::new(Vec::new(), Some(1000))
        .starting_at(400)
        .observer(move |p: &Progress| log.lock().unwrap().push(*p));
    writer.write_all(&pattern(600)).unwrap();
    writer.flush().unwrap();
    let last = *reports.lock().unwrap().last().unwrap();
    assert_eq!(last.bytes, 1000);
    assert_eq!(last.start_bytes, 400);
    assert_eq!(writer.into_inner(), pattern(600));
}

#[test]
fn progress_reader_passes_errors_through_without_counting() {
    let mut reader = ProgressReader::new(
        Failing {
            ok_bytes: 100,
            given: 0,
        },
        None,
    );
    let mut buf = [0u8; 64];
    let mut total = 0;
    let err = loop {
        match reader.read(&mut buf) {
            Ok(n) => total += n,
            Err(e) => break e,
        }
    };
    assert_eq!(total, 100);
    assert_eq!(reader.progress().bytes, 100);
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn clones_of_a_shared_observer_feed_one_observer_across_attempts() {
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let log = seen.clone();
    let shared = SharedObserver::new(move |p: &Progress| log.lock().unwrap().push(p.bytes));
    // A first attempt cut after 3 bytes, then a resumed one from byte 3.
    let mut first = ProgressReader::new(&b"abc"[..], Some(6)).observer(shared.clone());
    io::copy(&mut first, &mut io::sink()).unwrap();
    let mut second = ProgressReader::new(&b"def"[..], Some(6))
        .starting_at(3)
        .observer(shared.clone());
    io::copy(&mut second, &mut io::sink()).unwrap();
    assert_eq!(*seen.lock().unwrap(), [3, 6]);
}
