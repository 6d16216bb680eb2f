//! One attempt of a download: the request (with a range when a part can be continued), the
//! decision whether the answer continues the part, the checks before any byte is written, and
//! the streaming into the temporary or part file up to the atomic rename.

use crate::deadline::Deadline;
use crate::decode::Codings;
use crate::disk::{
    Dest, Sink, hash_file, hash_prefix, hex, io_err, keeps_partial, parent_dir, read_head, sync,
    sync_dir,
};
use crate::meta::{
    ContentRange, accepted, check_url, contradicts, header, map_read, mime_essence, suggested_name,
};
use crate::redirect::{Answer, RangeAsk};
use crate::resume::Partial;
use crate::wire::{self, WatchConnector};
use crate::{
    DownloadError, Downloaded, Downloader, Hashing, Overwrite, READ_CHUNK, Resume, Target,
    part_path, safe_filename, sidecar_path, url_filename,
};
use binary_io::SNIFF_LEN;
use chunk_stream::{ProgressReader, SharedObserver};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use ureq::http::HeaderMap;

/// What the negotiation settled on: where the bytes go and where they start.
struct Plan {
    url: String,
    /// `None` when the part is already complete (a 416 that proved it).
    response: Option<ureq::http::Response<ureq::Body>>,
    final_path: PathBuf,
    /// Bytes already in the part file.
    start: u64,
    codings: Codings,
}

impl Downloader {
    pub(crate) fn build_agent(&self, max_idle: usize) -> ureq::Agent {
        use ureq::config::AutoHeaderValue;
        use ureq::unversioned::resolver::DefaultResolver;
        use ureq::unversioned::transport::{Connector, DefaultConnector};
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_per_read(Some(self.read_timeout))
            .timeout_recv_response(Some(self.header_timeout))
            .max_idle_connections(max_idle)
            .max_idle_connections_per_host(max_idle)
            .accept_encoding(AutoHeaderValue::Provided(Arc::new("identity".into())))
            .user_agent(AutoHeaderValue::Provided(Arc::new(format!(
                "filewire-safe-download/{}",
                env!("CARGO_PKG_VERSION")
            ))))
            .input_buffer_size(256 * 1024)
            .build();
        let connector = DefaultConnector::new().chain(WatchConnector);
        ureq::Agent::with_parts(config, connector, DefaultResolver::default())
    }

    pub(crate) fn run(
        &self,
        url: &str,
        target: &Target,
        observer: Option<&SharedObserver>,
        deadline: &Deadline,
    ) -> Result<Downloaded, DownloadError> {
        check_url(url)?;
        if let Target::Path(path) = target {
            self.check_free(path)?;
        }
        wire::start_fetch();
        let own_agent;
        let agent = match &self.shared_agent {
            Some(a) => a,
            None => {
                own_agent = self.build_agent(4);
                &own_agent
            }
        };
        let plan = self.negotiate(agent, url, target, deadline)?;
        if matches!(target, Target::Folder(_)) {
            self.check_free(&plan.final_path)?;
        }
        let final_path = plan.final_path.clone();
        let outcome = self
            .receive(plan, observer)
            .map_err(|e| deadline.explain(e));
        if let Err(e) = &outcome
            && self.resume == Resume::Continue
            && !keeps_partial(e)
        {
            let _ = fs::remove_file(part_path(&final_path));
            let _ = fs::remove_file(sidecar_path(&final_path));
        }
        outcome
    }

