//! Reader and card events, for `cps watch`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::pcsc::{Context, PNP_NOTIFICATION, ReaderState, Scope, State};

use super::PcscError;

/// The longest single wait: bounds how late a cancellation seen between two waits is
/// honoured, and how often readers are listed again where the PnP pseudo-reader is
/// not supported.
const POLL: Duration = Duration::from_secs(1);

/// Something that happened to a reader or its card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderEvent {
    /// A reader appeared (or was present when watching started).
    ReaderAdded {
        /// The reader's name.
        reader: String,
    },
    /// A reader disappeared.
    ReaderRemoved {
        /// The reader's name.
        reader: String,
    },
    /// A card was inserted (or was present when watching started) and answered.
    CardInserted {
        /// The reader's name.
        reader: String,
        /// The card's answer to reset.
        atr: Vec<u8>,
    },
    /// A card was inserted but does not answer (upside down, dirty, not a smart card).
    CardMute {
        /// The reader's name.
        reader: String,
    },
    /// The card left the reader.
    CardRemoved {
        /// The reader's name.
        reader: String,
    },
}

impl ReaderEvent {
    /// The reader the event is about.
    pub fn reader(&self) -> &str {
        match self {
            ReaderEvent::ReaderAdded { reader }
            | ReaderEvent::ReaderRemoved { reader }
            | ReaderEvent::CardInserted { reader, .. }
            | ReaderEvent::CardMute { reader }
            | ReaderEvent::CardRemoved { reader } => reader,
        }
    }
}

impl fmt::Display for ReaderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReaderEvent::ReaderAdded { reader } => write!(f, "reader added: {reader}"),
            ReaderEvent::ReaderRemoved { reader } => write!(f, "reader removed: {reader}"),
            ReaderEvent::CardInserted { reader, atr } => {
                write!(
                    f,
                    "card inserted in {reader}: ATR {}",
                    hex::encode_upper(atr)
                )
            }
            ReaderEvent::CardMute { reader } => write!(f, "mute card in {reader}"),
            ReaderEvent::CardRemoved { reader } => write!(f, "card removed from {reader}"),
        }
    }
}

/// What the watcher last saw in one reader.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Empty,
    Mute,
    Card(Vec<u8>),
}

/// Reports readers appearing and disappearing and cards coming and going, with
/// `SCardGetStatusChange` over every reader plus the `\\?PnP?\Notification`
/// pseudo-reader (where the platform does not support it, readers are listed again
/// every second).
///
/// The first events describe what is present when watching starts: a
/// [`ReaderEvent::ReaderAdded`] per reader, a [`ReaderEvent::CardInserted`] (or
/// [`ReaderEvent::CardMute`]) per card. The watcher has its own PC/SC context, so its
/// waiting never blocks other users of a [`PcscContext`](super::PcscContext).
///
/// As an [`Iterator`] it waits without a time limit and ends after a
/// [`WatchCanceller::cancel`] or after yielding an error.
pub struct Watcher {
    ctx: Context,
    /// The readers, then the PnP pseudo-reader when `pnp`.
    states: Vec<ReaderState>,
    /// Per reader (same order as `states`): what was seen and the event counter.
    seen: Vec<(Seen, Option<u32>)>,
    pnp: bool,
    pending: VecDeque<ReaderEvent>,
    cancelled: Arc<AtomicBool>,
    finished: bool,
}

/// Stops a [`Watcher`] from another thread (a Ctrl-C handler, say).
#[derive(Clone)]
pub struct WatchCanceller {
    ctx: Context,
    cancelled: Arc<AtomicBool>,
}

impl WatchCanceller {
    /// Makes the watcher's current or next wait return: `next_event` gives
    /// `Ok(None)` and the iterator ends.
    ///
    /// # Errors
    ///
    /// The PC/SC failure of `SCardCancel`.
    pub fn cancel(&self) -> Result<(), PcscError> {
        self.cancelled.store(true, Ordering::SeqCst);
        self.ctx
            .cancel()
            .map_err(|e| PcscError::from_pcsc("cancelling the reader watch", e))
    }
}

impl fmt::Debug for WatchCanceller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchCanceller").finish_non_exhaustive()
    }
}

