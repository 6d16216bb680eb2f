//! Streaming multipart/form-data bodies with an exact Content-Length, raw-body PUTs and resumable
//! tus 1.0 uploads, over ureq.
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
//! Two uploads are not forms. [`Uploader::put`] sends a [`FileBody`] (one file, sniffed, checked
//! against the same policy) as the raw body of a PUT, as presigned object-store URLs and WebDAV
//! take it. [`Tus`] uploads a [`FileBody`] to a tus 1.0 endpoint (core protocol and creation
//! extension) in chunked PATCHes, each retried under a [`retry::RetryPolicy`], and remembers
//! the upload URL per (endpoint, file) in [`default_state_dir`], so a later process resumes from
//! the server's offset after a crash. A batch of PUTs names each object with a [`UrlTemplate`]
//! (`https://bucket.example.com/{name}`), filled per file with its percent-encoded relative name.
//!
//! ```no_run
//! use multipart_upload::{FileBody, Tus, Uploader};
//!
//! let uploader = Uploader::new().header("x-amz-acl", "private");
//! uploader.put("https://bucket.example.com/a.jpg?X-Amz-Signature=...", FileBody::open("a.jpg")?)?;
//! let done = Tus::new(uploader).upload("https://tus.example.com/files/", FileBody::open("b.mp4")?)?;
//! println!("stored at {}", done.upload_url);
//! # Ok::<(), multipart_upload::UploadError>(())
//! ```
//!
//! What it does not do: send JSON bodies (an [`Uploader`] sends a [`Form`] or a [`FileBody`], so
//! a request cannot mix JSON with files), sign URLs (a presigned URL is given), follow redirects
//! (a streamed body cannot be replayed), retry a form or a PUT (batch-pool does that, through
//! [`retry::Retryable`] on [`UploadError`]; tus chunks are retried here, since resuming is
//! the protocol's point), use chunked transfer encoding, or speak tus extensions beyond creation
//! (no checksums, concatenation or deferred lengths).

mod error;
mod form;
mod put;
mod template;
mod tus;
mod tus_state;
mod upload;

pub use error::UploadError;
pub use form::{FilePart, Form, MultipartReader, escape_quoted};
pub use put::FileBody;
pub use template::{TemplateError, UrlTemplate};
pub use tus::{DEFAULT_TUS_CHUNK_SIZE, Resume, TUS_VERSION, Tus, TusOutcome};
pub use tus_state::default_state_dir;
pub use upload::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, MAX_RESPONSE_BYTES, Response, Uploader,
};
