//! The errors of the card model.

use cps_apdu::{CommandError, StatusWord, TransportError};

use crate::identify::CardKind;

/// What went wrong talking to a CPS card. Expected outcomes of a PIN operation (a
/// wrong PIN, a blocked PIN) are values of [`crate::VerifyOutcome`], not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The reader or the transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A command could not be encoded (a bug or an impossible request).
    #[error("cannot encode the command")]
    Command(#[from] CommandError),
    /// The card answered bytes that are not a response APDU.
    #[error("the card answered {len} bytes, not a response APDU")]
    InvalidResponse {
        /// Bytes received.
        len: usize,
    },
    /// The card kept announcing more data than any CPS file holds.
    #[error("the card's answer exceeds {limit} bytes: the card is not behaving as a CPS")]
    ResponseTooLong {
        /// The limit.
        limit: usize,
    },
    /// The card kept announcing more data (`61 xx`) over more GET RESPONSE rounds than
    /// any CPS answer needs.
    #[error(
        "the card kept announcing more data for {rounds} GET RESPONSE rounds: the card is not \
         behaving as a CPS"
    )]
    EndlessResponse {
        /// Rounds sent.
        rounds: usize,
    },
    /// The card refused a step of an operation.
    #[error("{operation}: the card answered {sw}")]
    Status {
        /// What was being done.
        operation: &'static str,
        /// The card's status word.
        sw: StatusWord,
    },
    /// The card in the reader is not a CPS card.
    #[error("{}", not_a_cps(.kind))]
    NotACps {
        /// What it is instead.
        kind: CardKind,
    },
    /// A CPS2ter-era card: this generation is not supported.
    #[error(
        "this is a CPS2ter-era card (before 2011): it is no longer supported and must be replaced"
    )]
    Cps2ter,
    /// A structure read from the card is malformed.
    #[error("the card's {what} is malformed: {reason}")]
    Malformed {
        /// Which structure (EF.SN.ICC, ODF, AODF…).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The card lacks a structure every CPS has.
    #[error("the card has no {what}")]
    Missing {
        /// What is missing.
        what: &'static str,
    },
    /// A PIN or PUK was refused locally, before anything was sent.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// The PIN does not fit the format the card declares; nothing was sent.
    #[error("the {what} must have {min} to {max} digits on this card; nothing was sent")]
    SecretFormat {
        /// Which code.
        what: &'static str,
        /// Fewest digits.
        min: usize,
        /// Most digits.
        max: usize,
    },
    /// The last-try guard refused the operation; nothing was sent.
    #[error(
        "only one try is left on the {what}: a wrong code now would block it; nothing was sent \
         (opt in explicitly to use the last try)"
    )]
    LastTry {
        /// Which code.
        what: &'static str,
    },
    /// The PIN is blocked; nothing was sent.
    #[error(
        "the PIN (code porteur) is blocked: unblock it with the unblock code (code de déblocage)"
    )]
    PinBlocked,
    /// The unblock code is blocked or its usage is exhausted: the card cannot be unblocked.
    #[error(
        "the unblock code (code de déblocage) is blocked or used up: the card can no longer be \
         unblocked and must be replaced"
    )]
    PukExhausted,
    /// A certificate could not be parsed.
    #[error("the card's {which} certificate is unreadable")]
    Certificate {
        /// Which certificate.
        which: &'static str,
        /// Why.
        #[source]
        source: Box<crate::cert::CertError>,
    },
}

fn not_a_cps(kind: &CardKind) -> String {
    match kind {
        CardKind::Vitale => "this is a Carte Vitale (patient card), not a CPS: insert the \
                             health professional card in this reader"
            .to_owned(),
        _ => "the card in the reader is not a CPS card".to_owned(),
    }
}
