//! A card session through PC/SC, with a timeout on every call that reaches the card.
//!
//! PC/SC calls block, for as long as the reader driver lets them: a real reader gives
//! up after the card's waiting time, vsmartcard's vpcd never does. So the
//! `pcsc::Card` lives on a worker thread of its own; each call is a request over a
//! channel and the caller waits for the answer with a deadline. A call that misses
//! its deadline leaves the worker blocked inside PC/SC, so the transport refuses
//! every later call: answers would arrive out of step with questions.

use std::ffi::CString;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use ::pcsc::{Card, Context, Scope, ShareMode};
use cps_apdu::{Transport, TransportError};

use super::{PcscContext, PcscError};

/// How long a call that reaches the card may take, unless
/// [`ConnectOptions::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The protocols asked for when connecting: the reader picks the card's.
fn protocols() -> ::pcsc::Protocols {
    ::pcsc::Protocols::T0 | ::pcsc::Protocols::T1
}

/// Settings of a [`PcscTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The most any one call that reaches the card may take (connecting, each APDU,
    /// beginning or ending a transaction, reconnecting, disconnecting). A call that
    /// takes longer fails with a timeout and leaves the transport unusable.
    pub timeout: Duration,
}

impl ConnectOptions {
    /// The same options with another timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The transmission protocol the reader chose with the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// T=0, character-oriented: case 4 commands return `61 xx` and need GET RESPONSE
    /// (done by the exchange layer above, never here).
    T0,
    /// T=1, block-oriented.
    T1,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::T0 => "T=0",
            Protocol::T1 => "T=1",
        })
    }
}

/// What happens to the card when a session or transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Nothing: the card keeps its state (selected files, verified PIN). Right after
    /// read-only work, so that other middleware keeps its own state.
    Leave,
    /// Warm reset: the card forgets its security state. Right after PIN operations, so
    /// that the card is not left unlocked for the next application.
    Reset,
    /// Power the card down (cold reset on the next use).
    Unpower,
}

impl From<Disposition> for ::pcsc::Disposition {
    fn from(d: Disposition) -> Self {
        match d {
            Disposition::Leave => ::pcsc::Disposition::LeaveCard,
            Disposition::Reset => ::pcsc::Disposition::ResetCard,
            Disposition::Unpower => ::pcsc::Disposition::UnpowerCard,
        }
    }
}

/// A connection to the card in one reader, implementing [`Transport`].
///
/// - Shared mode: other applications may use the card between our transactions; wrap
///   every multi-APDU operation in [`begin_transaction`](Self::begin_transaction).
/// - Every call that reaches the card has a timeout ([`ConnectOptions::timeout`]). On
///   timeout the call returns [`TransportError::Timeout`] and the transport becomes
///   unusable: every later call fails at once. Connect again (a new transport) to go on.
/// - A reset by another application surfaces as [`TransportError::CardReset`] (never as
///   a card status); call [`reconnect`](Self::reconnect) and start the operation over.
/// - End the session with [`disconnect`](Self::disconnect), choosing the disposition:
///   [`Disposition::Leave`] after read-only work, [`Disposition::Reset`] after PIN
///   operations. Dropping the transport without it *leaves* the card, unlike
///   `pcsc::Card`, whose drop resets the card for every application on the machine:
///   a drop here is an early return or an error path after work the caller did not
///   finish, and the layer above resets explicitly after PIN operations.
pub struct PcscTransport {
    reader: String,
    atr: Vec<u8>,
    protocol: Protocol,
    timeout: Duration,
    requests: Sender<Request>,
    replies: Receiver<Outcome>,
    health: Health,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Usable,
    /// A call timed out: the worker is still blocked in it.
    TimedOut,
    /// The worker thread is gone (it panicked).
    WorkerGone,
    /// Disconnected: nothing more to do, not even on drop.
    Closed,
}

