//! What can go wrong while finding a reader and opening a session with its card.

use std::fmt;
use std::time::Duration;

use cps_apdu::TransportError;

/// How to start the PC/SC service, per platform: the one thing a user can do about
/// `SCARD_E_NO_SERVICE`.
#[cfg(target_os = "windows")]
const NO_SERVICE_REMEDY: &str = "start the \"Smart Card\" service (SCardSvr), for example with \
     `sc start SCardSvr` as an administrator";
#[cfg(target_os = "macos")]
const NO_SERVICE_REMEDY: &str =
    "macOS starts its smart card service on demand: plug in a reader and try again";
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
const NO_SERVICE_REMEDY: &str = "start pcscd (`sudo systemctl start pcscd.socket`, or run \
     `pcscd` as root); if it is missing, install it (Debian and Ubuntu: package `pcscd`)";

/// Errors of the PC/SC layer outside a card session: reaching the service, listing
/// and choosing readers, connecting to a card.
///
/// Once connected, [`PcscTransport`](super::PcscTransport) reports through
/// [`TransportError`], the error type card logic sees for every transport; a
/// `PcscError` converts into one when it has to travel that way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcscError {
    /// The PC/SC service (pcscd, SCardSvr) is not running: `SCARD_E_NO_SERVICE`.
    #[error(
        "the PC/SC service is not running (SCARD_E_NO_SERVICE 0x8010001D): {NO_SERVICE_REMEDY}"
    )]
    NoService,
    /// No reader is connected: `SCARD_E_NO_READERS_AVAILABLE`.
    #[error(
        "no smart card reader is connected (SCARD_E_NO_READERS_AVAILABLE 0x8010002E): plug one \
         in; if one is plugged in, check that the PC/SC service lists it (for example with \
         `pcsc_scan -r`)"
    )]
    NoReaders,
    /// No reader matches the selector.
    #[error("no {wanted}; readers present: {}", Indexed(available))]
    ReaderNotFound {
        /// The selector, in words.
        wanted: String,
        /// Every reader present, in PC/SC order (their position is their index).
        available: Vec<String>,
    },
    /// Several readers match the selector.
    #[error(
        "the {wanted} is ambiguous, candidates: {}; choose one by its index or by a longer part \
         of its name",
        Quoted(candidates)
    )]
    AmbiguousReader {
        /// The selector, in words.
        wanted: String,
        /// The readers that match.
        candidates: Vec<String>,
    },
    /// The reader is empty: `SCARD_E_NO_SMARTCARD`.
    #[error("there is no card in reader \"{reader}\": insert the card, chip first")]
    NoCard {
        /// The reader's name.
        reader: String,
    },
    /// A card is in the reader but does not answer to reset: `SCARD_W_UNRESPONSIVE_CARD`.
    #[error(
        "the card in reader \"{reader}\" does not answer (mute): check that it is inserted the \
         right way round, chip first, or try another reader"
    )]
    CardMute {
        /// The reader's name.
        reader: String,
    },
    /// Another application holds the card exclusively: `SCARD_E_SHARING_VIOLATION`.
    #[error(
        "another application holds the card in reader \"{reader}\" exclusively (sharing \
         violation): close the application or middleware using it, then try again"
    )]
    SharingViolation {
        /// The reader's name.
        reader: String,
    },
    /// The reader or the card did not answer in time.
    #[error(
        "reader \"{reader}\" did not answer within {after:?} while {operation}: remove and \
         reinsert the card, or unplug and replug the reader"
    )]
    Timeout {
        /// The reader's name.
        reader: String,
        /// What was being done, as a gerund phrase ("connecting to the card").
        operation: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// Connecting or beginning a transaction took longer than the timeout: both wait
    /// while another application holds the card in a transaction of its own.
    #[error(
        "the card in reader \"{reader}\" stayed busy for more than {after:?}: another \
         application is using it (or the reader hangs); try again once it is done"
    )]
    Busy {
        /// The reader's name.
        reader: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// An earlier call on this connection timed out or its worker stopped; the
    /// connection refuses further calls.
    #[error(
        "the connection to reader \"{reader}\" is unusable since an earlier call did not finish \
         within {after:?}: connect again (remove and reinsert the card if it stays mute)"
    )]
    Unusable {
        /// The reader's name.
        reader: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The thread owning the card handle stopped (it panicked).
    #[error("the thread talking to reader \"{reader}\" stopped unexpectedly: connect again")]
    WorkerStopped {
        /// The reader's name.
        reader: String,
    },
    /// The thread owning the card handle could not be started.
    #[error("could not start the thread that talks to the reader")]
    Spawn(#[source] std::io::Error),
    /// Any other PC/SC failure, with what was being done.
    #[error("{context} failed (PC/SC error {:#010X})", *source as u32)]
    Pcsc {
        /// What was being done, as a noun phrase ("listing the readers").
        context: String,
        /// The PC/SC error.
        #[source]
        source: ::pcsc::Error,
    },
}

impl PcscError {
    /// Classifies a PC/SC error that is not specific to one reader.
    pub(crate) fn from_pcsc(context: impl Into<String>, source: ::pcsc::Error) -> Self {
        match source {
            ::pcsc::Error::NoService | ::pcsc::Error::ServiceStopped => PcscError::NoService,
            ::pcsc::Error::NoReadersAvailable => PcscError::NoReaders,
            source => PcscError::Pcsc {
                context: context.into(),
                source,
            },
        }
    }

    /// Classifies a PC/SC error met while connecting to the card in `reader`.
    pub(crate) fn from_connect(reader: &str, source: ::pcsc::Error) -> Self {
        let reader = reader.to_owned();
        match source {
            ::pcsc::Error::NoSmartcard | ::pcsc::Error::RemovedCard => PcscError::NoCard { reader },
            ::pcsc::Error::UnresponsiveCard => PcscError::CardMute { reader },
            ::pcsc::Error::SharingViolation => PcscError::SharingViolation { reader },
            source => PcscError::from_pcsc(format!("connecting to reader \"{reader}\""), source),
        }
    }
}

impl From<PcscError> for TransportError {
    /// Keeps the kinds card logic tells apart; the rest travels as
    /// [`TransportError::Other`] with the `PcscError` as its source.
    fn from(error: PcscError) -> Self {
        match error {
            PcscError::NoCard { .. } => TransportError::NoCard,
            PcscError::SharingViolation { .. } => TransportError::SharingViolation,
            PcscError::Timeout { after, .. } => TransportError::Timeout(after),
            other => TransportError::other(other.to_string(), other),
        }
    }
}

/// `0 "A", 1 "B"`, or `none`.
struct Indexed<'a>(&'a [String]);

