//! PINs and PUKs as types: validated at construction, zeroized on drop, and a
//! `Debug` that shows only the length.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Why a code typed by the holder cannot be a PIN or PUK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// A character other than a decimal digit.
    #[error("the {what} must contain digits only")]
    NotDigits {
        /// "code porteur (PIN)" or "code de déblocage (PUK)".
        what: &'static str,
    },
    /// Too short or too long.
    #[error("the {what} must have {min} to {max} digits, not {len}")]
    Length {
        /// Which code.
        what: &'static str,
        /// Digits given.
        len: usize,
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
    },
}

macro_rules! secret_type {
    ($name:ident, $what:literal, $min:expr, $max:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            /// Fewest digits a card may declare.
            pub const MIN_LEN: usize = $min;
            /// Most digits a card may declare.
            pub const MAX_LEN: usize = $max;

            /// Checks that `digits` is a plausible code: digits only, within the
            /// generic length limits. The card's own limits (from its AODF) are checked
            /// again before any APDU is sent.
            pub fn new(digits: impl Into<String>) -> Result<Self, SecretError> {
                let digits = Zeroizing::new(digits.into());
                let trimmed = digits.trim_end_matches(['\r', '\n']);
                if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SecretError::NotDigits { what: $what });
                }
                let len = trimmed.len();
                if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
                    return Err(SecretError::Length {
                        what: $what,
                        len,
                        min: Self::MIN_LEN,
                        max: Self::MAX_LEN,
                    });
                }
                Ok(Self(trimmed.to_owned()))
            }

            /// The digits, as ASCII bytes.
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }

            /// Number of digits.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Never true for a constructed value; present for API symmetry.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} digits)"), self.0.len())
            }
        }
    };
}

secret_type!(
    Pin,
    "code porteur (PIN)",
    4,
    8,
    "The holder's code porteur (PIN): 4 digits on CPS cards (the AODF may allow up to 8)."
);
secret_type!(
    Puk,
    "code de déblocage (PUK)",
    8,
    8,
    "The code de déblocage (PUK): 8 digits, printed on the letter with the PIN."
);

/// How a card stores a PIN block, as its AODF declares it (PKCS#15 pinAttributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinFormat {
    /// ASCII digits (`true`) or BCD (`false`).
    pub ascii: bool,
    /// Fewest digits accepted.
    pub min_len: usize,
    /// Most digits accepted.
    pub max_len: usize,
    /// Bytes the card compares (the block is padded to this length).
    pub stored_len: usize,
    /// The padding byte.
    pub pad: u8,
}

impl PinFormat {
    /// The CPS3 layout: ASCII digits padded with `FF` to 8 bytes.
    pub const CPS_PIN: PinFormat = PinFormat {
        ascii: true,
        min_len: 4,
        max_len: 8,
        stored_len: 8,
        pad: 0xFF,
    };

    /// Builds the block the card compares, in a zeroizing buffer; `None` when the
    /// digits don't fit this format (checked before anything is sent).
    pub fn block(&self, digits: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if !(self.min_len..=self.max_len).contains(&digits.len()) {
            return None;
        }
        let mut out = Zeroizing::new(Vec::with_capacity(self.stored_len));
        if self.ascii {
            out.extend_from_slice(digits);
        } else {
            for pair in digits.chunks(2) {
                let hi = pair.first().map_or(0xF, |d| d - b'0');
                let lo = pair.get(1).map_or(self.pad & 0x0F, |d| d - b'0');
                out.push(hi << 4 | lo);
            }
        }
        if out.len() > self.stored_len {
            return None;
        }
        out.resize(self.stored_len, self.pad);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(Pin::new("1234").is_ok());
        assert!(
            Pin::new("1234\n").is_ok(),
            "a trailing newline from a file is fine"
        );
        assert_eq!(
            Pin::new("12a4"),
            Err(SecretError::NotDigits {
                what: "code porteur (PIN)"
            })
        );
        assert!(matches!(
            Pin::new("123"),
            Err(SecretError::Length { len: 3, .. })
        ));
        assert!(Puk::new("12345678").is_ok());
        assert!(matches!(
            Puk::new("1234567"),
            Err(SecretError::Length { .. })
        ));
    }

    #[test]
    fn debug_shows_length_only() {
        let pin = Pin::new("1234").unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(4 digits)");
        let puk = Puk::new("12345678").unwrap();
        assert!(!format!("{puk:?}").contains("1234"));
        let err = Pin::new("12x45").unwrap_err().to_string();
        assert!(!err.contains("12x45"));
    }

    #[test]
    fn blocks() {
        let block = PinFormat::CPS_PIN.block(b"1234").unwrap();
        assert_eq!(&*block, &[0x31, 0x32, 0x33, 0x34, 0xFF, 0xFF, 0xFF, 0xFF]);
        let bcd = PinFormat {
            ascii: false,
            ..PinFormat::CPS_PIN
        };
        assert_eq!(
            &*bcd.block(b"12345").unwrap(),
            &[0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert!(PinFormat::CPS_PIN.block(b"123").is_none());
        assert!(PinFormat::CPS_PIN.block(b"123456789").is_none());
    }
}
