//! Which card is this? First from the ATR (with the reference's masks), then
//! confirmed from EF.SN.ICC (issuer prefix and Luhn digit).

use std::fmt;

use cps_apdu::atr::{AtrMask, matches_mask};
use serde::Serialize;

/// The card families the ATR tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum CardKind {
    /// CPS3, contact interface (T=0). The ATR alone does not separate it from a
    /// CPS2ter-era card: EF.SN.ICC confirms.
    Cps3Contact,
    /// CPS3 through a contactless reader (PC/SC pseudo-ATR).
    Cps3Contactless,
    /// CPS4, T=0 and T=1 (`3B 9B …`, production).
    Cps4,
    /// CPS4 release candidate (`3B 9B … 80 00 04 01 …`).
    Cps4ReleaseCandidate,
    /// CPS4 offering T=0 only (`3B DC …`).
    Cps4T0,
    /// A Carte Vitale (the patient card) — a classic mix-up in two-slot readers.
    Vitale,
    /// Something else.
    Unknown,
}

/// A CPS generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Generation {
    /// CPS3 (IAS-ECC), since 2011.
    #[serde(rename = "CPS3")]
    Cps3,
    /// CPS4 (ChipDoc on logical channel 1), rolling out 2024–2026.
    #[serde(rename = "CPS4")]
    Cps4,
}

/// The interface the card is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// Contacts.
    Contact,
    /// Contactless (NFC).
    Contactless,
}

fn hex(s: &str) -> Vec<u8> {
    s.split(' ')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// The ATR table of the reference, most specific first: the CPS3 mask also matches
/// the CPS4 T=0-only ATR, so the exact CPS4 entries are tried before it.
fn table() -> Vec<(AtrMask, CardKind)> {
    let exact = |atr: &str, kind| (AtrMask::exact(&hex(atr)), kind);
    let masked =
        |atr: &str, mask: &str, kind| AtrMask::new(&hex(atr), &hex(mask)).map(|m| (m, kind));
    let mut table = vec![
        exact(
            "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44",
            CardKind::Cps4,
        ),
        exact(
            "3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44",
            CardKind::Cps4ReleaseCandidate,
        ),
        exact(
            "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00",
            CardKind::Cps4T0,
        ),
    ];
    table.extend(masked(
        "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00",
        "FF 00 00 00 00 FF FF FF FF FF FF 00 00 00 FF FF FF",
        CardKind::Cps3Contact,
    ));
    table.extend(masked(
        "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
        "FF FF FF FF FF FF FF FF 00 00 FF C0 FF FF FF FF FF FF FF FF",
        CardKind::Cps3Contactless,
    ));
    table
}

impl CardKind {
    /// Classifies an ATR.
    pub fn from_atr(atr: &[u8]) -> CardKind {
        if let Some((_, kind)) = table().into_iter().find(|(mask, _)| mask.matches(atr)) {
            return kind;
        }
        if is_vitale(atr) {
            CardKind::Vitale
        } else {
            CardKind::Unknown
        }
    }

    /// The CPS generation, for CPS cards.
    pub fn generation(self) -> Option<Generation> {
        match self {
            CardKind::Cps3Contact | CardKind::Cps3Contactless => Some(Generation::Cps3),
            CardKind::Cps4 | CardKind::Cps4ReleaseCandidate | CardKind::Cps4T0 => {
                Some(Generation::Cps4)
            }
            CardKind::Vitale | CardKind::Unknown => None,
        }
    }

    /// The interface, for CPS cards.
    pub fn interface(self) -> Option<Interface> {
        match self {
            CardKind::Cps3Contactless => Some(Interface::Contactless),
            CardKind::Vitale | CardKind::Unknown => None,
            _ => Some(Interface::Contact),
        }
    }
}

/// Carte Vitale 1 (`3F 65 25 00 xx 09 xx 90 00`, inverse convention) and Carte
/// Vitale 2 (`3B 75 13 00 00 4x 09 EA 90 00`, x in 3..C, or `… 45 09 FA 90 00`).
fn is_vitale(atr: &[u8]) -> bool {
    let v1 = matches_mask(
        atr,
        &hex("3F 65 25 00 00 09 00 90 00"),
        &hex("FF FF FF FF 00 FF 00 FF FF"),
    );
    let v2 = match atr {
        [0x3B, 0x75, 0x13, 0x00, 0x00, x, 0x09, 0xEA, 0x90, 0x00] => (0x43..=0x4C).contains(x),
        [0x3B, 0x75, 0x13, 0x00, 0x00, 0x45, 0x09, 0xFA, 0x90, 0x00] => true,
        _ => false,
    };
    v1 || v2
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CardKind::Cps3Contact => "CPS3 (contact)",
            CardKind::Cps3Contactless => "CPS3 (contactless)",
            CardKind::Cps4 => "CPS4",
            CardKind::Cps4ReleaseCandidate => "CPS4 (release candidate)",
            CardKind::Cps4T0 => "CPS4 (T=0)",
            CardKind::Vitale => "Carte Vitale",
            CardKind::Unknown => "unknown card",
        })
    }
}

