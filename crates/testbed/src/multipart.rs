//! A streaming `multipart/form-data` parser (RFC 7578 over RFC 2046).
//!
//! It never holds a whole body: part bodies come out as slices of a fixed-size buffer, so a
//! 1 GiB file part streams through in constant memory. It shares no code with the project's
//! `multipart-upload` encoder on purpose: a decoder checking its own encoder proves nothing.

use std::io::Read;

use memchr::memmem;
use sha2::{Digest, Sha256};

/// How many bytes the parser reads from its source at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Longest header block of one part.
const MAX_PART_HEADER_BYTES: usize = 16 * 1024;
/// Longest value of a non-file field kept in memory.
pub(crate) const MAX_FIELD_BYTES: usize = 1024 * 1024;
/// Most parts in one body.
const MAX_PARTS: usize = 10_000;

/// Why a multipart body was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MultipartError {
    /// The Content-Type was not multipart/form-data with a usable boundary.
    #[error("content type {0:?} is not multipart/form-data with a boundary")]
    NotMultipart(String),
    /// The boundary parameter is empty, too long or has characters RFC 2046 forbids.
    #[error("invalid boundary {0:?}")]
    BadBoundary(String),
    /// The body ended before the closing delimiter.
    #[error("body ended before the closing boundary")]
    UnexpectedEnd,
    /// A delimiter line was followed by something other than CRLF or `--`.
    #[error("boundary line is followed by {0:?} instead of CRLF or --")]
    BadDelimiterTail(String),
    /// A part's header block exceeds the limit.
    #[error("part headers exceed {limit} bytes")]
    HeadersTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A header line without a colon.
    #[error("malformed part header line {0:?}")]
    BadHeader(String),
    /// A part without Content-Disposition: form-data.
    #[error("part has no content-disposition: form-data header")]
    MissingDisposition,
    /// A part whose Content-Disposition has no name.
    #[error("part content-disposition has no name parameter")]
    MissingName,
    /// A plain field longer than the in-memory limit.
    #[error("field {name:?} is longer than {limit} bytes")]
    FieldTooLarge {
        /// The field's name.
        name: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// More parts than the limit.
    #[error("more than {limit} parts")]
    TooManyParts {
        /// The limit.
        limit: usize,
    },
    /// Reading the body failed.
    #[error("reading the body failed")]
    Io(#[from] std::io::Error),
}

/// Extracts the boundary from a `multipart/form-data; boundary=...` content type.
pub(crate) fn boundary_from_content_type(content_type: &str) -> Result<String, MultipartError> {
    let not_multipart = || MultipartError::NotMultipart(content_type.to_string());
    let mut pieces = content_type.splitn(2, ';');
    let mime = pieces.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return Err(not_multipart());
    }
    let params = parse_params(pieces.next().unwrap_or(""));
    let boundary = params
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .ok_or_else(not_multipart)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    if boundary.is_empty()
        || boundary.len() > 70
        || boundary.ends_with(' ')
        || !boundary.chars().all(allowed)
    {
        return Err(MultipartError::BadBoundary(boundary));
    }
    Ok(boundary)
}

