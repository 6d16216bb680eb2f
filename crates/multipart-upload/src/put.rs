//! A file as the raw body of a PUT (presigned object-store URLs, WebDAV): [`FileBody`] and
//! [`Uploader::put`].

use crate::upload::answer;
use crate::{Response, UploadError, Uploader};
use binary_io::Kind;
use chunk_stream::{ProgressObserver, ProgressReader, SharedObserver};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file on disk sent as a raw request body: its size, sniffed kind and the Content-Type to
/// declare (the sniffed type unless set with [`FileBody::content_type`]).
#[derive(Debug)]
pub struct FileBody {
    file: File,
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
    kind: Kind,
    content_type: String,
}

impl FileBody {
    /// Opens `path`, records its size and modification time, and sniffs its kind from its bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<FileBody, UploadError> {
        let opened = binary_io::open(path.as_ref())?;
        let modified = opened.file.metadata().and_then(|m| m.modified()).ok();
        Ok(FileBody {
            content_type: opened.kind.mime().to_string(),
            kind: opened.kind,
            file: opened.file,
            path: opened.path,
            size: opened.size,
            modified,
        })
    }

    /// Declares `mime` as the Content-Type instead of the sniffed type. A policy still judges the
    /// sniffed kind.
    pub fn content_type(mut self, mime: impl Into<String>) -> FileBody {
        self.content_type = mime.into();
        self
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's final path component (lossy UTF-8).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Its size in bytes when opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its modification time when opened, where the platform reports one.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// The kind binary-io sniffed from its first bytes.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The Content-Type that will be declared.
    pub fn mime(&self) -> &str {
        &self.content_type
    }

    /// Checks the file against `policy` (kind, size, extension) without sending anything.
    pub fn check(&self, policy: &binary_io::FilePolicy) -> Result<(), UploadError> {
        policy.check(&self.path)?;
        let name = self.path.display().to_string();
        policy.check_size(&name, self.size)?;
        policy.check_kind(&name, self.kind)?;
        Ok(())
    }

    /// A reader of `len` bytes from `start`, failing with [`UploadError::FileChanged`] if the
    /// file turns out shorter, or longer once its end is reached.
    pub(crate) fn range(&mut self, start: u64, len: u64) -> Result<RangeReader<'_>, UploadError> {
        self.file
            .seek(SeekFrom::Start(start))
            .map_err(|source| UploadError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(RangeReader {
            body: self,
            position: start,
            end: start + len,
        })
    }
}

/// `len` bytes of a [`FileBody`] from a start offset, read straight into the caller's buffer.
pub(crate) struct RangeReader<'a> {
    body: &'a mut FileBody,
    position: u64,
    end: u64,
}

impl RangeReader<'_> {
    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, UploadError> {
        let left = self.end - self.position;
        let body = &mut *self.body;
        if left == 0 {
            if self.end == body.size {
                // The whole file went out: one that grew since would make the length lie.
                let now = body
                    .file
                    .metadata()
                    .map_err(|source| UploadError::Io {
                        path: body.path.clone(),
                        source,
                    })?
                    .len();
                if now != body.size {
                    return Err(UploadError::FileChanged {
                        path: body.path.clone(),
                        expected: body.size,
                        actual: now,
                    });
                }
            }
            return Ok(0);
        }
        let want = crate::form::aligned_read_len(
            buf.as_ptr() as usize,
            self.position,
            buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
        );
        let n = loop {
            match body.file.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(UploadError::Io {
                        path: body.path.clone(),
                        source,
                    });
                }
            }
        };
        if n == 0 {
            return Err(UploadError::FileChanged {
                path: body.path.clone(),
                expected: body.size,
                actual: self.position,
            });
        }
        self.position += n as u64;
        Ok(n)
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_inner(buf).map_err(io::Error::other)
    }
}

impl Uploader {
    /// Checks `body` against the policy, then sends it as the raw body of a PUT to `url`, with
    /// its exact Content-Length and Content-Type (a `Content-Type` set with
    /// [`Uploader::header`] wins: presigned URLs may have signed a particular one).
    pub fn put(&self, url: &str, body: FileBody) -> Result<Response, UploadError> {
        self.put_inner(url, body, None)
    }

    /// Like [`Uploader::put`], reporting the body's progress to `observer`.
    pub fn put_with_progress(
        &self,
        url: &str,
        body: FileBody,
        observer: impl ProgressObserver + 'static,
    ) -> Result<Response, UploadError> {
        self.put_inner(url, body, Some(SharedObserver::new(observer)))
    }

    /// Checks `body` against the policy, if one is set.
    pub fn check_body(&self, body: &FileBody) -> Result<(), UploadError> {
        match self.file_policy() {
            Some(policy) => body.check(policy),
            None => Ok(()),
        }
    }

    fn put_inner(
        &self,
        url: &str,
        mut body: FileBody,
        observer: Option<SharedObserver>,
    ) -> Result<Response, UploadError> {
        self.check_body(&body)?;
        let size = body.size;
        let mut request = self
            .agent()
            .put(url)
            .header("Content-Length", size.to_string());
        if !self.has_header("content-type") {
            request = request.header("Content-Type", body.content_type.as_str());
        }
        let request = self.request(request, &["content-length"]);
        let reader = body.range(0, size)?;
        let result = match observer {
            Some(observer) => {
                let mut reader = ProgressReader::new(reader, Some(size)).observer(observer);
                let result = request.send(ureq::SendBody::from_reader(&mut reader));
                if result.is_ok() {
                    reader.finish();
                }
                result
            }
            None => {
                let mut reader = reader;
                request.send(ureq::SendBody::from_reader(&mut reader))
            }
        };
        answer(url, result).map(|(response, _)| response)
    }
}