    /// Asks (with a range when a part can be continued) until an answer can be used: the part
    /// continued or complete, or the whole resource.
    fn negotiate(
        &self,
        agent: &ureq::Agent,
        url: &str,
        target: &Target,
        deadline: &Deadline,
    ) -> Result<Plan, DownloadError> {
        // The partial file we may continue: known up front for -o, guessed from the URL for -O.
        let guess = match target {
            Target::Path(p) => Some(p.clone()),
            Target::Folder(dir) => url_filename(url)
                .and_then(|n| safe_filename(&n).ok())
                .map(|n| dir.join(n)),
        };
        let mut partial = match (self.resume, &guess) {
            (Resume::Continue, Some(path)) => Partial::load(path, url),
            _ => None,
        };
        loop {
            let range = partial.as_ref().map(|p| RangeAsk {
                offset: p.len,
                validator: p.validator(),
            });
            let Answer {
                url: final_url,
                response,
            } = self.get(agent, url, range.as_ref(), deadline)?;
            let status = response.status().as_u16();
            let headers = response.headers();
            // A part that cannot be continued: start over, unless told not to.
            let may_restart = |reason: String| -> Result<(), DownloadError> {
                if self.restart {
                    Ok(())
                } else {
                    Err(DownloadError::ResumeRefused {
                        url: final_url.clone(),
                        reason,
                    })
                }
            };
            if status == 416
                && let Some(p) = &partial
            {
                match p.check_complete(headers) {
                    Ok(()) => {
                        return Ok(Plan {
                            url: final_url,
                            response: None,
                            final_path: p.final_path.clone(),
                            start: p.len,
                            codings: Codings::default(),
                        });
                    }
                    Err(reason) => {
                        may_restart(format!("416: {reason}"))?;
                        drop(response);
                        partial = None;
                        continue;
                    }
                }
            }
            if !(200..300).contains(&status) {
                return Err(DownloadError::Status {
                    url: final_url,
                    status,
                    retry_after: header(headers, "retry-after")
                        .and_then(|v| retry::parse_retry_after(v, SystemTime::now())),
                });
            }
            let codings = Codings::plan(&final_url, &wire::content_encoding_lines())?;
            let final_path = match target {
                Target::Path(p) => p.clone(),
                Target::Folder(dir) => dir.join(suggested_name(url, headers)?),
            };
            if status == 206 {
                let Some(p) = &partial else {
                    return Err(DownloadError::InvalidResponse {
                        url: final_url,
                        reason: "206 partial content to a request without Range".into(),
                    });
                };
                let verdict = if codings.any() {
                    Err("the range is of an encoded body".to_string())
                } else {
                    p.check_continuation(headers, &final_path)
                };
                if let Err(reason) = verdict {
                    may_restart(format!("206: {reason}"))?;
                    drop(response);
                    partial = None;
                    continue;
                }
                let start = p.len;
                return Ok(Plan {
                    url: final_url,
                    response: Some(response),
                    final_path,
                    start,
                    codings,
                });
            }
            // 200 (or another 2xx): the whole resource; any partial data is stale.
            if partial.is_some() {
                may_restart(format!("the server answered {status} to a range request"))?;
            }
            return Ok(Plan {
                url: final_url,
                response: Some(response),
                final_path,
                start: 0,
                codings,
            });
        }
    }

