//! Parses a receipt text file (or stdin) and prints the receipt as JSON.
//!
//! `cargo run -p receipt-parse --example parse -- fixtures/receipts/de.txt`

use std::io::Read;

fn main() -> std::io::Result<()> {
    let text = match std::env::args_os().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    let receipt = receipt_parse::parse(&text);
    let json = serde_json::to_string_pretty(&receipt).map_err(std::io::Error::other)?;
    println!("{json}");
    Ok(())
}
