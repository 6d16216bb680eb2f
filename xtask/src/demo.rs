//! `cargo xtask` task: demo (owned by the crate that it measures).

use anyhow::{Result, bail};

/// Runs the task.
pub fn run(_args: pico_args::Arguments) -> Result<()> {
    bail!("demo is not built yet")
}
