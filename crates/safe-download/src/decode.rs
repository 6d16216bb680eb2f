//! Content codings: every `Content-Encoding` the server applied is undone before a byte is
//! written (gzip, x-gzip, deflate zlib-wrapped or raw; any case; stacked codings undone last
//! first; `identity` ignored), and any other coding is refused.
//!
//! ureq itself gunzips a body whose first `Content-Encoding` value is exactly `gzip`; the plan
//! accounts for that layer and undoes the rest.

use crate::DownloadError;
use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One coding this crate can undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
}

/// The codings left to undo, outermost first, and whether ureq already removed one gzip.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Codings {
    pending: Vec<Coding>,
    by_ureq: bool,
}

impl Codings {
    /// Whether the bytes on the wire differ from the bytes meant (so the declared length and
    /// byte ranges are about the encoded form).
    pub(crate) fn any(&self) -> bool {
        self.by_ureq || !self.pending.is_empty()
    }

    /// Reads the codings from the response's `Content-Encoding` lines as sent; unknown ones
    /// are refused.
    pub(crate) fn plan(url: &str, lines: &[String]) -> Result<Codings, DownloadError> {
        let unsupported = |coding: &str| DownloadError::UnsupportedEncoding {
            url: url.to_string(),
            coding: coding.to_string(),
        };
        let mut all: Vec<String> = lines
            .iter()
            .flat_map(|line| line.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty() && c != "identity")
            .collect();
        // Exactly ureq's test: its first header value, byte for byte, is `gzip`.
        let by_ureq = lines.first().map(|l| l.trim()) == Some("gzip");
        if by_ureq {
            // ureq undid the outermost layer as gzip: right only if the last coding is gzip.
            match all.pop().as_deref() {
                Some("gzip" | "x-gzip") => {}
                // ureq would read this layer as gzip and fail: refused up front.
                other => {
                    return Err(unsupported(&format!(
                        "{} under a first header line of gzip",
                        other.unwrap_or("gzip")
                    )));
                }
            }
        }
        let mut pending = Vec::new();
        for coding in all.iter().rev() {
            pending.push(match coding.as_str() {
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                other => return Err(unsupported(other)),
            });
        }
        Ok(Codings { pending, by_ureq })
    }

    /// Wraps the body so that reading it yields the decoded bytes. Errors of the decoders (not
    /// of the connection) come out as [`DecodeFailure`].
    pub(crate) fn decoder<'a>(&self, body: impl Read + 'a) -> Box<dyn Read + 'a> {
        if self.pending.is_empty() {
            return Box::new(body);
        }
        let source_failed = Arc::new(AtomicBool::new(false));
        let mut reader: Box<dyn Read + 'a> = Box::new(Tap {
            inner: body,
            failed: source_failed.clone(),
        });
        for coding in &self.pending {
            reader = match coding {
                Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
                Coding::Deflate => Box::new(AutoDeflate::new(reader)),
            };
        }
        Box::new(Marked {
            inner: reader,
            source_failed,
        })
    }
}

/// A decoder's complaint: the body is not valid data in its declared coding.
#[derive(Debug, thiserror::Error)]
#[error("invalid compressed data: {0}")]
pub(crate) struct DecodeFailure(pub(crate) io::Error);

/// Whether a read error means undecodable data (ours or ureq's gunzip), not a network fault.
pub(crate) fn is_decode_failure(e: &io::Error) -> bool {
    if e.get_ref().is_some_and(|inner| inner.is::<DecodeFailure>()) {
        return true;
    }
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>()),
        Some(ureq::Error::Decompress(..))
    )
}

/// Remembers whether the connection (rather than a decoder above it) failed.
struct Tap<R> {
    inner: R,
    failed: Arc<AtomicBool>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| {
            self.failed.store(true, Ordering::Relaxed);
        })
    }
}

/// Turns decoder errors into [`DecodeFailure`]; connection errors pass unchanged.
struct Marked<'a> {
    inner: Box<dyn Read + 'a>,
    source_failed: Arc<AtomicBool>,
}

