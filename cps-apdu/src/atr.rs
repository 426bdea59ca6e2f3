//! Answer-to-reset parsing (ISO/IEC 7816-3) and historical-byte decoding (ISO/IEC 7816-4).
//!
//! Bytes are taken as PC/SC delivers them: TS is `3B` (direct) or `3F` (inverse) and every
//! following byte is already a logical value.

use std::fmt;
use std::ops::Range;

/// An ATR is at most 33 bytes long: TS, T0, up to 32 interface/historical bytes and TCK.
pub const MAX_ATR_LEN: usize = 33;

/// Why a byte string is not a well-formed ATR.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtrError {
    /// No byte at all.
    #[error("the ATR is empty")]
    Empty,
    /// TS is neither `3B` nor `3F`.
    #[error(
        "invalid initial character TS {0:02X}: expected 3B (direct) or 3F (inverse convention); \
         03 means the reader did not decode the inverse convention"
    )]
    InvalidTs(u8),
    /// The bytes end before the structure announced by T0 and the TDi bytes.
    #[error(
        "the ATR is truncated: got {got} bytes, but T0 and the TDi bytes announce at least {needed}"
    )]
    Truncated {
        /// Minimum length implied by what has been read so far.
        needed: usize,
        /// Length actually received.
        got: usize,
    },
    /// More than [`MAX_ATR_LEN`] bytes.
    #[error("the ATR is {len} bytes long, more than the 33 allowed")]
    TooLong {
        /// Length received.
        len: usize,
    },
    /// Bytes left after the historical bytes (and TCK when one is due).
    #[error("{count} unexpected byte(s) after the end of the ATR")]
    TrailingBytes {
        /// Number of extra bytes.
        count: usize,
    },
    /// A protocol other than T=0 is offered but the ATR ends right after its historical bytes.
    #[error("the check byte TCK is missing although a protocol other than T=0 is offered")]
    MissingTck,
    /// The XOR of T0..=TCK is not zero.
    #[error("the check byte TCK is {found:02X}, expected {expected:02X}")]
    TckMismatch {
        /// TCK that would make the XOR zero.
        expected: u8,
        /// TCK received.
        found: u8,
    },
}

/// Bit convention announced by TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Convention {
    /// TS = `3B`.
    Direct,
    /// TS = `3F`.
    Inverse,
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Direct => "direct",
            Self::Inverse => "inverse",
        })
    }
}

/// A protocol type T announced in the low nibble of a TDi byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Character protocol.
    T0,
    /// Block protocol.
    T1,
    /// Not a transmission protocol: marks global interface bytes.
    T15,
    /// Any other value (RFU or proprietary), 0..=15.
    Other(u8),
}

impl Protocol {
    /// The protocol named by the low nibble of `td`.
    pub fn from_td(td: u8) -> Self {
        match td & 0x0F {
            0 => Self::T0,
            1 => Self::T1,
            15 => Self::T15,
            n => Self::Other(n),
        }
    }

    /// The number T.
    pub fn number(self) -> u8 {
        match self {
            Self::T0 => 0,
            Self::T1 => 1,
            Self::T15 => 15,
            Self::Other(n) => n,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T={}", self.number())
    }
}

/// Interface bytes TAi, TBi, TCi, TDi of one group (i = 1, 2, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct InterfaceGroup {
    /// TAi.
    pub ta: Option<u8>,
    /// TBi.
    pub tb: Option<u8>,
    /// TCi.
    pub tc: Option<u8>,
    /// TDi.
    pub td: Option<u8>,
}

// ISO/IEC 7816-3 Table 7 and 8, indexed by nibble; `None` is RFU.
#[rustfmt::skip]
const FI: [Option<(u16, u16)>; 16] = [
    Some((372, 4000)), Some((372, 5000)), Some((558, 6000)), Some((744, 8000)),
    Some((1116, 12000)), Some((1488, 16000)), Some((1860, 20000)), None,
    None, Some((512, 5000)), Some((768, 7500)), Some((1024, 10000)),
    Some((1536, 15000)), Some((2048, 20000)), None, None,
];
#[rustfmt::skip]
const DI: [Option<u8>; 16] = [
    None, Some(1), Some(2), Some(4), Some(8), Some(16), Some(32), Some(64),
    Some(12), Some(20), None, None, None, None, None, None,
];