impl fmt::Display for Indexed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{i} \"{name}\"")?;
        }
        Ok(())
    }
}

/// `"A", "B"`.
struct Quoted<'a>(&'a [String]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "\"{name}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn messages_say_what_to_do() {
        let e = PcscError::NoService;
        assert!(e.to_string().contains("0x8010001D"), "{e}");
        let e = PcscError::ReaderNotFound {
            wanted: "reader 3".into(),
            available: vec!["A".into(), "B".into()],
        };
        assert_eq!(
            e.to_string(),
            r#"no reader 3; readers present: 0 "A", 1 "B""#
        );
        let e = PcscError::ReaderNotFound {
            wanted: "reader 0".into(),
            available: vec![],
        };
        assert!(e.to_string().ends_with("readers present: none"), "{e}");
        let e = PcscError::AmbiguousReader {
            wanted: r#"reader matching "pcd""#.into(),
            candidates: vec!["A".into(), "B".into()],
        };
        assert!(
            e.to_string().contains(r#"candidates: "A", "B"; choose"#),
            "{e}"
        );
    }

    #[test]
    fn pcsc_errors_keep_their_source_and_code() {
        let e = PcscError::from_pcsc("listing the readers", ::pcsc::Error::CommError);
        assert_eq!(
            e.to_string(),
            "listing the readers failed (PC/SC error 0x80100013)"
        );
        assert!(e.source().is_some());
        assert!(matches!(
            PcscError::from_pcsc("x", ::pcsc::Error::NoService),
            PcscError::NoService
        ));
        assert!(matches!(
            PcscError::from_connect("R", ::pcsc::Error::NoSmartcard),
            PcscError::NoCard { reader } if reader == "R"
        ));
        assert!(matches!(
            PcscError::from_connect("R", ::pcsc::Error::UnresponsiveCard),
            PcscError::CardMute { .. }
        ));
    }

    #[test]
    fn converts_to_transport_error() {
        let t: TransportError = PcscError::NoCard { reader: "R".into() }.into();
        assert!(matches!(t, TransportError::NoCard));
        let t: TransportError = PcscError::NoService.into();
        assert!(matches!(t, TransportError::Other { .. }));
        assert!(t.source().is_some());
    }
}