impl PcscTransport {
    /// Connects, in shared mode with T=0 or T=1, to the card in `reader` (a PC/SC
    /// reader name, as in [`ReaderInfo::name`](super::ReaderInfo::name)).
    ///
    /// The card handle gets its own PC/SC context on its own thread: pcsc-lite
    /// serialises every call on one context, so a card that stops answering would
    /// otherwise block `ctx` too (listing readers, waiting for events). `ctx` names
    /// the readers present when the reader is not found.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoCard`], [`PcscError::CardMute`], [`PcscError::SharingViolation`],
    /// [`PcscError::ReaderNotFound`], [`PcscError::NoService`], [`PcscError::Busy`]
    /// when connecting takes longer than `options.timeout` (another application's
    /// transaction), or
    /// [`PcscError::Pcsc`].
    pub fn connect(
        ctx: &PcscContext,
        reader: &str,
        options: ConnectOptions,
    ) -> Result<PcscTransport, PcscError> {
        let not_found = || PcscError::ReaderNotFound {
            wanted: format!("reader \"{reader}\""),
            available: ctx.reader_names().unwrap_or_default(),
        };
        // A name with a NUL byte cannot be a reader name.
        let c_reader = CString::new(reader).map_err(|_| not_found())?;
        let (requests, worker_requests) = mpsc::channel();
        let (worker_replies, replies) = mpsc::channel();
        thread::Builder::new()
            .name(format!("cps-pcsc {reader}"))
            .spawn(move || worker_main(&c_reader, worker_requests, worker_replies))
            .map_err(PcscError::Spawn)?;
        let session = match replies.recv_timeout(options.timeout) {
            Ok(Ok(Reply::Session(session))) => session,
            Ok(Ok(_)) => unreachable!("the worker answers a connection with its session"),
            Ok(Err(::pcsc::Error::UnknownReader | ::pcsc::Error::ReaderUnavailable)) => {
                return Err(not_found());
            }
            Ok(Err(e)) => return Err(PcscError::from_connect(reader, e)),
            // The worker leaves the card when it connects and finds nobody waiting.
            // Connecting to a card already powered sends it nothing: what takes this
            // long is another application's transaction (pcsc-lite makes a shared
            // connection wait for it).
            Err(RecvTimeoutError::Timeout) => {
                return Err(PcscError::Busy {
                    reader: reader.to_owned(),
                    after: options.timeout,
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PcscError::WorkerStopped {
                    reader: reader.to_owned(),
                });
            }
        };
        Ok(PcscTransport {
            reader: reader.to_owned(),
            atr: session.atr,
            protocol: session.protocol,
            timeout: options.timeout,
            requests,
            replies,
            health: Health::Usable,
        })
    }

    /// The reader's PC/SC name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The protocol in use: the exchange layer needs to know T=0 (GET RESPONSE,
    /// no case 4 in one exchange).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The timeout of every call that reaches the card.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `false` once a call timed out (or the worker died): every call then fails at
    /// once.
    pub fn is_usable(&self) -> bool {
        self.health == Health::Usable
    }

    /// Begins a PC/SC transaction: until the guard ends it (explicitly or on drop),
    /// no other application can talk to the card. Send the APDUs through the guard.
    ///
    /// Blocks while another application holds a transaction, up to the timeout (the
    /// error is then [`PcscError::Busy`](super::PcscError::Busy), as a
    /// [`TransportError::Other`], and the transport is unusable, as after any timeout). The other way round, other
    /// applications' commands and resets wait for this transaction to end, so keep it
    /// short: collect PINs *before* beginning (Windows also resets a card left idle
    /// for 5 s inside a transaction).
    ///
    /// # Errors
    ///
    /// [`TransportError::CardReset`] if the card was reset since the last call (call
    /// [`reconnect`](Self::reconnect)), [`TransportError::CardRemoved`],
    /// [`TransportError::Timeout`], or another [`TransportError`].
    pub fn begin_transaction(&mut self) -> Result<PcscTransaction<'_>, TransportError> {
        self.call(Request::Begin, "beginning a transaction")?;
        Ok(PcscTransaction {
            transport: self,
            open: true,
        })
    }