/// Parses `; key=value; key2="quoted \" value"` parameter lists (leading `;` optional).
pub(crate) fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == ';' || bytes[i].is_whitespace()) {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != '=' && bytes[i] != ';' {
            i += 1;
        }
        let key: String = bytes[key_start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        if i >= bytes.len() || bytes[i] == ';' {
            if !key.is_empty() {
                out.push((key, String::new()));
            }
            continue;
        }
        i += 1; // '='
        while i < bytes.len() && bytes[i] == ' ' {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                value.push(bytes[i]);
                i += 1;
            }
            i += 1; // closing quote
            while i < bytes.len() && bytes[i] != ';' {
                i += 1;
            }
        } else {
            while i < bytes.len() && bytes[i] != ';' {
                value.push(bytes[i]);
                i += 1;
            }
            value = value.trim().to_string();
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

/// The headers of one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartHead {
    /// The `name` of Content-Disposition.
    pub name: String,
    /// The `filename` (or decoded `filename*`) of Content-Disposition, when present.
    pub filename: Option<String>,
    /// The part's Content-Type, when present.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter; data here is preamble and is discarded.
    Preamble,
    /// Inside a part's body.
    Body,
    /// Just past a delimiter (`\r\n--boundary`), before its CRLF or `--`.
    AfterDelimiter,
    /// Past the closing delimiter.
    Done,
}

/// Pulls parts out of a multipart body read from `R`.
pub(crate) struct MultipartReader<R> {
    src: R,
    /// `\r\n--` + boundary.
    delimiter: Vec<u8>,
    finder: memmem::Finder<'static>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    state: State,
    parts: usize,
}

impl<R: Read> MultipartReader<R> {
    /// A parser for a body delimited by `boundary`.
    pub(crate) fn new(src: R, boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let finder = memmem::Finder::new(&delimiter).into_owned();
        let mut buf = vec![0u8; READ_CHUNK + delimiter.len() + MAX_PART_HEADER_BYTES];
        // The first delimiter may open the body without a CRLF before it: pretend there was one.
        buf[..2].copy_from_slice(b"\r\n");
        MultipartReader {
            src,
            delimiter,
            finder,
            buf,
            start: 0,
            end: 2,
            eof: false,
            state: State::Preamble,
            parts: 0,
        }
    }

    /// Reads more bytes into the buffer; returns false at end of input.
    fn fill(&mut self) -> Result<bool, MultipartError> {
        if self.eof {
            return Ok(false);
        }
        // Compact only when the tail runs short, so a trickling client costs linear time.
        if self.start > 0 && self.buf.len() - self.end < READ_CHUNK / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Only header parsing can get here; it checks its own limit first.
            return Ok(true);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next chunk of the current part's body, or `None` at its end.
    ///
    /// The slice stays valid until the next call.
    pub(crate) fn body_chunk(&mut self) -> Result<Option<&[u8]>, MultipartError> {
        if self.state != State::Body && self.state != State::Preamble {
            return Ok(None);
        }
        // Gather a good amount before searching, so a trickling source costs one search per
        // half buffer rather than one per read.
        while self.end - self.start < READ_CHUNK / 2 && self.fill()? {}
        let window = &self.buf[self.start..self.end];
        if let Some(at) = self.finder.find(window) {
            if at == 0 {
                self.start += self.delimiter.len();
                self.state = State::AfterDelimiter;
                return Ok(None);
            }
            let chunk_start = self.start;
            self.start += at;
            return Ok(Some(&self.buf[chunk_start..chunk_start + at]));
        }
        // Hold back what could be the start of a delimiter split across reads. Short of half a
        // buffer only at the end of input: then nothing held back can still become body.
        let safe = window.len().saturating_sub(self.delimiter.len() - 1);
        if safe == 0 {
            return Err(MultipartError::UnexpectedEnd);
        }
        let chunk_start = self.start;
        self.start += safe;
        Ok(Some(&self.buf[chunk_start..chunk_start + safe]))
    }

    /// Skips the rest of the current part's body.
    fn skip_body(&mut self) -> Result<(), MultipartError> {
        while self.body_chunk()?.is_some() {}
        Ok(())
    }

    /// Makes sure at least `n` bytes are buffered; false if the input ends first.
    fn ensure(&mut self, n: usize) -> Result<bool, MultipartError> {
        while self.end - self.start < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Advances to the next part and returns its headers, or `None` after the closing delimiter.
    pub(crate) fn next_part(&mut self) -> Result<Option<PartHead>, MultipartError> {
        if self.state == State::Done {
            return Ok(None);
        }
        if self.state != State::AfterDelimiter {
            self.skip_body()?;
        }
        // After the delimiter: `--` closes the body, else optional whitespace then CRLF.
        if !self.ensure(2)? {
            return Err(MultipartError::UnexpectedEnd);
        }
        if &self.buf[self.start..self.start + 2] == b"--" {
            self.start += 2;
            self.state = State::Done;
            return Ok(None);
        }
        loop {
            if !self.ensure(2)? {
                return Err(MultipartError::UnexpectedEnd);
            }
            match self.buf[self.start] {
                b' ' | b'\t' => self.start += 1,
                b'\r' if self.buf[self.start + 1] == b'\n' => {
                    self.start += 2;
                    break;
                }
                _ => {
                    let end = (self.start + 16).min(self.end);
                    let tail = String::from_utf8_lossy(&self.buf[self.start..end]).into_owned();
                    return Err(MultipartError::BadDelimiterTail(tail));
                }
            }
        }
        self.parts += 1;
        if self.parts > MAX_PARTS {
            return Err(MultipartError::TooManyParts { limit: MAX_PARTS });
        }
        let mut searched = 0;
        let head_len = loop {
            let window = &self.buf[self.start..self.end];
            if window.starts_with(b"\r\n") {
                break 0; // no headers at all
            }
            if let Some(at) = memmem::find(&window[searched..], b"\r\n\r\n") {
                break searched + at + 2;
            }
            searched = window.len().saturating_sub(3);
            if window.len() > MAX_PART_HEADER_BYTES {
                return Err(MultipartError::HeadersTooLong {
                    limit: MAX_PART_HEADER_BYTES,
                });
            }
            if !self.fill()? {
                return Err(MultipartError::UnexpectedEnd);
            }
        };
        if head_len > MAX_PART_HEADER_BYTES {
            return Err(MultipartError::HeadersTooLong {
                limit: MAX_PART_HEADER_BYTES,
            });
        }
        let head = parse_part_head(&self.buf[self.start..self.start + head_len])?;
        self.start += head_len + 2;
        self.state = State::Body;
        Ok(Some(head))
    }
}

/// Parses a part's header block (lines ending in CRLF, without the blank line).
fn parse_part_head(block: &[u8]) -> Result<PartHead, MultipartError> {
    // Browsers send raw UTF-8 file names; anything else is shown with replacement characters
    // rather than refused.
    let text = String::from_utf8_lossy(block);
    let mut disposition = None;
    let mut content_type = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| MultipartError::BadHeader(line.to_string()))?;
        let value = value.trim();
        if name.trim().eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.to_string());
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        }
    }
    let disposition = disposition.ok_or(MultipartError::MissingDisposition)?;
    let (kind, params) = disposition.split_once(';').unwrap_or((&disposition, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::MissingDisposition);
    }
    let params = parse_params(params);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let name = get("name").ok_or(MultipartError::MissingName)?;
    let filename = get("filename*")
        .and_then(|v| decode_ext_value(&v))
        .or_else(|| get("filename"));
    Ok(PartHead {
        name,
        filename,
        content_type,
    })
}

