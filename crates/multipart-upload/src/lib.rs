//! Streaming multipart/form-data bodies with an exact Content-Length, and uploads over ureq.
//!
//! A [`Form`] holds text fields and file parts (field name, filename, content type sniffed from
//! the bytes by binary-io unless given). Its body is a [`MultipartReader`] (`impl Read`) whose
//! length is known before sending, so requests carry `Content-Length`, never chunked encoding;
//! files stream from disk straight into the socket buffer, so a 5 GB video and a 1 KB receipt take
//! the same path in flat memory. An [`Uploader`] checks every file against a
//! [`binary_io::FilePolicy`] before connecting, then posts the form with ureq, reporting progress
//! through chunk-stream.
//!
//! ```
//! use multipart_upload::{FilePart, Form};
//! use std::io::Read;
//!
//! let form = Form::new()
//!     .text("title", "Lunch")
//!     .part(FilePart::from_bytes("receipt", "receipt.txt", b"TOTAL 12.50\n".to_vec()));
//! let announced = form.content_length();
//! assert!(form.content_type().starts_with("multipart/form-data; boundary="));
//!
//! let mut body = Vec::new();
//! form.into_reader().read_to_end(&mut body).unwrap();
//! assert_eq!(body.len() as u64, announced);
//! // Sending it: `Uploader::new().send("http://127.0.0.1:8080/upload", form)?`
//! ```
//!
//! What it does not do: send JSON bodies (the only body an [`Uploader`] sends is a [`Form`], so
//! a request cannot mix JSON with files), follow redirects (a streamed body cannot be replayed),
//! retry (batch-pool does that, through [`batch_pool::Retryable`] on [`UploadError`]), or use
//! chunked transfer encoding.

mod error;
mod form;
mod put;
mod tus;
mod tus_state;
mod upload;

pub use error::UploadError;
pub use form::{FilePart, Form, MultipartReader, escape_quoted};
pub use put::FileBody;
pub use tus::{DEFAULT_TUS_CHUNK_SIZE, Resume, TUS_VERSION, Tus, TusOutcome};
pub use tus_state::default_state_dir;
pub use upload::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, MAX_RESPONSE_BYTES, Response, Uploader,
};