    /// Runs `operation` inside a transaction, which ends (leaving the card) whatever
    /// `operation` returns.
    ///
    /// # Errors
    ///
    /// The error of beginning the transaction, of `operation`, or of ending the
    /// transaction after `operation` succeeded.
    pub fn transaction<T, E>(
        &mut self,
        operation: impl FnOnce(&mut PcscTransaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<TransportError>,
    {
        let mut txn = self.begin_transaction()?;
        let value = operation(&mut txn)?;
        txn.end()?;
        Ok(value)
    }

    /// Reconnects to the card (`SCardReconnect`) after [`TransportError::CardReset`],
    /// applying `disposition` first ([`Disposition::Leave`] keeps the card as the
    /// other application left it); refreshes the ATR and the protocol.
    ///
    /// # Errors
    ///
    /// Any [`TransportError`]; [`TransportError::CardRemoved`] or
    /// [`TransportError::NoCard`] when the card left.
    pub fn reconnect(&mut self, disposition: Disposition) -> Result<(), TransportError> {
        match self.call(Request::Reconnect(disposition), "reconnecting to the card")? {
            Reply::Session(session) => {
                self.atr = session.atr;
                self.protocol = session.protocol;
                Ok(())
            }
            _ => unreachable!("the worker answers a reconnection with its session"),
        }
    }

    /// Ends the session, leaving, resetting or unpowering the card.
    ///
    /// On a transport made unusable by a timeout the disposition is still queued: the
    /// worker applies it as soon as its blocked call returns (the card answers late or
    /// leaves the reader); the error says the transport was unusable.
    ///
    /// # Errors
    ///
    /// The PC/SC failure of `SCardDisconnect`, or the error of an unusable transport.
    pub fn disconnect(mut self, disposition: Disposition) -> Result<(), TransportError> {
        let result = if self.health == Health::TimedOut {
            // Not waited for: the worker reads it once its blocked call returns.
            let _ = self.requests.send(Request::Disconnect(disposition));
            Err(self.unusable())
        } else {
            self.call(
                Request::Disconnect(disposition),
                "disconnecting from the card",
            )
            .map(drop)
        };
        self.health = Health::Closed;
        result
    }

    fn unusable(&self) -> TransportError {
        let error = match self.health {
            Health::WorkerGone => PcscError::WorkerStopped {
                reader: self.reader.clone(),
            },
            _ => PcscError::Unusable {
                reader: self.reader.clone(),
                after: self.timeout,
            },
        };
        TransportError::other(error.to_string(), error)
    }

    /// One request, one answer within the timeout.
    fn call(&mut self, request: Request, doing: &'static str) -> Result<Reply, TransportError> {
        if self.health != Health::Usable {
            return Err(self.unusable());
        }
        let begin = matches!(request, Request::Begin);
        if self.requests.send(request).is_err() {
            self.health = Health::WorkerGone;
            return Err(self.unusable());
        }
        match self.replies.recv_timeout(self.timeout) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(transport_error(e, doing, self.timeout)),
            Err(RecvTimeoutError::Timeout) => {
                self.health = Health::TimedOut;
                if begin {
                    // Beginning a transaction waits for the other applications'
                    // transactions, not for the card: say who is slow.
                    return Err(PcscError::Busy {
                        reader: self.reader.clone(),
                        after: self.timeout,
                    }
                    .into());
                }
                Err(TransportError::Timeout(self.timeout))
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.health = Health::WorkerGone;
                Err(self.unusable())
            }
        }
    }

    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.call(
            Request::Transmit(zeroize::Zeroizing::new(command.to_vec())),
            "sending the command",
        )? {
            Reply::Data(response) if response.len() >= 2 => Ok(response),
            // pcsc-lite returns an empty answer, not an error, when the card leaves
            // the reader during the command (seen with vpcd).
            Reply::Data(response) if response.is_empty() => Err(TransportError::CardRemoved),
            Reply::Data(response) => Err(TransportError::InvalidResponse {
                len: response.len(),
            }),
            _ => unreachable!("the worker answers a command with data"),
        }
    }
}

impl Transport for PcscTransport {
    /// Sends one APDU as given (no GET RESPONSE, no `6C xx`, no chaining).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.transmit_raw(command)
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }
}

impl Drop for PcscTransport {
    fn drop(&mut self) {
        match self.health {
            // Leave, never reset: see the type's documentation.
            Health::Usable => {
                let _ = self.call(
                    Request::Disconnect(Disposition::Leave),
                    "disconnecting from the card",
                );
            }
            // The worker leaves the card by itself once its blocked call returns and
            // it finds the channel closed.
            Health::TimedOut | Health::WorkerGone | Health::Closed => {}
        }
    }
}

impl fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.reader)
            .field("atr", &hex::encode_upper(&self.atr))
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .field("usable", &self.is_usable())
            .finish_non_exhaustive()
    }
}

/// A PC/SC transaction on a [`PcscTransport`]: the card talks to nobody else until it
/// ends. Ends on drop, leaving the card; [`end`](Self::end) reports errors.
pub struct PcscTransaction<'t> {
    transport: &'t mut PcscTransport,
    open: bool,
}

