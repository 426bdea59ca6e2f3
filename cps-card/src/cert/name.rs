//! Distinguished names, kept as owned values with their multi-valued RDNs intact.

use std::fmt;

use x509_parser::der_parser::asn1_rs::ToDer;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// `countryName` (`C`).
pub const OID_COUNTRY: &str = "2.5.4.6";
/// `stateOrProvinceName` (`ST`).
pub const OID_STATE: &str = "2.5.4.8";
/// `organizationName` (`O`): the structure name on staff cards.
pub const OID_ORGANIZATION: &str = "2.5.4.10";
/// `organizationalUnitName` (`OU`): the structure identifier on staff cards.
pub const OID_ORGANIZATIONAL_UNIT: &str = "2.5.4.11";
/// `commonName` (`CN`): the national identifier on card certificates.
pub const OID_COMMON_NAME: &str = "2.5.4.3";
/// `surname` (`SN`).
pub const OID_SURNAME: &str = "2.5.4.4";
/// `givenName` (`GN`).
pub const OID_GIVEN_NAME: &str = "2.5.4.42";
/// `title`: the profession label on card certificates.
pub const OID_TITLE: &str = "2.5.4.12";

/// Short names used when rendering; anything else is shown as its dotted OID.
const SHORT_NAMES: &[(&str, &str)] = &[
    (OID_COUNTRY, "C"),
    (OID_STATE, "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.9", "street"),
    ("2.5.4.17", "postalCode"),
    (OID_ORGANIZATION, "O"),
    (OID_ORGANIZATIONAL_UNIT, "OU"),
    (OID_COMMON_NAME, "CN"),
    (OID_SURNAME, "SN"),
    (OID_GIVEN_NAME, "GN"),
    (OID_TITLE, "title"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.97", "organizationIdentifier"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
];

/// One attribute of a distinguished name: its type and its value as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted OID of the attribute type, e.g. `2.5.4.3`.
    pub oid: String,
    /// The value as text. String types are decoded (UTF-8, Printable, IA5, Numeric, BMP,
    /// Universal, Teletex read as Latin-1); any other type is `#` followed by the hex of its
    /// DER encoding, as RFC 4514 does.
    pub value: String,
    /// Whether `value` came from a string type (false for the `#hex` fallback).
    pub is_text: bool,
}

impl Attribute {
    /// The short name (`CN`, `GN`, `title`, …) if the type is a common one.
    pub fn short_name(&self) -> Option<&'static str> {
        short_name(&self.oid)
    }

    fn from_x509(atv: &AttributeTypeAndValue<'_>) -> Self {
        let oid = atv.attr_type().to_id_string();
        match decode_string(atv) {
            Some(value) => Attribute {
                oid,
                value,
                is_text: true,
            },
            None => {
                let any = atv.attr_value();
                // RFC 4514 wants the whole TLV; fall back to the content alone.
                let der = any.to_der_vec().unwrap_or_else(|_| any.data.to_vec());
                Attribute {
                    oid,
                    value: format!("#{}", hex::encode(der)),
                    is_text: false,
                }
            }
        }
    }
}

/// The short name for a dotted attribute OID, if it is a common one.
pub fn short_name(oid: &str) -> Option<&'static str> {
    SHORT_NAMES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, name)| *name)
}

/// A distinguished name in its encoded order (country first for IGC-Santé names), each
/// relative distinguished name keeping all its attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinguishedName {
    rdns: Vec<Vec<Attribute>>,
}

impl DistinguishedName {
    pub(crate) fn from_x509(name: &X509Name<'_>) -> Self {
        let rdns = name
            .iter()
            .map(|rdn| rdn.iter().map(Attribute::from_x509).collect())
            .collect();
        DistinguishedName { rdns }
    }

    /// The relative distinguished names in encoded order; a card certificate has one with
    /// three attributes (GN, CN, SN).
    pub fn rdns(&self) -> &[Vec<Attribute>] {
        &self.rdns
    }

    /// Every attribute, flattened, in encoded order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.rdns.iter().flatten()
    }

    /// The first value of the attribute with this dotted OID.
    pub fn first(&self, oid: &str) -> Option<&str> {
        self.attributes()
            .find(|a| a.oid == oid)
            .map(|a| a.value.as_str())
    }

    /// Every value of the attribute with this dotted OID (several `OU` are common).
    pub fn all(&self, oid: &str) -> impl Iterator<Item = &str> {
        self.attributes()
            .filter(move |a| a.oid == oid)
            .map(|a| a.value.as_str())
    }

    /// The first `CN`.
    pub fn common_name(&self) -> Option<&str> {
        self.first(OID_COMMON_NAME)
    }
}

/// Renders `C=FR, title=Médecin, GN=Jean+CN=810002813839+SN=DUPONT`: encoded order (not
/// RFC 4514's reversed order, which reads badly for these names), RFC 4514 escaping.
impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            for (j, attr) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                match attr.short_name() {
                    Some(name) => f.write_str(name)?,
                    None => f.write_str(&attr.oid)?,
                }
                f.write_str("=")?;
                if attr.is_text {
                    f.write_str(&escape_value(&attr.value))?;
                } else {
                    f.write_str(&attr.value)?;
                }
            }
        }
        Ok(())
    }
}

/// RFC 4514 section 2.4 escaping.
pub(crate) fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

fn decode_string(atv: &AttributeTypeAndValue<'_>) -> Option<String> {
    if let Ok(s) = atv.as_str() {
        return Some(s.to_owned());
    }
    let any = atv.attr_value();
    let data = any.data;
    match any.tag().0 {
        // BMPString: UTF-16 big-endian.
        30 => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32 big-endian.
        28 => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        // TeletexString and VisibleString: Latin-1 is what issuers meant in practice.
        20 | 26 => Some(data.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_rfc4514_specials() {
        assert_eq!(escape_value("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_value("#x"), "\\#x");
        assert_eq!(escape_value(" x "), "\\ x\\ ");
        assert_eq!(escape_value("Médecin"), "Médecin");
        assert_eq!(escape_value(""), "");
    }

    #[test]
    fn short_names_cover_card_subject() {
        assert_eq!(short_name(OID_GIVEN_NAME), Some("GN"));
        assert_eq!(short_name(OID_TITLE), Some("title"));
        assert_eq!(short_name("1.2.3"), None);
    }
}
