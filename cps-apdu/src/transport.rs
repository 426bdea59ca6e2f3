//! The transport contract between card logic and whatever carries the bytes.
//!
//! `cps-card` drives a card through a [`Transport`]; `cps-sim` is a card behind one;
//! the PC/SC reader is another. The trait only moves raw APDUs: GET RESPONSE, `6C xx`
//! resends, chaining and logical channels belong to the layer above, so that
//! transports stay dumb and recorded transcripts stay faithful.

use std::error::Error as StdError;
use std::time::Duration;

/// What can go wrong while carrying an APDU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card left the reader (or the virtual card disconnected).
    #[error("the card was removed from the reader")]
    CardRemoved,
    /// There is no card in the reader.
    #[error("there is no card in the reader")]
    NoCard,
    /// Another application reset the card: its state (verified PIN, selected files) is gone.
    #[error("the card was reset by another application; start the operation again")]
    CardReset,
    /// Another application holds the card exclusively.
    #[error("another application is using the card exclusively (sharing violation)")]
    SharingViolation,
    /// The card did not answer in time.
    #[error("the card did not answer within {0:?}")]
    Timeout(Duration),
    /// The card answered something that is not a response APDU.
    #[error("the card answered {len} bytes, not a response APDU")]
    InvalidResponse {
        /// Bytes received.
        len: usize,
    },
    /// Anything else the transport reports, with its cause.
    #[error("{context}")]
    Other {
        /// What the transport was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}

impl TransportError {
    /// Wraps a transport-specific error with a sentence saying what was being done.
    pub fn other(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        TransportError::Other {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Sends command APDUs to a card and returns its raw answers.
///
/// Object safe: card logic holds a `Box<dyn Transport>` or `&mut dyn Transport`.
pub trait Transport {
    /// Sends one command APDU, exactly as given, and returns the card's response
    /// bytes (data followed by SW1 SW2), exactly as received.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// The card's answer to reset, as the reader reported it.
    fn atr(&self) -> &[u8];
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn atr(&self) -> &[u8] {
        (**self).atr()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn atr(&self) -> &[u8] {
        (**self).atr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(Vec<u8>);

    impl Transport for Echo {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let mut out = command.to_vec();
            out.extend_from_slice(&[0x90, 0x00]);
            Ok(out)
        }
        fn atr(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn object_safe_and_forwarding() {
        let mut boxed: Box<dyn Transport> = Box::new(Echo(vec![0x3B, 0x00]));
        assert_eq!(boxed.transmit(&[1, 2]).unwrap(), [1, 2, 0x90, 0x00]);
        let by_ref: &mut dyn Transport = &mut boxed;
        assert_eq!(by_ref.atr(), [0x3B, 0x00]);
    }

    #[test]
    fn other_keeps_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer reset");
        let e = TransportError::other("sending to the virtual card", io);
        assert_eq!(e.to_string(), "sending to the virtual card");
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("peer reset")
        );
    }
}
