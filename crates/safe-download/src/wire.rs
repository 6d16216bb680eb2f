//! A transport wrapper that watches the raw connection: resets, bytes left over after a body
//! ended (a server sending more than its Content-Length), and the `Content-Encoding` lines of
//! the response head as sent (ureq removes them all when it gunzips one layer itself). ureq
//! hides all three; the download needs them to name the fault precisely and to decode fully.
//!
//! What a connection saw is kept per thread: ureq does all I/O of a call on the calling thread,
//! so one fetch's observations never mix with another's, even when fetches on several threads
//! share one agent and its connection pool.

use std::cell::{Cell, RefCell};
use std::io;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// The longest response head captured.
const MAX_HEAD: usize = 64 * 1024;

thread_local! {
    static RESET: Cell<bool> = const { Cell::new(false) };
    static EXCESS: Cell<bool> = const { Cell::new(false) };
    static HEAD: RefCell<HeadCapture> = const { RefCell::new(HeadCapture::new()) };
}

/// The raw head of the response to the request last sent on this thread.
struct HeadCapture {
    capturing: bool,
    buf: Vec<u8>,
    content_encoding: Vec<String>,
}

impl HeadCapture {
    const fn new() -> Self {
        HeadCapture {
            capturing: false,
            buf: Vec::new(),
            content_encoding: Vec::new(),
        }
    }

    fn request_sent(&mut self) {
        self.capturing = true;
        self.buf.clear();
        self.content_encoding.clear();
    }

    fn received(&mut self, bytes: &[u8]) {
        if !self.capturing {
            return;
        }
        self.buf.extend_from_slice(bytes);
        while let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            let interim = head
                .split_whitespace()
                .nth(1)
                .is_some_and(|status| status.starts_with('1'));
            if interim {
                // 100 Continue, 103 Early Hints: the real head follows.
                self.buf.drain(..end + 4);
                continue;
            }
            self.content_encoding = head
                .split("\r\n")
                .skip(1)
                .filter_map(|line| line.split_once(':'))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("content-encoding"))
                .map(|(_, value)| value.trim().to_string())
                .collect();
            self.capturing = false;
            self.buf = Vec::new();
            return;
        }
        if self.buf.len() > MAX_HEAD {
            self.capturing = false;
            self.buf = Vec::new();
        }
    }
}

/// The `Content-Encoding` header lines of the last response head on this thread, as sent.
pub(crate) fn content_encoding_lines() -> Vec<String> {
    HEAD.with(|h| h.borrow().content_encoding.clone())
}

/// Forgets what earlier fetches on this thread saw.
pub(crate) fn start_fetch() {
    RESET.with(|c| c.set(false));
    EXCESS.with(|c| c.set(false));
}

/// Whether a connection of this thread's fetch was reset by the peer.
pub(crate) fn was_reset() -> bool {
    RESET.with(Cell::get)
}

/// Whether a connection was dropped with unread bytes after a complete response.
pub(crate) fn had_excess() -> bool {
    EXCESS.with(Cell::get)
}

/// Forgets excess seen on earlier connections (redirect hops, abandoned attempts).
pub(crate) fn clear_excess() {
    EXCESS.with(|c| c.set(false));
}

/// Wraps each transport the default connector chain makes.
#[derive(Debug)]
pub(crate) struct WatchConnector;

impl Connector<Box<dyn Transport>> for WatchConnector {
    type Out = Watched;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Watched>, ureq::Error> {
        Ok(chained.map(|inner| Watched { inner }))
    }
}

/// One watched connection.
#[derive(Debug)]
pub(crate) struct Watched {
    inner: Box<dyn Transport>,
}

impl Transport for Watched {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        HEAD.with(|h| h.borrow_mut().request_sent());
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let before = self.inner.buffers().input().len();
        let result = self.inner.await_input(timeout);
        let input = self.inner.buffers().input();
        if input.len() > before {
            HEAD.with(|h| h.borrow_mut().received(&input[before..]));
        }
        match result {
            Err(ureq::Error::Io(e)) => {
                if e.kind() == io::ErrorKind::ConnectionReset {
                    RESET.with(|c| c.set(true));
                }
                Err(ureq::Error::Io(e))
            }
            other => other,
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // ureq drops a connection whose buffer still holds input after a finished body: the
        // server sent more than it declared.
        if !self.inner.buffers().input().is_empty() {
            EXCESS.with(|c| c.set(true));
        }
    }
}
