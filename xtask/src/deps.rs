//! Installs what the tests, benches and demo need, or fails with the exact command to run.
//!
//! System packages come from apt-get (when running as root), Python tools from pip into a
//! virtual environment under `target/xtask/venv`. Nothing is skipped silently.

use crate::util::{have, run, scratch};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

static APT_UPDATE: Once = Once::new();

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Makes sure `program` is on PATH, installing Debian `package` when missing.
pub fn apt(program: &str, package: &str) -> Result<()> {
    if have(program) || std::path::Path::new(&format!("/usr/sbin/{program}")).exists() {
        return Ok(());
    }
    apt_install(package)?;
    if !(have(program) || std::path::Path::new(&format!("/usr/sbin/{program}")).exists()) {
        bail!("installed {package} but `{program}` is still not on PATH");
    }
    Ok(())
}

/// Installs Debian `package` with apt-get (root only; otherwise fails with the command to run).
pub fn apt_install(package: &str) -> Result<()> {
    if !is_root() {
        bail!("{package} is missing; install it with: sudo apt-get install -y {package}");
    }
    let mut update_result = Ok(());
    APT_UPDATE.call_once(|| {
        update_result = run(Command::new("apt-get").args(["update", "-qq"]));
    });
    update_result?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The nginx binary, installed when missing.
pub fn nginx() -> Result<PathBuf> {
    apt("nginx", "nginx-light")?;
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(p).exists() {
            return Ok(PathBuf::from(p));
        }
    }
    Ok(PathBuf::from("nginx"))
}

/// Tesseract with English language data, installed when missing.
pub fn tesseract() -> Result<()> {
    apt("tesseract", "tesseract-ocr")?;
    let langs = Command::new("tesseract").arg("--list-langs").output()?;
    let text = String::from_utf8_lossy(&langs.stdout).to_string()
        + &String::from_utf8_lossy(&langs.stderr);
    if !text.lines().any(|l| l.trim() == "eng") {
        if !is_root() {
            bail!(
                "tesseract has no English data; install it with: sudo apt-get install -y tesseract-ocr-eng"
            );
        }
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "tesseract-ocr-eng"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(())
}

/// Headless Chromium, which renders scan-output's HTML report in its test.
pub fn chromium() -> Result<()> {
    apt("chromium", "chromium")
}

/// curl and wget, the peers of the benches.
pub fn curl_and_wget() -> Result<()> {
    apt("curl", "curl")?;
    apt("wget", "wget")
}

/// A Python virtual environment under target/ holding httpbin and a WSGI server (gunicorn).
/// Returns the venv's python.
pub fn python_venv() -> Result<PathBuf> {
    let venv = scratch("venv")?;
    let python = venv.join("bin").join("python");
    let marker = venv.join(".filewire-ready-1");
    if marker.exists() {
        return Ok(python);
    }
    let system_python = if have("python3") { "python3" } else { "python" };
    if !have(system_python) {
        apt("python3", "python3")?;
    }
    if !python.exists() {
        let ok = Command::new(system_python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?
            .success();
        if !ok {
            apt_install("python3-venv")?;
            run(Command::new(system_python).args(["-m", "venv"]).arg(&venv))?;
        }
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "httpbin==0.10.4",
        "gunicorn>=23",
        "werkzeug>=3,<4",
    ]))?;
    std::fs::write(&marker, "httpbin gunicorn\n")?;
    Ok(python)
}

/// RapidOCR 1.4.4 (PP-OCRv4 in ONNX Runtime, Python), the peer of `bench scan`, installed into
/// the venv of [`python_venv`]. The wheel is fetched with `pip download` and checked against the
/// SHA-256 issue #11 gives before pip installs it and resolves its dependencies (onnxruntime,
/// opencv-python, numpy, shapely, pyclipper: about 400 MB, all under target/). opencv-python is
/// what the wheel requires; its import needs libGL and GLib, installed with apt when missing.
/// Returns the venv's python.
pub fn rapidocr() -> Result<PathBuf> {
    const WHEEL: &str = "rapidocr_onnxruntime-1.4.4-py3-none-any.whl";
    const SHA256: &str = "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf";
    let python = python_venv()?;
    let venv = scratch("venv")?;
    let marker = venv.join(".filewire-rapidocr-1.4.4");
    if marker.exists() {
        return Ok(python);
    }
    let pip = |args: &[&str]| {
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "pip", "--quiet", "--disable-pip-version-check"])
            .args(args);
        cmd
    };
    let download = scratch("rapidocr-wheel")?;
    run(pip(&["download", "--no-deps", "rapidocr-onnxruntime==1.4.4", "-d"]).arg(&download))
        .context("downloading the RapidOCR wheel (the peer of `bench scan`) with pip")?;
    let wheel = download.join(WHEEL);
    let sha256 = crate::util::sha256_file(&wheel)
        .with_context(|| format!("pip downloaded no {}", wheel.display()))?;
    if sha256 != SHA256 {
        bail!(
            "{} has SHA-256 {sha256}, expected {SHA256} (issue #11); not installing it",
            wheel.display()
        );
    }
    run(pip(&["install"]).arg(&wheel)).with_context(|| {
        format!(
            "installing RapidOCR and its dependencies into {} (pip's messages above)",
            venv.display()
        )
    })?;
    let import = || {
        Command::new(&python)
            .args(["-c", "import rapidocr_onnxruntime"])
            .output()
    };
    let output = import()?;
    if !output.status.success() {
        // opencv-python links the system's libGL.so.1 and libgthread-2.0.so.0.
        let error = String::from_utf8_lossy(&output.stderr)
            .trim_end()
            .to_string();
        for package in ["libgl1", "libglib2.0-0"] {
            apt_install(package).with_context(|| format!("RapidOCR does not import:\n{error}"))?;
        }
        let output = import()?;
        if !output.status.success() {
            bail!(
                "RapidOCR is installed in {} but does not import:\n{}",
                venv.display(),
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
    }
    std::fs::write(&marker, "rapidocr-onnxruntime==1.4.4\n")?;
    std::fs::remove_dir_all(&download).ok();
    Ok(python)
}

/// The official tus server, `@tus/server` with `@tus/file-store` (pinned; both need Node ≥
/// 20.19), installed with npm into target/xtask/npm. Returns its node_modules folder, which
/// testbed's `TusServer` peer reads from `FILEWIRE_TUS_MODULES`.
pub fn tus_server() -> Result<PathBuf> {
    const PACKAGES: [&str; 2] = ["@tus/server@2.4.5", "@tus/file-store@2.1.1"];
    let prefix = scratch("npm")?;
    let modules = prefix.join("node_modules");
    let marker = prefix.join(format!(
        ".filewire-ready-{}",
        PACKAGES.join("+").replace('/', "_")
    ));
    if marker.exists() {
        return Ok(modules);
    }
    apt("node", "nodejs")?;
    apt("npm", "npm")?;
    let version = Command::new("node").arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let numbers: Vec<u32> = version
        .trim_start_matches('v')
        .split('.')
        .filter_map(|n| n.parse().ok())
        .collect();
    if numbers.as_slice() < [20, 19].as_slice() {
        bail!("@tus/server needs Node 20.19 or later, found {version}; install a newer nodejs");
    }
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&prefix)
        .args(PACKAGES))?;
    std::fs::write(&marker, PACKAGES.join("\n"))?;
    Ok(modules)
}