    fn check_free(&self, path: &Path) -> Result<(), DownloadError> {
        if self.overwrite == Overwrite::Refuse && fs::symlink_metadata(path).is_ok() {
            return Err(DownloadError::Exists {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    fn check_headers(
        &self,
        url: &str,
        headers: &HeaderMap,
        total: Option<u64>,
    ) -> Result<Option<String>, DownloadError> {
        let declared = header(headers, "content-type").map(mime_essence);
        if !self.accept.is_empty() && !accepted(&self.accept, declared.as_deref()) {
            return Err(DownloadError::ContentTypeNotAccepted {
                url: url.to_string(),
                declared,
                accepted: self.accept.clone(),
            });
        }
        if let (Some(limit), Some(total)) = (self.max_size, total)
            && total > limit
        {
            return Err(DownloadError::TooLarge {
                url: url.to_string(),
                limit,
                declared: total,
            });
        }
        Ok(declared)
    }

    /// Everything already on disk (a proven 416): verify the part file and finish.
    fn finish_complete_part(
        &self,
        url: &str,
        final_path: &Path,
        len: u64,
    ) -> Result<Downloaded, DownloadError> {
        let dir = parent_dir(final_path);
        let hashing = self.sha256.is_some() || self.hashing == Hashing::Always;
        if let Some(limit) = self.max_size.filter(|&l| len > l) {
            return Err(DownloadError::TooLarge {
                url: url.to_string(),
                limit,
                declared: len,
            });
        }
        let part = part_path(final_path);
        let head = read_head(&part)?;
        let kind = binary_io::sniff(&head);
        let sha = if hashing {
            Some(hash_file(&part)?)
        } else {
            None
        };
        self.check_digest(url, sha.as_deref())?;
        let file = File::open(&part).map_err(|e| io_err(&part, e))?;
        sync(&file, &part)?;
        self.before_commit(&part)?;
        self.persist_part(final_path)?;
        if self.sync_dirs {
            sync_dir(&dir);
        }
        Ok(Downloaded {
            path: final_path.to_path_buf(),
            bytes: len,
            content_type: None,
            kind,
            sha256: sha,
            resumed: true,
            url: url.to_string(),
        })
    }

    fn receive(
        &self,
        plan: Plan,
        observer: Option<&SharedObserver>,
    ) -> Result<Downloaded, DownloadError> {
        let Plan {
            url,
            response,
            final_path,
            start,
            codings,
        } = plan;
        let url = url.as_str();
        let final_path = final_path.as_path();
        let Some(response) = response else {
            return self.finish_complete_part(url, final_path, start);
        };
        let dir = parent_dir(final_path);
        let hashing = self.sha256.is_some() || self.hashing == Hashing::Always;
        let encoded = codings.any();

        // Connections dropped before this response (redirects, abandoned attempts) do not count.
        wire::clear_excess();
        let headers = response.headers().clone();
        let length = header(&headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let range_total = ContentRange::parse(&headers).and_then(|r| r.total);
        let expected = match (start, range_total, length) {
            // The declared length is of the encoded form: the decoded size is unknown.
            _ if encoded => None,
            (0, _, length) => length,
            (start, Some(total), Some(length)) if start + length != total => {
                return Err(DownloadError::InvalidResponse {
                    url: url.to_string(),
                    reason: format!(
                        "content-range total {total} is not {start} + content-length {length}"
                    ),
                });
            }
            (_, Some(total), _) => Some(total),
            (start, None, length) => length.map(|l| start + l),
        };
        let declared = self.check_headers(url, &headers, expected)?;
        // An encoded body is never kept as a part (its ranges would be of the encoded form),
        // nor is a small one (nothing worth resuming).
        let small = start == 0 && expected.is_some_and(|l| l < self.min_part);
        let resume = if encoded || small {
            Resume::Fresh
        } else {
            self.resume
        };

        let raw = response.into_body().into_reader();
        let mut body = codings.decoder(raw);
        let mut received = start;
        let read_err = |e: io::Error, received: u64| map_read(url, e, received, expected);

        // The first bytes of the file: from the part file when continuing, then from the body.
        let mut head = if start > 0 {
            read_head(&part_path(final_path))?
        } else {
            Vec::new()
        };
        head.truncate(SNIFF_LEN);
        let mut new_bytes_in_head = 0usize;
        let mut head_error = None;
        while head.len() < SNIFF_LEN {
            let mut buf = vec![0u8; SNIFF_LEN - head.len()];
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    new_bytes_in_head += n;
                    received += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    head_error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) =
            head_error.take_if(|e| resume == Resume::Fresh || crate::decode::is_decode_failure(e))
        {
            return Err(read_err(e, received));
        }
        let kind = binary_io::sniff(&head);
        if let Some(declared) = &declared {
            // A cut head is only judged when it is long enough to mean something.
            if contradicts(declared, kind) && (head_error.is_none() || head.len() >= SNIFF_LEN) {
                return Err(DownloadError::TypeMismatch {
                    url: url.to_string(),
                    declared: declared.clone(),
                    sniffed: kind,
                });
            }
        }
        self.check_limit(url, received, encoded)?;

        // Only now does a file appear in the destination folder.
        let mut sink = Sink::open(resume, final_path, start, &dir)?;
        if resume == Resume::Continue && start == 0 {
            Partial::save(final_path, url, &headers, expected)?;
        }
        let mut hasher = hashing.then(Sha256::new);
        if let Some(h) = hasher.as_mut()
            && start > 0
        {
            hash_prefix(h, &part_path(final_path), start)?;
        }
        let fresh = &head[head.len() - new_bytes_in_head..];
        sink.write(fresh)?;
        if let Some(h) = hasher.as_mut() {
            h.update(fresh);
        }
        if let Some(e) = head_error {
            sink.keep_partial()?;
            return Err(read_err(e, received));
        }

        let mut reader = ProgressReader::new(body, expected).starting_at(received);
        if let Some(o) = observer {
            reader = reader.observer(o.clone());
        }
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !crate::decode::is_decode_failure(&e) {
                        sink.keep_partial()?;
                    }
                    return Err(read_err(e, received));
                }
            };
            received += n as u64;
            self.check_limit(url, received, encoded)?;
            sink.write(&buf[..n])?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
        }
        reader.finish();
        if wire::had_excess() {
            return Err(DownloadError::TooLong {
                url: url.to_string(),
                expected: expected.unwrap_or(received),
            });
        }
        if let Some(expected) = expected
            && received != expected
        {
            sink.keep_partial()?;
            return Err(DownloadError::Truncated {
                url: url.to_string(),
                expected,
                received,
            });
        }
        let sha = hasher.map(|h| hex(&h.finalize()));
        let dest = sink.finish()?;
        self.check_digest(url, sha.as_deref())?;
        match dest {
            Dest::Temp(tmp) => {
                self.before_commit(tmp.path())?;
                self.persist_temp(tmp, final_path)?
            }
            Dest::Part(file, _) => {
                drop(file);
                self.before_commit(&part_path(final_path))?;
                self.persist_part(final_path)?;
            }
        }
        if self.sync_dirs {
            sync_dir(&dir);
        }
        Ok(Downloaded {
            path: final_path.to_path_buf(),
            bytes: received,
            content_type: declared,
            kind,
            sha256: sha,
            resumed: start > 0,
            url: url.to_string(),
        })
    }

    /// `total` is the file size so far; `encoded` says whether it is a decoded body (whose
    /// expansion is capped even without a size limit).
    fn check_limit(&self, url: &str, total: u64, encoded: bool) -> Result<(), DownloadError> {
        if let Some(limit) = self.max_size
            && total > limit
        {
            return Err(DownloadError::LimitExceeded {
                url: url.to_string(),
                limit,
                decompressed: encoded,
            });
        }
        if self.max_size.is_none() && encoded && total > self.max_decompressed {
            return Err(DownloadError::LimitExceeded {
                url: url.to_string(),
                limit: self.max_decompressed,
                decompressed: true,
            });
        }
        Ok(())
    }

    fn check_digest(&self, url: &str, actual: Option<&str>) -> Result<(), DownloadError> {
        match (&self.sha256, actual) {
            (Some(expected), Some(actual)) if expected != actual => {
                Err(DownloadError::ChecksumMismatch {
                    url: url.to_string(),
                    expected: expected.clone(),
                    actual: actual.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    fn before_commit(&self, staged: &Path) -> Result<(), DownloadError> {
        match &self.before_commit {
            Some(hook) => hook(staged),
            None => Ok(()),
        }
    }

    fn persist_temp(
        &self,
        tmp: tempfile::NamedTempFile,
        final_path: &Path,
    ) -> Result<(), DownloadError> {
        let result = match self.overwrite {
            Overwrite::Replace => tmp.persist(final_path).map(drop),
            Overwrite::Refuse => tmp.persist_noclobber(final_path).map(drop),
        };
        result.map_err(|e| match e.error.kind() {
            io::ErrorKind::AlreadyExists => DownloadError::Exists {
                path: final_path.to_path_buf(),
            },
            _ => io_err(final_path, e.error),
        })
    }

    fn persist_part(&self, final_path: &Path) -> Result<(), DownloadError> {
        let part = part_path(final_path);
        match self.overwrite {
            Overwrite::Replace => {
                fs::rename(&part, final_path).map_err(|e| io_err(final_path, e))?
            }
            Overwrite::Refuse => {
                // hard_link fails when the name exists: no window where a file is replaced.
                fs::hard_link(&part, final_path).map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => DownloadError::Exists {
                        path: final_path.to_path_buf(),
                    },
                    _ => io_err(final_path, e),
                })?;
                fs::remove_file(&part).map_err(|e| io_err(&part, e))?;
            }
        }
        let _ = fs::remove_file(sidecar_path(final_path));
        Ok(())
    }
}
