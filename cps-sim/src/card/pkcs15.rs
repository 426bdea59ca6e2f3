//! The content of the card's files: EF.DIR, EF.ATR, EF.SN.ICC and the PKCS#15 objects
//! of middleware-flows §5, built from their fields with `push_ber` (the tests compare
//! them with the hex that worked with OpenSC 0.23 and the Cryptolib).

use cps_apdu::tlv::push_ber;

use crate::profile::{Generation, Profile};

/// IAS-ECC root application (CPS3) / ChipDoc application (CPS4).
pub(crate) const AID_IAS: [u8; 8] = [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00];
/// PKCS#15 application "CPS" (contact), DF `0001`.
pub(crate) const AID_CONTACT: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10,
];
/// PKCS#15 application "CPS CL" (contactless), DF `0002`.
pub(crate) const AID_CONTACTLESS: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x20,
];
/// CPS2ter side, seen on CPS4.
pub(crate) const AID_CPS2TER: [u8; 8] = [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x02];
/// Issuer security domain (CPS4 recovery sequence).
pub(crate) const AID_ISD: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00];

/// Key references (PrKDF `keyReference`, MSE `84`).
pub(crate) const KEY_SIGN: u8 = 0x81;
/// Authentication key: internal authenticate and decipher.
pub(crate) const KEY_AUTH: u8 = 0x82;
/// Contactless technical key, DF `0002`, no PIN.
pub(crate) const KEY_TECH: u8 = 0x83;

/// PKCS#15 object IDs: the contact AID followed by a 1-byte index.
fn object_id(aid: &[u8; 13], index: u8) -> Vec<u8> {
    let mut id = aid.to_vec();
    id.push(index);
    id
}

/// One BER object.
fn t(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    push_ber(&mut out, &[tag], value);
    out
}

/// A constructed object from its parts.
fn c(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    t(tag, &parts.concat())
}

/// DER INTEGER of a small non-negative number.
fn int(n: u32) -> Vec<u8> {
    let be = n.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count().min(3);
    let mut value: Vec<u8> = be.get(skip..).unwrap_or(&be).to_vec();
    if value.first().is_some_and(|&b| b & 0x80 != 0) {
        value.insert(0, 0);
    }
    t(0x02, &value)
}

fn utf8(s: &str) -> Vec<u8> {
    t(0x0C, s.as_bytes())
}

fn path(p: &[u8]) -> Vec<u8> {
    c(0x30, &[&t(0x04, p)])
}

/// EF.DIR (`3F00/2F00`), 101 bytes: the contactless record first, each with the contact
/// AID in its DDO, as the real card's listing implies (middleware-flows §4).
pub(crate) fn ef_dir() -> Vec<u8> {
    let record = |aid: &[u8], label: &str, df: [u8; 2]| {
        c(
            0x61,
            &[
                &t(0x4F, aid),
                &t(0x50, label.as_bytes()),
                &t(0x51, &[0x3F, 0x00, df[0], df[1]]),
                &c(0x73, &[&t(0x4F, &AID_CONTACT)]),
            ],
        )
    };
    [
        record(&AID_CONTACTLESS, "CPX IAS CL", [0x00, 0x02]),
        record(&AID_CONTACT, "CPX IAS", [0x00, 0x01]),
    ]
    .concat()
}

