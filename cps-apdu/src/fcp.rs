//! File Control Parameters (ISO/IEC 7816-4 `62` template), as returned by SELECT with
//! P2 `04`; the same fields inside an FCI `6F` template (as CPS4 answers) are accepted.

use crate::tlv::ber::{Tlv, Value};
use crate::tlv::{self, TlvError, TlvLimits};

const FCP: u8 = 0x62;
const FCI: u8 = 0x6F;
/// IAS-ECC's proprietary security template: `8C` (contact) and `9C` (contactless) inside.
const SECURITY_TEMPLATE: u8 = 0xA1;
/// Tags decoded into their own field: each may appear once.
const FIELDS: [u8; 7] = [0x80, 0x81, 0x82, 0x83, 0x84, 0x88, 0x8A];
/// ISO 7816-4 security attribute tags kept as [`SecurityAttribute`]s when at top level.
const SECURITY_TAGS: [u8; 7] = [0x86, 0x8B, 0x8C, 0x8E, 0xA0, 0xA2, 0xAB];

/// Decoded FCP. Absent fields are `None`; nothing unknown is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fcp {
    /// `80`: number of data bytes in the file (what READ BINARY is sized with).
    pub size: Option<u32>,
    /// `81`: total size of the file, structural information included.
    pub total_size: Option<u32>,
    /// `82`: file descriptor.
    pub descriptor: Option<FileDescriptor>,
    /// `83`: file identifier.
    pub file_id: Option<u16>,
    /// `84`: DF name (AID), 1 to 16 bytes.
    pub df_name: Option<Vec<u8>>,
    /// `88`: short EF identifier (0 to 31); an empty `88` (no SFI) also decodes as `None`.
    pub sfi: Option<u8>,
    /// `8A`: life cycle status.
    pub life_cycle: Option<LifeCycle>,
    /// Access rules, raw, in their order of appearance.
    pub security: Vec<SecurityAttribute>,
    /// Any other object, as (tag bytes, value bytes); a template's value is its encoded
    /// content.
    pub other: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Why an FCP was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FcpError {
    /// The data does not start with a `62` or `6F` template.
    #[error("not an fcp: template tag {tag:02x}, expected 62 or 6f")]
    NotFcp {
        /// First byte of the data.
        tag: u8,
    },
    /// The data is not well-formed BER-TLV.
    #[error("fcp is not valid ber-tlv")]
    Tlv(#[from] TlvError),
    /// A known field has an impossible value.
    #[error("bad fcp field {tag:02x}: {reason}")]
    BadField {
        /// The field's tag.
        tag: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn bad(tag: u8, reason: &'static str) -> FcpError {
    FcpError::BadField { tag, reason }
}

/// File descriptor (`82`): the descriptor byte and its optional companions.
///
/// On encoding, a companion is written only if those before it are present (a record
/// count needs a data coding byte and a record size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileDescriptor {
    /// File descriptor byte, raw; see [`Self::kind`] and [`Self::is_shareable`].
    pub byte: u8,
    /// Data coding byte.
    pub data_coding: Option<u8>,
    /// Maximum record size (record-structured EFs).
    pub max_record_size: Option<u16>,
    /// Number of records.
    pub record_count: Option<u16>,
}

/// What a file descriptor byte says the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Dedicated file (`38`).
    Df,
    /// Transparent EF (`01`), read with READ BINARY.
    TransparentEf,
    /// Linear EF with records of fixed size.
    LinearFixedEf,
    /// Linear EF with records of variable size.
    LinearVariableEf,
    /// Cyclic EF.
    CyclicEf,
    /// Anything else (proprietary categories, TLV-structured EFs…): the whole byte.
    Other(u8),
}

impl FileDescriptor {
    /// A descriptor with no companions. `FileKind::Other(b)` gives byte `b` unchanged.
    #[must_use]
    pub const fn new(kind: FileKind, shareable: bool) -> Self {
        let shared = if shareable { 0x40 } else { 0 };
        let byte = match kind {
            FileKind::Df => 0x38 | shared,
            FileKind::TransparentEf => 0x01 | shared,
            FileKind::LinearFixedEf => 0x02 | shared,
            FileKind::LinearVariableEf => 0x04 | shared,
            FileKind::CyclicEf => 0x06 | shared,
            FileKind::Other(byte) => byte,
        };
        Self {
            byte,
            data_coding: None,
            max_record_size: None,
            record_count: None,
        }
    }

    /// The file's kind. EF structures are read for working and internal EFs only
    /// (category bits `000`/`001`); proprietary categories are `Other`.
    #[must_use]
    pub const fn kind(&self) -> FileKind {
        let b = self.byte;
        if b & 0x80 != 0 {
            FileKind::Other(b)
        } else if b & 0x3F == 0x38 {
            FileKind::Df
        } else if b & 0x38 > 0x08 {
            FileKind::Other(b)
        } else {
            match b & 0x07 {
                1 => FileKind::TransparentEf,
                2 | 3 => FileKind::LinearFixedEf,
                4 | 5 => FileKind::LinearVariableEf,
                6 | 7 => FileKind::CyclicEf,
                _ => FileKind::Other(b),
            }
        }
    }

    /// Whether the file is shareable between logical channels (b7, when b8 is 0).
    #[must_use]
    pub const fn is_shareable(&self) -> bool {
        self.byte & 0xC0 == 0x40
    }

    fn parse(value: &[u8]) -> Result<Self, FcpError> {
        let be = |hi: u8, lo: u8| Some(u16::from_be_bytes([hi, lo]));
        let (byte, data_coding, max_record_size, record_count) = match *value {
            [b] => (b, None, None, None),
            [b, c] => (b, Some(c), None, None),
            [b, c, m] => (b, Some(c), Some(u16::from(m)), None),
            [b, c, m1, m2] => (b, Some(c), be(m1, m2), None),
            [b, c, m1, m2, n] => (b, Some(c), be(m1, m2), Some(u16::from(n))),
            [b, c, m1, m2, n1, n2] => (b, Some(c), be(m1, m2), be(n1, n2)),
            _ => return Err(bad(0x82, "file descriptor is not 1 to 6 bytes")),
        };
        Ok(Self {
            byte,
            data_coding,
            max_record_size,
            record_count,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.byte];
        let Some(coding) = self.data_coding else {
            return out;
        };
        out.push(coding);
        let Some(size) = self.max_record_size else {
            return out;
        };
        // One byte where the layout allows it (the record count forces two).
        match (u8::try_from(size), self.record_count) {
            (Ok(short), None) => out.push(short),
            _ => out.extend_from_slice(&size.to_be_bytes()),
        }
        if let Some(count) = self.record_count {
            match u8::try_from(count) {
                Ok(short) => out.push(short),
                Err(_) => out.extend_from_slice(&count.to_be_bytes()),
            }
        }
        out
    }
}

/// Life cycle status byte (`8A`), ISO/IEC 7816-4 table 13.
///
/// `05`/`07` both decode as `Activated`, `04`/`06` as `Deactivated`, `0C`–`0F` as
/// `Terminated`; encoding writes `05`, `04` and `0C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeCycle {
    /// `00`.
    NoInformation,
    /// `01`: creation state.
    Creation,
    /// `03`: initialisation state.
    Initialisation,
    /// Operational state, activated.
    Activated,
    /// Operational state, deactivated.
    Deactivated,
    /// Termination state.
    Terminated,
    /// RFU or proprietary value.
    Other(u8),
}

impl LifeCycle {
    /// Decodes a status byte.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Self {
        match byte {
            0x00 => Self::NoInformation,
            0x01 => Self::Creation,
            0x03 => Self::Initialisation,
            0x05 | 0x07 => Self::Activated,
            0x04 | 0x06 => Self::Deactivated,
            0x0C..=0x0F => Self::Terminated,
            other => Self::Other(other),
        }
    }

    /// The status byte written by [`Fcp::encode`].
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::NoInformation => 0x00,
            Self::Creation => 0x01,
            Self::Initialisation => 0x03,
            Self::Activated => 0x05,
            Self::Deactivated => 0x04,
            Self::Terminated => 0x0C,
            Self::Other(byte) => byte,
        }
    }
}

