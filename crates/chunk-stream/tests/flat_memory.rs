//! Memory stays at one chunk whatever the size: 256 MiB through `Chunks` + `ProgressReader`
//! must not raise the peak RSS by more than a few MiB.
//!
//! A measurement, not a timed assertion: run it with `cargo xtask bench chunk` (or
//! `cargo test --release -p chunk-stream --test flat_memory -- --ignored --nocapture`).

use chunk_stream::{Chunks, Progress, ProgressReader};
use std::io::Write;

/// Peak resident set size of this process in KiB (VmHWM from /proc/self/status).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

#[test]
#[ignore = "measurement: writes and reads a 256 MiB file; run via cargo xtask bench chunk"]
fn reading_256_mib_in_chunks_keeps_peak_rss_flat() {
    const SIZE: u64 = 256 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    {
        // Real bytes on disk (not sparse), written in 1 MiB steps.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for _ in 0..(SIZE >> 20) {
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
    }
    let before = peak_rss_kib();
    let file = std::fs::File::open(&path).unwrap();
    let reports = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = reports.clone();
    let reader = ProgressReader::new(file, Some(SIZE)).observer(move |_: &Progress| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let mut chunks = Chunks::new(reader);
    let (mut total, mut sum) = (0u64, 0u64);
    while let Some(chunk) = chunks.next_chunk().unwrap() {
        total += chunk.len() as u64;
        sum = sum.wrapping_add(chunk.iter().map(|&b| b as u64).sum::<u64>());
    }
    let after = peak_rss_kib();
    assert_eq!(total, SIZE);
    assert_ne!(sum, 0);
    assert!(reports.load(std::sync::atomic::Ordering::Relaxed) >= SIZE / 8192);
    let growth = after.saturating_sub(before);
    println!(
        "chunk-stream: read {} MiB in 8 KiB chunks; peak RSS before {:.1} MiB, after {:.1} MiB, growth {:.2} MiB",
        SIZE >> 20,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        growth as f64 / 1024.0
    );
    assert!(
        growth < 4 * 1024,
        "peak RSS grew by {growth} KiB reading 256 MiB"
    );
}
