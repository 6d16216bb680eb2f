//! What people do with scanned receipts: a CSV for a spreadsheet, files renamed by their fields,
//! and a self-contained HTML report.
//!
//! The input is a list of [`Scanned`] results — one per scanned file, holding either the
//! [`receipt_parse::Receipt`] that was read or the error that stopped the scan. Three outputs:
//!
//! - [`csv`]: one row per input under a fixed header ([`csv::HEADER`]), RFC 4180 quoting, amounts as
//!   plain decimals (`12.96`), written as results arrive ([`CsvWriter`]) or all at once
//!   ([`write_csv`], or [`save_csv`] to a file, atomically).
//! - [`rename`]: a [`Template`] such as `{date}_{merchant}_{total}` turns each file's fields into a
//!   safe file name (`2024-03-12_corner-store_12.96.jpg`); [`plan`] says what would happen (the
//!   `--dry-run`), [`apply`] renames without ever overwriting, [`follow`] points the results at
//!   their new names.
//! - [`report`]: one HTML page with each receipt's thumbnail beside its fields, low-confidence
//!   fields marked, failures listed and totals summed per currency ([`write_report`], or
//!   [`save_report`] to a file, atomically).
//!
//! An app with `--csv`, `--report`, `--rename` and `--dry-run` flags fills an [`Outputs`] and
//! calls [`Outputs::write`], which renames first and then writes the CSV and the report under the
//! new names:
//!
//! ```no_run
//! use scan_output::{Outputs, Scanned, Template};
//!
//! let text = std::fs::read_to_string("IMG 0042.txt")?;
//! let mut scans = vec![
//!     Scanned::parsed("IMG 0042.txt", "text", receipt_parse::parse(&text)),
//!     Scanned::failed("blurry.jpg", "tesseract", "no text found"),
//! ];
//! let outputs = Outputs {
//!     csv: Some("receipts.csv".into()),
//!     report: Some("receipts.html".into()),
//!     rename: Some(Template::parse("{date}_{merchant}_{total}")?),
//!     dry_run: false,
//! };
//! let written = outputs.write(&mut scans);
//! for line in written.lines() {
//!     match line {
//!         Ok(text) => println!("{text}"), // IMG 0042.txt -> 2024-03-12_corner-store_12.96.txt
//!         Err(e) => eprintln!("error: {e}"),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each step is also a function of its own: [`CsvWriter`] streams rows as results arrive,
//! [`plan`] alone is a dry run, [`apply`] renames, [`follow`] points the results at the new names.
//!
//! The one design decision: renaming never overwrites, even when a file appears under the target
//! name after planning. Each rename is a hard link to the new name (which fails if the name is
//! taken, atomically) followed by removing the old name; see [`rename`] for the details and the
//! fallback on file systems without hard links.
//!
//! What it does not do: OCR or parsing (it takes finished [`Scanned`] results), flags, exit codes
//! or printing (the app decides), network access of any kind (the report embeds everything it
//! shows), or currency conversion (totals are summed per currency, never across currencies).

pub mod csv;
mod error;
mod outputs;
pub mod rename;
pub mod report;
mod save;

use std::path::PathBuf;

use receipt_parse::Receipt;

pub use crate::csv::{CsvWriter, save_csv, write_csv};
pub use crate::error::OutputError;
pub use crate::outputs::{Outputs, Written};
pub use crate::rename::{Action, Field, Planned, Renamed, Skip, Template, apply, follow, plan};
pub use crate::report::{LOW_CONFIDENCE, THUMBNAIL_WIDTH, save_report, write_report};

/// The result of scanning one file: the receipt read from it, or why none was.
///
/// The receipt carries its own per-field confidences ([`receipt_parse::Confidence`], 0–100);
/// the CSV's `total_confidence` column and the report's low-confidence marks come from there.
#[derive(Debug, Clone, PartialEq)]
pub struct Scanned {
    /// The scanned file (an image, or a `.txt` holding OCR text), as the user named it.
    pub input: PathBuf,
    /// The OCR engine that read it (`tesseract`, `ocrspace`, …).
    pub engine: String,
    /// The receipt, or the error message of the failed scan.
    pub outcome: Result<Receipt, String>,
}

impl Scanned {
    /// A file whose scan produced a receipt.
    pub fn parsed(
        input: impl Into<PathBuf>,
        engine: impl Into<String>,
        receipt: Receipt,
    ) -> Scanned {
        Scanned {
            input: input.into(),
            engine: engine.into(),
            outcome: Ok(receipt),
        }
    }

    /// A file whose scan failed, with the error message to show.
    pub fn failed(
        input: impl Into<PathBuf>,
        engine: impl Into<String>,
        error: impl Into<String>,
    ) -> Scanned {
        Scanned {
            input: input.into(),
            engine: engine.into(),
            outcome: Err(error.into()),
        }
    }

    /// The receipt, when the scan succeeded.
    pub fn receipt(&self) -> Option<&Receipt> {
        self.outcome.as_ref().ok()
    }

    /// The error message, when the scan failed.
    pub fn error(&self) -> Option<&str> {
        self.outcome.as_ref().err().map(String::as_str)
    }
}
