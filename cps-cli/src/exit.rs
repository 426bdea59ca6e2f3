//! Exit codes (documented in `cps --help` and the README) and the remedies that go
//! with errors.

use cps_apdu::TransportError;
use cps_card::CardError;
use cps_card::pcsc::PcscError;
use cps_card::secret::SecretError;
use cps_diag::Remedy;

/// Success.
pub const OK: u8 = 0;
/// Anything not listed below.
pub const ERROR: u8 = 1;
/// A wrong PIN or unblock code (tries remain).
pub const WRONG_CODE: u8 = 3;
/// Refused to protect the card: blocked, used up, or last try not allowed.
pub const REFUSED: u8 = 4;
/// The PC/SC service is not running.
pub const NO_SERVICE: u8 = 5;
/// No reader, or the reader asked for is missing or ambiguous.
pub const NO_READER: u8 = 6;
/// No card, card removed, reset, mute or busy.
pub const NO_CARD: u8 = 7;
/// Not a CPS card.
pub const NOT_CPS: u8 = 8;

fn transport_code(e: &TransportError) -> u8 {
    match e {
        TransportError::CardRemoved
        | TransportError::NoCard
        | TransportError::CardReset
        | TransportError::SharingViolation
        | TransportError::Timeout(_) => NO_CARD,
        // Another application kept the card busy: as a sharing violation.
        TransportError::Other { source, .. }
            if matches!(
                source.downcast_ref::<PcscError>(),
                Some(PcscError::Busy { .. })
            ) =>
        {
            NO_CARD
        }
        _ => ERROR,
    }
}

/// The exit code for an error: the first cause in the chain that says something.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<CardError>() {
            return match e {
                CardError::NotACps { .. } | CardError::Cps2ter => NOT_CPS,
                CardError::PinBlocked | CardError::PukExhausted | CardError::LastTry { .. } => {
                    REFUSED
                }
                CardError::Transport(t) => transport_code(t),
                CardError::Secret(_) | CardError::SecretFormat { .. } => 2,
                _ => ERROR,
            };
        }
        if let Some(e) = cause.downcast_ref::<PcscError>() {
            return match e {
                PcscError::NoService => NO_SERVICE,
                PcscError::NoReaders
                | PcscError::ReaderNotFound { .. }
                | PcscError::AmbiguousReader { .. } => NO_READER,
                PcscError::NoCard { .. }
                | PcscError::CardMute { .. }
                | PcscError::SharingViolation { .. }
                | PcscError::Busy { .. }
                | PcscError::Timeout { .. } => NO_CARD,
                _ => ERROR,
            };
        }
        if let Some(e) = cause.downcast_ref::<TransportError>() {
            return transport_code(e);
        }
        if cause.downcast_ref::<SecretError>().is_some() {
            return 2;
        }
    }
    ERROR
}

/// The holder's remedy for an error, when the help page has one.
pub fn remedy_for(error: &anyhow::Error) -> Option<Remedy> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<CardError>()? {
            CardError::PinBlocked => Some(Remedy::PinBlocked),
            CardError::PukExhausted => Some(Remedy::CardToReplace),
            CardError::LastTry { what } if what.starts_with("PIN") => Some(Remedy::PinFinalTry),
            _ => None,
        })
}
