//! Resume state (`<final>.part.json` beside `<final>.part`) and the checks that decide whether a
//! server's answer really continues the partial data: same validator (ETag, else
//! Last-Modified), same total, a range starting where the part ends and running to the end.

use crate::DownloadError;
use crate::disk::{io_err, part_path, sidecar_path};
use crate::meta::{ContentRange, header};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use ureq::http::HeaderMap;

/// What was recorded when the partial data started.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    total: Option<u64>,
}

/// Partial data found on disk that a Range request may continue.
#[derive(Debug)]
pub(crate) struct Partial {
    pub(crate) final_path: PathBuf,
    pub(crate) len: u64,
    sidecar: Sidecar,
}

impl Partial {
    /// The partial for `final_path`, when its sidecar names `url` and a validator.
    pub(crate) fn load(final_path: &Path, url: &str) -> Option<Partial> {
        let len = fs::metadata(part_path(final_path)).ok()?.len();
        let text = fs::read_to_string(sidecar_path(final_path)).ok()?;
        let sidecar: Sidecar = serde_json::from_str(&text).ok()?;
        if sidecar.url != url || len == 0 {
            return None;
        }
        if sidecar.etag.is_none() && sidecar.last_modified.is_none() {
            // Without a validator a changed resource could not be told apart: start over.
            return None;
        }
        Some(Partial {
            final_path: final_path.to_path_buf(),
            len,
            sidecar,
        })
    }

    /// If-Range wants a strong ETag, else the Last-Modified date.
    pub(crate) fn validator(&self) -> Option<String> {
        match &self.sidecar.etag {
            Some(e) if !e.starts_with("W/") => Some(e.clone()),
            _ => self.sidecar.last_modified.clone(),
        }
    }

    /// Records the validators and total of a response that starts a new part.
    pub(crate) fn save(
        final_path: &Path,
        url: &str,
        headers: &HeaderMap,
        total: Option<u64>,
    ) -> Result<(), DownloadError> {
        let sidecar = Sidecar {
            url: url.to_string(),
            etag: header(headers, "etag").map(str::to_string),
            last_modified: header(headers, "last-modified").map(str::to_string),
            total,
        };
        let path = sidecar_path(final_path);
        let text = serde_json::to_string(&sidecar).expect("sidecar serializes");
        fs::write(&path, text).map_err(|e| io_err(&path, e))
    }

    /// Why a 206 answer does not continue this part, or `Ok` when it does.
    pub(crate) fn check_continuation(
        &self,
        headers: &HeaderMap,
        final_path: &Path,
    ) -> Result<(), String> {
        if final_path != self.final_path {
            return Err(format!(
                "the server names another file ({})",
                final_path.display()
            ));
        }
        let range = ContentRange::parse(headers)
            .ok_or_else(|| "206 without a usable Content-Range".to_string())?;
        let Some((start, end)) = range.span else {
            return Err("206 without a byte range".into());
        };
        if start != self.len {
            return Err(format!(
                "range starts at {start}, the part has {} bytes",
                self.len
            ));
        }
        self.check_total(range.total)?;
        if Some(end + 1) != range.total {
            return Err(format!(
                "range ends at {end}, not at the end of the resource"
            ));
        }
        self.check_validator(headers)
    }

    /// Why a 416 answer does not mean "the part is already complete", or `Ok` when it does:
    /// the server's total must be the recorded total and the part's size.
    pub(crate) fn check_complete(&self, headers: &HeaderMap) -> Result<(), String> {
        let total = ContentRange::parse(headers).and_then(|r| r.total);
        self.check_total(total)?;
        if total != Some(self.len) {
            return Err(format!(
                "the part has {} bytes of {}",
                self.len,
                total.map_or("?".into(), |t| t.to_string())
            ));
        }
        Ok(())
    }

    fn check_total(&self, server: Option<u64>) -> Result<(), String> {
        match (self.sidecar.total, server) {
            (Some(recorded), Some(now)) if recorded == now => Ok(()),
            (Some(recorded), Some(now)) => Err(format!(
                "the resource has {now} bytes now, {recorded} when the part was started"
            )),
            (None, _) => Err("no total was recorded for the part".into()),
            (Some(_), None) => Err("the server gives no total".into()),
        }
    }

    /// The answer must carry the recorded validator: the ETag if a strong one was recorded,
    /// else the Last-Modified date. A weak ETag says "equivalent", not "the same bytes", so it
    /// proves nothing about a byte range (RFC 9110 §13.1.5); a server that leaves the
    /// validator out cannot prove the bytes are the same either.
    fn check_validator(&self, headers: &HeaderMap) -> Result<(), String> {
        let strong = self.sidecar.etag.as_ref().filter(|e| !e.starts_with("W/"));
        let (name, recorded) = match (strong, &self.sidecar.last_modified) {
            (Some(etag), _) => ("ETag", etag),
            (None, Some(date)) => ("Last-Modified", date),
            (None, None) => return Err("no strong validator was recorded".into()),
        };
        match header(headers, name) {
            Some(now) if now.trim() == recorded.trim() => Ok(()),
            Some(now) => Err(format!(
                "{name} is {now} now, {recorded} when the part was started"
            )),
            None => Err(format!("the answer has no {name} (recorded {recorded})")),
        }
    }
}