/// EF.ATR (`3F00/2F01`), 57 bytes: the category byte `80`, then card service data,
/// pre-issuing data, card capabilities `94 01 80`, the IAS AID (OpenSC selects it),
/// the I/O buffer sizes (send 0x104, receive 0x100), the IAS-ECC OID and a status word
/// — the layout of the real CPx file published in OpenSC issue #2220.
pub(crate) fn ef_atr(generation: Generation) -> Vec<u8> {
    // The pre-issuing bytes echo the ATR's (chip/OS version); the CPS4 value is ours.
    let pre_issuing: [u8; 4] = match generation {
        Generation::Cps3 => [0x04, 0xB0, 0xEC, 0xC1],
        Generation::Cps4 => [0x80, 0x04, 0x01, 0x00],
    };
    let buffer = |size: u16| t(0x02, &size.to_be_bytes());
    [
        vec![0x80],
        t(0x43, &[0xB8]),
        t(0x46, &pre_issuing),
        t(0x47, &[0x94, 0x01, 0x80]),
        t(0x4F, &AID_IAS),
        c(
            0xE0,
            &[
                &buffer(0x104),
                &buffer(0x104),
                &buffer(0x100),
                &buffer(0x100),
            ],
        ),
        c(0x78, &[&t(0x06, &[0x2B, 0x81, 0x22, 0xF8, 0x78, 0x02])]),
        t(0x82, &[0x90, 0x00]),
    ]
    .concat()
}

/// Luhn check digit over ASCII digits (the digit that makes the whole number valid).
pub(crate) fn luhn_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, ch) in digits.bytes().rev().enumerate() {
        let d = u32::from(ch.checked_sub(b'0').filter(|d| *d <= 9)?);
        // The check digit will be rightmost: the payload's rightmost digit is doubled.
        sum += if i % 2 == 0 {
            let doubled = d * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            d
        };
    }
    u8::try_from((10 - sum % 10) % 10).ok()
}

/// EF.SN.ICC (`3F00/D003`): `5A 0A` + PAN in BCD = issuer `8025000001` + the 8 serial
/// digits + Luhn digit + `F` pad.
pub(crate) fn ef_sn(serial: &str) -> Option<Vec<u8>> {
    let mut pan = format!("8025000001{serial}");
    let luhn = luhn_digit(&pan)?;
    pan.push(char::from(b'0' + luhn));
    pan.push('F');
    let bytes = hex::decode(&pan).ok()?;
    (bytes.len() == 10).then(|| t(0x5A, &bytes))
}

/// ODF: absolute paths of the directory files of one application DF.
/// `entries`: (ODF choice tag, EF id).
pub(crate) fn odf(df: [u8; 2], entries: &[(u8, [u8; 2])]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|(tag, ef)| c(*tag, &[&path(&[0x3F, 0x00, df[0], df[1], ef[0], ef[1]])]))
        .collect()
}

/// TokenInfo (`5032`): version 0, manufacturer "ASIP SANTE", the label, the flags, no
/// serialNumber (so middleware shows the EF.SN serial), six supported algorithms.
pub(crate) fn token_info(label: &str, flags: &[u8]) -> Vec<u8> {
    // (reference, PKCS#11 mechanism, supportedOperations, algorithm OID, algRef)
    const HASH: &[u8] = &[0x01, 0x02]; // bit 6: hash
    const SIGN: &[u8] = &[0x06, 0x40]; // bit 1: compute-signature
    const DECIPHER: &[u8] = &[0x02, 0x04]; // bit 5: decipher
    const SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
    const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    const SHA1_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05];
    const SHA256_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
    const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    type Algorithm<'a> = (u32, u32, &'a [u8], &'a [u8], u32);
    let algorithms: [Algorithm<'_>; 6] = [
        (1, 0x220, HASH, SHA1, 0x10),
        (2, 0x250, HASH, SHA256, 0x40),
        (3, 0x06, SIGN, SHA1_RSA, 0x12),
        (4, 0x40, SIGN, SHA256_RSA, 0x42),
        (5, 0x01, SIGN, RSA, 0x02),
        (6, 0x01, DECIPHER, RSA, 0x1A),
    ];
    let supported: Vec<u8> = algorithms
        .iter()
        .flat_map(|(reference, mechanism, operations, oid, alg_ref)| {
            c(
                0x30,
                &[
                    &int(*reference),
                    &int(*mechanism),
                    &[0x05, 0x00],
                    &t(0x03, operations),
                    &t(0x06, oid),
                    &int(*alg_ref),
                ],
            )
        })
        .collect();
    c(
        0x30,
        &[
            &int(0),
            &utf8("ASIP SANTE"),
            &t(0x80, label.as_bytes()),
            &t(0x03, flags),
            &t(0xA2, &supported),
        ],
    )
}