impl Read for Marked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if self.source_failed.load(Ordering::Relaxed) {
                e
            } else {
                io::Error::new(io::ErrorKind::InvalidData, DecodeFailure(e))
            }
        })
    }
}

/// `deflate` as servers send it: zlib-wrapped (RFC 9110) or raw (a common mistake), told apart
/// by the zlib header in the first two bytes.
struct AutoDeflate<'a> {
    state: DeflateState<'a>,
}

type Source<'a> = BufReader<Box<dyn Read + 'a>>;

enum DeflateState<'a> {
    Undecided(Option<Box<dyn Read + 'a>>),
    Zlib(flate2::bufread::ZlibDecoder<Source<'a>>),
    Raw(flate2::bufread::DeflateDecoder<Source<'a>>),
}

impl<'a> AutoDeflate<'a> {
    fn new(inner: Box<dyn Read + 'a>) -> Self {
        AutoDeflate {
            state: DeflateState::Undecided(Some(inner)),
        }
    }

    fn decide(&mut self) -> io::Result<()> {
        let DeflateState::Undecided(slot) = &mut self.state else {
            return Ok(());
        };
        let mut src = slot
            .take()
            .ok_or_else(|| io::Error::other("the deflate stream failed earlier"))?;
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < head.len() {
            match src.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let zlib = is_zlib_header(&head[..got]);
        let joined: Box<dyn Read + 'a> = Box::new(io::Cursor::new(head[..got].to_vec()).chain(src));
        let src = BufReader::new(joined);
        self.state = if zlib {
            DeflateState::Zlib(flate2::bufread::ZlibDecoder::new(src))
        } else {
            DeflateState::Raw(flate2::bufread::DeflateDecoder::new(src))
        };
        Ok(())
    }
}

/// RFC 1950: method 8, window at most 32 KiB, header checksum.
fn is_zlib_header(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0] & 0x0f == 8
        && b[0] >> 4 <= 7
        && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

impl Read for AutoDeflate<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decide()?;
        match &mut self.state {
            DeflateState::Zlib(d) => d.read(buf),
            DeflateState::Raw(d) => d.read(buf),
            DeflateState::Undecided(_) => Err(io::Error::other("deflate stream undecided")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn plans_case_insensitive_and_stacked_codings() {
        let plan = |v: &[&str]| {
            let lines: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            Codings::plan("u", &lines)
        };
        assert_eq!(plan(&[]).unwrap(), Codings::default());
        assert_eq!(plan(&["identity"]).unwrap(), Codings::default());
        let c = plan(&["GZIP"]).unwrap();
        assert_eq!(c.pending, [Coding::Gzip]);
        assert!(!c.by_ureq);
        let c = plan(&["gzip"]).unwrap();
        assert!(c.by_ureq && c.pending.is_empty());
        let c = plan(&["deflate, x-gzip"]).unwrap();
        assert_eq!(c.pending, [Coding::Gzip, Coding::Deflate]);
        let c = plan(&["deflate", "gzip"]).unwrap();
        assert_eq!(c.pending, [Coding::Gzip, Coding::Deflate]);
        // ureq gunzips the outer layer of two; the inner one is ours.
        let c = plan(&["gzip", "gzip"]).unwrap();
        assert!(c.by_ureq);
        assert_eq!(c.pending, [Coding::Gzip]);
        assert!(matches!(
            plan(&["br"]),
            Err(DownloadError::UnsupportedEncoding { .. })
        ));
        // ureq would gunzip a deflate layer here: refused rather than garbled.
        assert!(plan(&["gzip", "deflate"]).is_err());
    }

    #[test]
    fn deflate_is_read_zlib_wrapped_or_raw() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 97) as u8).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).unwrap();
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        r.write_all(&data).unwrap();
        let plan = Codings {
            pending: vec![Coding::Deflate],
            by_ureq: false,
        };
        for encoded in [z.finish().unwrap(), r.finish().unwrap()] {
            let mut out = Vec::new();
            plan.decoder(&encoded[..]).read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        let mut out = Vec::new();
        let err = plan
            .decoder(&b"\xff\xff\xffnot deflate at all"[..])
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(is_decode_failure(&err), "{err:?}");
    }
}
