//! The in-process transport: a [`CardSide`] behind `cps_apdu::Transport`, no pcscd, no
//! sockets. Bytes go to the card exactly as given and come back exactly as it answers
//! (`61 xx`, `6C xx` and chaining are the host's business, as with a real reader).

use std::time::Duration;

use cps_apdu::{Transport, TransportError};

use crate::card::{SimError, VirtualCard};
use crate::profile::Profile;
use crate::{CardSide, Reply};

/// How long a host would have waited for a mute card (reported in
/// [`TransportError::Timeout`]; nothing actually waits).
const MUTE_TIMEOUT: Duration = Duration::from_secs(5);

/// A card in a virtual reader, powered on at creation: any [`CardSide`], a boxed one by
/// default; [`SimTransport::from_profile`] gives one holding a [`VirtualCard`], whose
/// counters and certificates stay reachable through [`SimTransport::card`].
pub struct SimTransport<C: CardSide = Box<dyn CardSide>> {
    card: C,
    atr: Vec<u8>,
}

/// A boxed card is a card (so decorators and `Box<dyn CardSide>` plug in anywhere).
impl<C: CardSide + ?Sized> CardSide for Box<C> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn process(&mut self, command: &[u8]) -> Reply {
        (**self).process(command)
    }
}

impl<C: CardSide> std::fmt::Debug for SimTransport<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTransport")
            .field("atr", &hex::encode_upper(&self.atr))
            .finish_non_exhaustive()
    }
}

impl SimTransport<VirtualCard> {
    /// Builds a [`VirtualCard`] from `profile` and inserts it.
    pub fn from_profile(profile: &Profile) -> Result<SimTransport<VirtualCard>, SimError> {
        Ok(SimTransport::new(VirtualCard::new(profile)?))
    }
}

impl<C: CardSide> SimTransport<C> {
    /// Inserts `card` and powers it on.
    pub fn new(mut card: C) -> SimTransport<C> {
        card.power_on();
        let atr = card.atr();
        SimTransport { card, atr }
    }

    /// Warm reset: the card forgets its session (verified PIN, selections).
    pub fn reset(&mut self) {
        self.card.reset();
        self.atr = self.card.atr();
    }

    /// The card.
    pub fn card(&self) -> &C {
        &self.card
    }

    /// The card, to change it between commands (counters, faults).
    pub fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    /// Takes the card back out of the reader.
    pub fn into_card(self) -> C {
        self.card
    }
}

impl<C: CardSide> Transport for SimTransport<C> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.card.process(command) {
            Reply::Data(bytes) if bytes.len() >= 2 => Ok(bytes),
            Reply::Data(bytes) => Err(TransportError::InvalidResponse { len: bytes.len() }),
            Reply::Mute => Err(TransportError::Timeout(MUTE_TIMEOUT)),
            Reply::Removed => Err(TransportError::CardRemoved),
        }
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }
}