/// Decodes an RFC 5987 `UTF-8''percent%20encoded` value.
fn decode_ext_value(v: &str) -> Option<String> {
    let (charset, rest) = v.split_once('\'')?;
    let (_lang, encoded) = rest.split_once('\'')?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    String::from_utf8(crate::http::percent_decode(encoded)).ok()
}

/// One file part, as received: its headers plus its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilePart {
    pub head: PartHead,
    pub size: u64,
    pub sha256: String,
}

/// A whole form, parsed: fields in order and file parts summarised.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    /// Every non-file field in the order received.
    pub fields: Vec<(String, String)>,
    /// Every file part (a part with a filename parameter) in the order received.
    pub files: Vec<FilePart>,
}

impl Form {
    /// The last value of field `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a whole multipart body: plain fields are kept (up to [`MAX_FIELD_BYTES`] each),
/// file parts are hashed as they stream past.
pub(crate) fn read_form<R: Read>(src: R, boundary: &str) -> Result<Form, MultipartError> {
    let mut reader = MultipartReader::new(src, boundary);
    let mut form = Form::default();
    while let Some(head) = reader.next_part()? {
        if head.filename.is_some() {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = reader.body_chunk()? {
                hasher.update(chunk);
                size += chunk.len() as u64;
            }
            form.files.push(FilePart {
                head,
                size,
                sha256: hex(&hasher.finalize()),
            });
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = reader.body_chunk()? {
                if value.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(MultipartError::FieldTooLarge {
                        name: head.name,
                        limit: MAX_FIELD_BYTES,
                    });
                }
                value.extend_from_slice(chunk);
            }
            let value = String::from_utf8_lossy(&value).into_owned();
            form.fields.push((head.name, value));
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, to split boundaries across reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn sha(data: &[u8]) -> String {
        hex(&Sha256::digest(data))
    }

    fn body(boundary: &str, file: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        b.extend_from_slice(b"Content-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n");
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        b.extend_from_slice(
            b"Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".bin\"\r\n",
        );
        b.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        b.extend_from_slice(file);
        b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        b
    }

    fn tricky_file(boundary: &str) -> Vec<u8> {
        let mut f = Vec::new();
        for i in 0..5000u32 {
            f.extend_from_slice(&i.to_le_bytes());
            if i % 97 == 0 {
                f.extend_from_slice(b"\r\n--");
                f.extend_from_slice(&boundary.as_bytes()[..boundary.len() - 1]);
            }
            if i % 131 == 0 {
                f.extend_from_slice(b"\r\n\r\n--");
            }
        }
        f
    }

    #[test]
    fn parses_fields_and_files_for_every_read_size() {
        let boundary = "XyZ-boundary-42";
        let file = tricky_file(boundary);
        let data = body(boundary, &file);
        for step in [1, 2, 3, 7, 17, 18, 19, 20, 64, 1000, 65536, usize::MAX] {
            let form = read_form(Trickle { data: &data, step }, boundary).unwrap();
            assert_eq!(
                form.fields,
                vec![("title".into(), "hello".into())],
                "step {step}"
            );
            assert_eq!(form.files.len(), 1);
            let f = &form.files[0];
            assert_eq!(f.head.name, "file");
            assert_eq!(f.head.filename.as_deref(), Some("a \"b\".bin"));
            assert_eq!(
                f.head.content_type.as_deref(),
                Some("application/octet-stream")
            );
            assert_eq!(f.size, file.len() as u64, "step {step}");
            assert_eq!(f.sha256, sha(&file), "step {step}");
        }
    }

    #[test]
    fn boundary_split_exactly_at_every_offset_is_found() {
        let boundary = "bnd";
        let file = vec![b'a'; 300];
        let data = body(boundary, &file);
        let cut = data.len() - boundary.len() - 8;
        for first in cut - 10..cut + 10 {
            struct TwoReads<'a>(&'a [u8], usize, bool);
            impl Read for TwoReads<'_> {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    let n = if self.2 {
                        self.0.len()
                    } else {
                        self.1.min(self.0.len())
                    };
                    self.2 = true;
                    let n = n.min(buf.len());
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let form = read_form(TwoReads(&data, first, false), boundary).unwrap();
            assert_eq!(form.files[0].size, 300, "first read {first}");
        }
    }

