//! The outputs an app asks for in one value: `--csv FILE`, `--report FILE.html`,
//! `--rename TEMPLATE` and `--dry-run`, run in the one order that keeps them consistent.

use std::path::PathBuf;

use crate::{Action, OutputError, Planned, Renamed, Scanned, Template};

/// What to do with a batch of scanned files once it is scanned (the crate docs show it in use).
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Write the CSV here ([`crate::save_csv`]).
    pub csv: Option<PathBuf>,
    /// Write the HTML report here ([`crate::save_report`]).
    pub report: Option<PathBuf>,
    /// Rename each file by this template ([`crate::plan`], [`crate::apply`]).
    pub rename: Option<Template>,
    /// Only plan the renames; rename nothing.
    pub dry_run: bool,
}

impl Outputs {
    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.csv.is_none() && self.report.is_none() && self.rename.is_none()
    }

    /// Renames first (unless a dry run), points `scans` at the new names ([`crate::follow`]),
    /// then writes the CSV and the report, so both show the files as they are now named.
    ///
    /// Every step is tried whatever the others did; what went wrong is in the result.
    pub fn write(&self, scans: &mut [Scanned]) -> Written {
        let mut written = Written {
            dry_run: self.dry_run,
            ..Written::default()
        };
        if let Some(template) = &self.rename {
            written.plan = crate::plan(template, scans);
            if !self.dry_run {
                written.renamed = crate::apply(&written.plan);
                let done: Vec<Renamed> = written
                    .renamed
                    .iter()
                    .filter_map(|r| r.as_ref().ok().cloned())
                    .collect();
                crate::follow(scans, &done);
            }
        }
        if let Some(path) = &self.csv
            && let Err(e) = crate::save_csv(path, scans)
        {
            written.failed.push(e);
        }
        if let Some(path) = &self.report
            && let Err(e) = crate::save_report(path, scans)
        {
            written.failed.push(e);
        }
        written
    }
}

/// What [`Outputs::write`] did.
#[derive(Debug, Default)]
pub struct Written {
    /// Whether the renames were only planned.
    pub dry_run: bool,
    /// The rename plan, one step per scanned file (empty without a template).
    pub plan: Vec<Planned>,
    /// One result per planned rename (empty in a dry run).
    pub renamed: Vec<Result<Renamed, OutputError>>,
    /// The CSV or report that could not be written.
    pub failed: Vec<OutputError>,
}

impl Written {
    /// Whether a rename failed or an output could not be written (a skipped file is not a
    /// failure).
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty() || self.renamed.iter().any(Result::is_err)
    }

    /// What to tell the user, in order: in a dry run every planned step; otherwise the skipped
    /// files, then each rename (`Ok`) or its error (`Err`), then the outputs that failed.
    pub fn lines(&self) -> impl Iterator<Item = Result<String, &OutputError>> + '_ {
        let plan = self
            .plan
            .iter()
            .filter(|p| self.dry_run || matches!(p.action, Action::Skip(_)))
            .map(|p| Ok(p.to_string()));
        let renamed = self.renamed.iter().map(|r| match r {
            Ok(r) => Ok(r.to_string()),
            Err(e) => Err(e),
        });
        plan.chain(renamed).chain(self.failed.iter().map(Err))
    }
}