/// Clock rate conversion and baud rate adjustment factors from TA1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiDi {
    /// The TA1 value they come from (`11` when TA1 is absent).
    pub ta1: u8,
    /// Clock rate conversion integer Fi, `None` if RFU.
    pub fi: Option<u16>,
    /// Baud rate adjustment integer Di, `None` if RFU.
    pub di: Option<u8>,
    /// Maximum clock frequency in kHz, `None` if RFU.
    pub f_max_khz: Option<u16>,
}

impl FiDi {
    /// Decodes a TA1 byte (high nibble FI, low nibble DI).
    pub fn from_ta1(ta1: u8) -> Self {
        let f = FI.get(usize::from(ta1 >> 4)).copied().flatten();
        Self {
            ta1,
            fi: f.map(|(fi, _)| fi),
            di: DI.get(usize::from(ta1 & 0x0F)).copied().flatten(),
            f_max_khz: f.map(|(_, khz)| khz),
        }
    }

    /// Clock cycles per elementary time unit, Fi/Di; `None` if either is RFU.
    pub fn clocks_per_etu(&self) -> Option<f64> {
        Some(f64::from(self.fi?) / f64::from(self.di?))
    }
}

impl fmt::Display for FiDi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fi {
            Some(fi) => write!(f, "Fi={fi}")?,
            None => write!(f, "Fi=RFU({:X})", self.ta1 >> 4)?,
        }
        match self.di {
            Some(di) => write!(f, " Di={di}"),
            None => write!(f, " Di=RFU({:X})", self.ta1 & 0x0F),
        }
    }
}

/// A parsed, checked answer to reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    bytes: Vec<u8>,
    convention: Convention,
    groups: Vec<InterfaceGroup>,
    historical: Range<usize>,
    tck: Option<u8>,
}