/// The agency's issuer number, first 10 digits of every CPS card's PAN.
pub const ISSUER: &str = "8025000001";

/// EF.SN.ICC decoded: the PAN and the card serial it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SerialNumber {
    /// Every digit of the PAN, issuer included, check digit included.
    pub pan: String,
    /// The card's serial: the digits between the issuer number and the check digit.
    pub serial: String,
    /// `true` when the PAN starts with the agency's issuer number.
    pub issuer_ok: bool,
    /// `true` when the Luhn check digit is right.
    pub luhn_ok: bool,
}

impl SerialNumber {
    /// Decodes EF.SN.ICC: `5A` (application PAN), length, BCD digits padded with `F`.
    pub fn parse(file: &[u8]) -> Result<SerialNumber, String> {
        let value = match file {
            [0x5A, len, rest @ ..] if usize::from(*len) <= rest.len() && *len > 0 => {
                &rest[..usize::from(*len)]
            }
            [0x5A, ..] => return Err("the PAN's length runs past the file".into()),
            _ => return Err("it does not start with the PAN tag 5A".into()),
        };
        let mut pan = String::with_capacity(value.len() * 2);
        let mut padding = false;
        for nibble in value.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
            match nibble {
                0..=9 if !padding => pan.push(char::from(b'0' + nibble)),
                0xF => padding = true,
                _ => return Err(format!("nibble {nibble:X} is not a BCD digit")),
            }
        }
        if pan.len() < ISSUER.len() + 2 {
            return Err(format!("the PAN has only {} digits", pan.len()));
        }
        let issuer_ok = pan.starts_with(ISSUER);
        let luhn_ok = luhn_valid(&pan);
        let serial = pan
            .get(ISSUER.len()..pan.len() - 1)
            .unwrap_or_default()
            .to_owned();
        Ok(SerialNumber {
            pan,
            serial,
            issuer_ok,
            luhn_ok,
        })
    }
}

/// The Luhn check over a digit string whose last digit is the check digit.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_table() {
        let kind = |s: &str| CardKind::from_atr(&hex(s));
        assert_eq!(
            kind("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"),
            CardKind::Cps3Contact
        );
        assert_eq!(
            kind("3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00"),
            CardKind::Cps3Contact
        );
        assert_eq!(
            kind("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E"),
            CardKind::Cps3Contactless
        );
        assert_eq!(
            kind("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44"),
            CardKind::Cps4
        );
        assert_eq!(
            kind("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44"),
            CardKind::Cps4ReleaseCandidate
        );
        assert_eq!(
            kind("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00"),
            CardKind::Cps4T0
        );
        assert_eq!(kind("3F 65 25 00 2C 09 69 90 00"), CardKind::Vitale);
        assert_eq!(kind("3B 75 13 00 00 47 09 EA 90 00"), CardKind::Vitale);
        assert_eq!(kind("3B 75 13 00 00 45 09 FA 90 00"), CardKind::Vitale);
        assert_eq!(kind("3B 02 14 50"), CardKind::Unknown);
        assert_eq!(kind(""), CardKind::Unknown);
        assert_eq!(CardKind::Cps4T0.generation(), Some(Generation::Cps4));
        assert_eq!(
            CardKind::Cps3Contactless.interface(),
            Some(Interface::Contactless)
        );
    }

    #[test]
    fn serial_number_of_the_reference() {
        let sn = SerialNumber::parse(&hex("5A 0A 80 25 00 00 01 99 21 38 45 0F")).unwrap();
        assert_eq!(sn.pan, "8025000001992138450");
        assert_eq!(sn.serial, "99213845");
        assert!(sn.issuer_ok && sn.luhn_ok);
        let bad_luhn = SerialNumber::parse(&hex("5A 0A 80 25 00 00 01 99 21 38 46 0F")).unwrap();
        assert!(!bad_luhn.luhn_ok);
        let other = SerialNumber::parse(&hex("5A 0A 99 99 00 00 01 99 21 38 45 0F")).unwrap();
        assert!(!other.issuer_ok);
        assert!(SerialNumber::parse(&hex("5A 0B 80 25")).is_err());
        assert!(SerialNumber::parse(&hex("4F 01 00")).is_err());
        assert!(SerialNumber::parse(&hex("5A 02 8A 00")).is_err());
    }
}