/// One access rule object, kept raw.
///
/// At the FCP's top level (`template: None`) these are the ISO 7816-4 security attribute
/// tags `86`, `8B`, `8C`, `8E`, `A0`, `A2`, `AB`. Inside the IAS-ECC template `A1`
/// (`template: Some(0xA1)`) any one-byte tag is kept: `8C` is the compact rule for the
/// contact interface, `9C` for the contactless one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecurityAttribute {
    /// Tag of the enclosing template, `None` at top level.
    pub template: Option<u8>,
    /// The object's tag.
    pub tag: u8,
    /// Its value (a template's encoded content).
    pub value: Vec<u8>,
}

/// Which card interface a rule governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interface {
    /// Every interface (an ISO rule at the FCP's top level).
    Any,
    /// Contact (ISO 7816-3).
    Contact,
    /// Contactless (ISO 14443).
    Contactless,
}

impl SecurityAttribute {
    /// The interface the rule governs; `None` for objects of the `A1` template other than
    /// `8C`/`9C`, whose meaning is proprietary.
    #[must_use]
    pub const fn interface(&self) -> Option<Interface> {
        match (self.template, self.tag) {
            (None, _) => Some(Interface::Any),
            (Some(_), 0x8C) => Some(Interface::Contact),
            (Some(_), 0x9C) => Some(Interface::Contactless),
            (Some(_), _) => None,
        }
    }