impl Atr {
    /// Parses and checks an ATR strictly: structure, length and TCK.
    pub fn parse(bytes: &[u8]) -> Result<Self, AtrError> {
        let got = bytes.len();
        if got > MAX_ATR_LEN {
            return Err(AtrError::TooLong { len: got });
        }
        let convention = match bytes.first() {
            None => return Err(AtrError::Empty),
            Some(0x3B) => Convention::Direct,
            Some(0x3F) => Convention::Inverse,
            Some(&ts) => return Err(AtrError::InvalidTs(ts)),
        };
        let t0 = *bytes.get(1).ok_or(AtrError::Truncated { needed: 2, got })?;
        let k = usize::from(t0 & 0x0F);
        let (mut y, mut pos, mut tck_due) = (t0 >> 4, 2, false);
        let mut groups = Vec::new();
        loop {
            let count = y.count_ones() as usize;
            let present = bytes.get(pos..pos + count).ok_or(AtrError::Truncated {
                needed: pos + count + k + usize::from(tck_due),
                got,
            })?;
            let mut it = present.iter().copied();
            let mut take = |bit: u8| if y & bit != 0 { it.next() } else { None };
            let group = InterfaceGroup {
                ta: take(1),
                tb: take(2),
                tc: take(4),
                td: take(8),
            };
            groups.push(group);
            pos += count;
            let Some(td) = group.td else { break };
            // TCK is due as soon as anything but T=0 is offered, T=15 included.
            tck_due |= td & 0x0F != 0;
            y = td >> 4;
            if y == 0 {
                break;
            }
        }
        let historical_end = pos + k;
        let total = historical_end + usize::from(tck_due);
        if got < total {
            return Err(if tck_due && got == historical_end {
                AtrError::MissingTck
            } else {
                AtrError::Truncated { needed: total, got }
            });
        }
        if got > total {
            return Err(AtrError::TrailingBytes { count: got - total });
        }
        let tck = if tck_due { bytes.last().copied() } else { None };
        if let Some(found) = tck {
            let body = bytes.get(1..historical_end).unwrap_or_default();
            let expected = body.iter().fold(0, |acc, b| acc ^ b);
            if expected != found {
                return Err(AtrError::TckMismatch { expected, found });
            }
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            convention,
            groups,
            historical: pos..historical_end,
            tck,
        })
    }

    /// The raw ATR.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Convention announced by TS.
    pub fn convention(&self) -> Convention {
        self.convention
    }

    /// Interface byte groups; index 0 is group 1 (from T0), always present even if empty.
    pub fn interface_groups(&self) -> &[InterfaceGroup] {
        &self.groups
    }

    /// Group i (1-based), empty if absent.
    fn group(&self, i: usize) -> InterfaceGroup {
        i.checked_sub(1)
            .and_then(|j| self.groups.get(j))
            .copied()
            .unwrap_or_default()
    }

    /// Protocols named by the TDi bytes, de-duplicated in order; `[T0]` when TD1 is absent.
    pub fn protocols(&self) -> Vec<Protocol> {
        let mut out = Vec::new();
        for p in self
            .groups
            .iter()
            .filter_map(|g| g.td.map(Protocol::from_td))
        {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            out.push(Protocol::T0);
        }
        out
    }

    /// [`protocols`](Self::protocols) without T=15; `[T0]` if only T=15 was named, since
    /// no transmission-protocol offer means T=0.
    pub fn transmission_protocols(&self) -> Vec<Protocol> {
        let mut out = self.protocols();
        out.retain(|p| *p != Protocol::T15);
        if out.is_empty() {
            out.push(Protocol::T0);
        }
        out
    }

    /// Fi, Di and f max from TA1, or the defaults (TA1 = `11`) when it is absent.
    pub fn fi_di(&self) -> FiDi {
        FiDi::from_ta1(self.group(1).ta.unwrap_or(0x11))
    }

    /// Extra guard time integer N from TC1, if present.
    pub fn extra_guard_time(&self) -> Option<u8> {
        self.group(1).tc
    }

    /// T=0 work waiting integer WI: TC2, default 10; `None` when T=0 is not offered.
    pub fn work_waiting_integer(&self) -> Option<u8> {
        self.protocols()
            .contains(&Protocol::T0)
            .then(|| self.group(2).tc.unwrap_or(10))
    }

    /// Whether the card is in specific mode (TA2 present), i.e. no PPS is possible.
    pub fn specific_mode(&self) -> bool {
        self.group(2).ta.is_some()
    }

    /// The K historical bytes.
    pub fn historical_bytes(&self) -> &[u8] {
        self.bytes.get(self.historical.clone()).unwrap_or_default()
    }

    /// The historical bytes decoded (leniently).
    pub fn historical(&self) -> Historical {
        Historical::decode(self.historical_bytes())
    }

    /// The check byte, present iff a protocol other than T=0 is offered.
    pub fn tck(&self) -> Option<u8> {
        self.tck
    }

    /// A multi-line human summary, one fact per line, for people (not a stable format).
    pub fn describe(&self) -> String {
        let (fd, protocols) = (self.fi_di(), self.protocols());
        let protocols: Vec<_> = protocols.iter().map(Protocol::to_string).collect();
        let f_max = fd.f_max_khz.map(|k| format!(", f max {k} kHz"));
        let mut lines = vec![
            format!("atr: {self}"),
            format!("convention: {}", self.convention),
            format!("protocols: {}", protocols.join(", ")),
            format!("{fd}{}", f_max.unwrap_or_default()),
        ];
        let egt = self.extra_guard_time();
        lines.extend(egt.map(|n| format!("extra guard time: {n}")));
        let wi = self.work_waiting_integer();
        lines.extend(wi.map(|n| format!("work waiting integer: {n}")));
        lines.extend(self.specific_mode().then(|| "specific mode".to_owned()));
        lines.push(format!(
            "historical bytes: {}",
            spaced_hex(self.historical_bytes())
        ));
        lines.push(format!("historical: {}", self.historical()));
        lines.extend(self.tck.map(|t| format!("tck: {t:02X}")));
        lines.join("\n")
    }
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Atr {
    /// Uppercase hex, bytes separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&spaced_hex(&self.bytes))
    }
}

