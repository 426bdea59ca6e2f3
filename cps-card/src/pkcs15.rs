//! The card's PKCS#15 structures (EF.DIR, ODF, TokenInfo, AODF, PrKDF, CDF, DODF),
//! parsed strictly as DER with the `der` crate and with size limits. Nothing here
//! hard-codes a file identifier: every path comes from the card.

use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tagged};
use serde::Serialize;

use crate::secret::PinFormat;

/// Largest PKCS#15 file this module parses.
pub const MAX_FILE: usize = 16 * 1024;
/// Most entries one directory file may hold.
pub const MAX_ENTRIES: usize = 64;

/// Why a PKCS#15 structure is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs15Error {
    /// Not valid DER.
    #[error("{file}: not valid DER ({source})")]
    Der {
        /// Which file.
        file: &'static str,
        /// What the DER decoder said.
        #[source]
        source: der::Error,
    },
    /// Valid DER, wrong structure.
    #[error("{file}: {reason}")]
    Structure {
        /// Which file.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Over the size or count limits.
    #[error("{file}: larger than the {limit} {unit} this tool accepts")]
    TooLarge {
        /// Which file.
        file: &'static str,
        /// The limit.
        limit: usize,
        /// "bytes" or "entries".
        unit: &'static str,
    },
}

type Result<T> = std::result::Result<T, Pkcs15Error>;

/// A DER value: its tag byte and content.
#[derive(Clone, Copy)]
struct Value<'a> {
    tag: u8,
    content: &'a [u8],
}

/// Splits `bytes` into consecutive DER values. Trailing `00`/`FF` padding, which
/// cards leave after the last entry of a directory file, ends the list.
fn values<'a>(file: &'static str, bytes: &'a [u8]) -> Result<Vec<Value<'a>>> {
    if bytes.len() > MAX_FILE {
        return Err(Pkcs15Error::TooLarge {
            file,
            limit: MAX_FILE,
            unit: "bytes",
        });
    }
    let der_err = |source| Pkcs15Error::Der { file, source };
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(&first) = rest.first() {
        if first == 0x00 || first == 0xFF {
            if rest.iter().all(|&b| b == first) {
                break;
            }
            return Err(structure(file, "padding followed by more data"));
        }
        if out.len() == MAX_ENTRIES {
            return Err(Pkcs15Error::TooLarge {
                file,
                limit: MAX_ENTRIES,
                unit: "entries",
            });
        }
        let mut reader = SliceReader::new(rest).map_err(der_err)?;
        let any = AnyRef::decode(&mut reader).map_err(der_err)?;
        let used = usize::try_from(reader.position()).map_err(|_| structure(file, "length"))?;
        out.push(Value {
            tag: u8::from(any.tag()),
            content: any.value(),
        });
        rest = rest.get(used..).unwrap_or_default();
    }
    Ok(out)
}

fn structure(file: &'static str, reason: impl Into<String>) -> Pkcs15Error {
    Pkcs15Error::Structure {
        file,
        reason: reason.into(),
    }
}

/// The values inside a constructed value, checking its tag.
fn inside<'a>(file: &'static str, v: Value<'a>, tag: u8) -> Result<Vec<Value<'a>>> {
    if v.tag != tag {
        return Err(structure(
            file,
            format!("expected tag {tag:02X}, found {:02X}", v.tag),
        ));
    }
    values(file, v.content)
}

fn find<'a>(items: &[Value<'a>], tag: u8) -> Option<Value<'a>> {
    items.iter().copied().find(|v| v.tag == tag)
}

fn text(file: &'static str, v: Value<'_>) -> Result<String> {
    std::str::from_utf8(v.content)
        .map(str::to_owned)
        .map_err(|_| structure(file, "a label is not UTF-8"))
}

fn unsigned(file: &'static str, v: Value<'_>) -> Result<u32> {
    match v.content {
        [] => Err(structure(file, "empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(structure(file, "negative INTEGER")),
        bytes if bytes.len() > 5 || (bytes.len() == 5 && bytes[0] != 0) => {
            Err(structure(file, "INTEGER too large"))
        }
        bytes => Ok(bytes.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b))),
    }
}