/// TokenInfo flags of the contact application: read-only, login required.
pub(crate) const TOKEN_FLAGS_CONTACT: [u8; 2] = [0x06, 0xC0];
/// TokenInfo flags of the contactless application: read-only (no PIN over the air).
pub(crate) const TOKEN_FLAGS_CONTACTLESS: [u8; 2] = [0x07, 0x80];

/// PIN reference the card declares in its AODF.
pub(crate) fn pin_reference(generation: Generation, puk: bool) -> u8 {
    // CPS4 references are local (b8 set), as its `01 2C 03 <ref|80>` suggests.
    let base = if puk { 0x02 } else { 0x01 };
    match generation {
        Generation::Cps3 => base,
        Generation::Cps4 => base | 0x80,
    }
}

/// AODF (`7001`): the code porteur and the code de déblocage, ASCII digits, stored
/// length 8, padded with `FF`, at the MF level.
pub(crate) fn aodf(generation: Generation) -> Vec<u8> {
    let entry = |label: &str,
                 parent_auth: Option<u8>,
                 auth_id: u8,
                 pin_flags: &[u8],
                 min_length: u32,
                 reference: u8| {
        let mut common = [utf8(label), t(0x03, &[0x06, 0xC0])].concat();
        if let Some(parent) = parent_auth {
            common.extend(t(0x04, &[parent]));
        }
        let attributes = c(
            0x30,
            &[
                &t(0x03, pin_flags),
                &t(0x0A, &[0x01]), // ascii-numeric
                &int(min_length),
                &int(8), // storedLength
                &int(8), // maxLength
                &t(0x80, &[reference]),
                &t(0x04, &[0xFF]), // padChar
                &path(&[0x3F, 0x00]),
            ],
        );
        c(
            0x30,
            &[
                &t(0x30, &common),
                &c(0x30, &[&t(0x04, &[auth_id])]),
                &c(0xA1, &[&attributes]),
            ],
        )
    };
    [
        // initialized, needs-padding
        entry(
            "Code porteur",
            Some(0x02),
            0x01,
            &[0x02, 0x0C],
            4,
            pin_reference(generation, false),
        ),
        // initialized, needs-padding, unblockingPin, soPin
        entry(
            "Code de deblocage",
            None,
            0x02,
            &[0x00, 0x0F],
            8,
            pin_reference(generation, true),
        ),
    ]
    .concat()
}

/// One PrKDF entry: RSA-2048 private key in DF `df`.
pub(crate) struct PrivateKeyEntry<'a> {
    pub(crate) label: &'a str,
    /// PKCS#15 ID.
    pub(crate) id: Vec<u8>,
    /// `None`: usable without PIN.
    pub(crate) auth_id: Option<u8>,
    /// KeyUsageFlags BIT STRING value (unused-bits byte first).
    pub(crate) usage: &'a [u8],
    pub(crate) reference: u8,
    pub(crate) df: [u8; 2],
}

/// PrKDF: RSA private keys, no algReference (like the real card).
pub(crate) fn prkdf(entries: &[PrivateKeyEntry<'_>]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| {
            let mut common = utf8(e.label);
            match e.auth_id {
                Some(auth) => {
                    common.extend(t(0x03, &[0x07, 0x80])); // private
                    common.extend(t(0x04, &[auth]));
                }
                None => common.extend(t(0x03, &[0x00])),
            }
            let key = c(
                0x30,
                &[
                    &t(0x04, &e.id),
                    &t(0x03, e.usage),
                    // sensitive, alwaysSensitive, neverExtractable, local
                    &t(0x03, &[0x03, 0xB8]),
                    &t(0x02, &[0x00, e.reference]),
                ],
            );
            let rsa = c(
                0xA1,
                &[&c(
                    0x30,
                    &[
                        &path(&[0x3F, 0x00, e.df[0], e.df[1]]),
                        &t(0x02, &[0x08, 0x00]),
                    ],
                )],
            );
            c(0x30, &[&t(0x30, &common), &key, &rsa])
        })
        .collect()
}

