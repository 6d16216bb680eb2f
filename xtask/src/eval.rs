//! `cargo xtask eval` and `cargo xtask bench parse`: receipt-parse accuracy and speed.

use anyhow::{Result, bail};

/// Runs the accuracy evaluation.
pub fn run(_args: pico_args::Arguments) -> Result<()> {
    bail!("eval is not built yet")
}

/// Runs the parse-speed benchmark.
pub fn bench(_args: pico_args::Arguments) -> Result<()> {
    bail!("bench parse is not built yet")
}
