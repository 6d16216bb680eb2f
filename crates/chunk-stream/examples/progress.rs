//! Reads a file in 8 KiB chunks and prints progress lines (percent, rate, ETA) on stderr.
//!
//! `cargo run -p chunk-stream --example progress -- PATH`

use chunk_stream::{Chunks, Progress, ProgressReader};

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: progress PATH");
    let file = std::fs::File::open(&path)?;
    let total = file.metadata()?.len();
    let mut last_tenth = u64::MAX;
    let reader = ProgressReader::new(file, Some(total)).observer(move |p: &Progress| {
        let tenth = p.bytes * 10 / total.max(1);
        if tenth != last_tenth {
            last_tenth = tenth;
            eprintln!(
                "{:>5.1}%  {} / {} bytes  {:.1} MiB/s  eta {:?}",
                p.percent().unwrap_or(0.0),
                p.bytes,
                total,
                p.rate() / (1 << 20) as f64,
                p.eta().unwrap_or_default()
            );
        }
    });
    let mut chunks = Chunks::new(reader);
    let mut n = 0u64;
    while let Some(chunk) = chunks.next_chunk()? {
        n += chunk.len() as u64;
    }
    println!("{path}: {n} bytes");
    Ok(())
}