/// One compact-TLV object of the historical bytes: tag and length share a byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompactTlv {
    /// Tag, 1..=15.
    pub tag: u8,
    /// Value, 0..=15 bytes.
    pub value: Vec<u8>,
}

impl CompactTlv {
    /// The ISO/IEC 7816-4 name of the tag, if it has one.
    pub fn tag_name(&self) -> Option<&'static str> {
        Some(match self.tag {
            0x1 => "country code",
            0x2 => "issuer identification number",
            0x3 => "card service data",
            0x4 => "initial access data",
            0x5 => "card issuer's data",
            0x6 => "pre-issuing data",
            0x7 => "card capabilities",
            0x8 => "status indicator",
            0xF => "application identifier",
            _ => return None,
        })
    }
}

/// Status indicator: card life-cycle status and/or a status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusIndicator {
    /// Life-cycle status byte.
    pub life_cycle: Option<u8>,
    /// SW1-SW2.
    pub sw: Option<u16>,
}

impl StatusIndicator {
    /// Reads 1 (life cycle), 2 (SW1-SW2) or 3 (both) bytes.
    fn decode(bytes: &[u8]) -> Option<Self> {
        let sw = |a, b| Some(u16::from_be_bytes([a, b]));
        let (life_cycle, sw) = match *bytes {
            [l] => (Some(l), None),
            [a, b] => (None, sw(a, b)),
            [l, a, b] => (Some(l), sw(a, b)),
            _ => return None,
        };
        Some(Self { life_cycle, sw })
    }
}

/// Historical bytes decoded by category indicator; never fails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Historical {
    /// Category indicator byte; `None` when there are no historical bytes.
    pub category: Option<u8>,
    /// Compact-TLV objects (categories `00` and `80`).
    pub objects: Vec<CompactTlv>,
    /// Status indicator (mandatory trailer in `00`, tag 8 object in `80`).
    pub status: Option<StatusIndicator>,
    /// DIR data reference (category `10`).
    pub dir_reference: Option<u8>,
    /// Bytes that do not fit the structure; for proprietary categories, all bytes after the
    /// category indicator.
    pub unparsed: Vec<u8>,
}

impl Historical {
    /// Decodes historical bytes (also usable on the content of EF.ATR).
    pub fn decode(bytes: &[u8]) -> Self {
        let Some((&category, body)) = bytes.split_first() else {
            return Self::default();
        };
        let mut h = Self {
            category: Some(category),
            ..Self::default()
        };
        match category {
            0x00 | 0x80 => {
                // Category 00 conforms when objects tile all but the last 3 bytes, the status.
                let split = body
                    .len()
                    .checked_sub(3)
                    .and_then(|n| body.split_at_checked(n));
                if category == 0x00
                    && let Some((objs, trailer)) = split
                    && let (objects, used) = compact_tlv_objects(objs)
                    && used == objs.len()
                {
                    h.objects = objects;
                    h.status = StatusIndicator::decode(trailer);
                    return h;
                }
                // Non-conforming cards exist (CPS4: `00 12 25 00 64 80 04 01 00 00 90`, where
                // the last 3 bytes would cut the `64` object). Deterministic fallback: objects
                // greedily over the whole body, the rest reported as unparsed rather than
                // guessed to be a status.
                let (objects, used) = compact_tlv_objects(body);
                if category == 0x80 {
                    let tag8 = objects.iter().find(|o| o.tag == 8);
                    h.status = tag8.and_then(|o| StatusIndicator::decode(&o.value));
                }
                h.objects = objects;
                h.unparsed = body.get(used..).unwrap_or_default().to_vec();
            }
            0x10 => {
                if let Some((&reference, rest)) = body.split_first() {
                    h.dir_reference = Some(reference);
                    h.unparsed = rest.to_vec();
                }
            }
            _ => h.unparsed = body.to_vec(),
        }
        h
    }
}

