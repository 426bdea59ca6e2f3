//! Command APDUs (ISO 7816-4 §5.1): the four cases, short and extended lengths,
//! encoded by the host and decoded by a card, plus the class byte helpers.
//!
//! The data field lives in a zeroizing buffer and the [`Display`](std::fmt::Display)
//! and [`Debug`] forms — the ones traces use — redact the data of the commands that
//! carry a PIN or PUK (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER).

use std::fmt;

use zeroize::Zeroizing;

/// Largest data field of a short APDU.
pub const SHORT_MAX_DATA: usize = 255;
/// Largest Le of a short APDU (encoded `00`).
pub const SHORT_MAX_LE: usize = 256;
/// Largest data field of an extended APDU.
pub const EXTENDED_MAX_DATA: usize = 65_535;
/// Largest Le of an extended APDU (encoded `00 00`).
pub const EXTENDED_MAX_LE: usize = 65_536;

/// VERIFY.
pub const INS_VERIFY: u8 = 0x20;
/// CHANGE REFERENCE DATA.
pub const INS_CHANGE_REFERENCE_DATA: u8 = 0x24;
/// RESET RETRY COUNTER.
pub const INS_RESET_RETRY_COUNTER: u8 = 0x2C;

/// Why a command APDU could not be built, encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Fewer than the four header bytes.
    #[error("command APDU too short: {len} bytes, a header needs 4")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The body does not match any of the four cases.
    #[error("command APDU body of {body} bytes does not match its length field(s): {reason}")]
    Malformed {
        /// Bytes after the header.
        body: usize,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A data field longer than 65,535 bytes (or 255 in short form).
    #[error("data field of {len} bytes is too long (at most {max})")]
    DataTooLong {
        /// Data length asked for.
        len: usize,
        /// Largest allowed in the chosen form.
        max: usize,
    },
    /// An Le of 0, or above 65,536 (or 256 in short form).
    #[error("Le of {le} is out of range (1 to {max})")]
    LeOutOfRange {
        /// Le asked for.
        le: usize,
        /// Largest allowed in the chosen form.
        max: usize,
    },
    /// A logical channel above 19.
    #[error("logical channel {0} does not exist (0 to 19)")]
    InvalidChannel(u8),
}

/// How to encode the length fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LengthForm {
    /// Short when data ≤ 255 bytes and Le ≤ 256, extended otherwise.
    #[default]
    Auto,
    /// Short only; an error when the command does not fit.
    Short,
    /// Extended, even when short would do.
    Extended,
}

/// The class byte (CLA), with the ISO 7816-4 §5.4.1 helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cla(pub u8);

impl Cla {
    /// Interindustry class, basic channel: every CPS3 command.
    pub const ISO: Cla = Cla(0x00);
    /// The proprietary class of the CPS2ter side.
    pub const CPS2TER: Cla = Cla(0xA0);

    /// The interindustry class for a logical channel: `0x00..=0x03` for channels 0–3
    /// (first interindustry values), `0x40..=0x4F` for 4–19 (further values).
    pub const fn for_channel(channel: u8) -> Result<Cla, CommandError> {
        match channel {
            0..=3 => Ok(Cla(channel)),
            4..=19 => Ok(Cla(0x40 | (channel - 4))),
            _ => Err(CommandError::InvalidChannel(channel)),
        }
    }

    /// `true` for a proprietary class (b8 set), such as the CPS2ter `A0`.
    pub const fn is_proprietary(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// The logical channel of an interindustry class; `None` for a proprietary class.
    pub const fn channel(self) -> Option<u8> {
        match self.0 & 0xE0 {
            0x00 => Some(self.0 & 0x03),
            0x40 | 0x60 => Some(4 + (self.0 & 0x0F)),
            _ => None,
        }
    }

    /// `true` when the chaining bit (b5) says more commands of the chain follow.
    pub const fn is_chaining(self) -> bool {
        self.0 & 0x10 != 0
    }

    /// The same class with the chaining bit set or cleared.
    pub const fn with_chaining(self, more: bool) -> Cla {
        if more {
            Cla(self.0 | 0x10)
        } else {
            Cla(self.0 & !0x10)
        }
    }
}

impl From<Cla> for u8 {
    fn from(cla: Cla) -> u8 {
        cla.0
    }
}

/// A command APDU: header, optional data field, optional Le.
///
/// `le` is the number of bytes expected, 1 to 65,536 (`256` is encoded `00` in short
/// form). The four ISO cases follow from which of `data` and `le` are present.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    data: Zeroizing<Vec<u8>>,
    le: Option<usize>,
}

