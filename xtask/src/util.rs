//! Small helpers the tasks share: paths, running commands, measuring peak RSS.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `../shared/data` beside the project root (development data, not in the repository).
pub fn shared_data() -> PathBuf {
    root().join("..").join("shared").join("data")
}

/// Where tasks keep their scratch files and tools (under target/, so `cargo clean` removes it).
pub fn scratch(name: &str) -> Result<PathBuf> {
    let dir = root().join("target").join("xtask").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The SHA-256 of a file, lowercase hex (read in 1 MiB blocks: the benches hash GiB files).
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, file),
        &mut hasher,
    )
    .with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Prints a step header on stderr.
pub fn step(msg: &str) {
    eprintln!("\n==> {msg}");
}

/// Runs a command, echoing it, and fails with its exit status when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", show(cmd));
    }
    Ok(())
}

/// Renders a command the way a person would type it.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The outcome of a measured child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall-clock time from spawn to exit.
    pub wall: Duration,
    /// Peak resident set size of the child, in KiB (from wait4's rusage).
    pub peak_rss_kib: u64,
    /// Whether it exited with status 0.
    pub success: bool,
}

/// Runs a command to completion and measures its wall time and peak RSS.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", show(cmd)))?;
    let (status, rss) = wait_with_rusage(child)?;
    Ok(Measured {
        wall: start.elapsed(),
        peak_rss_kib: rss,
        success: status,
    })
}

#[allow(unsafe_code)]
fn wait_with_rusage(child: Child) -> Result<(bool, u64)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, zero-initialised and filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // The Child handle must not reap again; forget it.
    std::mem::forget(child);
    Ok((ok, usage.ru_maxrss as u64))
}

/// Formats KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Fails on arguments a task did not take.
pub fn reject_rest(args: pico_args::Arguments) -> Result<()> {
    let rest = args.finish();
    if !rest.is_empty() {
        bail!("unexpected arguments: {rest:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_file_gives_the_known_digest_and_names_a_missing_file() {
        let dir = scratch("util-test").unwrap();
        let path = dir.join("abc.txt");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_file(&path).unwrap();
        let err = format!("{:#}", sha256_file(&path).unwrap_err());
        assert!(err.contains("abc.txt"), "{err}");
    }
}
