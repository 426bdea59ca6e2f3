#![doc = include_str!("../README.md")]

pub mod card;
pub mod faults;
#[cfg(unix)]
mod flock;
#[doc(hidden)]
pub mod fuzzing;
pub mod hostile;
pub mod pki;
pub mod profile;
pub mod state;
pub mod transport;
pub mod vpcd;

/// What a virtual card does with one command: answer it, stay silent (a mute card),
/// or leave the reader (removal in the middle of an operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The response APDU: data then SW1 SW2 (never empty).
    Data(Vec<u8>),
    /// No answer at all: the host waits until its own timeout.
    Mute,
    /// The card is pulled out instead of answering.
    Removed,
}

/// The card side of the protocol, as a reader sees it: power, reset, ATR and one
/// command at a time. Implemented by [`card::VirtualCard`]; driven by the vpcd client
/// ([`vpcd`]) and by the in-process transport.
pub trait CardSide: Send {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// Contacts powered: the card starts a fresh session.
    fn power_on(&mut self);
    /// Contacts unpowered: volatile state (verified PIN, selections) is lost.
    fn power_off(&mut self);
    /// Warm reset: same as a power cycle for the session state.
    fn reset(&mut self);
    /// Processes one command APDU exactly as the host sent it.
    fn process(&mut self, command: &[u8]) -> Reply;
}
