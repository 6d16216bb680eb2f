//! What fw-batch tells its user: notes on the plan, one JSON line per file, the summary.

use crate::args::{Mode, Workers};
use crate::send::{ItemError, Sent, Work};
use batch_pool::{JournalState, Outcome, Plan, Summary};

/// What the journal says before the run: skipped, changed and in-doubt files, odd lines.
pub(crate) fn plan(plan: &Plan, total: usize, state: &JournalState, mode: &Mode) {
    if plan.skipped > 0 {
        let place = match mode {
            Mode::Form { .. } => "this URL",
            Mode::Put { .. } => "this URL template",
            Mode::Tus { .. } => "this tus endpoint",
        };
        eprintln!(
            "fw-batch: {} of {total} files already uploaded to {place}",
            plan.skipped
        );
    }
    if plan.changed > 0 {
        eprintln!(
            "fw-batch: {} files changed since their upload; sending them again",
            plan.changed
        );
    }
    if plan.in_doubt > 0 {
        let how = match mode {
            Mode::Form { .. } => "sending them again with the same idempotency key",
            Mode::Put { .. } => "sending them again (a PUT replaces the object)",
            Mode::Tus { .. } => "continuing their tus uploads from the server's offset",
        };
        eprintln!(
            "fw-batch: {} files were in flight when the last run stopped; {how}",
            plan.in_doubt
        );
    }
    if state.unreadable_lines > 0 {
        fw_cli::warn(&format!(
            "{} unreadable journal lines ignored",
            state.unreadable_lines
        ));
    }
    if state.older_lines > 0 {
        fw_cli::warn(&format!(
            "{} journal lines of an older fw-batch ignored (they do not say where or which \
             version was sent); those files are sent again",
            state.older_lines
        ));
    }
}

/// One `--json` line for a finished file.
pub(crate) fn result_line(o: &Outcome<Work, Sent, ItemError>) -> serde_json::Value {
    let item = &o.item.planned.item;
    let sent = o.result.as_ref().ok();
    let mut line = serde_json::json!({
        "key": item.key,
        "path": item.path.to_string_lossy(),
        "ok": o.result.is_ok(),
        "status": match &o.result { Ok(s) => s.status, Err(e) => e.status() },
        "tries": o.tries,
        "overloads": o.overloads,
        "elapsed_ms": o.elapsed.as_millis() as u64,
        "idempotency_key": o.item.idempotency_key.get(),
        "error": o.result.as_ref().err().map(ItemError::describe),
        "bytes_sent": sent.map(|s| s.bytes),
    });
    if let Some(url) = sent.and_then(|s| s.url.as_deref()) {
        line["url"] = url.into();
    }
    if let Some(at) = sent.and_then(|s| s.resumed_at) {
        line["resumed_at"] = at.into();
    }
    // The exact bytes of a name that is not UTF-8 (`key` and `path` are then lossy).
    if let Some(raw) = &item.raw_key {
        line["key_hex"] = raw
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
    }
    line
}

/// The summary line on stderr.
pub(crate) fn summary(summary: &Summary, total: usize, skipped: usize, workers: &Workers) {
    let limit = match workers {
        Workers::Fixed(n) => format!("{n} workers"),
        Workers::Auto => format!("limit settled at {}", summary.final_limit),
    };
    eprintln!(
        "fw-batch: {} files: {} ok, {} failed, {} retried, {} answered 429/503, {} skipped (done earlier); {:.2} s, {}, peak {} in flight",
        total,
        summary.ok,
        summary.failed,
        summary.retried,
        summary.overloads,
        skipped,
        summary.elapsed.as_secs_f64(),
        limit,
        summary.peak_in_flight,
    );
}