/// KeyUsageFlags: nonRepudiation.
pub(crate) const USAGE_NON_REPUDIATION: [u8; 3] = [0x06, 0x00, 0x40];
/// KeyUsageFlags: decrypt, sign.
pub(crate) const USAGE_DECRYPT_SIGN: [u8; 2] = [0x05, 0x60];
/// KeyUsageFlags: sign.
pub(crate) const USAGE_SIGN: [u8; 2] = [0x05, 0x20];

/// CDF: (label, ID, absolute path of the certificate EF).
pub(crate) fn cdf(entries: &[(&str, Vec<u8>, [u8; 6])]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|(label, id, file)| {
            c(
                0x30,
                &[
                    &c(0x30, &[&utf8(label)]),
                    &c(0x30, &[&t(0x04, id)]),
                    &c(0xA1, &[&c(0x30, &[&path(file)])]),
                ],
            )
        })
        .collect()
}

/// One DODF entry: an opaque data object.
pub(crate) struct DataObjectEntry<'a> {
    pub(crate) label: &'a str,
    /// `Some(auth id)`: private (PIN needed).
    pub(crate) auth_id: Option<u8>,
    pub(crate) file: [u8; 6],
}

/// DODF: opaque data objects of application "CPS"; `[1]` holds the Path directly.
pub(crate) fn dodf(entries: &[DataObjectEntry<'_>]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| {
            let mut common = utf8(e.label);
            match e.auth_id {
                Some(auth) => {
                    common.extend(t(0x03, &[0x07, 0x80]));
                    common.extend(t(0x04, &[auth]));
                }
                None => common.extend(t(0x03, &[0x00])),
            }
            c(
                0x30,
                &[
                    &t(0x30, &common),
                    &c(0x30, &[&utf8("CPS")]),
                    &c(0xA1, &[&path(&e.file)]),
                ],
            )
        })
        .collect()
}

/// IDs of the contact application's keys and certificates.
pub(crate) fn sign_id() -> Vec<u8> {
    object_id(&AID_CONTACT, 0x01)
}

/// ID of the authentication key and certificate.
pub(crate) fn auth_id() -> Vec<u8> {
    object_id(&AID_CONTACT, 0x02)
}

/// ID of the contactless technical key and certificate.
pub(crate) fn tech_id() -> Vec<u8> {
    object_id(&AID_CONTACTLESS, 0x01)
}

/// The holder data objects. Their real layout is not public (reference §9): these are
/// small DER SEQUENCEs of our own, stable and easy to read back.
pub(crate) fn cps_name_ps(profile: &Profile) -> Vec<u8> {
    c(
        0x30,
        &[
            &utf8(&profile.holder.surname),
            &utf8(&profile.holder.given_name),
        ],
    )
}

/// `CPS_DATA`: issuer/card number, card type, national id.
pub(crate) fn cps_data(profile: &Profile) -> Vec<u8> {
    c(
        0x30,
        &[
            &t(
                0x13,
                format!("8025000001/{}", profile.card_number).as_bytes(),
            ),
            &int(u32::from(profile.holder.card_type.code())),
            &utf8(&profile.holder.national_id),
        ],
    )
}