impl Watcher {
    /// Starts watching with a PC/SC context of its own.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] or [`PcscError::Pcsc`].
    pub fn new() -> Result<Watcher, PcscError> {
        let ctx = Context::establish(Scope::User)
            .map_err(|e| PcscError::from_pcsc("connecting to the PC/SC service", e))?;
        let mut watcher = Watcher {
            ctx,
            states: vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)],
            seen: Vec::new(),
            pnp: true,
            pending: VecDeque::new(),
            cancelled: Arc::new(AtomicBool::new(false)),
            finished: false,
        };
        watcher.relist()?;
        Ok(watcher)
    }

    /// A handle that stops this watcher from another thread.
    pub fn canceller(&self) -> WatchCanceller {
        WatchCanceller {
            ctx: self.ctx.clone(),
            cancelled: Arc::clone(&self.cancelled),
        }
    }

    /// The next event, waiting at most `timeout` (`None`: no limit). `Ok(None)` when
    /// the time ran out or the watch was cancelled.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] when the service stops, or [`PcscError::Pcsc`].
    pub fn next_event(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<ReaderEvent>, PcscError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.cancelled.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let wait = left.map_or(POLL, |left| left.min(POLL));
            if self.states.is_empty() {
                // Nothing to wait on (no reader, no PnP support): poll the list.
                std::thread::sleep(wait);
                self.relist()?;
            } else {
                match self.ctx.get_status_change(wait, &mut self.states) {
                    Ok(()) => self.absorb()?,
                    Err(::pcsc::Error::Timeout) if !self.pnp => self.relist()?,
                    Err(::pcsc::Error::Timeout) => {}
                    // A reader vanished before the call: list again.
                    Err(::pcsc::Error::UnknownReader) => self.relist()?,
                    Err(::pcsc::Error::Cancelled) => return Ok(None),
                    Err(e) => return Err(PcscError::from_pcsc("watching the readers", e)),
                }
            }
            if self.pending.is_empty() && left.is_some_and(|left| left.is_zero()) {
                return Ok(None);
            }
        }
    }

    fn readers(&self) -> usize {
        self.states.len() - usize::from(self.pnp)
    }

    /// Turns the state changes of the last wait into events.
    fn absorb(&mut self) -> Result<(), PcscError> {
        let mut relist = false;
        if self.pnp {
            let n = self.readers();
            let pnp = &mut self.states[n];
            let state = pnp.event_state();
            if state.contains(State::UNKNOWN) {
                // The platform does not know the pseudo-reader: poll instead.
                self.states.truncate(n);
                self.pnp = false;
                relist = true;
            } else {
                relist |= state.contains(State::CHANGED);
                pnp.sync_current_state();
            }
        }
        for i in 0..self.readers() {
            let st = &mut self.states[i];
            let state = st.event_state();
            if !state.contains(State::CHANGED) {
                continue;
            }
            let count = st.event_count();
            let now = if state.contains(State::UNKNOWN) {
                // The reader is gone: `relist` reports it.
                relist = true;
                st.sync_current_state();
                continue;
            } else if !state.contains(State::PRESENT) {
                Seen::Empty
            } else if state.contains(State::MUTE) {
                Seen::Mute
            } else {
                Seen::Card(st.atr().to_vec())
            };
            st.sync_current_state();
            let reader = st.name().to_string_lossy().into_owned();
            let (was, was_count) = &self.seen[i];
            // Both present but a different card, or the counter says a card went
            // and came between two waits.
            let swapped = *was != Seen::Empty
                && now != Seen::Empty
                && (*was != now || was_count.is_some_and(|c| c != count));
            if (*was != Seen::Empty && now == Seen::Empty) || swapped {
                self.pending.push_back(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            if *was == Seen::Empty || swapped {
                match &now {
                    Seen::Empty => {}
                    Seen::Mute => self.pending.push_back(ReaderEvent::CardMute { reader }),
                    Seen::Card(atr) => self.pending.push_back(ReaderEvent::CardInserted {
                        reader,
                        atr: atr.clone(),
                    }),
                }
            }
            self.seen[i] = (now, Some(count));
        }
        if relist {
            self.relist()?;
        }
        Ok(())
    }

    /// Lists the readers again: reports those gone and adds those new (their card,
    /// if any, is reported by the next wait, which sees them as changed).
    fn relist(&mut self) -> Result<(), PcscError> {
        let names = self
            .ctx
            .list_readers_owned()
            .map_err(|e| PcscError::from_pcsc("listing the readers", e))?;
        let mut i = 0;
        while i < self.readers() {
            let state = &self.states[i];
            let reader_gone = !names.iter().any(|n| n.as_c_str() == state.name())
                || state.event_state().contains(State::UNKNOWN);
            if reader_gone {
                let reader = state.name().to_string_lossy().into_owned();
                if self.seen[i].0 != Seen::Empty {
                    self.pending.push_back(ReaderEvent::CardRemoved {
                        reader: reader.clone(),
                    });
                }
                self.pending
                    .push_back(ReaderEvent::ReaderRemoved { reader });
                self.states.remove(i);
                self.seen.remove(i);
            } else {
                i += 1;
            }
        }
        for name in names {
            let n = self.readers();
            if self.states[..n].iter().any(|s| s.name() == name.as_c_str()) {
                continue;
            }
            let reader = name.to_string_lossy().into_owned();
            self.states
                .insert(n, ReaderState::new(name, State::UNAWARE));
            self.seen.push((Seen::Empty, None));
            self.pending.push_back(ReaderEvent::ReaderAdded { reader });
        }
        Ok(())
    }
}

impl Iterator for Watcher {
    type Item = Result<ReaderEvent, PcscError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_event(None) {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let readers: Vec<_> = self.states[..self.readers()]
            .iter()
            .map(|s| s.name().to_string_lossy().into_owned())
            .collect();
        f.debug_struct("Watcher")
            .field("readers", &readers)
            .field("pnp", &self.pnp)
            .finish_non_exhaustive()
    }
}
