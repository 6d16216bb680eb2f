//! The PP-OCR model files: pinned by SHA-256, found in a folder or the user's cache, installed
//! from the `rapidocr-onnxruntime` 1.4.4 wheel (Apache-2.0) on PyPI.
//!
//! The three ONNX files ship inside that wheel under `rapidocr_onnxruntime/models/`. [`install`]
//! runs `python3 -m pip download rapidocr-onnxruntime==1.4.4 --no-deps` into a temporary folder,
//! checks the wheel's SHA-256, takes the files out of the zip and checks each; every file
//! appears atomically (temporary name, fsync, rename), so a folder never holds half a model.
//!
//! ```no_run
//! use ocr_client::models;
//!
//! let dir = models::default_dir().expect("a home or cache folder");
//! models::ensure(&dir, true)?; // verifies, installing first when files are missing
//! # Ok::<(), ocr_client::OcrError>(())
//! ```

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::OcrError;

/// One pinned model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelFile {
    /// Its file name (as in the wheel's `rapidocr_onnxruntime/models/`).
    pub name: &'static str,
    /// Its SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// The text detector (DBNet), PP-OCRv4.
pub const DETECTION: ModelFile = ModelFile {
    name: "ch_PP-OCRv4_det_infer.onnx",
    sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
};

/// The line recogniser (SVTR-LCNet, CTC), PP-OCRv4; its 6623 characters are in the model's
/// `character` metadata.
pub const RECOGNITION: ModelFile = ModelFile {
    name: "ch_PP-OCRv4_rec_infer.onnx",
    sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
};

/// The text-angle classifier (0 or 180 degrees), PP-OCR mobile v2.0.
pub const CLASSIFIER: ModelFile = ModelFile {
    name: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    sha256: "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
};

/// Every model file the engine needs.
pub const MODEL_FILES: [ModelFile; 3] = [DETECTION, RECOGNITION, CLASSIFIER];

/// The pip requirement that brings the wheel.
pub const WHEEL_REQUIREMENT: &str = "rapidocr-onnxruntime==1.4.4";

/// The wheel's file name as pip saves it.
pub const WHEEL_FILE: &str = "rapidocr_onnxruntime-1.4.4-py3-none-any.whl";

/// The wheel's SHA-256 (14.9 MB, platform-independent).
pub const WHEEL_SHA256: &str = "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf";

/// Where the model files sit inside the wheel.
const WHEEL_MODELS_PREFIX: &str = "rapidocr_onnxruntime/models/";

/// The environment variable naming a folder that holds the model files.
pub const MODELS_VARIABLE: &str = "FILEWIRE_MODELS";

/// What to do about missing or corrupt models; part of every such error.
/// It names no program or flag (the app adds how its own users install them).
pub const INSTALL_HINT: &str = "install the models (`models::install` fetches them with pip, which \
    needs network), or copy ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx and \
    ch_ppocr_mobile_v2.0_cls_infer.onnx from the rapidocr-onnxruntime 1.4.4 wheel into the models \
    folder or the one FILEWIRE_MODELS names";

/// The user's model cache: `$XDG_CACHE_HOME/filewire/models`, else `~/.cache/filewire/models`;
/// `None` when neither variable is set.
pub fn cache_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("filewire").join("models"))
}

/// The folder models are read from when none is given: `FILEWIRE_MODELS`, else [`cache_dir`].
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os(MODELS_VARIABLE) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => cache_dir(),
    }
}

/// The path of `file` in `dir`.
pub fn path_in(dir: &Path, file: ModelFile) -> PathBuf {
    dir.join(file.name)
}

/// Checks that every model file is in `dir` with its pinned SHA-256.
///
/// Errors: [`OcrError::ModelMissing`] or [`OcrError::ModelChecksum`], naming the file and the fix.
pub fn verify(dir: &Path) -> Result<(), OcrError> {
    for file in MODEL_FILES {
        verify_file(&path_in(dir, file), file.sha256)?;
    }
    Ok(())
}

/// Verifies the models in `dir`; when some are missing and `install_if_missing` is set, installs
/// them first (with a line on stderr saying what is fetched). A corrupt file is never replaced
/// silently: it is an error naming the fix.
pub fn ensure(dir: &Path, install_if_missing: bool) -> Result<(), OcrError> {
    let missing = MODEL_FILES.iter().any(|f| !path_in(dir, *f).exists());
    if missing && install_if_missing {
        install(dir)?;
    }
    verify(dir)
}

