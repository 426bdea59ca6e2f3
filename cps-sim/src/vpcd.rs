//! The vpcd client: plugs a [`CardSide`] into pcscd through the `vsmartcard-vpcd` reader
//! driver, so that every PC/SC application (the `pcsc` crate, OpenSC, `pcsc_scan`) sees
//! the virtual card in the reader `Virtual PCD 00 00` (slot 0) or `Virtual PCD 00 01`.
//!
//! vpcd listens on `35963` (slot 0) and `35964` (slot 1); the card is the TCP client.
//! Connecting inserts the card, closing the socket removes it.
//!
//! # Protocol
//!
//! Every message is a 2-byte big-endian length followed by the payload, in both
//! directions, read as a stream ([`read_frame`]). From vpcd, a 1-byte payload is a control
//! (`00` power off, `01` power on, `02` reset, `04` get ATR); only get ATR is answered, and
//! at any time (pcscd sends it as a presence poll every ~400 ms). A longer payload is a
//! command APDU, answered by exactly one non-empty frame ([`write_frame`]).
//!
//! # Latency
//!
//! vpcd writes the length and the payload of a command in two TCP writes; with Nagle on its
//! side and delayed ACKs on ours every APDU would cost ~40 ms. The client re-arms
//! `TCP_QUICKACK` after every read (the kernel clears it) and writes each reply in a single
//! `write_all`, which brings a round trip through pcscd to ~0.1 ms
//! ([`VpcdOptions::with_quickack`] turns the fix off, for the benchmark).
//!
//! # What the card's replies do
//!
//! - [`Reply::Data`]: sent as one frame. An empty `Data` cannot be sent (vpcd reads a
//!   zero-length reply as a removal), so it is treated as [`Reply::Removed`].
//! - [`Reply::Mute`]: nothing is sent, as with a real mute card. vpcd has no timeout, so the
//!   reader then stays blocked in `SCardTransmit` (and answers no presence poll) until the
//!   card is removed: the application's only way out is its own timeout followed by
//!   [`VpcdHandle::remove`] or [`VpcdHandle::shutdown`], which makes the blocked
//!   `SCardTransmit` fail. The client keeps reading meanwhile and serves whatever vpcd
//!   sends next normally, but in practice vpcd sends nothing until the removal.
//! - [`Reply::Removed`]: the socket is closed and the card stays out of the reader until
//!   [`VpcdHandle::insert`].
//!
//! # Connection life
//!
//! [`attach`] connects once (an error if nothing listens), then serves the card on its own
//! thread. If vpcd drops the connection (pcscd restarted or stopped), the client reconnects
//! with exponential backoff until [`VpcdHandle::shutdown`]. Beware that a port already
//! serving another card still accepts the connection (the kernel queues it): the card then
//! becomes the inserted one when the other leaves.
//!
//! # Serving from a command
//!
//! [`VpcdHandle::serve_until`] blocks until a stop message, then removes the card and
//! joins the thread. Signal handling is left to the binary (which owns the process), e.g.
//! with the `ctrlc` crate:
//!
//! ```no_run
//! # fn demo(card: Box<dyn cps_sim::CardSide>) -> Result<(), Box<dyn std::error::Error>> {
//! use cps_sim::vpcd::{self, VpcdOptions};
//! let (stop, stopped) = std::sync::mpsc::channel();
//! // In the binary: ctrlc::set_handler(move || { let _ = stop.send(()); })?;
//! # drop(stop);
//! let handle = vpcd::attach(card, vpcd::slot_addr(0), VpcdOptions::default())?;
//! eprintln!("card inserted in {:?}", handle.reader_name());
//! handle.serve_until(&stopped)?;
//! # Ok(()) }
//! ```

#[cfg(unix)]
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{CardSide, Reply};

/// vpcd's port for slot 0; slot `n` listens on `VPCD_PORT + n`.
pub const VPCD_PORT: u16 = 35963;

