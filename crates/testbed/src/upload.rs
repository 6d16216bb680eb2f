//! `POST /upload` (multipart echo) and `POST /ratelimit/upload` (the batch endpoint).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::http::{BodyReader, Request, Response};
use crate::multipart::{self, Form};
use crate::server::Shared;
use crate::{ReceivedFile, RetryAfterStyle};

/// Error text of a failure with its causes, for JSON error bodies.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Reads the request's multipart body, or answers 400 with why not.
pub(crate) fn read_multipart(req: &Request, body: &mut BodyReader<'_>) -> Result<Form, Response> {
    let content_type = req.header("content-type").unwrap_or("");
    let boundary = multipart::boundary_from_content_type(content_type)
        .map_err(|e| Response::error(400, error_chain(&e)).closing())?;
    multipart::read_form(body, &boundary)
        .map_err(|e| Response::error(400, error_chain(&e)).closing())
}

/// The echo JSON for a parsed form.
fn echo_json(form: &Form, body: &BodyReader<'_>) -> Value {
    let mut fields = serde_json::Map::new();
    for (k, v) in &form.fields {
        fields.insert(k.clone(), Value::String(v.clone()));
    }
    let field_list: Vec<Value> = form.fields.iter().map(|(k, v)| json!([k, v])).collect();
    let files: Vec<Value> = form
        .files
        .iter()
        .map(|f| {
            json!({
                "field": f.head.name,
                "filename": f.head.filename,
                "content_type": f.head.content_type,
                "size": f.size,
                "sha256": f.sha256,
            })
        })
        .collect();
    json!({
        "fields": fields,
        "field_list": field_list,
        "files": files,
        "content_length": body.content_length,
        "chunked": body.chunked,
    })
}

fn record_uploads(shared: &Shared, form: &Form) {
    let received = form.files.iter().map(|f| ReceivedFile {
        field: f.head.name.clone(),
        filename: f.head.filename.clone(),
        content_type: f.head.content_type.clone(),
        size: f.size,
        sha256: f.sha256.clone(),
    });
    shared.with_stats(|s| s.uploads.extend(received));
}

/// `POST /upload[?delay_ms=N]`: echoes what was received as JSON.
pub(crate) fn echo(shared: &Shared, req: &Request, body: &mut BodyReader<'_>) -> Response {
    let form = match read_multipart(req, body) {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    if let Some(ms) = req.query_num("delay_ms")
        && !shared.pause(Duration::from_millis(ms))
    {
        return Response::error(503, "server is stopping").closing();
    }
    record_uploads(shared, &form);
    Response::json(200, &echo_json(&form, body))
}

/// The Retry-After value for a 429 now.
fn retry_after_value(style: RetryAfterStyle) -> String {
    match style {
        RetryAfterStyle::Seconds(s) => s.to_string(),
        RetryAfterStyle::HttpDate(d) => httpdate::fmt_http_date(SystemTime::now() + d),
    }
}

/// Gives back the in-flight slot when a request leaves service.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `POST /ratelimit/upload`: a server with room for `max_concurrent` requests at a time.
pub(crate) fn rate_limited(shared: &Shared, req: &Request, body: &mut BodyReader<'_>) -> Response {
    let idempotency_key = req.header("x-idempotency-key").map(str::to_string);
    let with_key = |resp: Response| match &idempotency_key {
        Some(k) => resp.with_header("X-Idempotency-Key", k.as_bytes().to_vec()),
        None => resp,
    };
    let arrived = Instant::now();
    let before = shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let slot = InFlight(shared);
    if before >= shared.config.max_concurrent {
        drop(slot);
        shared.with_stats(|s| s.rate_limited += 1);
        let resp = Response::error(429, "too many requests in service")
            .with_header("Retry-After", retry_after_value(shared.config.retry_after));
        // A client waiting for 100 Continue never sends its body: close instead of reading it.
        let resp = if body.awaiting_continue() {
            resp.closing()
        } else {
            resp
        };
        return with_key(resp);
    }
    shared.with_stats(|s| s.max_in_flight = s.max_in_flight.max(before + 1));
    let form = match read_multipart(req, body) {
        Ok(f) => f,
        Err(resp) => return with_key(resp),
    };
    // The service time runs from arrival, so reading the body is part of it.
    if !shared.pause(shared.config.service_time.saturating_sub(arrived.elapsed())) {
        return Response::error(503, "server is stopping").closing();
    }
    record_uploads(shared, &form);
    let mut answer = echo_json(&form, body);
    answer["idempotency_key"] = json!(idempotency_key);
    drop(slot);
    with_key(Response::json(200, &answer))
}
