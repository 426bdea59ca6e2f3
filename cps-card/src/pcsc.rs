//! The PC/SC transport: readers, card sessions and reader events through pcsc-lite
//! (Linux, macOS) or WinSCard (Windows).
//!
//! - [`PcscContext`] reaches the PC/SC service, lists readers ([`ReaderInfo`]), picks
//!   one ([`ReaderSelector`]), waits for a card ([`PcscContext::wait_for`]) and
//!   watches readers come and go ([`Watcher`]).
//! - [`PcscTransport`] is a session with one card, implementing
//!   [`cps_apdu::Transport`]: raw APDUs only, every call under a timeout, transactions
//!   ([`PcscTransport::begin_transaction`]) and an explicit disconnect disposition
//!   (dropping it leaves the card, never resets it).
//!
//! ```no_run
//! use cps_apdu::Transport;
//! use cps_card::pcsc::{ConnectOptions, Disposition, PcscContext, PcscTransport, ReaderSelector};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = PcscContext::establish()?;
//! let reader = ctx.select_reader(&ReaderSelector::parse("0"))?;
//! let mut card = PcscTransport::connect(&ctx, &reader.name, ConnectOptions::default())?;
//! let mut txn = card.begin_transaction()?;
//! let response = txn.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x00])?;
//! txn.end()?;
//! println!("{} → {}", card.protocol(), hex::encode_upper(response));
//! card.disconnect(Disposition::Leave)?; // read-only work: leave the card as it is
//! # Ok(())
//! # }
//! ```

use std::ffi::CString;
use std::fmt;
use std::time::{Duration, Instant};

use ::pcsc::{Context, ReaderState, Scope, State};

mod error;
mod select;
mod transport;
mod watch;

pub use error::PcscError;
pub use select::{AtrPredicate, ReaderInfo, ReaderSelector};
pub use transport::{
    ConnectOptions, DEFAULT_TIMEOUT, Disposition, PcscTransaction, PcscTransport, Protocol,
};
pub use watch::{ReaderEvent, WatchCanceller, Watcher};

/// A connection to the PC/SC service (`SCardEstablishContext`).
///
/// Cheap to clone, but clones share one PC/SC context, and pcsc-lite serialises the
/// calls on a context: a thread blocked in [`wait_for`](Self::wait_for) holds up the
/// others. Card sessions and watchers open contexts of their own for that reason.
#[derive(Clone)]
pub struct PcscContext {
    ctx: Context,
}

/// A card event to wait for in one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The reader holds a card (mute or not): already true if it holds one now.
    Inserted,
    /// The reader is empty (or gone): already true if it is empty now.
    Removed,
}

impl PcscContext {
    /// Connects to the PC/SC service.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] (saying how to start pcscd or the Smart Card service)
    /// when it is not running, [`PcscError::Pcsc`] otherwise.
    pub fn establish() -> Result<PcscContext, PcscError> {
        Context::establish(Scope::User)
            .map(|ctx| PcscContext { ctx })
            .map_err(|e| PcscError::from_pcsc("connecting to the PC/SC service", e))
    }

    /// The underlying `pcsc` context, for what this module does not cover.
    pub fn as_pcsc(&self) -> &Context {
        &self.ctx
    }