/// The largest payload a frame can carry: the length field is 16 bits.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// vpcd's control payloads (1 byte).
const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

/// Answered instead of a reply too long for a frame: "no precise diagnosis".
const SW_NO_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// The loopback address of vpcd's slot `slot` (`127.0.0.1:35963` for slot 0).
pub fn slot_addr(slot: u8) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        VPCD_PORT.saturating_add(u16::from(slot)),
    )
}

/// The PC/SC reader name pcscd gives vpcd's slot `slot`: `Virtual PCD 00 00` for slot 0.
pub fn reader_name(slot: u8) -> String {
    format!("Virtual PCD 00 {slot:02}")
}

/// What can go wrong reading or writing one vpcd frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream ended inside a frame.
    #[error("vpcd frame truncated: expected {expected} bytes, the stream ended after {received}")]
    Truncated {
        /// Bytes the header (2) or the announced payload needed.
        expected: usize,
        /// Bytes that arrived before the end of the stream.
        received: usize,
    },
    /// The frame is longer than allowed (read) or than the length field can say (write).
    #[error("vpcd frame of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// The announced or given length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The connection failed.
    #[error("I/O error on the vpcd connection")]
    Io(#[source] io::Error),
}

/// Reads one frame: `Ok(None)` when the stream ends cleanly between frames.
///
/// Never allocates more than `max_len` bytes, whatever the header says, and reports a
/// stream ending inside a frame as [`FrameError::Truncated`]. Safe on arbitrary input.
pub fn read_frame<R: Read + ?Sized>(
    reader: &mut R,
    max_len: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; 2];
    match fill(reader, &mut header)? {
        0 => return Ok(None),
        2 => {}
        received => {
            return Err(FrameError::Truncated {
                expected: 2,
                received,
            });
        }
    }
    let len = usize::from(u16::from_be_bytes(header));
    if len > max_len {
        return Err(FrameError::TooLong { len, max: max_len });
    }
    let mut payload = vec![0u8; len];
    let received = fill(reader, &mut payload)?;
    if received < len {
        return Err(FrameError::Truncated {
            expected: len,
            received,
        });
    }
    Ok(Some(payload))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(filled)
}