/// `CPS_ACTIVITY_01_PS`: profession and structure of the one activity.
pub(crate) fn cps_activity(profile: &Profile) -> Vec<u8> {
    let holder = &profile.holder;
    let mut parts = vec![
        int(u32::from(holder.profession_code.unwrap_or(0))),
        utf8(&holder.profession_label),
    ];
    if let Some(structure) = &holder.structure {
        parts.push(utf8(&structure.id));
        parts.push(utf8(&structure.name));
    }
    t(0x30, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for part in s.split_whitespace() {
            if let Some(text) = part.strip_prefix('"') {
                // "quoted" words stand for their ASCII bytes; `~` is a space.
                out.extend(text.trim_end_matches('"').replace('~', " ").bytes());
            } else {
                out.extend(hex::decode(part).unwrap());
            }
        }
        out
    }

    #[test]
    fn luhn_of_the_reference_example() {
        assert_eq!(luhn_digit("802500000199213845"), Some(0));
        assert_eq!(luhn_digit("7992739871"), Some(3)); // the textbook example
        assert_eq!(luhn_digit("12a"), None);
        assert_eq!(
            ef_sn("99213845").unwrap(),
            h("5A 0A 80 25 00 00 01 99 21 38 45 0F")
        );
        assert_eq!(ef_sn("9921384"), None);
    }

    #[test]
    fn ef_dir_as_served() {
        let dir = ef_dir();
        assert_eq!(dir.len(), 101);
        assert_eq!(
            dir,
            h(
                "61 32 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20 50 0A \"CPX~IAS~CL\" 51 04 3F 00 00 02 \
               73 0F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 \
               61 2F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 50 07 \"CPX~IAS\" 51 04 3F 00 00 01 \
               73 0F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10"
            )
        );
    }

    #[test]
    fn ef_atr_is_the_real_layout() {
        let atr = ef_atr(Generation::Cps3);
        assert_eq!(atr.len(), 57);
        assert_eq!(
            atr,
            h(
                "80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 \
               E0 10 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 \
               82 02 90 00"
            )
        );
        assert_eq!(ef_atr(Generation::Cps4).len(), 57);
    }

    #[test]
    fn odf_as_served() {
        let odf = odf(
            [0x00, 0x01],
            &[
                (0xA0, [0x70, 0x02]),
                (0xA4, [0x70, 0x04]),
                (0xA7, [0x70, 0x05]),
                (0xA8, [0x70, 0x01]),
            ],
        );
        assert_eq!(
            odf,
            h(
                "A0 0A 30 08 04 06 3F 00 00 01 70 02 A4 0A 30 08 04 06 3F 00 00 01 70 04 \
               A7 0A 30 08 04 06 3F 00 00 01 70 05 A8 0A 30 08 04 06 3F 00 00 01 70 01"
            )
        );
    }

    #[test]
    fn token_info_shape() {
        let info = token_info("CPS3v3-2900995235", &TOKEN_FLAGS_CONTACT);
        assert_eq!(info.len(), 0xD2);
        assert_eq!(
            info[..0x2C],
            h(
                "30 81 CF 02 01 00 0C 0A \"ASIP~SANTE\" 80 11 \"CPS3v3-2900995235\" 03 02 06 C0 A2 81 A6"
            )[..]
        );
        // The SHA-256 entry, and the decipher entry last.
        let sha256 = h(
            "30 1B 02 01 02 02 02 02 50 05 00 03 02 01 02 06 09 60 86 48 01 65 03 04 02 01 02 01 40",
        );
        assert!(info.windows(sha256.len()).any(|w| w == sha256));
        assert!(info.ends_with(&h(
            "02 01 06 02 01 01 05 00 03 02 02 04 06 09 2A 86 48 86 F7 0D 01 01 01 02 01 1A"
        )));
        let parsed = cps_apdu::tlv::parse_ber(&info, cps_apdu::TlvLimits::DEFAULT).unwrap();
        assert_eq!(parsed.len(), 1);
    }

    #[test]
    fn aodf_pin_entry_as_served() {
        let aodf = aodf(Generation::Cps3);
        let pin = h(
            "30 3C 30 15 0C 0C \"Code~porteur\" 03 02 06 C0 04 01 02 30 03 04 01 01 \
                     A1 1E 30 1C 03 02 02 0C 0A 01 01 02 01 04 02 01 08 02 01 08 80 01 01 04 01 FF \
                     30 04 04 02 3F 00",
        );
        assert_eq!(aodf[..pin.len()], pin[..]);
        let puk = &aodf[pin.len()..];
        assert!(puk.starts_with(&h(
            "30 3E 30 17 0C 11 \"Code~de~deblocage\" 03 02 06 C0 30 03 04 01 02"
        )));
        assert!(puk.ends_with(&h(
            "03 02 00 0F 0A 01 01 02 01 08 02 01 08 02 01 08 80 01 02 04 01 FF 30 04 04 02 3F 00"
        )));
        let cps4 = super::aodf(Generation::Cps4);
        assert!(cps4.windows(3).any(|w| w == [0x80, 0x01, 0x81]));
    }

    #[test]
    fn prkdf_sign_entry_as_served() {
        let entries = [
            PrivateKeyEntry {
                label: "CPS_PRIV_SIG",
                id: sign_id(),
                auth_id: Some(1),
                usage: &USAGE_NON_REPUDIATION,
                reference: KEY_SIGN,
                df: [0x00, 0x01],
            },
            PrivateKeyEntry {
                label: "CPS_PRIV_AUT",
                id: auth_id(),
                auth_id: Some(1),
                usage: &USAGE_DECRYPT_SIGN,
                reference: KEY_AUTH,
                df: [0x00, 0x01],
            },
        ];
        let prkdf = prkdf(&entries);
        let sign = h(
            "30 46 30 15 0C 0C \"CPS_PRIV_SIG\" 03 02 07 80 04 01 01 30 1D 04 0E E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 01 \
                      03 03 06 00 40 03 02 03 B8 02 02 00 81 A1 0E 30 0C 30 06 04 04 3F 00 00 01 02 02 08 00",
        );
        assert_eq!(prkdf[..sign.len()], sign[..]);
        let auth = &prkdf[sign.len()..];
        assert!(auth.starts_with(&h(
            "30 45 30 15 0C 0C \"CPS_PRIV_AUT\" 03 02 07 80 04 01 01 30 1C 04 0E"
        )));
        assert!(auth.ends_with(&h(
            "03 02 05 60 03 02 03 B8 02 02 00 82 A1 0E 30 0C 30 06 04 04 3F 00 00 01 02 02 08 00"
        )));
    }

    #[test]
    fn cdf_and_dodf_as_served() {
        let cdf = cdf(&[(
            "Certificat d'Authentification CPS",
            auth_id(),
            [0x3F, 0x00, 0x00, 0x01, 0xA0, 0x01],
        )]);
        assert_eq!(
            cdf,
            h(
                "30 45 30 23 0C 21 \"Certificat~d'Authentification~CPS\" 30 10 04 0E E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 02 \
               A1 0C 30 0A 30 08 04 06 3F 00 00 01 A0 01"
            )
        );
        let dodf = dodf(&[
            DataObjectEntry {
                label: "CPS_DATA",
                auth_id: None,
                file: [0x3F, 0x00, 0x00, 0x01, 0xD1, 0x07],
            },
            DataObjectEntry {
                label: "CPS_ACTIVITY_01_PS",
                auth_id: Some(1),
                file: [0x3F, 0x00, 0x00, 0x01, 0xD1, 0x20],
            },
        ]);
        let data = h(
            "30 22 30 0D 0C 08 \"CPS_DATA\" 03 01 00 30 05 0C 03 \"CPS\" A1 0A 30 08 04 06 3F 00 00 01 D1 07",
        );
        assert_eq!(dodf[..data.len()], data[..]);
        assert!(dodf[data.len()..].starts_with(&h(
            "30 30 30 1B 0C 12 \"CPS_ACTIVITY_01_PS\" 03 02 07 80 04 01 01"
        )));
    }
}
