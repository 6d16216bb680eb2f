//! Parses every receipt of a JSON-lines set (each line's `ocr_lines` joined by newlines) a
//! number of times, for profiling: the instructions per receipt are a load-independent measure
//! of parse speed.
//!
//! ```text
//! cargo build --release -p receipt-parse --example parse_many
//! valgrind --tool=callgrind --toggle-collect='receipt_parse::parse' \
//!     target/release/examples/parse_many ../shared/data/sroie/dev.jsonl 2
//! ```
//!
//! Instructions per receipt: callgrind's "Collected" count over the receipts parsed.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), rounds) = (args.next(), args.next()) else {
        eprintln!("usage: parse_many SET.jsonl [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds: usize = match rounds.map(|r| r.to_string_lossy().parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("parse_many: ROUNDS: {e}");
            return ExitCode::from(2);
        }
    };
    let set = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("parse_many: {}: {e}", path.to_string_lossy());
            return ExitCode::from(1);
        }
    };
    let mut texts = Vec::new();
    for (n, line) in set
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("parse_many: line {}: {e}", n + 1);
                return ExitCode::from(1);
            }
        };
        if let Some(lines) = value["ocr_lines"].as_array() {
            let lines: Vec<&str> = lines.iter().filter_map(|l| l.as_str()).collect();
            texts.push(lines.join("\n"));
        }
    }
    let mut totals = 0;
    for _ in 0..rounds {
        for t in &texts {
            let r = std::hint::black_box(receipt_parse::parse(t));
            totals += usize::from(r.total.is_some());
        }
    }
    println!(
        "{} receipts parsed ({} rounds of {}), {totals} with a total",
        rounds * texts.len(),
        rounds,
        texts.len()
    );
    ExitCode::SUCCESS
}