/// A key or PIN reference. Cards encode local references such as `81` as one byte
/// (strictly a negative INTEGER); OpenSC and the vendor middleware read them as
/// unsigned, and so does this.
fn reference(file: &'static str, v: Value<'_>) -> Result<u8> {
    match v.content {
        [b] => Ok(*b),
        [0, b] => Ok(*b),
        _ => Err(structure(file, "a reference must fit in one byte")),
    }
}

/// The bits of a DER BIT STRING, most significant first (bit 0 = `0x80` of byte 1).
fn bits(file: &'static str, v: Value<'_>) -> Result<Vec<bool>> {
    let (&unused, data) = v
        .content
        .split_first()
        .ok_or_else(|| structure(file, "empty BIT STRING"))?;
    if unused > 7 {
        return Err(structure(file, "BIT STRING with more than 7 unused bits"));
    }
    let total = data.len() * 8 - usize::from(unused).min(data.len() * 8);
    Ok((0..total)
        .map(|i| data.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
        .collect())
}

fn bit(bits: &[bool], i: usize) -> bool {
    bits.get(i).copied().unwrap_or(false)
}

/// A PKCS#15 `Path`: `SEQUENCE { path OCTET STRING, … }`.
fn path(file: &'static str, v: Value<'_>) -> Result<Vec<u8>> {
    let items = inside(file, v, 0x30)?;
    let p = find(&items, 0x04).ok_or_else(|| structure(file, "a Path without its OCTET STRING"))?;
    if p.content.is_empty() || p.content.len() % 2 != 0 || p.content.len() > 16 {
        return Err(structure(file, "a path must be 1 to 8 file identifiers"));
    }
    Ok(p.content.to_vec())
}

/// One application of EF.DIR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    /// Its AID.
    pub aid: Vec<u8>,
    /// Its label ("CPX IAS").
    pub label: Option<String>,
    /// Path of its DF.
    pub path: Vec<u8>,
}

/// Parses EF.DIR: application templates `61 { 4F aid, 50 label, 51 path, … }`.
/// These are BER-TLV application templates rather than ASN.1 DER, but their
/// encoding is the same here.
pub fn parse_dir(bytes: &[u8]) -> Result<Vec<Application>> {
    const FILE: &str = "EF.DIR";
    let mut apps = Vec::new();
    for record in values(FILE, bytes)? {
        let items = inside(FILE, record, 0x61)?;
        let aid = find(&items, 0x4F).ok_or_else(|| structure(FILE, "a record without AID"))?;
        apps.push(Application {
            aid: aid.content.to_vec(),
            label: find(&items, 0x50).map(|v| text(FILE, v)).transpose()?,
            path: find(&items, 0x51)
                .map(|v| v.content.to_vec())
                .unwrap_or_default(),
        });
    }
    Ok(apps)
}

/// Where the directory files are, from the ODF.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Odf {
    /// Private key directories (PrKDF).
    pub private_keys: Vec<Vec<u8>>,
    /// Certificate directories (CDF).
    pub certificates: Vec<Vec<u8>>,
    /// Data object directories (DODF).
    pub data_objects: Vec<Vec<u8>>,
    /// Authentication object directories (AODF).
    pub auth_objects: Vec<Vec<u8>>,
}

/// Parses the ODF. Paths are returned as the card gives them (absolute on CPS); a
/// path listed twice is an error.
pub fn parse_odf(bytes: &[u8]) -> Result<Odf> {
    const FILE: &str = "ODF";
    let mut odf = Odf::default();
    for entry in values(FILE, bytes)? {
        let items = values(FILE, entry.content)?;
        let first = items
            .first()
            .copied()
            .ok_or_else(|| structure(FILE, "an empty entry"))?;
        let p = path(FILE, first)?;
        // A directory file listed twice would be read and believed twice: a card
        // could multiply its objects (and their certificates) without bound.
        let listed = [
            &odf.private_keys,
            &odf.certificates,
            &odf.data_objects,
            &odf.auth_objects,
        ];
        if listed.iter().any(|paths| paths.contains(&p)) {
            return Err(structure(FILE, "a directory file is listed twice"));
        }
        match entry.tag {
            0xA0 => odf.private_keys.push(p),
            0xA4..=0xA6 => odf.certificates.push(p),
            0xA7 => odf.data_objects.push(p),
            0xA8 => odf.auth_objects.push(p),
            // Public and secret keys: nothing this tool uses.
            0xA1..=0xA3 => {}
            tag => return Err(structure(FILE, format!("unknown entry tag {tag:02X}"))),
        }
    }
    Ok(odf)
}

