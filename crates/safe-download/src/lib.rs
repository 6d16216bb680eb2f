//! Checked, streaming, resumable downloads to a temporary file, renamed atomically when verified.
