//! A transport wrapper that watches the raw connection: bytes received before decoding, resets,
//! and bytes left over after a body ended (a server sending more than its Content-Length).
//! ureq hides all three; the download needs them to name the fault precisely.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// What the watched connections of one download saw.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    raw_in: AtomicU64,
    reset: AtomicBool,
    excess: AtomicBool,
}

impl Wire {
    /// Bytes received on the wire (headers and body, before any content decoding).
    pub(crate) fn raw_in(&self) -> u64 {
        self.raw_in.load(Ordering::Relaxed)
    }

    /// Whether a connection was reset by the peer.
    pub(crate) fn was_reset(&self) -> bool {
        self.reset.load(Ordering::Relaxed)
    }

    /// Whether a connection was dropped with unread bytes after a complete response.
    pub(crate) fn had_excess(&self) -> bool {
        self.excess.load(Ordering::Relaxed)
    }

    /// Forgets excess seen on earlier connections (redirect hops, abandoned attempts).
    pub(crate) fn clear_excess(&self) {
        self.excess.store(false, Ordering::Relaxed);
    }
}

/// Wraps each transport the default connector chain makes.
#[derive(Debug)]
pub(crate) struct WatchConnector(pub(crate) Arc<Wire>);

impl Connector<Box<dyn Transport>> for WatchConnector {
    type Out = Watched;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Watched>, ureq::Error> {
        Ok(chained.map(|inner| Watched {
            inner,
            wire: self.0.clone(),
        }))
    }
}

/// One watched connection.
#[derive(Debug)]
pub(crate) struct Watched {
    inner: Box<dyn Transport>,
    wire: Arc<Wire>,
}

impl Transport for Watched {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let before = self.inner.buffers().input().len();
        match self.inner.await_input(timeout) {
            Ok(progress) => {
                let after = self.inner.buffers().input().len();
                self.wire
                    .raw_in
                    .fetch_add(after.saturating_sub(before) as u64, Ordering::Relaxed);
                Ok(progress)
            }
            Err(ureq::Error::Io(e)) => {
                if e.kind() == io::ErrorKind::ConnectionReset {
                    self.wire.reset.store(true, Ordering::Relaxed);
                }
                Err(ureq::Error::Io(e))
            }
            Err(e) => Err(e),
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
            self.wire.excess.store(true, Ordering::Relaxed);
        }
    }
}