    #[test]
    fn preamble_and_epilogue_are_ignored() {
        let data = b"preamble text\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r\nepilogue";
        let form = read_form(&data[..], "b").unwrap();
        assert_eq!(form.fields, vec![("x".into(), "1".into())]);
    }

    #[test]
    fn empty_file_and_empty_field_are_kept() {
        let data = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--b--";
        let form = read_form(&data[..], "b").unwrap();
        assert_eq!(form.files[0].size, 0);
        assert_eq!(form.files[0].head.filename.as_deref(), Some(""));
        assert_eq!(form.fields, vec![("e".into(), String::new())]);
    }

    #[test]
    fn missing_closing_boundary_is_an_error() {
        let data = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nvalue without end";
        assert!(matches!(
            read_form(&data[..], "b"),
            Err(MultipartError::UnexpectedEnd)
        ));
        let data = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--b";
        assert!(matches!(
            read_form(&data[..], "b"),
            Err(MultipartError::UnexpectedEnd)
        ));
    }

    #[test]
    fn body_without_any_boundary_is_an_error() {
        assert!(matches!(
            read_form(&b"just some text"[..], "b"),
            Err(MultipartError::UnexpectedEnd)
        ));
        assert!(matches!(
            read_form(&b""[..], "b"),
            Err(MultipartError::UnexpectedEnd)
        ));
    }