impl fmt::Display for Historical {
    /// One line: category, objects, status and unparsed bytes, separated by `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(category) = self.category else {
            return f.write_str("none");
        };
        write!(f, "category {category:02X}")?;
        if let Some(r) = self.dir_reference {
            write!(f, "; DIR data reference {r:02X}")?;
        }
        for o in &self.objects {
            let name = o.tag_name().unwrap_or("unknown tag");
            write!(f, "; {:X} {name}: {}", o.tag, spaced_hex(&o.value))?;
        }
        if let Some(StatusIndicator { life_cycle, sw }) = self.status {
            f.write_str("; status")?;
            if let Some(l) = life_cycle {
                write!(f, " life cycle {l:02X}")?;
            }
            if let Some(sw) = sw {
                write!(f, " SW {sw:04X}")?;
            }
        }
        if !self.unparsed.is_empty() {
            write!(f, "; unparsed: {}", spaced_hex(&self.unparsed))?;
        }
        Ok(())
    }
}

/// Reads compact-TLV objects from the start of `bytes`; returns them and the bytes consumed.
/// Stops before an object that would run past the end, and at tag 0: it is not assigned in
/// historical bytes, and where cards put one it is the life-cycle byte of a status trailer.
fn compact_tlv_objects(bytes: &[u8]) -> (Vec<CompactTlv>, usize) {
    let (mut objects, mut pos) = (Vec::new(), 0);
    while let Some(&b) = bytes.get(pos) {
        let (tag, len) = (b >> 4, usize::from(b & 0x0F));
        let Some(value) = bytes.get(pos + 1..pos + 1 + len).filter(|_| tag != 0) else {
            break;
        };
        objects.push(CompactTlv {
            tag,
            value: value.to_vec(),
        });
        pos += 1 + len;
    }
    (objects, pos)
}

/// Whether `atr[i] & mask[i] == pattern[i] & mask[i]` for every i; all three must have the
/// same length, otherwise `false`.
pub fn matches_mask(atr: &[u8], pattern: &[u8], mask: &[u8]) -> bool {
    atr.len() == pattern.len()
        && pattern.len() == mask.len()
        && atr
            .iter()
            .zip(pattern)
            .zip(mask)
            .all(|((a, p), m)| a & m == p & m)
}

/// An ATR pattern with its mask, as card tables list them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AtrMask {
    pattern: Vec<u8>,
    mask: Vec<u8>,
}

impl AtrMask {
    /// A pattern and mask of the same length; `None` otherwise.
    pub fn new(pattern: &[u8], mask: &[u8]) -> Option<Self> {
        (pattern.len() == mask.len()).then(|| Self {
            pattern: pattern.to_vec(),
            mask: mask.to_vec(),
        })
    }

    /// A pattern that must match byte for byte.
    pub fn exact(pattern: &[u8]) -> Self {
        Self {
            pattern: pattern.to_vec(),
            mask: vec![0xFF; pattern.len()],
        }
    }