    /// The rule in compact format (`8C`, or `9C` in a template): access mode byte and
    /// security condition bytes. `None` for other formats or an empty value.
    #[must_use]
    pub fn compact(&self) -> Option<CompactRule<'_>> {
        let compact = self.tag == 0x8C || (self.tag == 0x9C && self.template.is_some());
        match self.value.split_first() {
            Some((&am, scbs)) if compact => Some(CompactRule { am, scbs }),
            _ => None,
        }
    }
}

/// An access rule in compact format: one security condition byte (SCB) per bit set in
/// the access mode byte, from b7 down to b1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompactRule<'a> {
    /// Access mode byte.
    pub am: u8,
    /// Security condition bytes.
    pub scbs: &'a [u8],
}

/// What a security condition byte allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `00`: always.
    Always,
    /// `FF`: never.
    Never,
    /// Any other SCB: a condition (PIN, secure messaging, …), raw.
    Conditions(u8),
}

impl From<u8> for Access {
    fn from(scb: u8) -> Self {
        match scb {
            0x00 => Self::Always,
            0xFF => Self::Never,
            other => Self::Conditions(other),
        }
    }
}

impl CompactRule<'_> {
    /// AM bit of READ BINARY / READ RECORD (for an EF).
    pub const EF_READ: u8 = 0x01;
    /// AM bit of UPDATE / ERASE (for an EF).
    pub const EF_UPDATE: u8 = 0x02;
    /// AM bit of WRITE (for an EF).
    pub const EF_WRITE: u8 = 0x04;
    /// AM bit of DEACTIVATE FILE.
    pub const DEACTIVATE: u8 = 0x08;
    /// AM bit of ACTIVATE FILE.
    pub const ACTIVATE: u8 = 0x10;
    /// AM bit of TERMINATE.
    pub const TERMINATE: u8 = 0x20;
    /// AM bit of DELETE FILE (self).
    pub const DELETE: u8 = 0x40;

    /// The SCB for the command of AM bit `bit` (one of b7..b1). `None` when the AM byte
    /// does not list it, uses its proprietary form (b8 set), or the SCB is missing.
    #[must_use]
    pub fn scb(&self, bit: u8) -> Option<u8> {
        let listed = bit.is_power_of_two() && bit & 0x7F & self.am != 0 && self.am & 0x80 == 0;
        if !listed {
            return None;
        }
        // SCBs are listed from b7 down: count the listed bits above this one.
        let above = self.am & 0x7F & !(bit | bit.wrapping_sub(1));
        self.scbs
            .get(usize::try_from(above.count_ones()).ok()?)
            .copied()
    }

    /// The access granted to the command of AM bit `bit`, when the rule states it.
    #[must_use]
    pub fn access(&self, bit: u8) -> Option<Access> {
        self.scb(bit).map(Access::from)
    }
}

impl Fcp {
    /// Decodes the data of a SELECT answer: a `62` FCP, or a `6F` FCI holding the same
    /// fields. Parsed with [`TlvLimits::DEFAULT`]; nothing may follow the template.
    ///
    /// # Errors
    /// [`FcpError::NotFcp`] for another template, [`FcpError::Tlv`] for malformed TLV,
    /// [`FcpError::BadField`] for a known field of impossible length or a repeated one.
    pub fn parse(bytes: &[u8]) -> Result<Self, FcpError> {
        if let Some(&tag) = bytes.first().filter(|&&tag| tag != FCP && tag != FCI) {
            return Err(FcpError::NotFcp { tag });
        }
        let template = tlv::parse_ber_one(bytes, TlvLimits::DEFAULT)?;
        let Value::Constructed(objects) = template.value() else {
            // 62 and 6F are constructed tags: the decoder never gives a primitive.
            return Err(FcpError::NotFcp { tag: FCP });
        };
        let mut fcp = Self::default();
        let mut seen = Vec::new();
        for object in objects {
            fcp.add(object, &mut seen)?;
        }
        Ok(fcp)
    }