/// TokenInfo, the parts this tool shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Structure version.
    pub version: u32,
    /// The serial number, when present (CPS cards leave it out).
    pub serial: Option<String>,
    /// Manufacturer ("ASIP SANTE").
    pub manufacturer: Option<String>,
    /// Token label (`CPS3v3-2900995235`).
    pub label: Option<String>,
}

/// Parses TokenInfo.
pub fn parse_token_info(bytes: &[u8]) -> Result<TokenInfo> {
    const FILE: &str = "TokenInfo";
    let top = values(FILE, bytes)?;
    let seq = top
        .first()
        .copied()
        .ok_or_else(|| structure(FILE, "empty"))?;
    let items = inside(FILE, seq, 0x30)?;
    let version = items
        .first()
        .filter(|v| v.tag == 0x02)
        .ok_or_else(|| structure(FILE, "no version"))?;
    Ok(TokenInfo {
        version: unsigned(FILE, *version)?,
        serial: find(&items, 0x04).map(|v| hex::encode_upper(v.content)),
        manufacturer: find(&items, 0x0C).map(|v| text(FILE, v)).transpose()?,
        label: find(&items, 0x80).map(|v| text(FILE, v)).transpose()?,
    })
}

/// A PIN object of the AODF (PIN or PUK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthObject {
    /// Label ("Code porteur").
    pub label: String,
    /// Its authentication ID.
    pub auth_id: Vec<u8>,
    /// The card's reference for VERIFY P2.
    pub reference: u8,
    /// The PIN block format.
    #[serde(skip)]
    pub format: PinFormat,
    /// The unblocking-PIN flag: this object unblocks others (a PUK).
    pub unblocking: bool,
    /// The SO-PIN flag.
    pub so_pin: bool,
    /// Path of the DF the reference lives in.
    pub path: Option<Vec<u8>>,
}

/// Parses the AODF. Only PIN objects (`[1]`-tagged pinAttributes) are kept.
pub fn parse_aodf(bytes: &[u8]) -> Result<Vec<AuthObject>> {
    const FILE: &str = "AODF";
    let mut out = Vec::new();
    for entry in values(FILE, bytes)? {
        let items = inside(FILE, entry, 0x30)?;
        let [common, auth, typed, ..] = items.as_slice() else {
            return Err(structure(FILE, "an entry with fewer than three parts"));
        };
        let common = inside(FILE, *common, 0x30)?;
        let label = find(&common, 0x0C)
            .map(|v| text(FILE, v))
            .transpose()?
            .unwrap_or_default();
        let auth = inside(FILE, *auth, 0x30)?;
        let auth_id = find(&auth, 0x04)
            .ok_or_else(|| structure(FILE, "no authId"))?
            .content
            .to_vec();
        let typed = inside(FILE, *typed, 0xA1)?;
        let attrs = typed
            .first()
            .copied()
            .ok_or_else(|| structure(FILE, "empty pinAttributes"))?;
        let attrs = inside(FILE, attrs, 0x30)?;
        let flags = bits(
            FILE,
            *attrs
                .first()
                .ok_or_else(|| structure(FILE, "no pinFlags"))?,
        )?;
        let pin_type = attrs
            .iter()
            .find(|v| v.tag == 0x0A)
            .map(|v| unsigned(FILE, *v))
            .transpose()?
            .ok_or_else(|| structure(FILE, "no pinType"))?;
        let ints: Vec<u32> = attrs
            .iter()
            .filter(|v| v.tag == 0x02)
            .map(|v| unsigned(FILE, *v))
            .collect::<Result<_>>()?;
        let (min_len, stored_len, max_len) = match ints.as_slice() {
            [min, stored, max, ..] => (*min, *stored, *max),
            [min, stored] => (*min, *stored, *stored),
            _ => return Err(structure(FILE, "minLength and storedLength are required")),
        };
        let reference = find(&attrs, 0x80)
            .map(|v| reference(FILE, v))
            .transpose()?
            .unwrap_or(0);
        let pad = find(&attrs, 0x04).and_then(|v| v.content.first().copied());
        let as_len = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        if min_len > max_len || stored_len > 64 || max_len > 64 {
            return Err(structure(FILE, "PIN lengths out of range"));
        }
        out.push(AuthObject {
            label,
            auth_id,
            reference,
            format: PinFormat {
                // 0 bcd, 1 ascii-numeric, 2 utf8; the tool only types digits.
                ascii: pin_type != 0,
                min_len: as_len(min_len),
                max_len: as_len(max_len),
                stored_len: as_len(stored_len),
                pad: pad.unwrap_or(0xFF),
            },
            unblocking: bit(&flags, 6),
            so_pin: bit(&flags, 7),
            path: find(&attrs, 0x30).map(|v| path(FILE, v)).transpose()?,
        });
    }
    Ok(out)
}

