//! OCR text that is already text: a `.txt` file read as if an engine had recognised it, so a
//! receipt set from any OCR (or typed by hand) goes through the same parsing.

use std::io::Read;
use std::path::Path;

use crate::{OcrError, OcrLine, OcrText};

/// The largest text file read (64 MiB): far beyond any receipt, and a bound on memory for a
/// file that is not one. A larger file is refused whole rather than parsed in part.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Whether `path` names OCR text rather than an image (its extension is `.txt`).
pub fn is_text_input(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// Text read from a file, one [`OcrLine`] per line (CR LF or LF), with no boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextInput {
    /// The text as OCR output.
    pub text: OcrText,
    /// Bytes that were not UTF-8 were replaced (U+FFFD): the caller may want to say so.
    pub lossy: bool,
}

/// Reads `path` as OCR text: a regular file (a FIFO or a device is refused before it is
/// opened), at most [`MAX_TEXT_BYTES`], decoded as UTF-8 (a byte-order mark is dropped; bytes
/// that are not UTF-8 are replaced and [`TextInput::lossy`] says so).
pub fn read_text(path: &Path) -> Result<TextInput, OcrError> {
    let (file, meta) = binary_io::open_regular(path).map_err(|e| match e {
        binary_io::Error::NotFound { path } => OcrError::ImageNotFound { path },
        other => OcrError::NotAFile {
            path: path.to_path_buf(),
            source: other,
        },
    })?;
    if meta.len() > MAX_TEXT_BYTES {
        return Err(OcrError::TextTooLarge {
            path: path.to_path_buf(),
            limit: MAX_TEXT_BYTES,
            actual: meta.len(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_TEXT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| OcrError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(OcrError::TextTooLarge {
            path: path.to_path_buf(),
            limit: MAX_TEXT_BYTES,
            actual: bytes.len() as u64,
        });
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let decoded = String::from_utf8_lossy(body);
    let lossy = matches!(decoded, std::borrow::Cow::Owned(_));
    let mut text = OcrText::default();
    for line in decoded.lines() {
        text.push_line(OcrLine {
            text: line.to_string(),
            bbox: None,
            confidence: None,
        });
    }
    Ok(TextInput { text, lossy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_drops_a_bom_and_says_when_it_replaced_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let clean = dir.path().join("a.txt");
        std::fs::write(&clean, b"\xef\xbb\xbfSHOP\r\nTOTAL 9.00\n").unwrap();
        let read = read_text(&clean).unwrap();
        assert_eq!(read.text.text, "SHOP\nTOTAL 9.00\n");
        assert!(!read.lossy);
        let latin1 = dir.path().join("b.txt");
        std::fs::write(&latin1, b"CAF\xc9 M\xdcLLER\nTOTAL 9.00\n").unwrap();
        let read = read_text(&latin1).unwrap();
        assert!(read.lossy);
        assert_eq!(read.text.lines[1].text, "TOTAL 9.00");
    }

    #[test]
    fn the_last_line_of_a_long_text_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join("long.txt");
        let mut body = "ITEM 1.00\n".repeat(50_000);
        body.push_str("TOTAL 50000.00\n");
        std::fs::write(&long, &body).unwrap();
        let read = read_text(&long).unwrap();
        assert_eq!(read.text.lines.last().unwrap().text, "TOTAL 50000.00");
    }

    #[test]
    fn missing_files_fifos_and_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_text(&dir.path().join("none.txt")),
            Err(OcrError::ImageNotFound { .. })
        ));
        assert!(matches!(
            read_text(dir.path()),
            Err(OcrError::NotAFile { .. })
        ));
        let fifo = dir.path().join("fifo.txt");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(matches!(read_text(&fifo), Err(OcrError::NotAFile { .. })));
    }
}