/// Writes one frame with a single `write_all`: a split write would stall on delayed ACKs.
pub fn write_frame<W: Write + ?Sized>(writer: &mut W, payload: &[u8]) -> Result<(), FrameError> {
    let len = u16::try_from(payload.len()).map_err(|_| FrameError::TooLong {
        len: payload.len(),
        max: MAX_FRAME_LEN,
    })?;
    let mut frame = Vec::with_capacity(2 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    writer.write_all(&frame).map_err(FrameError::Io)?;
    writer.flush().map_err(FrameError::Io)
}

/// What can go wrong attaching a card to vpcd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VpcdError {
    /// Nothing accepted the connection.
    #[error("cannot connect to vpcd at {addr} (is pcscd running with the vpcd driver?)")]
    Connect {
        /// Where the client tried to connect.
        addr: SocketAddr,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The serving thread could not be started.
    #[error("cannot start the vpcd client thread")]
    Spawn(#[source] io::Error),
    /// The serving thread panicked (a panic in the card implementation).
    #[error("the vpcd client thread panicked")]
    WorkerPanicked,
    /// The slot's lock file cannot be opened or locked.
    #[error("cannot lock the vpcd slot with {}", path.display())]
    SlotLock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Another process kept the slot locked for the whole wait.
    #[error("vpcd slot {slot} is still in use by another process after {waited:?}")]
    SlotBusy {
        /// The slot.
        slot: u8,
        /// How long we waited.
        waited: Duration,
    },
}

/// Exclusive use of a vpcd slot, across threads and processes, for as long as it lives.
///
/// A card connecting to a slot that already serves one is queued by the kernel and
/// silently takes over when the first leaves, so every program that attaches cards to
/// vpcd in tests (every test binary, every worktree sharing the machine's pcscd) should
/// hold this lock while its card is attached. It is an advisory `flock` on
/// `/tmp/cps-vpcd-slot-<slot>.lock`, released on drop or when the process dies.
#[cfg(unix)]
#[derive(Debug)]
pub struct SlotLock {
    _file: File,
    slot: u8,
}

#[cfg(unix)]
impl SlotLock {
    /// Takes the lock of `slot`, waiting up to `timeout` for its holder to let go.
    pub fn acquire(slot: u8, timeout: Duration) -> Result<SlotLock, VpcdError> {
        let path = PathBuf::from(format!("/tmp/cps-vpcd-slot-{slot}.lock"));
        let lock_error = |source| VpcdError::SlotLock {
            path: path.clone(),
            source,
        };
        // A lock file created by another user is still lockable read-only.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path))
            .map_err(lock_error)?;
        let deadline = Instant::now() + timeout;
        loop {
            if crate::flock::try_lock_exclusive(&file).map_err(lock_error)? {
                return Ok(SlotLock { _file: file, slot });
            }
            if Instant::now() >= deadline {
                return Err(VpcdError::SlotBusy {
                    slot,
                    waited: timeout,
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The slot held.
    pub fn slot(&self) -> u8 {
        self.slot
    }
}

/// How the client behaves; `VpcdOptions::default()` is what `cps sim` and the tests use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VpcdOptions {
    /// Re-arm `TCP_QUICKACK` after every read (Linux only): without it each APDU costs
    /// ~40 ms. On by default.
    pub quickack: bool,
    /// The vpcd slot, for [`VpcdHandle::reader_name`] when the port is not the default
    /// `35963 + slot`.
    pub slot: Option<u8>,
    /// The first wait before reconnecting after vpcd dropped the connection.
    pub initial_backoff: Duration,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// How long the first connection attempt may take.
    pub connect_timeout: Duration,
}

impl Default for VpcdOptions {
    fn default() -> Self {
        VpcdOptions {
            quickack: true,
            slot: None,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

impl VpcdOptions {
    /// Turns the `TCP_QUICKACK` fix on or off.
    #[must_use]
    pub fn with_quickack(mut self, quickack: bool) -> Self {
        self.quickack = quickack;
        self
    }

    /// Names the vpcd slot served, for a non-default port.
    #[must_use]
    pub fn with_slot(mut self, slot: u8) -> Self {
        self.slot = Some(slot);
        self
    }

    /// Sets the reconnection backoff: starts at `initial`, doubles up to `max`.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
}

/// Where the user wants the card to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Inserted,
    Removed,
    Shutdown,
}

#[derive(Debug)]
struct Shared {
    want: Want,
    /// A clone of the live connection, so that the handle can cut it while the worker
    /// is blocked reading.
    stream: Option<TcpStream>,
    connected: bool,
}

#[derive(Debug)]
struct Inner {
    shared: Mutex<Shared>,
    changed: Condvar,
}

impl Inner {
    /// The state stays consistent at every unlock, so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `want` (unless shutting down) and cuts the live connection if it must go.
    fn set_want(&self, want: Want) {
        let mut shared = self.lock();
        if shared.want == Want::Shutdown {
            return;
        }
        shared.want = want;
        if want != Want::Inserted
            && let Some(stream) = &shared.stream
        {
            // Wakes the worker's blocking read; vpcd sees the card leave at once.
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.changed.notify_all();
    }

    /// Waits up to `timeout` for `connected == target`; true when reached.
    fn wait_connected(&self, target: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut shared = self.lock();
        while shared.connected != target {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            shared = self
                .changed
                .wait_timeout(shared, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// A card attached to vpcd, served on its own thread. Dropping it is [`shutdown`]
/// without the result.
///
/// [`shutdown`]: VpcdHandle::shutdown
#[derive(Debug)]
pub struct VpcdHandle {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
    slot: Option<u8>,
}

/// Connects `card` to vpcd at `addr` (see [`slot_addr`]) and serves it on a new thread.
///
/// Fails if nothing accepts the connection; later disconnections are retried until
/// [`VpcdHandle::shutdown`].
pub fn attach(
    card: Box<dyn CardSide>,
    addr: SocketAddr,
    options: VpcdOptions,
) -> Result<VpcdHandle, VpcdError> {
    let stream = connect(addr, options.connect_timeout)
        .map_err(|source| VpcdError::Connect { addr, source })?;
    let slot = options.slot.or_else(|| {
        addr.port()
            .checked_sub(VPCD_PORT)
            .filter(|n| *n < 2)
            .and_then(|n| u8::try_from(n).ok())
    });
    let inner = Arc::new(Inner {
        shared: Mutex::new(Shared {
            want: Want::Inserted,
            stream: None,
            connected: false,
        }),
        changed: Condvar::new(),
    });
    let worker = Worker {
        card,
        addr,
        options,
        inner: Arc::clone(&inner),
    };
    let thread = thread::Builder::new()
        .name(format!("vpcd-{}", addr.port()))
        .spawn(move || worker.run(stream))
        .map_err(VpcdError::Spawn)?;
    Ok(VpcdHandle {
        inner,
        thread: Some(thread),
        addr,
        slot,
    })
}

impl VpcdHandle {
    /// Pulls the card out: closes the connection (pcscd reports the reader empty within
    /// ~0.4 s) and stays out until [`insert`](Self::insert).
    pub fn remove(&self) {
        self.inner.set_want(Want::Removed);
    }

    /// Puts a removed card back: the client reconnects.
    pub fn insert(&self) {
        self.inner.set_want(Want::Inserted);
    }

    /// Whether the card is connected to vpcd right now.
    pub fn is_connected(&self) -> bool {
        self.inner.lock().connected
    }

    /// Waits up to `timeout` until the card is connected; true if it is.
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        self.inner.wait_connected(true, timeout)
    }

    /// Waits up to `timeout` until the card is disconnected; true if it is.
    pub fn wait_disconnected(&self, timeout: Duration) -> bool {
        self.inner.wait_connected(false, timeout)
    }

    /// The vpcd address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The vpcd slot, when known (the default ports, or [`VpcdOptions::with_slot`]).
    pub fn slot(&self) -> Option<u8> {
        self.slot
    }

    /// The PC/SC reader the card appears in, when the slot is known.
    pub fn reader_name(&self) -> Option<String> {
        self.slot.map(reader_name)
    }

    /// Removes the card for good and joins the thread. Waits for a command being
    /// processed (e.g. a slow-answer fault) to finish.
    pub fn shutdown(mut self) -> Result<(), VpcdError> {
        self.stop()
    }

    /// Serves until a message arrives on `stop` (or its sender is dropped), then shuts
    /// down. The binary connects its SIGINT/SIGTERM handler to the sender.
    pub fn serve_until(self, stop: &mpsc::Receiver<()>) -> Result<(), VpcdError> {
        // Ok and Disconnected both mean "stop".
        let _ = stop.recv();
        self.shutdown()
    }

    fn stop(&mut self) -> Result<(), VpcdError> {
        self.inner.set_want(Want::Shutdown);
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| VpcdError::WorkerPanicked),
            None => Ok(()),
        }
    }
}

impl Drop for VpcdHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    // Our replies are single writes already; this only rules out Nagle holding one back.
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn arm_quickack(stream: &TcpStream) {
    // Best effort: without it the card still works, only slower.
    let _ = rustix::net::sockopt::set_tcp_quickack(stream, true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn arm_quickack(_stream: &TcpStream) {}

/// Reads from the connection, re-arming `TCP_QUICKACK` after every read: the kernel
/// drops back to delayed ACKs on its own.
struct QuickAckReader<'a> {
    stream: &'a TcpStream,
    enabled: bool,
}

impl Read for QuickAckReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stream = self.stream;
        let n = stream.read(buf)?;
        if self.enabled {
            arm_quickack(self.stream);
        }
        Ok(n)
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The socket was closed or failed (vpcd gone, or our own remove/shutdown).
    Disconnected,
    /// The card asked to leave the reader.
    CardRemoved,
}

struct Worker {
    card: Box<dyn CardSide>,
    addr: SocketAddr,
    options: VpcdOptions,
    inner: Arc<Inner>,
}

impl Worker {
    fn run(mut self, first: TcpStream) {
        let mut next = Some(first);
        let mut backoff = self.options.initial_backoff;
        loop {
            let stream = match next.take() {
                Some(stream) => stream,
                None => {
                    if !self.wait_inserted() {
                        return;
                    }
                    match connect(self.addr, self.options.connect_timeout) {
                        Ok(stream) => stream,
                        Err(_) => {
                            self.pause(backoff);
                            backoff = (backoff * 2).min(self.options.max_backoff);
                            continue;
                        }
                    }
                }
            };
            let Some(stream) = self.register(stream) else {
                continue;
            };
            let (end, frames) = self.serve(&stream);
            let _ = stream.shutdown(Shutdown::Both);
            drop(stream);
            // Leaving the reader cuts the power: volatile state is lost.
            self.card.power_off();
            let want = {
                let mut shared = self.inner.lock();
                shared.stream = None;
                shared.connected = false;
                if end == End::CardRemoved && shared.want == Want::Inserted {
                    shared.want = Want::Removed;
                }
                self.inner.changed.notify_all();
                shared.want
            };
            if want == Want::Inserted {
                // vpcd dropped us. A connection that served nothing may be a vpcd closing
                // at once: back off so as not to spin.
                if frames > 0 {
                    backoff = self.options.initial_backoff;
                }
                self.pause(backoff);
                backoff = (backoff * 2).min(self.options.max_backoff);
            }
        }
    }

    /// Blocks while the card is removed; false once shut down.
    fn wait_inserted(&self) -> bool {
        let mut shared = self.inner.lock();
        while shared.want == Want::Removed {
            shared = self
                .inner
                .changed
                .wait(shared)
                .unwrap_or_else(PoisonError::into_inner);
        }
        shared.want == Want::Inserted
    }

    /// Sleeps `duration`, cut short by remove, insert or shutdown.
    fn pause(&self, duration: Duration) {
        let shared = self.inner.lock();
        let _ = self
            .inner
            .changed
            .wait_timeout_while(shared, duration, |s| s.want == Want::Inserted);
    }

    /// Publishes a new connection, unless the card was removed meanwhile.
    fn register(&self, stream: TcpStream) -> Option<TcpStream> {
        let mut shared = self.inner.lock();
        if shared.want != Want::Inserted {
            return None;
        }
        let clone = stream.try_clone().ok()?;
        shared.stream = Some(clone);
        shared.connected = true;
        self.inner.changed.notify_all();
        Some(stream)
    }

    /// Serves frames until the connection ends; returns why and how many frames came.
    fn serve(&mut self, stream: &TcpStream) -> (End, u64) {
        if self.options.quickack {
            arm_quickack(stream);
        }
        let mut reader = QuickAckReader {
            stream,
            enabled: self.options.quickack,
        };
        let mut writer = stream;
        let mut frames = 0u64;
        loop {
            let frame = match read_frame(&mut reader, MAX_FRAME_LEN) {
                Ok(Some(frame)) => frame,
                Ok(None) | Err(_) => return (End::Disconnected, frames),
            };
            frames += 1;
            let answer = match frame.as_slice() {
                [POWER_OFF] => {
                    self.card.power_off();
                    None
                }
                [POWER_ON] => {
                    self.card.power_on();
                    None
                }
                [RESET] => {
                    self.card.reset();
                    None
                }
                [GET_ATR] => Some(self.card.atr()),
                // vpcd sends no other control; answering one would desynchronise it.
                [] | [_] => None,
                command => match self.card.process(command) {
                    Reply::Data(data) if data.is_empty() => return (End::CardRemoved, frames),
                    Reply::Data(data) => Some(data),
                    Reply::Mute => None,
                    Reply::Removed => return (End::CardRemoved, frames),
                },
            };
            if let Some(answer) = answer {
                let sent = match write_frame(&mut writer, &answer) {
                    Err(FrameError::TooLong { .. }) => write_frame(&mut writer, &SW_NO_DIAGNOSIS),
                    other => other,
                };
                if sent.is_err() {
                    return (End::Disconnected, frames);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::net::TcpListener;

    use proptest::prelude::*;

    const ATR: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        PowerOn,
        PowerOff,
        Reset,
        Command(Vec<u8>),
    }

    /// Echoes commands with 90 00; `00 EE ..` asks for silence, `00 DD ..` for removal.
    struct EchoCard {
        events: Arc<Mutex<Vec<Event>>>,
    }

    impl CardSide for EchoCard {
        fn atr(&self) -> Vec<u8> {
            ATR.to_vec()
        }
        fn power_on(&mut self) {
            self.events.lock().expect("events").push(Event::PowerOn);
        }
        fn power_off(&mut self) {
            self.events.lock().expect("events").push(Event::PowerOff);
        }
        fn reset(&mut self) {
            self.events.lock().expect("events").push(Event::Reset);
        }
        fn process(&mut self, command: &[u8]) -> Reply {
            self.events
                .lock()
                .expect("events")
                .push(Event::Command(command.to_vec()));
            match command.get(1) {
                Some(0xEE) => Reply::Mute,
                Some(0xDD) => Reply::Removed,
                _ => Reply::Data([command, &[0x90, 0x00]].concat()),
            }
        }
    }

    fn echo_card() -> (Box<dyn CardSide>, Arc<Mutex<Vec<Event>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        (
            Box::new(EchoCard {
                events: Arc::clone(&events),
            }),
            events,
        )
    }

    /// The vpcd side, written like Debian's vpcd: length and payload in two writes.
    struct FakeVpcd {
        stream: TcpStream,
    }

    impl FakeVpcd {
        /// Waits for the card to connect; a test never hangs on a card that doesn't.
        fn accept(listener: &TcpListener) -> FakeVpcd {
            listener.set_nonblocking(true).expect("nonblocking");
            let deadline = Instant::now() + Duration::from_secs(5);
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        assert!(Instant::now() < deadline, "the card did not connect");
                        thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            FakeVpcd { stream }
        }
        fn send(&mut self, payload: &[u8]) {
            let len = u16::try_from(payload.len()).expect("len");
            self.stream.write_all(&len.to_be_bytes()).expect("write");
            self.stream.write_all(payload).expect("write");
        }
        fn recv(&mut self) -> Option<Vec<u8>> {
            read_frame(&mut self.stream, MAX_FRAME_LEN).expect("frame")
        }
        fn recv_within(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
            self.stream.set_read_timeout(Some(timeout))?;
            let got = match read_frame(&mut self.stream, MAX_FRAME_LEN) {
                Ok(frame) => Ok(frame),
                Err(FrameError::Io(e)) => Err(e),
                Err(e) => Err(io::Error::other(e)),
            };
            self.stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            got
        }
    }

    fn listener() -> (TcpListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        (listener, addr)
    }

    fn fast() -> VpcdOptions {
        VpcdOptions::default().with_backoff(Duration::from_millis(5), Duration::from_millis(50))
    }

    #[cfg(unix)]
    #[test]
    fn slot_locks_exclude_each_other() {
        // A slot number no real test uses.
        let first = SlotLock::acquire(250, Duration::from_secs(5)).expect("first");
        assert_eq!(first.slot(), 250);
        let busy = SlotLock::acquire(250, Duration::from_millis(30));
        assert!(matches!(busy, Err(VpcdError::SlotBusy { slot: 250, .. })));
        drop(first);
        SlotLock::acquire(250, Duration::from_secs(5)).expect("free again");
    }

    #[test]
    fn names_and_addresses() {
        assert_eq!(reader_name(0), "Virtual PCD 00 00");
        assert_eq!(reader_name(1), "Virtual PCD 00 01");
        assert_eq!(slot_addr(1).to_string(), "127.0.0.1:35964");
    }

    #[test]
    fn frames_round_trip_and_fail_clearly() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &[1, 2, 3]).expect("write");
        write_frame(&mut buf, &[4]).expect("write");
        assert_eq!(buf, [0, 3, 1, 2, 3, 0, 1, 4]);
        let mut cursor = Cursor::new(buf);
        assert_eq!(read_frame(&mut cursor, 16).expect("1"), Some(vec![1, 2, 3]));
        assert_eq!(read_frame(&mut cursor, 16).expect("2"), Some(vec![4]));
        assert_eq!(read_frame(&mut cursor, 16).expect("end"), None);

        let truncated_header = read_frame(&mut Cursor::new([0u8]), 16);
        assert!(matches!(
            truncated_header,
            Err(FrameError::Truncated {
                expected: 2,
                received: 1
            })
        ));
        let truncated_payload = read_frame(&mut Cursor::new([0, 5, 1, 2]), 16);
        assert!(matches!(
            truncated_payload,
            Err(FrameError::Truncated {
                expected: 5,
                received: 2
            })
        ));
        let too_long = read_frame(&mut Cursor::new([0xFF, 0xFF]), 0x100);
        assert!(matches!(
            too_long,
            Err(FrameError::TooLong {
                len: 0xFFFF,
                max: 0x100
            })
        ));
        let unframeable = write_frame(&mut Vec::new(), &vec![0; MAX_FRAME_LEN + 1]);
        assert!(matches!(unframeable, Err(FrameError::TooLong { .. })));
    }

    proptest! {
        #[test]
        fn read_frame_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..40) {
            let mut cursor = Cursor::new(bytes);
            while let Ok(Some(frame)) = read_frame(&mut cursor, max) {
                prop_assert!(frame.len() <= max);
            }
        }

        #[test]
        fn frames_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let mut buf = Vec::new();
            for payload in &payloads {
                write_frame(&mut buf, payload).expect("write");
            }
            let mut cursor = Cursor::new(buf);
            for payload in &payloads {
                prop_assert_eq!(read_frame(&mut cursor, MAX_FRAME_LEN).expect("read"), Some(payload.clone()));
            }
            prop_assert_eq!(read_frame(&mut cursor, MAX_FRAME_LEN).expect("end"), None);
        }
    }

    #[test]
    fn attach_without_vpcd_is_a_clear_error() {
        let (listener, addr) = listener();
        drop(listener);
        let (card, _) = echo_card();
        let err = attach(card, addr, fast()).expect_err("nothing listens");
        assert!(matches!(err, VpcdError::Connect { .. }));
        assert!(err.to_string().contains(&addr.to_string()));
    }

    #[test]
    fn serves_controls_and_apdus() {
        let (listener, addr) = listener();
        let (card, events) = echo_card();
        let handle = attach(card, addr, fast()).expect("attach");
        assert_eq!(handle.reader_name(), None);
        let mut vpcd = FakeVpcd::accept(&listener);
        assert!(handle.wait_connected(Duration::from_secs(5)));

        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        vpcd.send(&[POWER_ON]);
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        vpcd.send(&[0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(vpcd.recv(), Some(vec![0x00, 0xA4, 0x04, 0x00, 0x90, 0x00]));
        vpcd.send(&[RESET]);
        vpcd.send(&[POWER_OFF]);
        vpcd.send(&[0x03]); // unknown control: ignored, not answered
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        assert_eq!(
            *events.lock().expect("events"),
            [
                Event::PowerOn,
                Event::Command(vec![0x00, 0xA4, 0x04, 0x00]),
                Event::Reset,
                Event::PowerOff
            ]
        );
        handle.shutdown().expect("shutdown");
        assert_eq!(vpcd.recv(), None, "shutdown closes the socket");
    }

    #[test]
    fn a_mute_card_sends_nothing_and_keeps_reading() {
        let (listener, addr) = listener();
        let (card, _) = echo_card();
        let handle = attach(card, addr, fast()).expect("attach");
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[0x00, 0xEE, 0x00, 0x00]);
        let silence = vpcd.recv_within(Duration::from_millis(100));
        assert!(silence.is_err(), "a mute card answers nothing: {silence:?}");
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        handle.remove();
        assert_eq!(vpcd.recv(), None, "removal closes the socket");
        handle.shutdown().expect("shutdown");
    }

    #[test]
    fn a_removed_card_leaves_until_inserted() {
        let (listener, addr) = listener();
        let (card, events) = echo_card();
        let handle = attach(card, addr, fast()).expect("attach");
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[POWER_ON]);
        vpcd.send(&[0x00, 0xDD, 0x00, 0x00]);
        assert_eq!(vpcd.recv(), None, "the card closed the socket");
        assert!(handle.wait_disconnected(Duration::from_secs(5)));
        assert_eq!(
            events.lock().expect("events").last(),
            Some(&Event::PowerOff)
        );
        thread::sleep(Duration::from_millis(50));
        assert!(
            listener.accept().is_err(),
            "a removed card does not reconnect"
        );

        handle.insert();
        let mut vpcd = FakeVpcd::accept(&listener);
        assert!(handle.wait_connected(Duration::from_secs(5)));
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));

        handle.remove();
        assert_eq!(vpcd.recv(), None);
        assert!(handle.wait_disconnected(Duration::from_secs(5)));
        handle.insert();
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        handle.shutdown().expect("shutdown");
    }

    #[test]
    fn reconnects_when_vpcd_drops_the_connection() {
        let (listener, addr) = listener();
        let (card, _) = echo_card();
        let handle = attach(card, addr, fast()).expect("attach");
        let vpcd = FakeVpcd::accept(&listener);
        drop(vpcd); // pcscd restarted
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        assert!(handle.wait_connected(Duration::from_secs(5)));

        // pcscd gone for a while: the client retries with backoff, then comes back.
        drop(vpcd);
        drop(listener);
        assert!(handle.wait_disconnected(Duration::from_secs(5)));
        thread::sleep(Duration::from_millis(100));
        let listener = TcpListener::bind(addr).expect("rebind");
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        handle.shutdown().expect("shutdown");
    }

    #[test]
    fn shutdown_is_prompt_while_backing_off() {
        let (listener, addr) = listener();
        let (card, _) = echo_card();
        let options = VpcdOptions::default()
            .with_backoff(Duration::from_secs(30), Duration::from_secs(30))
            .with_slot(1);
        let handle = attach(card, addr, options).expect("attach");
        assert_eq!(handle.reader_name().as_deref(), Some("Virtual PCD 00 01"));
        drop(FakeVpcd::accept(&listener));
        drop(listener);
        assert!(handle.wait_disconnected(Duration::from_secs(5)));
        let started = Instant::now();
        handle.shutdown().expect("shutdown");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn serve_until_stops_on_message() {
        let (listener, addr) = listener();
        let (card, _) = echo_card();
        let handle = attach(card, addr, fast()).expect("attach");
        let mut vpcd = FakeVpcd::accept(&listener);
        let (stop, stopped) = mpsc::channel();
        let server = thread::spawn(move || handle.serve_until(&stopped));
        vpcd.send(&[GET_ATR]);
        assert_eq!(vpcd.recv(), Some(ATR.to_vec()));
        stop.send(()).expect("send");
        server.join().expect("join").expect("serve");
        assert_eq!(vpcd.recv(), None);
    }
}