    #[test]
    fn part_without_disposition_is_an_error() {
        let data = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--";
        assert!(matches!(
            read_form(&data[..], "b"),
            Err(MultipartError::MissingDisposition)
        ));
    }

    #[test]
    fn garbage_after_boundary_is_an_error() {
        let data = b"--bX\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--b--";
        assert!(matches!(
            read_form(&data[..], "b"),
            Err(MultipartError::BadDelimiterTail(_))
        ));
    }

    #[test]
    fn filename_star_wins_over_filename() {
        let data = "--b\r\nContent-Disposition: form-data; name=f; filename=\"x.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\nz\r\n--b--";
        let form = read_form(data.as_bytes(), "b").unwrap();
        assert_eq!(form.files[0].head.filename.as_deref(), Some("été.txt"));
    }

    #[test]
    fn boundary_is_taken_from_content_type() {
        assert_eq!(
            boundary_from_content_type("multipart/form-data; boundary=abc").unwrap(),
            "abc"
        );
        assert_eq!(
            boundary_from_content_type("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"")
                .unwrap(),
            "a b:c"
        );
        assert!(boundary_from_content_type("text/plain").is_err());
        assert!(boundary_from_content_type("multipart/form-data").is_err());
        assert!(boundary_from_content_type("multipart/form-data; boundary=").is_err());
    }

    #[test]
    fn oversized_field_is_refused() {
        let mut data = b"--b\r\nContent-Disposition: form-data; name=big\r\n\r\n".to_vec();
        data.resize(data.len() + MAX_FIELD_BYTES + 1, b'x');
        data.extend_from_slice(b"\r\n--b--");
        assert!(matches!(
            read_form(&data[..], "b"),
            Err(MultipartError::FieldTooLarge { .. })
        ));
    }

    #[test]
    fn raw_utf8_file_names_are_kept_and_latin1_is_not_refused() {
        let data = "--b\r\nContent-Disposition: form-data; name=f; filename=\"Zürich €.txt\"\r\n\r\nz\r\n--b--";
        let form = read_form(data.as_bytes(), "b").unwrap();
        assert_eq!(form.files[0].head.filename.as_deref(), Some("Zürich €.txt"));
        let mut latin1 = b"--b\r\nContent-Disposition: form-data; name=f; filename=\"Z".to_vec();
        latin1.push(0xfc);
        latin1.extend_from_slice(b"rich\"\r\n\r\nz\r\n--b--");
        let form = read_form(&latin1[..], "b").unwrap();
        assert_eq!(
            form.files[0].head.filename.as_deref(),
            Some("Z\u{fffd}rich")
        );
    }

    proptest::proptest! {
        // Few cases: each walks a whole body through a trickling reader in a debug build.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn any_content_and_any_read_size_round_trips(
            file in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::prelude::Just(b'\r'),
                proptest::prelude::Just(b'\n'),
                proptest::prelude::Just(b'-'),
                proptest::prelude::Just(b'q'),
            ], 0..1500),
            field in "[a-z \r\n-]{0,40}",
            step in 1usize..200,
        ) {
            let boundary = "qq-q";
            let delimiter = format!("\r\n--{boundary}");
            let mut framed = b"\r\n".to_vec();
            framed.extend_from_slice(&file);
            framed.extend_from_slice(b"\r\n");
            proptest::prop_assume!(memmem::find(&framed, delimiter.as_bytes()).is_none());
            proptest::prop_assume!(!format!("\r\n{field}\r\n").contains(&delimiter));
            let mut data = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n{field}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n"
            )
            .into_bytes();
            data.extend_from_slice(&file);
            data.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
            let form = read_form(Trickle { data: &data, step }, boundary).unwrap();
            proptest::prop_assert_eq!(&form.fields, &vec![("t".to_string(), field.clone())]);
            proptest::prop_assert_eq!(form.files[0].size, file.len() as u64);
            proptest::prop_assert_eq!(&form.files[0].sha256, &sha(&file));
        }
    }
}