    /// The names of the readers present, in PC/SC order; empty without readers.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] or [`PcscError::Pcsc`].
    pub fn reader_names(&self) -> Result<Vec<String>, PcscError> {
        let names = self
            .ctx
            .list_readers_owned()
            .map_err(|e| PcscError::from_pcsc("listing the readers", e))?;
        Ok(names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    /// Every reader with its card state and ATR, from one `SCardGetStatusChange` with
    /// a zero timeout (nothing reaches the cards). No reader gives an empty list: the
    /// caller decides whether that is an error.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] or [`PcscError::Pcsc`].
    pub fn list_readers(&self) -> Result<Vec<ReaderInfo>, PcscError> {
        // A reader unplugged between listing and querying makes the query fail with
        // SCARD_E_UNKNOWN_READER: list again.
        let mut attempts = 3;
        loop {
            let names = self
                .ctx
                .list_readers_owned()
                .map_err(|e| PcscError::from_pcsc("listing the readers", e))?;
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let mut states: Vec<ReaderState> = names
                .into_iter()
                .map(|name| ReaderState::new(name, State::UNAWARE))
                .collect();
            match self.ctx.get_status_change(Duration::ZERO, &mut states) {
                // UNAWARE makes every reader "changed", so this answers at once.
                Ok(()) | Err(::pcsc::Error::Timeout) => {
                    return Ok(states
                        .iter()
                        .enumerate()
                        .map(|(index, state)| ReaderInfo::from_state(index, state))
                        .collect());
                }
                Err(::pcsc::Error::UnknownReader) if attempts > 1 => attempts -= 1,
                Err(e) => return Err(PcscError::from_pcsc("reading the readers' state", e)),
            }
        }
    }

    /// Lists the readers and picks the one `selector` means.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoReaders`], [`PcscError::ReaderNotFound`],
    /// [`PcscError::AmbiguousReader`], or the errors of
    /// [`list_readers`](Self::list_readers).
    pub fn select_reader(&self, selector: &ReaderSelector) -> Result<ReaderInfo, PcscError> {
        let readers = self.list_readers()?;
        selector.resolve(&readers).cloned()
    }

    /// Connects to the card in `reader`: [`PcscTransport::connect`].
    ///
    /// # Errors
    ///
    /// As [`PcscTransport::connect`].
    pub fn connect(
        &self,
        reader: &str,
        options: ConnectOptions,
    ) -> Result<PcscTransport, PcscError> {
        PcscTransport::connect(self, reader, options)
    }

    /// Waits until `reader` holds a card ([`Event::Inserted`]) or is empty
    /// ([`Event::Removed`]), for at most `timeout`. Returns at once when the reader
    /// already is in that state; `Ok(false)` when the time ran out.
    ///
    /// A reader that disappears counts as [`Event::Removed`] and makes waiting for
    /// [`Event::Inserted`] fail with [`PcscError::ReaderNotFound`].
    ///
    /// # Errors
    ///
    /// [`PcscError::ReaderNotFound`], [`PcscError::NoService`] or [`PcscError::Pcsc`].
    pub fn wait_for(
        &self,
        reader: &str,
        event: Event,
        timeout: Duration,
    ) -> Result<bool, PcscError> {
        let gone = || PcscError::ReaderNotFound {
            wanted: format!("reader \"{reader}\""),
            available: self.reader_names().unwrap_or_default(),
        };
        let name = CString::new(reader).map_err(|_| gone())?;
        let deadline = Instant::now() + timeout;
        let mut states = [ReaderState::new(name, State::UNAWARE)];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut states) {
                Ok(()) => {}
                Err(::pcsc::Error::Timeout) => return Ok(false),
                Err(::pcsc::Error::UnknownReader) => {
                    return match event {
                        Event::Removed => Ok(true),
                        Event::Inserted => Err(gone()),
                    };
                }
                Err(e) => {
                    return Err(PcscError::from_pcsc(
                        format!("waiting for a card event in reader \"{reader}\""),
                        e,
                    ));
                }
            }
            let state = states[0].event_state();
            let reader_gone = state.contains(State::UNKNOWN);
            let present = state.contains(State::PRESENT) && !reader_gone;
            match event {
                Event::Inserted if reader_gone => return Err(gone()),
                Event::Inserted if present => return Ok(true),
                Event::Removed if !present && (reader_gone || state.contains(State::EMPTY)) => {
                    return Ok(true);
                }
                _ => {}
            }
            if left.is_zero() {
                return Ok(false);
            }
            states[0].sync_current_state();
        }
    }

    /// Starts watching readers and cards, for `cps watch`: see [`Watcher`].
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] or [`PcscError::Pcsc`].
    pub fn watch(&self) -> Result<Watcher, PcscError> {
        Watcher::new()
    }
}

impl fmt::Debug for PcscContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscContext").finish_non_exhaustive()
    }
}
