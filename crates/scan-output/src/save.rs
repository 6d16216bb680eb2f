//! Writing an output file atomically: nothing partial ever stands under its final name.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::OutputError;

/// Writes through `write` into a temporary file beside `path`, syncs it, then renames it over
/// `path`. On any failure the temporary file is removed and `path` is left as it was.
pub(crate) fn save(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let fail = |source| OutputError::write(Some(path.to_path_buf()), source);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".scan-output-").suffix(".tmp");
    // tempfile creates files readable by their owner only; a CSV or a report is an ordinary
    // document, so it gets the mode a plain create would give (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = match builder.tempfile_in(dir) {
        Ok(tmp) => tmp,
        // tempfile's error names the random temporary path it tried; when the folder itself is
        // missing, the folder's own error is clearer beside the path the user gave.
        Err(e) => return Err(fail(std::fs::metadata(dir).err().unwrap_or(e))),
    };
    let mut out = BufWriter::new(tmp.as_file_mut());
    write(&mut out).map_err(fail)?;
    out.flush().map_err(fail)?;
    drop(out);
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
