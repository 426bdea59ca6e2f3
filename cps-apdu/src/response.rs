//! Response APDUs: a data field followed by the status word SW1 SW2.

use std::fmt;

use crate::command::spaced_hex;
use crate::status::StatusWord;

/// Why bytes are not a response APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Fewer than the two status bytes.
    #[error("response APDU too short: {len} bytes, the status word needs 2")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
}

/// A response APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The data field (often empty).
    pub data: Vec<u8>,
    /// The status word.
    pub sw: StatusWord,
}

impl Response {
    /// A response with data and a status word.
    pub fn new(data: impl Into<Vec<u8>>, sw: impl Into<StatusWord>) -> Self {
        Response {
            data: data.into(),
            sw: sw.into(),
        }
    }

    /// A data-less response carrying only a status word.
    pub fn status(sw: impl Into<StatusWord>) -> Self {
        Response::new(Vec::new(), sw)
    }

    /// Splits raw response bytes into data and status word.
    pub fn decode(bytes: &[u8]) -> Result<Response, ResponseError> {
        match bytes.split_last_chunk::<2>() {
            Some((data, &[sw1, sw2])) => Ok(Response::new(data, StatusWord::new(sw1, sw2))),
            None => Err(ResponseError::TooShort { len: bytes.len() }),
        }
    }

    /// The raw bytes: data then SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// `true` when the status word is `90 00`.
    pub fn is_success(&self) -> bool {
        self.sw.is_success()
    }
}

/// `<data hex> <SW> (<meaning>)`.
impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.data.is_empty() {
            write!(f, "{} ", spaced_hex(&self.data))?;
        }
        write!(f, "{}", self.sw)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data", &format_args!("{}", spaced_hex(&self.data)))
            .field("sw", &format_args!("{:04X}", self.sw.to_u16()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_data_and_status() {
        let r = Response::decode(&[0x5A, 0x0A, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, [0x5A, 0x0A]);
        assert!(r.is_success());
        let r = Response::decode(&[0x61, 0x27]).unwrap();
        assert_eq!(r.sw.bytes_available(), Some(0x27));
        assert!(r.data.is_empty());
        assert_eq!(
            r.to_string(),
            "61 27 (39 response bytes available (GET RESPONSE))"
        );
        assert_eq!(
            Response::decode(&[0x90]),
            Err(ResponseError::TooShort { len: 1 })
        );
        assert_eq!(
            Response::decode(&[]),
            Err(ResponseError::TooShort { len: 0 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            match Response::decode(&bytes) {
                Ok(r) => prop_assert_eq!(r.to_bytes(), bytes),
                Err(e) => prop_assert!(bytes.len() < 2, "{e}"),
            }
        }
    }
}