    fn add(&mut self, object: &Tlv, seen: &mut Vec<u8>) -> Result<(), FcpError> {
        let value = value_bytes(object);
        let &[tag] = object.tag().to_bytes() else {
            self.other.push((object.tag().to_bytes().to_vec(), value));
            return Ok(());
        };
        if FIELDS.contains(&tag) {
            if seen.contains(&tag) {
                return Err(bad(tag, "repeated field"));
            }
            seen.push(tag);
        }
        match tag {
            0x80 => self.size = Some(size(tag, &value)?),
            0x81 => self.total_size = Some(size(tag, &value)?),
            0x82 => self.descriptor = Some(FileDescriptor::parse(&value)?),
            0x83 => {
                let fid = <[u8; 2]>::try_from(value.as_slice())
                    .map_err(|_| bad(tag, "file identifier is not 2 bytes"))?;
                self.file_id = Some(u16::from_be_bytes(fid));
            }
            0x84 if (1..=16).contains(&value.len()) => self.df_name = Some(value),
            0x84 => return Err(bad(tag, "df name is not 1 to 16 bytes")),
            // SFI in bits 8 to 4.
            0x88 => match *value.as_slice() {
                [] => {}
                [byte] => self.sfi = Some(byte >> 3),
                _ => return Err(bad(tag, "short ef identifier is longer than 1 byte")),
            },
            0x8A => match *value.as_slice() {
                [byte] => self.life_cycle = Some(LifeCycle::from_byte(byte)),
                _ => return Err(bad(tag, "life cycle status is not 1 byte")),
            },
            SECURITY_TEMPLATE => self.add_security_template(object, value),
            _ if SECURITY_TAGS.contains(&tag) => self.security.push(SecurityAttribute {
                template: None,
                tag,
                value,
            }),
            _ => self.other.push((vec![tag], value)),
        }
        Ok(())
    }

    /// Splits `A1` into attributes; kept whole in `other` if an inner tag is multi-byte,
    /// which [`SecurityAttribute`] cannot hold.
    fn add_security_template(&mut self, template: &Tlv, value: Vec<u8>) {
        let inner = match template.value() {
            Value::Constructed(inner) => inner.as_slice(),
            Value::Primitive(_) => &[],
        };
        if inner.iter().any(|o| o.tag().to_bytes().len() != 1) {
            self.other.push((vec![SECURITY_TEMPLATE], value));
            return;
        }
        for object in inner {
            if let &[tag] = object.tag().to_bytes() {
                self.security.push(SecurityAttribute {
                    template: Some(SECURITY_TEMPLATE),
                    tag,
                    value: value_bytes(object),
                });
            }
        }
    }

    /// Encodes as a `62` FCP: fields in the order `80 81 82 83 84 88`, access rules, `8A`,
    /// then `other` — the CPS3's own order, so its EF FCPs come out byte for byte.
    /// Consecutive attributes of one template share a single template object.
    ///
    /// `parse(&fcp.encode())` gives back `fcp` for every value `parse` can return, and for
    /// built values whose `sfi` is at most 31, whose `other` tags are not field or security
    /// tags, and whose template values are well-formed BER-TLV.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(FCP)
    }

    /// Encodes the same fields in a `6F` FCI template, as CPS4 answers.
    #[must_use]
    pub fn encode_fci(&self) -> Vec<u8> {
        self.encode_as(FCI)
    }

    fn encode_as(&self, template: u8) -> Vec<u8> {
        // Sizes take two bytes like the CPS3's; minimal ones keep a re-encoded FCP within
        // the limit `parse` applies (they never make it longer than its input).
        let mut out = Vec::new();
        tlv::push_ber(&mut out, &[template], &self.encode_fields(2));
        if out.len() > TlvLimits::DEFAULT.max_len {
            out.clear();
            tlv::push_ber(&mut out, &[template], &self.encode_fields(1));
        }
        out
    }

    fn encode_fields(&self, size_width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let push_size = |out: &mut Vec<u8>, tag: u8, size: u32| {
            let be = size.to_be_bytes();
            let zeros = be.iter().take_while(|&&b| b == 0).count();
            let digits = be
                .get(zeros.min(4usize.saturating_sub(size_width))..)
                .unwrap_or(&be);
            tlv::push_ber(out, &[tag], digits);
        };
        if let Some(size) = self.size {
            push_size(&mut out, 0x80, size);
        }
        if let Some(size) = self.total_size {
            push_size(&mut out, 0x81, size);
        }
        if let Some(descriptor) = &self.descriptor {
            tlv::push_ber(&mut out, &[0x82], &descriptor.encode());
        }
        if let Some(fid) = self.file_id {
            tlv::push_ber(&mut out, &[0x83], &fid.to_be_bytes());
        }
        if let Some(name) = &self.df_name {
            tlv::push_ber(&mut out, &[0x84], name);
        }
        if let Some(sfi) = self.sfi {
            tlv::push_ber(&mut out, &[0x88], &[(sfi & 0x1F) << 3]);
        }
        let mut rules = self.security.iter().peekable();
        while let Some(rule) = rules.next() {
            let Some(template) = rule.template else {
                tlv::push_ber(&mut out, &[rule.tag], &rule.value);
                continue;
            };
            let mut inner = Vec::new();
            tlv::push_ber(&mut inner, &[rule.tag], &rule.value);
            while let Some(next) = rules.next_if(|next| next.template == Some(template)) {
                tlv::push_ber(&mut inner, &[next.tag], &next.value);
            }
            tlv::push_ber(&mut out, &[template], &inner);
        }
        if let Some(life_cycle) = self.life_cycle {
            tlv::push_ber(&mut out, &[0x8A], &[life_cycle.to_byte()]);
        }
        for (tag, value) in &self.other {
            tlv::push_ber(&mut out, tag, value);
        }
        out
    }

    /// How an EF may be read over `interface`: the compact rule of that interface in the
    /// `A1` template, else a top-level `8C`. `None` when that is not stated unambiguously:
    /// no descriptor or not an EF (b1 means something else for a DF), no compact rule,
    /// or a rule that does not list READ.
    #[must_use]
    pub fn read_access(&self, interface: Interface) -> Option<Access> {
        let is_ef = self.descriptor.is_some_and(|d| {
            matches!(
                d.kind(),
                FileKind::TransparentEf
                    | FileKind::LinearFixedEf
                    | FileKind::LinearVariableEf
                    | FileKind::CyclicEf
            )
        });
        if !is_ef {
            return None;
        }
        let rule_for = |wanted| {
            self.security
                .iter()
                .filter(|rule| rule.interface() == Some(wanted))
                .find_map(SecurityAttribute::compact)
        };
        rule_for(interface)
            .or_else(|| rule_for(Interface::Any))?
            .access(CompactRule::EF_READ)
    }

    /// Whether the FCP states that the EF can be read over `interface` with no
    /// condition (SCB `00`), i.e. without a PIN.
    #[must_use]
    pub fn is_readable_without_pin(&self, interface: Interface) -> bool {
        self.read_access(interface) == Some(Access::Always)
    }
}