impl PcscTransaction<'_> {
    /// Ends the transaction, leaving the card as it is.
    ///
    /// # Errors
    ///
    /// The PC/SC failure of `SCardEndTransaction` as a [`TransportError`].
    pub fn end(self) -> Result<(), TransportError> {
        self.end_with(Disposition::Leave)
    }

    /// Ends the transaction, then leaves, resets or unpowers the card.
    ///
    /// # Errors
    ///
    /// The PC/SC failure of `SCardEndTransaction` as a [`TransportError`].
    pub fn end_with(mut self, disposition: Disposition) -> Result<(), TransportError> {
        self.open = false;
        self.transport
            .call(Request::End(disposition), "ending the transaction")
            .map(drop)
    }

    /// The transport this transaction runs on.
    pub fn transport(&self) -> &PcscTransport {
        self.transport
    }
}

impl Transport for PcscTransaction<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.transport.transmit_raw(command)
    }

    fn atr(&self) -> &[u8] {
        &self.transport.atr
    }
}

impl Drop for PcscTransaction<'_> {
    fn drop(&mut self) {
        if self.open && self.transport.is_usable() {
            let _ = self
                .transport
                .call(Request::End(Disposition::Leave), "ending the transaction");
        }
    }
}

impl fmt::Debug for PcscTransaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscTransaction")
            .field("transport", &self.transport)
            .finish()
    }
}

/// Maps a PC/SC failure during a session to what card logic tells apart.
fn transport_error(e: ::pcsc::Error, doing: &str, timeout: Duration) -> TransportError {
    use ::pcsc::Error as E;
    match e {
        E::RemovedCard => TransportError::CardRemoved,
        E::NoSmartcard => TransportError::NoCard,
        // Both mean the card lost its state (selected files, verified PIN) because of
        // someone else: the operation starts over after a reconnect.
        E::ResetCard | E::UnpoweredCard => TransportError::CardReset,
        E::SharingViolation => TransportError::SharingViolation,
        E::Timeout => TransportError::Timeout(timeout),
        E::NoService | E::ServiceStopped => TransportError::other(
            format!("{doing} failed: the PC/SC service stopped; start it again and reconnect"),
            e,
        ),
        E::UnresponsiveCard => TransportError::other(
            format!("{doing} failed: the card does not answer (mute)"),
            e,
        ),
        E::ReaderUnavailable | E::UnknownReader => TransportError::other(
            format!("{doing} failed: the reader is no longer available (unplugged?)"),
            e,
        ),
        e => TransportError::other(
            format!("{doing} failed (PC/SC error {:#010X})", e as u32),
            e,
        ),
    }
}

// ---- The worker thread: the only owner of the `pcsc::Card`. ----

enum Request {
    Transmit(zeroize::Zeroizing<Vec<u8>>),
    Begin,
    End(Disposition),
    Reconnect(Disposition),
    Disconnect(Disposition),
}

enum Reply {
    Data(Vec<u8>),
    Done,
    Session(Session),
}

struct Session {
    atr: Vec<u8>,
    protocol: Protocol,
}

type Outcome = Result<Reply, ::pcsc::Error>;

/// The card handle as the worker holds it: `pcsc::Card`'s drop resets the card, so
/// it must never run, not even while a panic unwinds; every exit path goes through
/// [`disconnect`] or [`leave`].
type HeldCard = ManuallyDrop<Card>;

/// Connection attempts when another application resets the card meanwhile.
const CONNECT_ATTEMPTS: usize = 3;

fn worker_main(reader: &std::ffi::CStr, requests: Receiver<Request>, replies: Sender<Outcome>) {
    let open = || {
        Context::establish(Scope::User)
            .and_then(|ctx| ctx.connect(reader, ShareMode::Shared, protocols()))
            .map(ManuallyDrop::new)
            .and_then(|card| match session(&card) {
                Ok(session) => Ok((card, session)),
                Err(e) => {
                    leave(card);
                    Err(e)
                }
            })
    };
    // pcsc-lite answers SCARD_W_RESET_CARD to a connection made while another
    // application resets the card (after its PIN operation). A new connection has no
    // state to lose and has sent nothing: connecting again is safe.
    let mut opened = open();
    for _ in 1..CONNECT_ATTEMPTS {
        if !matches!(opened, Err(::pcsc::Error::ResetCard)) {
            break;
        }
        opened = open();
    }
    match opened {
        Err(e) => {
            let _ = replies.send(Err(e));
        }
        Ok((card, session)) => {
            if replies.send(Ok(Reply::Session(session))).is_err() {
                // The caller timed out and went away.
                return leave(card);
            }
            Worker {
                requests,
                replies,
                buffer: vec![0; ::pcsc::MAX_BUFFER_SIZE_EXTENDED],
            }
            .run(card);
        }
    }
}

struct Worker {
    requests: Receiver<Request>,
    replies: Sender<Outcome>,
    buffer: Vec<u8>,
}

