//! `cargo xtask` task: bench_scan (owned by the crate that it measures).

use anyhow::{Result, bail};

/// Runs the task.
pub fn run(_args: pico_args::Arguments) -> Result<()> {
    bail!("bench_scan is not built yet")
}