/// A private key of the PrKDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivateKey {
    /// Label (`CPS_PRIV_AUT`).
    pub label: String,
    /// Object ID, shared with its certificate.
    pub id: Vec<u8>,
    /// The key reference for MSE SET.
    pub reference: u8,
    /// Usage: sign.
    pub sign: bool,
    /// Usage: decrypt.
    pub decrypt: bool,
    /// Usage: non-repudiation.
    pub non_repudiation: bool,
    /// The PIN object's auth ID protecting the key, if any.
    pub auth_id: Option<Vec<u8>>,
    /// Modulus length in bits.
    pub modulus_bits: Option<u32>,
}

/// Parses the PrKDF (RSA keys).
pub fn parse_prkdf(bytes: &[u8]) -> Result<Vec<PrivateKey>> {
    const FILE: &str = "PrKDF";
    let mut out = Vec::new();
    for entry in values(FILE, bytes)? {
        let items = inside(FILE, entry, 0x30)?;
        let [common, key, rest @ ..] = items.as_slice() else {
            return Err(structure(FILE, "an entry with fewer than two parts"));
        };
        let common = inside(FILE, *common, 0x30)?;
        let key = inside(FILE, *key, 0x30)?;
        let id = find(&key, 0x04).ok_or_else(|| structure(FILE, "no key ID"))?;
        let usage = bits(
            FILE,
            find(&key, 0x03).ok_or_else(|| structure(FILE, "no usage"))?,
        )?;
        let reference = find(&key, 0x02)
            .map(|v| reference(FILE, v))
            .transpose()?
            .ok_or_else(|| structure(FILE, "no keyReference"))?;
        let modulus_bits = rest
            .iter()
            .find(|v| v.tag == 0xA1)
            .and_then(|typed| values(FILE, typed.content).ok())
            .and_then(|v| v.first().copied())
            .and_then(|attrs| values(FILE, attrs.content).ok())
            .and_then(|attrs| find(&attrs, 0x02))
            .map(|v| unsigned(FILE, v))
            .transpose()?;
        out.push(PrivateKey {
            label: find(&common, 0x0C)
                .map(|v| text(FILE, v))
                .transpose()?
                .unwrap_or_default(),
            id: id.content.to_vec(),
            reference,
            // KeyUsageFlags: encrypt(0) decrypt(1) sign(2) signRecover(3) wrap(4)
            // unwrap(5) verify(6) verifyRecover(7) derive(8) nonRepudiation(9).
            decrypt: bit(&usage, 1),
            sign: bit(&usage, 2),
            non_repudiation: bit(&usage, 9),
            auth_id: find(&common, 0x04).map(|v| v.content.to_vec()),
            modulus_bits,
        });
    }
    Ok(out)
}

/// A certificate of the CDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateObject {
    /// Label ("Certificat d'Authentification CPS").
    pub label: String,
    /// Object ID, shared with its private key.
    pub id: Vec<u8>,
    /// Where the DER certificate is.
    pub path: Vec<u8>,
}