enum TransactionExit {
    End(Disposition),
    Disconnect(Disposition),
    Closed,
}

impl Worker {
    fn reply(&self, outcome: Outcome) {
        // A caller that timed out has stopped listening; nothing to tell it.
        let _ = self.replies.send(outcome);
    }

    fn run(mut self, mut card: HeldCard) {
        loop {
            // The transport was dropped (or gave up after a timeout): leave the card.
            let Ok(request) = self.requests.recv() else {
                return leave(card);
            };
            match request {
                Request::Transmit(command) => {
                    let outcome = transmit(&card, &command, &mut self.buffer);
                    self.reply(outcome);
                }
                Request::Reconnect(disposition) => {
                    let outcome = card
                        .reconnect(ShareMode::Shared, protocols(), disposition.into())
                        .and_then(|()| session(&card))
                        .map(Reply::Session);
                    self.reply(outcome);
                }
                // Not in a transaction: PC/SC's own answer to that.
                Request::End(_) => self.reply(Err(::pcsc::Error::NotTransacted)),
                Request::Disconnect(disposition) => {
                    let outcome = disconnect(card, disposition);
                    return self.reply(outcome);
                }
                Request::Begin => {
                    let mut txn = match card.transaction() {
                        Ok(txn) => txn,
                        Err(e) => {
                            self.reply(Err(e));
                            continue;
                        }
                    };
                    self.reply(Ok(Reply::Done));
                    match self.serve_transaction(&mut txn) {
                        TransactionExit::End(disposition) => {
                            let outcome = txn
                                .end(disposition.into())
                                .map(|()| Reply::Done)
                                // Dropping the returned transaction ends it (leaving).
                                .map_err(|(_, e)| e);
                            self.reply(outcome);
                        }
                        TransactionExit::Disconnect(disposition) => {
                            drop(txn);
                            let outcome = disconnect(card, disposition);
                            return self.reply(outcome);
                        }
                        TransactionExit::Closed => {
                            drop(txn);
                            return leave(card);
                        }
                    }
                }
            }
        }
    }

    fn serve_transaction(&mut self, txn: &mut ::pcsc::Transaction<'_>) -> TransactionExit {
        loop {
            let Ok(request) = self.requests.recv() else {
                return TransactionExit::Closed;
            };
            match request {
                Request::Transmit(command) => {
                    let outcome = transmit(txn, &command, &mut self.buffer);
                    self.reply(outcome);
                }
                Request::Reconnect(disposition) => {
                    let outcome = txn
                        .reconnect(ShareMode::Shared, protocols(), disposition.into())
                        .and_then(|()| session(txn))
                        .map(Reply::Session);
                    self.reply(outcome);
                }
                // Cannot happen: the transaction guard borrows the transport mutably.
                Request::Begin => self.reply(Err(::pcsc::Error::InvalidValue)),
                Request::End(disposition) => return TransactionExit::End(disposition),
                Request::Disconnect(disposition) => {
                    return TransactionExit::Disconnect(disposition);
                }
            }
        }
    }
}

fn transmit(card: &Card, command: &[u8], buffer: &mut [u8]) -> Outcome {
    card.transmit(command, buffer)
        .map(|response| Reply::Data(response.to_vec()))
}

fn session(card: &Card) -> Result<Session, ::pcsc::Error> {
    let status = card.status2_owned()?;
    let protocol = match status.protocol2() {
        Some(::pcsc::Protocol::T0) => Protocol::T0,
        Some(::pcsc::Protocol::T1) => Protocol::T1,
        // Only T=0 or T=1 was asked for.
        _ => return Err(::pcsc::Error::ProtoMismatch),
    };
    Ok(Session {
        atr: status.atr().to_vec(),
        protocol,
    })
}

fn disconnect(card: HeldCard, disposition: Disposition) -> Outcome {
    match ManuallyDrop::into_inner(card).disconnect(disposition.into()) {
        Ok(()) => Ok(Reply::Done),
        Err((card, e)) => {
            leave(ManuallyDrop::new(card));
            Err(e)
        }
    }
}

/// Disconnects leaving the card; never lets `pcsc::Card`'s drop reset it. If even
/// that fails (the service is gone) the handle is forgotten: a leak until the process
/// exits is better than a reset that logs every other application out of the card.
fn leave(card: HeldCard) {
    if let Err((card, _)) =
        ManuallyDrop::into_inner(card).disconnect(::pcsc::Disposition::LeaveCard)
    {
        std::mem::forget(card);
    }
}