/// A primitive's value, or a template's re-encoded content.
fn value_bytes(object: &Tlv) -> Vec<u8> {
    match object.value() {
        Value::Primitive(bytes) => bytes.clone(),
        Value::Constructed(inner) => tlv::encode_ber(inner),
    }
}

fn size(tag: u8, value: &[u8]) -> Result<u32, FcpError> {
    if !(1..=4).contains(&value.len()) {
        return Err(bad(tag, "size is not 1 to 4 bytes"));
    }
    Ok(value.iter().fold(0, |n, &b| n << 8 | u32::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::error::Error as _;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    const EF_SN: &str = "62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 \
        A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00 8A 01 05";
    const AID: &str = "E8 28 BD 08 0F 80 25 00 00 01 FF 00 10";
    const RULES: &str = "A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00";

    fn round_trips(fcp: &Fcp) {
        assert_eq!(Fcp::parse(&fcp.encode()).as_ref(), Ok(fcp));
        assert_eq!(Fcp::parse(&fcp.encode_fci()).as_ref(), Ok(fcp));
    }

    #[test]
    fn ef_sn_fcp() {
        let bytes = h(EF_SN);
        let fcp = Fcp::parse(&bytes).unwrap();
        assert_eq!(fcp.size, Some(12));
        assert_eq!(
            fcp.descriptor.map(|d| d.kind()),
            Some(FileKind::TransparentEf)
        );
        assert_eq!(fcp.descriptor.map(|d| d.is_shareable()), Some(false));
        assert_eq!(fcp.file_id, Some(0xD003));
        assert_eq!(fcp.sfi, Some(0x1C));
        assert_eq!(fcp.life_cycle, Some(LifeCycle::Activated));
        assert_eq!((fcp.df_name.as_ref(), fcp.total_size), (None, None));
        assert!(fcp.other.is_empty());
        let interfaces: Vec<_> = fcp
            .security
            .iter()
            .map(SecurityAttribute::interface)
            .collect();
        assert_eq!(
            interfaces,
            [Some(Interface::Contact), Some(Interface::Contactless)]
        );
        let contact = fcp.security[0].compact().unwrap();
        assert_eq!(
            (contact.am, contact.scbs),
            (0x7B, &h("FF FF FF FF FF 00")[..])
        );
        assert_eq!(contact.access(CompactRule::EF_READ), Some(Access::Always));
        assert_eq!(contact.access(CompactRule::EF_UPDATE), Some(Access::Never));
        assert_eq!(contact.access(CompactRule::DELETE), Some(Access::Never));
        assert_eq!(contact.access(CompactRule::EF_WRITE), None); // b3 not in 7B
        assert_eq!(contact.scb(0x03), None);
        assert!(fcp.is_readable_without_pin(Interface::Contact));
        assert!(fcp.is_readable_without_pin(Interface::Contactless));
        // No top-level rule: "any interface" is not stated.
        assert_eq!(fcp.read_access(Interface::Any), None);
        // The CPS3's field order is ours: the real FCP comes back byte for byte.
        assert_eq!(fcp.encode(), bytes);
        round_trips(&fcp);
    }

    #[test]
    fn df_fcp() {
        let bytes = h(&format!(
            "62 2D 82 01 38 83 02 00 01 84 0D {AID} 8A 01 05 {RULES}"
        ));
        let fcp = Fcp::parse(&bytes).unwrap();
        assert_eq!(fcp.descriptor.map(|d| d.kind()), Some(FileKind::Df));
        assert_eq!(fcp.file_id, Some(1));
        assert_eq!(fcp.df_name, Some(h(AID)));
        assert_eq!(fcp.life_cycle, Some(LifeCycle::Activated));
        assert_eq!(fcp.security.len(), 2);
        // For a DF, AM b1 is not READ: no claim is made.
        assert_eq!(fcp.read_access(Interface::Contact), None);
        assert_eq!(fcp.encode().len(), bytes.len());
        round_trips(&fcp);
    }

    #[test]
    fn fci_and_unknown_tags() {
        let fcp = Fcp::parse(&h("6F 0B 83 02 D0 03 80 02 00 0C 82 01 01")).unwrap();
        assert_eq!((fcp.file_id, fcp.size), (Some(0xD003), Some(12)));
        assert_eq!(
            fcp.encode_fci(),
            h("6F 0B 80 02 00 0C 82 01 01 83 02 D0 03")
        );
        round_trips(&fcp);
        // Proprietary data, a multi-byte tag, an unknown template and an empty SFI.
        let fci = h(&format!(
            "6F 21 84 0D {AID} 85 05 00 20 40 10 04 5F 20 01 41 A5 03 C6 01 01 88 00"
        ));
        let fcp = Fcp::parse(&fci).unwrap();
        assert_eq!(fcp.df_name, Some(h(AID)));
        assert_eq!(fcp.sfi, None);
        let other: Vec<_> = fcp
            .other
            .iter()
            .map(|(t, v)| (hex::encode(t), hex::encode(v)))
            .collect();
        let want = [("85", "0020401004"), ("5f20", "41"), ("a5", "c60101")];
        assert_eq!(other, want.map(|(t, v)| (t.to_owned(), v.to_owned())));
        round_trips(&fcp);
        assert_eq!(Fcp::parse(&h("62 00")), Ok(Fcp::default()));
    }

    #[test]
    fn security_templates() {
        let fcp = Fcp::parse(&h("62 10 8C 03 03 00 FF A1 00 AB 02 80 00 A1 03 5F 01 00")).unwrap();
        // Top-level compact rule applies to every interface; the empty A1 vanishes and the
        // A1 with a multi-byte tag is kept whole.
        assert_eq!(fcp.security.len(), 2);
        assert_eq!(fcp.security[1].value, h("80 00"));
        assert_eq!(fcp.other, [(vec![0xA1], h("5F 01 00"))]);
        let mut ef = fcp.clone();
        ef.descriptor = Some(FileDescriptor::new(FileKind::TransparentEf, false));
        assert_eq!(ef.read_access(Interface::Contactless), Some(Access::Never));
        ef.security[0].value = h("03 00 12");
        assert_eq!(
            ef.read_access(Interface::Contact),
            Some(Access::Conditions(0x12))
        );
        ef.security[0].value = h("03 12"); // SCB missing
        assert_eq!(ef.read_access(Interface::Contact), None);
        ef.security[0].value = h("83 00 00"); // proprietary AM form
        assert_eq!(ef.read_access(Interface::Contact), None);
        round_trips(&fcp);
        // The PIN SDO's rule (AM F3) is in the proprietary form.
        let sdo = SecurityAttribute {
            template: None,
            tag: 0x8C,
            value: h("F3 00 00 13 FF 00"),
        };
        assert_eq!(
            sdo.compact().and_then(|r| r.scb(CompactRule::EF_READ)),
            None
        );
        let other = SecurityAttribute {
            template: Some(0xA1),
            tag: 0x8B,
            value: vec![],
        };
        assert_eq!((other.interface(), other.compact()), (None, None));
    }

    #[test]
    fn descriptors_and_life_cycles() {
        let descriptor = |s: &str| {
            let fcp = Fcp::parse(&h(&format!("62 {:02X} 82 {s}", s.len() / 3 + 2))).unwrap();
            let d = fcp.descriptor.unwrap();
            (
                d.kind(),
                d.is_shareable(),
                d.data_coding,
                d.max_record_size,
                d.record_count,
            )
        };
        use FileKind::*;
        assert_eq!(descriptor("01 78"), (Df, true, None, None, None));
        assert_eq!(
            descriptor("02 41 21"),
            (TransparentEf, true, Some(0x21), None, None)
        );
        assert_eq!(
            descriptor("03 02 21 1E"),
            (LinearFixedEf, false, Some(0x21), Some(30), None)
        );
        assert_eq!(
            descriptor("04 05 21 01 00"),
            (LinearVariableEf, false, Some(0x21), Some(256), None)
        );
        assert_eq!(
            descriptor("05 06 21 00 1E 0A"),
            (CyclicEf, false, Some(0x21), Some(30), Some(10))
        );
        let six = descriptor("06 0A 21 00 1E 01 2C");
        assert_eq!(six, (LinearFixedEf, false, Some(0x21), Some(30), Some(300)));
        assert_eq!(descriptor("01 39").0, Other(0x39)); // BER-TLV structured EF
        assert_eq!(descriptor("01 11").0, Other(0x11)); // proprietary category
        assert_eq!(descriptor("01 81").0, Other(0x81));
        assert_eq!(descriptor("01 08").0, Other(0x08)); // internal EF, no structure given
        assert_eq!(descriptor("01 09").0, TransparentEf); // internal EF
        for kind in [
            Df,
            TransparentEf,
            LinearFixedEf,
            LinearVariableEf,
            CyclicEf,
            Other(0x39),
        ] {
            for shareable in [false, true] {
                let d = FileDescriptor::new(kind, shareable);
                assert_eq!(d.kind(), kind);
                assert_eq!(d.is_shareable(), shareable && kind != Other(0x39));
            }
        }
        for (byte, state) in [
            (0x00, LifeCycle::NoInformation),
            (0x01, LifeCycle::Creation),
            (0x03, LifeCycle::Initialisation),
            (0x07, LifeCycle::Activated),
            (0x06, LifeCycle::Deactivated),
            (0x04, LifeCycle::Deactivated),
            (0x0F, LifeCycle::Terminated),
            (0x02, LifeCycle::Other(0x02)),
            (0x10, LifeCycle::Other(0x10)),
        ] {
            assert_eq!(LifeCycle::from_byte(byte), state);
            assert_eq!(LifeCycle::from_byte(state.to_byte()), state);
        }
    }

    #[test]
    fn bad_input() {
        let err = |s: &str| Fcp::parse(&h(s)).unwrap_err();
        let field = |s: &str| match err(s) {
            FcpError::BadField { tag, .. } => tag,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(field("62 03 83 01 D0"), 0x83);
        assert_eq!(field("62 05 83 03 D0 03 00"), 0x83);
        assert_eq!(field("62 02 80 00"), 0x80);
        assert_eq!(field("62 07 81 05 00 00 00 00 01"), 0x81);
        assert_eq!(field("62 02 84 00"), 0x84);
        assert_eq!(field(&format!("62 13 84 11 {AID} 00 00 00 00")), 0x84);
        assert_eq!(field("62 02 82 00"), 0x82);
        assert_eq!(field("62 09 82 07 01 02 03 04 05 06 07"), 0x82);
        assert_eq!(field("62 04 88 02 E0 00"), 0x88);
        assert_eq!(field("62 02 8A 00"), 0x8A);
        assert_eq!(field("62 08 83 02 D0 03 83 02 D0 04"), 0x83);
        assert!(
            err("62 03 83 01 D0")
                .to_string()
                .contains("bad fcp field 83")
        );
        assert_eq!(err("70 00"), FcpError::NotFcp { tag: 0x70 });
        assert_eq!(err("90 00"), FcpError::NotFcp { tag: 0x90 });
        assert_eq!(err(""), FcpError::Tlv(TlvError::Truncated { offset: 0 }));
        assert_eq!(
            err("62 05 80"),
            FcpError::Tlv(TlvError::Truncated { offset: 0 })
        );
        assert_eq!(
            err("62 00 00"),
            FcpError::Tlv(TlvError::Trailing { offset: 2 })
        );
        let tlv = err("62 80 00 00");
        assert_eq!(
            tlv.source().map(ToString::to_string),
            Some(TlvError::BadLength { offset: 1 }.to_string())
        );
    }

    /// Re-encoding a parsed FCP never outgrows the parse limit, even from 1-byte sizes.
    #[test]
    fn encoding_stays_within_the_parse_limit() {
        let fcp = Fcp {
            size: Some(1),
            other: vec![(vec![0x85], vec![0; 65_525])],
            ..Fcp::default()
        };
        let narrow = fcp.encode();
        assert_eq!(narrow.len(), 65_536);
        assert_eq!(&narrow[4..7], [0x80, 0x01, 0x01]);
        assert_eq!(Fcp::parse(&narrow), Ok(fcp));
    }

    fn fcp_value() -> impl Strategy<Value = Fcp> {
        let descriptor = (
            any::<u8>(),
            proptest::option::of((
                any::<u8>(),
                proptest::option::of((any::<u16>(), proptest::option::of(any::<u16>()))),
            )),
        )
            .prop_map(|(byte, rest)| FileDescriptor {
                byte,
                data_coding: rest.map(|(c, _)| c),
                max_record_size: rest.and_then(|(_, r)| r.map(|(m, _)| m)),
                record_count: rest.and_then(|(_, r)| r.and_then(|(_, n)| n)),
            });
        let rule = prop_oneof![
            (
                prop::sample::select(vec![0x86u8, 0x8B, 0x8C, 0x8E]),
                prop::collection::vec(any::<u8>(), 0..10)
            )
                .prop_map(|(tag, value)| SecurityAttribute {
                    template: None,
                    tag,
                    value
                }),
            (
                prop::sample::select(vec![0xA0u8, 0xA2, 0xAB]),
                prop::collection::vec(0u8..0x1F, 0..4)
            )
                .prop_map(|(tag, tags)| {
                    // A template value must be well-formed: empty primitives.
                    let value = tags.iter().flat_map(|&t| [0x80 | t, 0]).collect();
                    SecurityAttribute {
                        template: None,
                        tag,
                        value,
                    }
                }),
            (
                prop::sample::select(vec![0x8Cu8, 0x9C, 0x8B, 0x80]),
                prop::collection::vec(any::<u8>(), 0..10)
            )
                .prop_map(|(tag, value)| SecurityAttribute {
                    template: Some(SECURITY_TEMPLATE),
                    tag,
                    value
                }),
        ];
        let other = (
            prop::sample::select(vec![
                vec![0x85u8],
                vec![0x87],
                vec![0xC6],
                vec![0x5F, 0x20],
                vec![0x9F, 0x7F],
            ]),
            prop::collection::vec(any::<u8>(), 0..200),
        );
        (
            (
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(descriptor),
            ),
            (
                proptest::option::of(any::<u16>()),
                proptest::option::of(prop::collection::vec(any::<u8>(), 1..=16)),
            ),
            (
                proptest::option::of(0u8..=31),
                proptest::option::of(any::<u8>().prop_map(LifeCycle::from_byte)),
            ),
            (
                prop::collection::vec(rule, 0..5),
                prop::collection::vec(other, 0..3),
            ),
        )
            .prop_map(
                |(
                    (size, total_size, descriptor),
                    (file_id, df_name),
                    (sfi, life_cycle),
                    (security, other),
                )| Fcp {
                    size,
                    total_size,
                    descriptor,
                    file_id,
                    df_name,
                    sfi,
                    life_cycle,
                    security,
                    other,
                },
            )
    }

    /// Tags of every kind `parse` handles, to build nearly valid FCPs.
    const FIELD_SOUP: [u8; 14] = [
        0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0x8A, 0x8C, 0x86, 0x9C, 0xA1, 0xA5, 0xAB,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(fcp) = Fcp::parse(&bytes) {
                prop_assert_eq!(Fcp::parse(&fcp.encode()), Ok(fcp.clone()));
                let _ = fcp.read_access(Interface::Contact);
            }
        }

        #[test]
        fn near_valid_fcps_reencode(
            fields in prop::collection::vec((prop::sample::select(FIELD_SOUP.to_vec()), prop::collection::vec(any::<u8>(), 0..18)), 0..8),
            fci in any::<bool>(),
        ) {
            let mut content = Vec::new();
            for (tag, value) in &fields {
                tlv::push_ber(&mut content, &[*tag], value);
            }
            let mut bytes = Vec::new();
            tlv::push_ber(&mut bytes, &[if fci { FCI } else { FCP }], &content);
            if let Ok(fcp) = Fcp::parse(&bytes) {
                prop_assert_eq!(Fcp::parse(&fcp.encode()), Ok(fcp.clone()));
                let _ = fcp.is_readable_without_pin(Interface::Contactless);
            }
        }

        #[test]
        fn encode_parse_round_trip(fcp in fcp_value()) {
            prop_assert_eq!(Fcp::parse(&fcp.encode()), Ok(fcp.clone()));
            prop_assert_eq!(Fcp::parse(&fcp.encode_fci()), Ok(fcp));
        }
    }
}