impl Command {
    /// A case-1 command (header only).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            le: None,
        }
    }

    /// The same command with a data field (empty means none). The bytes are moved
    /// into a zeroizing buffer.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    /// The same command expecting `le` bytes back (`None` for no Le field).
    pub fn with_le(mut self, le: impl Into<Option<usize>>) -> Self {
        self.le = le.into();
        self
    }

    /// The data field (empty when absent).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Le, when present.
    pub fn le(&self) -> Option<usize> {
        self.le
    }

    /// The class byte with its helpers.
    pub fn class(&self) -> Cla {
        Cla(self.cla)
    }

    /// The ISO case: 1 (no data, no Le), 2 (Le only), 3 (data only), 4 (both).
    pub fn case(&self) -> u8 {
        match (self.data.is_empty(), self.le.is_some()) {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        }
    }

    /// `true` for the commands that carry a PIN or PUK (VERIFY, CHANGE REFERENCE
    /// DATA, RESET RETRY COUNTER): never log their data, never resend them on your own.
    pub fn is_sensitive(&self) -> bool {
        is_sensitive_ins(self.ins)
    }

    /// Encodes the command, short when it fits.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, CommandError> {
        self.to_bytes_with(LengthForm::Auto)
    }

    /// Encodes the command in the given length form.
    pub fn to_bytes_with(&self, form: LengthForm) -> Result<Zeroizing<Vec<u8>>, CommandError> {
        let lc = self.data.len();
        if let Some(le) = self.le
            && !(1..=EXTENDED_MAX_LE).contains(&le)
        {
            return Err(CommandError::LeOutOfRange {
                le,
                max: EXTENDED_MAX_LE,
            });
        }
        if lc > EXTENDED_MAX_DATA {
            return Err(CommandError::DataTooLong {
                len: lc,
                max: EXTENDED_MAX_DATA,
            });
        }
        let fits_short = lc <= SHORT_MAX_DATA && self.le.is_none_or(|le| le <= SHORT_MAX_LE);
        let extended = match form {
            LengthForm::Auto => !fits_short,
            LengthForm::Extended => true,
            LengthForm::Short if fits_short => false,
            LengthForm::Short if lc > SHORT_MAX_DATA => {
                return Err(CommandError::DataTooLong {
                    len: lc,
                    max: SHORT_MAX_DATA,
                });
            }
            LengthForm::Short => {
                return Err(CommandError::LeOutOfRange {
                    le: self.le.unwrap_or_default(),
                    max: SHORT_MAX_LE,
                });
            }
        };

        let mut out = Zeroizing::new(Vec::with_capacity(4 + 3 + lc + 3));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        // Truncating casts are exact here: the ranges were checked above, and the
        // maximum values (256, 65,536) are encoded as zero by definition.
        if extended {
            if lc > 0 {
                out.push(0x00);
                out.extend_from_slice(&(lc as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                if lc == 0 {
                    out.push(0x00);
                }
                out.extend_from_slice(&(le as u16).to_be_bytes());
            }
        } else {
            if lc > 0 {
                out.push(lc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push(le as u8);
            }
        }
        Ok(out)
    }

    /// Decodes a command APDU, as a card receives it.
    ///
    /// Over T=0 a case-1 command travels with P3 = `00` (`00 20 00 01 00`, an empty
    /// VERIFY); ISO reads those 5 bytes as case 2 with Le = 256, and so does this
    /// function: a card-side dispatcher that knows the instruction decides.
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
        let (&[cla, ins, p1, p2], body) = bytes
            .split_first_chunk::<4>()
            .ok_or(CommandError::TooShort { len: bytes.len() })?;
        let command = Command::new(cla, ins, p1, p2);
        let malformed = |reason| CommandError::Malformed {
            body: body.len(),
            reason,
        };
        let short_len = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let extended_len = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
            0 => 65_536,
            n => usize::from(n),
        };
        match *body {
            [] => Ok(command),
            [le] => Ok(command.with_le(short_len(le))),
            [0, hi, lo] => Ok(command.with_le(extended_len(hi, lo))),
            [0, _] => Err(malformed("an extended length needs 2 bytes after 00")),
            [0, hi, lo, ref rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([hi, lo]));
                if lc == 0 {
                    return Err(malformed("extended Lc of zero"));
                }
                match rest.len().checked_sub(lc) {
                    Some(0) => Ok(command.with_data(rest)),
                    Some(2) => {
                        let (data, le) = rest.split_at(lc);
                        let le = extended_len(le[0], le[1]);
                        Ok(command.with_data(data).with_le(le))
                    }
                    _ => Err(malformed(
                        "extended Lc disagrees with the data that follows",
                    )),
                }
            }
            [lc, ref rest @ ..] => {
                let lc = usize::from(lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => Ok(command.with_data(rest)),
                    Some(1) => {
                        let (data, le) = rest.split_at(lc);
                        Ok(command.with_data(data).with_le(short_len(le[0])))
                    }
                    _ => Err(malformed("short Lc disagrees with the data that follows")),
                }
            }
        }
    }
}

