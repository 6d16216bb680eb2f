//! One file of the batch on its way out: a multipart POST, a raw PUT or a tus upload, by the
//! worker thread's own [`Uploader`], with the journal's "started" line written before any byte
//! leaves.

use crate::args::{Args, Mode};
use anyhow::anyhow;
use batch_pool::{Attempt, Journal, Planned, RetryPolicy, Retryable, content_key};
use multipart_upload::{FileBody, Form, Tus, UploadError, Uploader, UrlTemplate};
use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

pub(crate) const IDEMPOTENCY_HEADER: &str = "X-Idempotency-Key";

/// An item's failure: the upload's own, or a local one (file, journal, name) never retried.
#[derive(Debug)]
pub(crate) enum ItemError {
    Upload(UploadError),
    Local(anyhow::Error),
}

impl Retryable for ItemError {
    fn is_retryable(&self) -> bool {
        matches!(self, ItemError::Upload(e) if e.is_retryable())
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ItemError::Upload(e) => Retryable::retry_after(e),
            ItemError::Local(_) => None,
        }
    }
    fn is_overload(&self) -> bool {
        matches!(self, ItemError::Upload(e) if e.is_overload())
    }
}

impl ItemError {
    pub(crate) fn describe(&self) -> String {
        match self {
            ItemError::Upload(e) => fw_cli::error_chain(e),
            ItemError::Local(e) => format!("{e:#}"),
        }
    }
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ItemError::Upload(e) => e.status(),
            ItemError::Local(_) => None,
        }
    }
}

/// One item of the run, with the idempotency key of its form (made once, on its first try).
pub(crate) struct Work {
    pub(crate) planned: Planned,
    pub(crate) idempotency_key: OnceLock<String>,
}

/// What a sent file reports.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// The final answer's status (a form or a PUT; a tus upload ends with several).
    pub(crate) status: Option<u16>,
    /// Where the file now is: the PUT's URL, or the tus upload's URL.
    pub(crate) url: Option<String>,
    /// A tus upload this run continued: the server's offset when it started.
    pub(crate) resumed_at: Option<u64>,
    /// File bytes put into request bodies by this try (tus: resent bytes included).
    pub(crate) bytes: u64,
}

impl Sent {
    /// The journal's detail for a finished item (never a URL: it may be a capability).
    pub(crate) fn detail(&self) -> String {
        match (self.status, self.resumed_at) {
            (Some(status), _) => status.to_string(),
            (None, Some(at)) => format!("tus, resumed at byte {at}"),
            (None, None) => "tus".to_string(),
        }
    }
}

thread_local! {
    static UPLOADER: RefCell<Option<Uploader>> = const { RefCell::new(None) };
}

/// Sends items as the command line says.
pub(crate) struct Sender<'a> {
    pub(crate) args: &'a Args,
    pub(crate) journal: &'a Journal,
}

impl Sender<'_> {
    /// One uploader (one connection pool) per worker thread: a shared pool keeps only a few idle
    /// connections per host, so most workers would reconnect for every file.
    fn uploader(&self) -> Uploader {
        UPLOADER.with(|u| {
            u.borrow_mut()
                .get_or_insert_with(|| {
                    let mut uploader = match self.args.timeout {
                        Some(t) => Uploader::new().timeout(t),
                        None => Uploader::new(),
                    };
                    for (name, value) in &self.args.headers {
                        uploader = uploader.header(name, value);
                    }
                    uploader
                })
                .clone()
        })
    }

    /// Sends one item (one try).
    pub(crate) fn send(&self, w: &Work, attempt: Attempt) -> Result<Sent, ItemError> {
        if let Some(why) = &w.planned.unreadable {
            return Err(ItemError::Local(anyhow!("{}", fw_cli::error_chain(why))));
        }
        match &self.args.mode {
            Mode::Form {
                url,
                fields,
                file_field,
            } => self.form(w, attempt, url, fields, file_field),
            Mode::Put {
                template,
                content_type,
            } => self.put(w, attempt, template, content_type.as_deref()),
            Mode::Tus {
                endpoint,
                chunk_size,
                content_type,
            } => self.tus(w, attempt, endpoint, *chunk_size, content_type.as_deref()),
        }
    }

    /// Written before the first byte leaves: a kill from here on leaves the item "in doubt".
    fn started(&self, w: &Work, key: Option<&str>, attempt: Attempt) -> Result<(), ItemError> {
        self.journal
            .started(&w.planned.id, key, attempt.try_number)
            .map_err(|e| ItemError::Local(anyhow::Error::new(e).context("writing the journal")))
    }

    fn form(
        &self,
        w: &Work,
        attempt: Attempt,
        url: &str,
        fields: &[(String, String)],
        file_field: &str,
    ) -> Result<Sent, ItemError> {
        let key = match w.idempotency_key.get() {
            Some(k) => k.clone(),
            None => {
                let k = content_key(&w.planned.item)
                    .map_err(|e| ItemError::Local(anyhow::Error::new(e)))?;
                w.idempotency_key.get_or_init(|| k).clone()
            }
        };
        let mut form = Form::new();
        let item_fields = w.planned.item.fields.iter();
        for (name, value) in fields.iter().map(|(n, v)| (n, v)).chain(item_fields) {
            form = form.text(name.clone(), value.clone());
        }
        let form = form
            .file(file_field, &w.planned.item.path)
            .map_err(ItemError::Upload)?;
        let bytes = form.content_length();
        self.started(w, Some(&key), attempt)?;
        let response = self
            .uploader()
            .header(IDEMPOTENCY_HEADER, &key)
            .send(url, form)
            .map_err(ItemError::Upload)?;
        Ok(Sent {
            status: Some(response.status),
            bytes,
            ..Sent::default()
        })
    }

    fn body(&self, w: &Work, content_type: Option<&str>) -> Result<FileBody, ItemError> {
        let body = FileBody::open(&w.planned.item.path).map_err(ItemError::Upload)?;
        Ok(match content_type {
            Some(mime) => body.content_type(mime),
            None => body,
        })
    }

    fn put(
        &self,
        w: &Work,
        attempt: Attempt,
        template: &UrlTemplate,
        content_type: Option<&str>,
    ) -> Result<Sent, ItemError> {
        let url = template
            .expand(w.planned.item.key_bytes())
            .map_err(|e| ItemError::Local(anyhow!(e)))?;
        let body = self.body(w, content_type)?;
        let bytes = body.size();
        self.started(w, None, attempt)?;
        let response = self.uploader().put(&url, body).map_err(ItemError::Upload)?;
        Ok(Sent {
            status: Some(response.status),
            url: Some(url),
            bytes,
            ..Sent::default()
        })
    }

    fn tus(
        &self,
        w: &Work,
        attempt: Attempt,
        endpoint: &str,
        chunk_size: u64,
        content_type: Option<&str>,
    ) -> Result<Sent, ItemError> {
        let body = self.body(w, content_type)?;
        self.started(w, None, attempt)?;
        // Each request has the batch's tries; a file that still fails is tried again by the
        // pool, and that try continues the upload from the server's offset.
        let policy = RetryPolicy::new().max_tries(self.args.retries.saturating_add(1));
        let done = Tus::new(self.uploader())
            .chunk_size(chunk_size)
            .retry(policy)
            .upload(endpoint, body)
            .map_err(ItemError::Upload)?;
        Ok(Sent {
            status: None,
            url: Some(done.upload_url),
            resumed_at: done.resumed.then_some(done.start_offset),
            bytes: done.sent,
        })
    }
}