/// Parses the CDF (X.509 certificates).
pub fn parse_cdf(bytes: &[u8]) -> Result<Vec<CertificateObject>> {
    const FILE: &str = "CDF";
    let mut out = Vec::new();
    for entry in values(FILE, bytes)? {
        let items = inside(FILE, entry, 0x30)?;
        let [common, cert, typed, ..] = items.as_slice() else {
            return Err(structure(FILE, "an entry with fewer than three parts"));
        };
        let common = inside(FILE, *common, 0x30)?;
        let cert = inside(FILE, *cert, 0x30)?;
        let typed = inside(FILE, *typed, 0xA1)?;
        let attrs = typed
            .first()
            .copied()
            .ok_or_else(|| structure(FILE, "no x509 attributes"))?;
        let attrs = inside(FILE, attrs, 0x30)?;
        let value = attrs
            .first()
            .copied()
            .ok_or_else(|| structure(FILE, "no certificate path"))?;
        out.push(CertificateObject {
            label: find(&common, 0x0C)
                .map(|v| text(FILE, v))
                .transpose()?
                .unwrap_or_default(),
            id: find(&cert, 0x04)
                .ok_or_else(|| structure(FILE, "no certificate ID"))?
                .content
                .to_vec(),
            path: path(FILE, value)?,
        });
    }
    Ok(out)
}

/// A data object of the DODF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataObject {
    /// Label (`CPS_NAME_PS`).
    pub label: String,
    /// Application name (`CPS`).
    pub application: Option<String>,
    /// Where its value is.
    pub path: Vec<u8>,
    /// `true` when a PIN protects it.
    pub private: bool,
}