/// Installs the model files into `dir` (created when missing): `pip download` of the wheel into
/// a temporary folder, then [`install_from_wheel`]. Prints one line on stderr saying what is
/// fetched. Files already there and correct are kept.
pub fn install(dir: &Path) -> Result<(), OcrError> {
    let fail = |reason: String| OcrError::ModelInstall {
        dir: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the folder: {e}")))?;
    eprintln!(
        "fetching the PP-OCR models (pip download {WHEEL_REQUIREMENT}, 14.9 MB) into {}",
        dir.display()
    );
    let download = tempfile::Builder::new()
        .prefix(".wheel-")
        .tempdir_in(dir)
        .map_err(|e| fail(format!("cannot create a temporary folder: {e}")))?;
    let mut last_error = String::new();
    let mut downloaded = false;
    for python in ["python3", "python"] {
        let output = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .args(["--quiet", "--dest"])
            .arg(download.path())
            .arg(WHEEL_REQUIREMENT)
            .stdin(Stdio::null())
            .output();
        match output {
            Ok(out) if out.status.success() => {
                downloaded = true;
                break;
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                last_error = format!(
                    "`{python} -m pip download {WHEEL_REQUIREMENT} --no-deps` failed ({}): {}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                );
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if last_error.is_empty() {
                    last_error = "neither python3 nor python is installed (pip is needed to \
                                  fetch the wheel)"
                        .to_string();
                }
            }
            Err(e) => last_error = format!("cannot run {python}: {e}"),
        }
    }
    if !downloaded {
        return Err(fail(format!("{last_error}; {INSTALL_HINT}")));
    }
    install_from_wheel(&download.path().join(WHEEL_FILE), dir)
}

/// Takes the model files out of the wheel at `wheel` (checked against [`WHEEL_SHA256`]) into
/// `dir`, verifying each before it gets its final name.
pub fn install_from_wheel(wheel: &Path, dir: &Path) -> Result<(), OcrError> {
    let fail = |reason: String| OcrError::ModelInstall {
        dir: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the folder: {e}")))?;
    let actual = sha256_file(wheel).map_err(|e| fail(format!("{}: {e}", wheel.display())))?;
    if actual != WHEEL_SHA256 {
        return Err(fail(format!(
            "{} has sha256 {actual}, expected {WHEEL_SHA256} (not the {WHEEL_REQUIREMENT} wheel)",
            wheel.display()
        )));
    }
    let archive = File::open(wheel).map_err(|e| fail(format!("{}: {e}", wheel.display())))?;
    let mut archive = zip::ZipArchive::new(archive)
        .map_err(|e| fail(format!("{} is not a readable wheel: {e}", wheel.display())))?;
    for file in MODEL_FILES {
        let target = path_in(dir, file);
        if verify_file(&target, file.sha256).is_ok() {
            continue;
        }
        let name = format!("{WHEEL_MODELS_PREFIX}{}", file.name);
        let mut entry = archive
            .by_name(&name)
            .map_err(|e| fail(format!("{name} not in the wheel: {e}")))?;
        write_verified(&mut entry, &target, file.sha256)?;
    }
    Ok(())
}

/// The mode of an installed model file on Unix: readable by all, writable by its owner.
#[cfg(unix)]
const MODEL_MODE: u32 = 0o644;

/// Copies `from` into `target` through a temporary file in the same folder, checks its
/// SHA-256, sets mode 0644 (on Unix), fsyncs, and only then renames it to its final name.
pub fn write_verified(from: &mut dyn Read, target: &Path, sha256: &str) -> Result<(), OcrError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let fail = |reason: String| OcrError::ModelInstall {
        dir: dir.to_path_buf(),
        reason,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".model-")
        .tempfile_in(dir)
        .map_err(|e| fail(format!("cannot create a temporary file: {e}")))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from
            .read(&mut buf)
            .map_err(|e| fail(format!("reading {}: {e}", target.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .map_err(|e| fail(format!("writing {}: {e}", target.display())))?;
    }
    let actual = hex(&hasher.finalize());
    if actual != sha256 {
        return Err(OcrError::ModelChecksum {
            path: target.to_path_buf(),
            expected: sha256.to_string(),
            actual,
        });
    }
    // tempfile creates 0600; these are public models in a user cache, readable as any
    // installed file is (0644).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(MODEL_MODE))
            .map_err(|e| fail(format!("chmod {}: {e}", target.display())))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail(format!("fsync {}: {e}", target.display())))?;
    tmp.persist(target)
        .map_err(|e| fail(format!("renaming into {}: {}", target.display(), e.error)))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Checks one file against its pinned SHA-256.
fn verify_file(path: &Path, sha256: &str) -> Result<(), OcrError> {
    match sha256_file(path) {
        Ok(actual) if actual == sha256 => Ok(()),
        Ok(actual) => Err(OcrError::ModelChecksum {
            path: path.to_path_buf(),
            expected: sha256.to_string(),
            actual,
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(OcrError::ModelMissing {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(OcrError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_models_name_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let err = verify(dir.path()).unwrap_err();
        assert!(matches!(&err, OcrError::ModelMissing { path } if path.ends_with(DETECTION.name)));
        let text = err.to_string();
        assert!(text.contains("install the models"), "{text}");
        assert!(text.contains("FILEWIRE_MODELS"), "{text}");
        assert!(ensure(dir.path(), false).is_err());
    }

    #[test]
    fn corrupt_model_is_a_checksum_error() {
        let dir = tempfile::tempdir().unwrap();
        for file in MODEL_FILES {
            std::fs::write(path_in(dir.path(), file), b"not a model").unwrap();
        }
        match verify(dir.path()) {
            Err(OcrError::ModelChecksum {
                path,
                expected,
                actual,
            }) => {
                assert!(path.ends_with(DETECTION.name));
                assert_eq!(expected, DETECTION.sha256);
                assert_ne!(actual, expected);
            }
            other => panic!("expected ModelChecksum, got {other:?}"),
        }
    }

    #[test]
    fn write_verified_leaves_nothing_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(RECOGNITION.name);
        let err = write_verified(&mut &b"tampered"[..], &target, RECOGNITION.sha256).unwrap_err();
        assert!(matches!(err, OcrError::ModelChecksum { .. }));
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let good = b"hello";
        let sha = hex(&Sha256::digest(good));
        write_verified(&mut &good[..], &target, &sha).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), good);
    }

    #[cfg(unix)]
    #[test]
    fn installed_models_are_readable_by_all() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(DETECTION.name);
        let body = b"a public model";
        let sha = hex(&Sha256::digest(body));
        write_verified(&mut &body[..], &target, &sha).unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{mode:o}");
    }

    #[test]
    fn a_wheel_with_the_wrong_checksum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join(WHEEL_FILE);
        std::fs::write(&wheel, b"PK not the wheel").unwrap();
        let err = install_from_wheel(&wheel, &dir.path().join("models")).unwrap_err();
        assert!(err.to_string().contains("expected 971d7d5f"), "{err}");
    }
}