    /// Whether `atr` matches, see [`matches_mask`].
    pub fn matches(&self, atr: &[u8]) -> bool {
        matches_mask(atr, &self.pattern, &self.mask)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CPS3: &str = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00";
    const CPS3_CL: &str = "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E";
    const CPS4: &str = "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44";
    const CPS4_RC: &str = "3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44";
    const CPS4_T0: &str = "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00";
    const CPS_OLD: &str = "3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00";
    const VITALE1: &str = "3F 65 25 00 2C 09 69 90 00";
    const VITALE2: &str = "3B 75 13 00 00 47 09 EA 90 00";
    const VITALE2B: &str = "3B 75 13 00 00 45 09 FA 90 00";
    const ALL: [&str; 9] = [
        CPS3, CPS3_CL, CPS4, CPS4_RC, CPS4_T0, CPS_OLD, VITALE1, VITALE2, VITALE2B,
    ];

    fn b(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }
    fn atr(s: &str) -> Atr {
        Atr::parse(&b(s)).unwrap()
    }
    fn obj(tag: u8, value: &str) -> CompactTlv {
        CompactTlv {
            tag,
            value: b(value),
        }
    }
    fn status(life_cycle: u8, sw: u16) -> Option<StatusIndicator> {
        Some(StatusIndicator {
            life_cycle: Some(life_cycle),
            sw: Some(sw),
        })
    }
    use Protocol::{T0, T1};

    #[test]
    fn cps3_contact_and_older_cps() {
        for (s, pre) in [(CPS3, "80 00 03 10"), (CPS_OLD, "80 82 02 12")] {
            let a = atr(s);
            assert_eq!(a.to_string(), s);
            assert_eq!(a.convention(), Convention::Direct);
            assert_eq!(a.protocols(), [T0]);
            assert_eq!(a.tck(), None);
            let g1 = InterfaceGroup {
                tb: Some(0x00),
                td: Some(0x40),
                ..Default::default()
            };
            let g2 = InterfaceGroup {
                tc: Some(0x2A),
                ..Default::default()
            };
            assert_eq!(a.interface_groups(), [g1, g2]);
            assert_eq!(a.work_waiting_integer(), Some(0x2A));
            assert_eq!(a.fi_di().fi, Some(372));
            assert_eq!(a.fi_di().di, Some(1));
            assert!(!a.specific_mode());
            assert_eq!(
                a.historical_bytes(),
                b(&format!("00 12 25 00 64 {pre} 00 90 00"))
            );
            let h = a.historical();
            assert_eq!(h.category, Some(0));
            assert_eq!(h.objects, [obj(1, "25 00"), obj(6, pre)]);
            assert_eq!(h.objects[0].tag_name(), Some("country code"));
            assert_eq!(h.status, status(0x00, 0x9000));
            assert!(h.unparsed.is_empty());
        }
    }

    #[test]
    fn cps3_contactless() {
        let a = atr(CPS3_CL);
        assert_eq!(a.protocols(), [T0, T1]);
        assert_eq!(a.tck(), Some(0x0E));
        assert_eq!(a.fi_di().ta1, 0x11);
        let h = a.historical();
        assert_eq!(h.category, Some(0));
        assert_eq!(
            h.objects,
            [obj(3, "B8"), obj(6, "04 B0 EC C1"), obj(7, "94 01 80")]
        );
        assert_eq!(h.status, status(0x82, 0x9000));
    }

    #[test]
    fn cps4_non_conforming_historical() {
        for (s, pre) in [(CPS4, "80 04 01 00"), (CPS4_RC, "80 00 04 01")] {
            let a = atr(s);
            assert_eq!(a.protocols(), [T0, T1]);
            assert_eq!(a.transmission_protocols(), [T0, T1]);
            assert_eq!(a.tck(), Some(0x44));
            let fd = a.fi_di();
            assert_eq!(
                (fd.fi, fd.di, fd.f_max_khz),
                (Some(372), Some(12), Some(5000))
            );
            assert_eq!(fd.clocks_per_etu(), Some(31.0));
            let h = a.historical();
            assert_eq!(h.objects, [obj(1, "25 00"), obj(6, pre)]);
            assert_eq!(h.unparsed, b("00 90"));
            assert_eq!(h.status, None);
        }
        let expected = "atr: 3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44
convention: direct
protocols: T=0, T=1
Fi=372 Di=12, f max 5000 kHz
work waiting integer: 10
historical bytes: 00 12 25 00 64 80 04 01 00 00 90
historical: category 00; 1 country code: 25 00; 6 pre-issuing data: 80 04 01 00; unparsed: 00 90
tck: 44";
        assert_eq!(atr(CPS4).describe(), expected);
    }

    #[test]
    fn cps4_t0_only() {
        let a = atr(CPS4_T0);
        assert_eq!(a.protocols(), [T0]);
        assert_eq!(a.tck(), None);
        assert_eq!(a.extra_guard_time(), Some(0xFF));
        assert_eq!(a.fi_di().di, Some(12));
        assert_eq!(a.work_waiting_integer(), Some(10));
        let h = a.historical();
        assert_eq!(h.objects, [obj(1, "25 00"), obj(6, "80 00 04 01")]);
        assert_eq!(h.status, status(0x00, 0x9000));
    }

    #[test]
    fn carte_vitale() {
        let a = atr(VITALE1);
        assert_eq!(a.convention(), Convention::Inverse);
        assert_eq!(a.protocols(), [T0]);
        assert_eq!(a.historical_bytes(), b("2C 09 69 90 00"));
        assert_eq!(a.historical().unparsed, b("09 69 90 00"));
        for s in [VITALE2, VITALE2B] {
            let a = atr(s);
            assert_eq!(a.convention(), Convention::Direct);
            assert_eq!((a.fi_di().fi, a.fi_di().di), (Some(372), Some(4)));
            assert_eq!(a.extra_guard_time(), Some(0));
            let h = a.historical();
            assert_eq!(h.category, b(s).get(5).copied());
            assert_eq!((h.objects, h.status), (vec![], None));
        }
    }

    #[test]
    fn errors() {
        let mut bad = b(CPS4);
        *bad.last_mut().unwrap() = 0x45;
        assert_eq!(
            Atr::parse(&bad),
            Err(AtrError::TckMismatch {
                expected: 0x44,
                found: 0x45
            })
        );
        let cut = b(CPS4);
        assert_eq!(Atr::parse(&cut[..cut.len() - 1]), Err(AtrError::MissingTck));
        assert_eq!(Atr::parse(&[]), Err(AtrError::Empty));
        assert_eq!(Atr::parse(&[0x3B; 34]), Err(AtrError::TooLong { len: 34 }));
        assert_eq!(Atr::parse(&[0x00; 40]), Err(AtrError::TooLong { len: 40 }));
        for ts in [0x03, 0x00, 0x3C, 0xFF] {
            assert_eq!(Atr::parse(&[ts, 0x00]), Err(AtrError::InvalidTs(ts)));
        }
        assert!(
            AtrError::InvalidTs(3)
                .to_string()
                .contains("inverse convention")
        );
        for s in ALL {
            let mut long = b(s);
            long.push(0);
            assert_eq!(
                Atr::parse(&long),
                Err(AtrError::TrailingBytes { count: 1 }),
                "{s}"
            );
        }
    }

    #[test]
    fn every_prefix_is_truncated() {
        for s in ALL {
            let full = b(s);
            let a = atr(s);
            for n in 1..full.len() {
                let err = Atr::parse(&full[..n]).unwrap_err();
                if a.tck().is_some() && n == full.len() - 1 {
                    assert_eq!(err, AtrError::MissingTck, "{s}");
                } else {
                    assert!(
                        matches!(err, AtrError::Truncated { got, needed } if got == n && needed > n),
                        "{s} [..{n}]: {err}"
                    );
                }
            }
        }
    }

    #[test]
    fn masks() {
        let (pattern, mask) = (
            b(CPS3),
            b("FF 00 00 00 00 FF FF FF FF FF FF 00 00 00 FF FF FF"),
        );
        assert!(matches_mask(&b(CPS3), &pattern, &mask));
        assert!(matches_mask(&b(CPS_OLD), &pattern, &mask));
        assert!(!matches_mask(&b(CPS4), &pattern, &mask));
        assert!(!matches_mask(&b(CPS3_CL), &pattern, &mask));
        let m = AtrMask::new(&pattern, &mask).unwrap();
        assert!(m.matches(&b(CPS_OLD)) && !m.matches(&b(CPS4_RC)));
        // The CPS3 mask also accepts the CPS4 T=0-only ATR: exact CPS4 entries must be tried first.
        assert!(m.matches(&b(CPS4_T0)));
        assert!(AtrMask::new(&pattern, &mask[1..]).is_none());
        assert!(
            AtrMask::exact(&b(CPS4)).matches(&b(CPS4))
                && !AtrMask::exact(&b(CPS4)).matches(&b(CPS4_RC))
        );
    }

    #[test]
    fn historical_edge_cases() {
        let h = Historical::decode(&b("80 31 C0 73 D6 21 C0 82 90 00"));
        assert_eq!(
            h.status,
            Some(StatusIndicator {
                life_cycle: None,
                sw: Some(0x9000)
            })
        );
        assert_eq!(h.objects.len(), 3);
        let h = Historical::decode(&b("10 07 AA"));
        assert_eq!((h.dir_reference, h.unparsed), (Some(7), b("AA")));
        assert_eq!(Historical::decode(&[]), Historical::default());
        assert_eq!(Historical::decode(&[0]).unparsed, []);
        assert_eq!(FiDi::from_ta1(0x70).to_string(), "Fi=RFU(7) Di=RFU(0)");
        assert_eq!(FiDi::from_ta1(0xE0).clocks_per_etu(), None);
    }

    fn group() -> impl Strategy<Value = ([Option<u8>; 3], u8)> {
        (proptest::array::uniform3(any::<Option<u8>>()), 0u8..16)
    }

    /// Builds a well-formed ATR; returns it with its historical bytes.
    fn build(
        ts: u8,
        mut groups: Vec<([Option<u8>; 3], u8)>,
        last_td: Option<u8>,
        hist: Vec<u8>,
    ) -> (Vec<u8>, Vec<u8>) {
        let n = groups.len();
        // A later group with no byte would be indistinguishable from no group at all.
        if let Some((g, _)) = groups.last_mut().filter(|_| n > 1 && last_td.is_none())
            && g.iter().all(Option::is_none)
        {
            g[0] = Some(0x11);
        }
        let y = |i: usize| -> u8 {
            groups.get(i).map_or(0, |(g, _)| {
                let td = i + 1 < n || last_td.is_some();
                g.iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_some())
                    .fold(0, |acc, (j, _)| acc | 1 << j)
                    | u8::from(td) << 3
            })
        };
        let mut body = Vec::new();
        let mut tck_due = false;
        for (i, (g, proto)) in groups.iter().enumerate() {
            body.extend(g.iter().flatten());
            let td = if i + 1 < n {
                Some(y(i + 1) << 4 | proto)
            } else {
                last_td
            };
            if let Some(td) = td {
                tck_due |= td & 0x0F != 0;
                body.push(td);
            }
        }
        let room = MAX_ATR_LEN - 2 - body.len() - usize::from(tck_due);
        let hist: Vec<u8> = hist.into_iter().take(room.min(15)).collect();
        let mut bytes = vec![ts, y(0) << 4 | hist.len() as u8];
        bytes.extend(body);
        bytes.extend(&hist);
        if tck_due {
            let x = bytes[1..].iter().fold(0, |a, b| a ^ b);
            bytes.push(x);
        }
        (bytes, hist)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn parse_never_panics(
            // A valid TS half of the time, or almost every input would stop there.
            ts in prop_oneof![Just(0x3B), Just(0x3F), any::<u8>()],
            rest in proptest::collection::vec(any::<u8>(), 0..63),
        ) {
            let bytes: Vec<u8> = std::iter::once(ts).chain(rest).collect();
            if let Ok(a) = Atr::parse(&bytes) {
                let _ = (a.describe(), a.transmission_protocols(), a.fi_di().clocks_per_etu());
            }
            let _ = Historical::decode(&bytes);
        }

        #[test]
        fn well_formed_round_trips(
            ts in prop_oneof![Just(0x3B), Just(0x3F)],
            groups in proptest::collection::vec(group(), 1..5),
            last_td in proptest::option::of(0u8..16),
            hist in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let n = groups.len();
            let (bytes, hist) = build(ts, groups, last_td, hist);
            let a = Atr::parse(&bytes).unwrap();
            prop_assert_eq!(a.as_bytes(), &bytes[..]);
            prop_assert_eq!(a.historical_bytes(), &hist[..]);
            prop_assert_eq!(a.interface_groups().len(), n);
            prop_assert_eq!(a.tck().is_some(), a.protocols() != [Protocol::T0]);
        }
    }
}