/// Parses the DODF (opaque data objects; `[1]` holds the Path directly).
pub fn parse_dodf(bytes: &[u8]) -> Result<Vec<DataObject>> {
    const FILE: &str = "DODF";
    let mut out = Vec::new();
    for entry in values(FILE, bytes)? {
        let items = inside(FILE, entry, 0x30)?;
        let [common, data, typed, ..] = items.as_slice() else {
            return Err(structure(FILE, "an entry with fewer than three parts"));
        };
        let common = inside(FILE, *common, 0x30)?;
        let data = inside(FILE, *data, 0x30)?;
        let typed = inside(FILE, *typed, 0xA1)?;
        let p = typed
            .first()
            .copied()
            .ok_or_else(|| structure(FILE, "no path"))?;
        let flags = find(&common, 0x03)
            .map(|v| bits(FILE, v))
            .transpose()?
            .unwrap_or_default();
        out.push(DataObject {
            label: find(&common, 0x0C)
                .map(|v| text(FILE, v))
                .transpose()?
                .unwrap_or_default(),
            application: find(&data, 0x0C).map(|v| text(FILE, v)).transpose()?,
            path: path(FILE, p)?,
            private: bit(&flags, 0) || find(&common, 0x04).is_some(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn utf8(s: &str) -> String {
        hex::encode(s)
    }

    #[test]
    fn reference_dir() {
        let dir = hex(&format!(
            "61 32 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20 50 0A {} 51 04 3F 00 00 02 73 0F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 \
             61 2F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 50 07 {} 51 04 3F 00 00 01 73 0F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
            utf8("CPX IAS CL"),
            utf8("CPX IAS")
        ));
        assert_eq!(dir.len(), 101);
        let apps = parse_dir(&dir).unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[1].label.as_deref(), Some("CPX IAS"));
        assert_eq!(apps[1].path, [0x3F, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn reference_odf() {
        let odf = parse_odf(&hex(
            "A0 0A 30 08 04 06 3F 00 00 01 70 02 A4 0A 30 08 04 06 3F 00 00 01 70 04 \
             A7 0A 30 08 04 06 3F 00 00 01 70 05 A8 0A 30 08 04 06 3F 00 00 01 70 01 00 00",
        ))
        .unwrap();
        assert_eq!(odf.private_keys, [hex("3F00 0001 7002")]);
        assert_eq!(odf.certificates, [hex("3F00 0001 7004")]);
        assert_eq!(odf.data_objects, [hex("3F00 0001 7005")]);
        assert_eq!(odf.auth_objects, [hex("3F00 0001 7001")]);
    }

    /// Found by the hostile card `CertificateFlood`: an ODF naming the same CDF 61
    /// times made the host believe 61 × 64 certificates (240 MiB peak RSS).
    #[test]
    fn odf_listing_a_file_twice_is_refused() {
        let cdf = "A4 0A 30 08 04 06 3F 00 00 01 70 04 ";
        let err = parse_odf(&hex(&cdf.repeat(2))).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        let err = parse_odf(&hex(
            "A0 0A 30 08 04 06 3F 00 00 01 70 04 A4 0A 30 08 04 06 3F 00 00 01 70 04",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    #[test]
    fn reference_aodf_pin() {
        let pin = hex(&format!(
            "30 3C 30 15 0C 0C {} 03 02 06 C0 04 01 02 30 03 04 01 01 A1 1E 30 1C 03 02 02 0C 0A 01 01 02 01 04 02 01 08 02 01 08 80 01 01 04 01 FF 30 04 04 02 3F 00",
            utf8("Code porteur")
        ));
        let objects = parse_aodf(&pin).unwrap();
        let pin = &objects[0];
        assert_eq!(pin.label, "Code porteur");
        assert_eq!(pin.reference, 1);
        assert_eq!(pin.format, PinFormat::CPS_PIN);
        assert!(!pin.unblocking && !pin.so_pin);
        assert_eq!(pin.path.as_deref(), Some(&[0x3F, 0x00][..]));
    }

    #[test]
    fn reference_prkdf_cdf_dodf() {
        let key = hex(&format!(
            "30 46 30 15 0C 0C {} 03 02 07 80 04 01 01 30 1D 04 0E E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 01 03 03 06 00 40 03 02 03 B8 02 02 00 81 A1 0E 30 0C 30 06 04 04 3F 00 00 01 02 02 08 00",
            utf8("CPS_PRIV_SIG")
        ));
        let keys = parse_prkdf(&key).unwrap();
        assert_eq!(keys[0].reference, 0x81);
        assert!(keys[0].non_repudiation && !keys[0].decrypt);
        assert_eq!(keys[0].modulus_bits, Some(2048));
        assert_eq!(keys[0].auth_id.as_deref(), Some(&[1][..]));

        let label = "Certificat d'Authentification CPS";
        let cdf = hex(&format!(
            "30 45 30 23 0C 21 {} 30 10 04 0E E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 02 A1 0C 30 0A 30 08 04 06 3F 00 00 01 A0 01",
            utf8(label)
        ));
        let certs = parse_cdf(&cdf).unwrap();
        assert_eq!(certs[0].label, label);
        assert_eq!(certs[0].path, hex("3F00 0001 A001"));

        let dodf = hex(&format!(
            "30 22 30 0D 0C 08 {} 03 01 00 30 05 0C 03 {} A1 0A 30 08 04 06 3F 00 00 01 D1 07",
            utf8("CPS_DATA"),
            utf8("CPS")
        ));
        let data = parse_dodf(&dodf).unwrap();
        assert_eq!(data[0].label, "CPS_DATA");
        assert_eq!(data[0].path, hex("3F00 0001 D107"));
        assert!(!data[0].private);
    }

    #[test]
    fn bad_structures_are_errors() {
        assert!(matches!(
            parse_odf(&hex("A0 0A 30")),
            Err(Pkcs15Error::Der { .. })
        ));
        // Non-minimal length: DER is strict.
        assert!(parse_odf(&hex("A0 81 0A 30 08 04 06 3F 00 00 01 70 02")).is_err());
        assert!(parse_odf(&hex("A0 02 30 00")).is_err());
        assert!(parse_odf(&hex("A0 0A 30 08 04 06 3F 00 00 01 70")).is_err());
        assert!(matches!(
            parse_odf(&vec![0x30; MAX_FILE + 1]),
            Err(Pkcs15Error::TooLarge { .. })
        ));
        assert!(parse_cdf(&hex("30 03 02 01 05")).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_dir(&bytes);
            let _ = parse_odf(&bytes);
            let _ = parse_token_info(&bytes);
            let _ = parse_aodf(&bytes);
            let _ = parse_prkdf(&bytes);
            let _ = parse_cdf(&bytes);
            let _ = parse_dodf(&bytes);
        }
    }
}