/// `true` for the instructions whose data field carries a PIN or PUK.
pub const fn is_sensitive_ins(ins: u8) -> bool {
    matches!(
        ins,
        INS_VERIFY | INS_CHANGE_REFERENCE_DATA | INS_RESET_RETRY_COUNTER
    )
}

/// Hex for a trace of raw command bytes, with the body of a PIN-bearing command
/// redacted — even when the bytes are not a well-formed APDU.
pub fn trace_hex(raw: &[u8]) -> String {
    match raw.get(1) {
        Some(&ins) if is_sensitive_ins(ins) && raw.len() > 5 => {
            let (head, body) = raw.split_at(5);
            format!("{} [{} bytes redacted]", spaced_hex(head), body.len())
        }
        _ => spaced_hex(raw),
    }
}

/// Uppercase hex with a space between bytes: `00 A4 04 00`.
pub fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The trace form: header, then `Lc`, data (redacted for PIN-bearing commands) and
/// `Le`, each labelled.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", spaced_hex(&[self.cla, self.ins, self.p1, self.p2]))?;
        if !self.data.is_empty() {
            if self.is_sensitive() {
                write!(f, " Lc={} [redacted]", self.data.len())?;
            } else {
                write!(f, " Lc={} {}", self.data.len(), spaced_hex(&self.data))?;
            }
        }
        if let Some(le) = self.le {
            write!(f, " Le={le}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data: &dyn fmt::Debug = if self.is_sensitive() {
            &format_args!("[{} bytes redacted]", self.data.len())
        } else {
            &format_args!("{}", spaced_hex(&self.data))
        };
        f.debug_struct("Command")
            .field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2))
            .field("data", data)
            .field("le", &self.le)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn four_short_cases_from_the_reference() {
        // Case 1 and case 3: MF by FID, no data back.
        let c = Command::decode(&hex("00 A4 00 0C 02 3F 00")).unwrap();
        assert_eq!((c.case(), c.data(), c.le()), (3, &[0x3F, 0x00][..], None));
        let c = Command::decode(&hex("00 A4 09 04 04 3F 00 D0 03")).unwrap();
        assert_eq!(c.case(), 3);
        // Case 2: READ BINARY with Le = 0xE7, and GET RESPONSE with 00 = 256.
        let c = Command::decode(&hex("00 B0 00 E7 E7")).unwrap();
        assert_eq!((c.case(), c.le()), (2, Some(0xE7)));
        assert_eq!(
            Command::decode(&hex("00 C0 00 00 00")).unwrap().le(),
            Some(256)
        );
        // Case 4: INTERNAL AUTHENTICATE with Le.
        let c = Command::decode(&hex("00 88 00 00 05 68 65 6C 6C 6F 00")).unwrap();
        assert_eq!((c.case(), c.data().len(), c.le()), (4, 5, Some(256)));
        // Case 1.
        assert_eq!(Command::decode(&hex("00 2C 03 80")).unwrap().case(), 1);
    }

    #[test]
    fn extended_cases() {
        let c = Command::new(0, 0xB0, 0, 0).with_le(65_536);
        assert_eq!(&*c.to_bytes().unwrap(), &hex("00 B0 00 00 00 00 00"));
        let c = Command::new(0, 0x2A, 0x80, 0x86).with_data(vec![7; 300]);
        let bytes = c.to_bytes().unwrap();
        assert_eq!(&bytes[..7], &hex("00 2A 80 86 00 01 2C"));
        assert_eq!(Command::decode(&bytes).unwrap(), c);
        let c = c.with_le(1000);
        let bytes = c.to_bytes().unwrap();
        assert_eq!(&bytes[bytes.len() - 2..], &[0x03, 0xE8]);
        assert_eq!(Command::decode(&bytes).unwrap(), c);
        // Forced extended form for a command that would fit in short form.
        let c = Command::new(0, 0xB0, 0, 0).with_le(10);
        let bytes = c.to_bytes_with(LengthForm::Extended).unwrap();
        assert_eq!(&*bytes, &hex("00 B0 00 00 00 00 0A"));
        assert_eq!(Command::decode(&bytes).unwrap(), c);
    }

    #[test]
    fn impossible_lengths_are_errors() {
        assert_eq!(
            Command::decode(&[0, 0xA4, 0]),
            Err(CommandError::TooShort { len: 3 })
        );
        for bad in [
            "00 A4 00 0C 03 3F 00",
            "00 A4 00 0C 01 3F 00 00 00",
            "00 A4 00 0C 00 00",
            "00 A4 00 0C 00 00 00 01",
        ] {
            assert!(
                matches!(
                    Command::decode(&hex(bad)),
                    Err(CommandError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Command::new(0, 0, 0, 0).with_le(0).to_bytes(),
            Err(CommandError::LeOutOfRange { le: 0, .. })
        ));
        assert!(matches!(
            Command::new(0, 0, 0, 0).with_le(65_537).to_bytes(),
            Err(CommandError::LeOutOfRange { .. })
        ));
        assert!(matches!(
            Command::new(0, 0, 0, 0)
                .with_data(vec![0; 65_536])
                .to_bytes(),
            Err(CommandError::DataTooLong { .. })
        ));
        assert!(matches!(
            Command::new(0, 0, 0, 0)
                .with_data(vec![0; 256])
                .to_bytes_with(LengthForm::Short),
            Err(CommandError::DataTooLong { max: 255, .. })
        ));
        assert!(matches!(
            Command::new(0, 0, 0, 0)
                .with_le(257)
                .to_bytes_with(LengthForm::Short),
            Err(CommandError::LeOutOfRange { max: 256, .. })
        ));
    }

    #[test]
    fn class_helpers() {
        assert_eq!(Cla::for_channel(0), Ok(Cla(0x00)));
        assert_eq!(Cla::for_channel(1), Ok(Cla(0x01)));
        assert_eq!(Cla::for_channel(4), Ok(Cla(0x40)));
        assert_eq!(Cla::for_channel(19), Ok(Cla(0x4F)));
        assert_eq!(Cla::for_channel(20), Err(CommandError::InvalidChannel(20)));
        for ch in 0..20 {
            let cla = Cla::for_channel(ch).unwrap();
            assert_eq!(cla.channel(), Some(ch));
            assert_eq!(cla.with_chaining(true).channel(), Some(ch));
            assert!(cla.with_chaining(true).is_chaining());
            assert!(!cla.is_proprietary());
        }
        assert_eq!(Cla(0x10).with_chaining(false), Cla(0x00));
        assert!(Cla::CPS2TER.is_proprietary());
        assert_eq!(Cla::CPS2TER.channel(), None);
    }

    #[test]
    fn pin_data_is_redacted_in_traces() {
        let verify = Command::decode(&hex("00 20 00 01 08 31 32 33 34 FF FF FF FF")).unwrap();
        assert!(verify.is_sensitive());
        let shown = format!("{verify} {verify:?}");
        assert!(!shown.contains("31"), "{shown}");
        assert_eq!(verify.to_string(), "00 20 00 01 Lc=8 [redacted]");
        assert_eq!(
            trace_hex(&hex("00 20 00 01 08 31 32 33 34 FF FF FF FF")),
            "00 20 00 01 08 [8 bytes redacted]"
        );
        // Even a malformed PIN command is redacted.
        assert_eq!(
            trace_hex(&hex("A0 24 00 01 31 32")),
            "A0 24 00 01 31 [1 bytes redacted]"
        );
        let select = Command::decode(&hex("00 A4 02 0C 02 3F 00")).unwrap();
        assert_eq!(select.to_string(), "00 A4 02 0C Lc=2 3F 00");
        assert_eq!(
            trace_hex(&hex("00 A4 02 0C 02 3F 00")),
            "00 A4 02 0C 02 3F 00"
        );
    }

    fn any_command() -> impl Strategy<Value = Command> {
        (
            any::<[u8; 4]>(),
            prop_oneof![
                3 => proptest::collection::vec(any::<u8>(), 0..=255),
                1 => proptest::collection::vec(any::<u8>(), 256..=1024),
            ],
            prop_oneof![
                Just(None),
                (1usize..=256).prop_map(Some),
                (1usize..=65_536).prop_map(Some),
            ],
        )
            .prop_map(|([cla, ins, p1, p2], data, le)| {
                Command::new(cla, ins, p1, p2).with_data(data).with_le(le)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn encode_decode_round_trip(c in any_command(), extended in any::<bool>()) {
            let form = if extended { LengthForm::Extended } else { LengthForm::Auto };
            let bytes = c.to_bytes_with(form).unwrap();
            prop_assert_eq!(Command::decode(&bytes).unwrap(), c);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(c) = Command::decode(&bytes) {
                // What decodes re-encodes to the same bytes in the form it came in.
                let extended = bytes.len() > 5 && bytes[4] == 0;
                let form = if extended { LengthForm::Extended } else { LengthForm::Short };
                prop_assert_eq!(&*c.to_bytes_with(form).unwrap(), &bytes);
            }
            let _ = trace_hex(&bytes);
        }
    }
}
