//! Hostile cards: a [`VirtualCard`] whose files or answers are built to hurt the host —
//! oversized and malformed PKCS#15 structures, deeply nested TLV, lengths that lie, huge
//! or garbage certificates, endless `61 xx` chains. A correct host answers each with a
//! clear error, in bounded time and memory, and never panics.
//!
//! ```
//! use cps_sim::hostile::{Hostile, Hostility};
//! use cps_sim::profile::Profile;
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let card = Hostile::new(&Profile::builtin("cps3")?, Hostility::DeepTlv)?;
//! # let _ = card; Ok(()) }
//! ```

use crate::card::{SimError, VirtualCard};
use crate::profile::Profile;
use crate::{CardSide, Reply};

const EF_DIR: [u8; 4] = [0x3F, 0x00, 0x2F, 0x00];
const ODF: [u8; 6] = [0x3F, 0x00, 0x00, 0x01, 0x50, 0x31];
const TOKEN_INFO: [u8; 6] = [0x3F, 0x00, 0x00, 0x01, 0x50, 0x32];
const AODF: [u8; 6] = [0x3F, 0x00, 0x00, 0x01, 0x70, 0x01];
const CDF: [u8; 6] = [0x3F, 0x00, 0x00, 0x01, 0x70, 0x04];
const CERT_AUTH: [u8; 6] = [0x3F, 0x00, 0x00, 0x01, 0xA0, 0x01];
/// The largest file the host reads (`cps-card`'s limit), so that a hostile file is
/// read whole rather than refused by size.
const FILE_MAX: usize = 16 * 1024;

/// What the card does to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hostility {
    /// EF.DIR of 60 KiB: more than any CPS file holds.
    OversizedDir,
    /// An ODF of 16 KiB nested about 4,000 levels deep.
    DeepTlv,
    /// TokenInfo and ODF whose DER lengths announce gigabytes.
    LyingLengths,
    /// An AODF whose PIN objects declare absurd formats (stored length 255, minimum
    /// above maximum).
    MalformedAodf,
    /// An ODF listing the CDF as often as it can, a CDF of 64 entries all naming the
    /// authentication certificate, and that certificate inflated to 16 KiB: thousands
    /// of certificates if the host believes it.
    CertificateFlood,
    /// The authentication certificate is 16 KiB of random bytes after a DER header.
    GarbageCertificate,
    /// The authentication certificate announces a length of 4 GiB.
    HugeCertificate,
    /// Every command, GET RESPONSE included, is answered with 255 bytes and `61 FF`.
    Endless61,
    /// Every command, GET RESPONSE included, is answered `61 00` alone: more data
    /// announced, none ever given.
    Empty61,
    /// The PIN counter answer is malformed: on a CPS3, GET DATA answers TLV nested as
    /// deep as an answer allows inside a length that lies; on a CPS4, the empty VERIFY
    /// answers data and `63 CF` (15 tries left of 3).
    MalformedCounters,
    /// The PIN counters claim more tries left than their maximum: GET DATA's `9B` above
    /// `9A` on a CPS3, `63 CF` to the empty VERIFY on a CPS4.
    ImpossibleCounters,
    /// READ BINARY answers 256 bytes whatever Le asks for.
    LongReads,
}

impl Hostility {
    /// Every mode, for test loops.
    pub const ALL: [Hostility; 12] = [
        Hostility::OversizedDir,
        Hostility::DeepTlv,
        Hostility::LyingLengths,
        Hostility::MalformedAodf,
        Hostility::CertificateFlood,
        Hostility::GarbageCertificate,
        Hostility::HugeCertificate,
        Hostility::Endless61,
        Hostility::Empty61,
        Hostility::MalformedCounters,
        Hostility::ImpossibleCounters,
        Hostility::LongReads,
    ];
}

/// A hostile card: a [`VirtualCard`] with some files replaced, or some answers
/// rewritten, according to its [`Hostility`].
#[derive(Debug)]
pub struct Hostile {
    inner: VirtualCard,
    mode: Hostility,
}

impl Hostile {
    /// Builds the virtual card of `profile`, then makes it hostile.
    pub fn new(profile: &Profile, mode: Hostility) -> Result<Hostile, SimError> {
        let mut inner = VirtualCard::new(profile)?;
        match mode {
            Hostility::OversizedDir => {
                let entry = inner.file(&EF_DIR).unwrap_or_default();
                inner.replace_file(&EF_DIR, repeat_to(&entry, 60 * 1024));
            }
            Hostility::DeepTlv => {
                inner.replace_file(&ODF, nested(0xA0, FILE_MAX));
            }
            Hostility::LyingLengths => {
                let mut token = vec![0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x00];
                token.extend_from_slice(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x12, 0x34]);
                inner.replace_file(&TOKEN_INFO, token);
                // Each path claims more than the file holds.
                let odf = vec![
                    0xA8, 0x0A, 0x30, 0x08, 0x04, 0x86, 0x3F, 0x00, 0x00, 0x01, 0x70, 0x01,
                ];
                inner.replace_file(&ODF, odf);
            }
            Hostility::MalformedAodf => {
                let aodf = inner.file(&AODF).unwrap_or_default();
                inner.replace_file(&AODF, absurd_pin_lengths(aodf));
            }
            Hostility::CertificateFlood => {
                let odf = inner.file(&ODF).unwrap_or_default();
                let cdf = inner.file(&CDF).unwrap_or_default();
                let cert = inner.file(&CERT_AUTH).unwrap_or_default();
                inner.replace_file(&ODF, flood_odf(&odf));
                if let Some(entry) = first_tlv(&cdf) {
                    inner.replace_file(&CDF, vec![entry; 64].concat());
                }
                inner.replace_file(&CERT_AUTH, inflate_certificate(&cert, FILE_MAX));
            }
            Hostility::GarbageCertificate => {
                let mut cert = vec![0x30, 0x82, 0x3F, 0xFA];
                cert.extend(pseudo_random(FILE_MAX - cert.len()));
                inner.replace_file(&CERT_AUTH, cert);
            }
            Hostility::HugeCertificate => {
                let mut cert = vec![0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x30, 0x84, 0xFF];
                cert.extend(pseudo_random(FILE_MAX - cert.len()));
                inner.replace_file(&CERT_AUTH, cert);
            }
            Hostility::Endless61
            | Hostility::Empty61
            | Hostility::MalformedCounters
            | Hostility::ImpossibleCounters
            | Hostility::LongReads => {}
        }
        Ok(Hostile { inner, mode })
    }

    /// What this card does.
    pub fn mode(&self) -> Hostility {
        self.mode
    }

    /// The virtual card underneath.
    pub fn inner(&self) -> &VirtualCard {
        &self.inner
    }
}

impl CardSide for Hostile {
    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn power_on(&mut self) {
        self.inner.power_on();
    }

    fn power_off(&mut self) {
        self.inner.power_off();
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let ins = command.get(1).copied();
        match (self.mode, ins) {
            (Hostility::Endless61, _) => {
                let mut answer = vec![0xA5; 255];
                answer.extend_from_slice(&[0x61, 0xFF]);
                Reply::Data(answer)
            }
            (Hostility::MalformedCounters, Some(0xCB)) => {
                // As deep as a short answer allows, inside an object whose length
                // announces 64 KiB.
                let mut answer = vec![0x70, 0x82, 0xFF, 0xFF];
                answer.extend(nested(0x70, 250));
                answer.extend_from_slice(&[0x90, 0x00]);
                Reply::Data(answer)
            }
            (Hostility::Empty61, _) => Reply::Data(vec![0x61, 0x00]),
            // The CPS4 reads a counter with a data-less VERIFY.
            (Hostility::MalformedCounters, Some(0x20)) if command.len() == 4 => {
                let mut answer = nested(0x70, 250);
                answer.extend_from_slice(&[0x63, 0xCF]);
                Reply::Data(answer)
            }
            (Hostility::ImpossibleCounters, Some(0x20)) if command.len() == 4 => {
                Reply::Data(vec![0x63, 0xCF])
            }
            (Hostility::ImpossibleCounters, Some(0xCB)) => {
                let reference = command.get(11).copied().unwrap_or(1);
                Reply::Data(vec![
                    0x70, 0x0F, 0xBF, 0x81, reference, 0x0B, 0xA0, 0x09, 0x9A, 0x01, 0x03, 0x9B,
                    0x01, 0x0F, 0x9D, 0x01, 0x64, 0x90, 0x00,
                ])
            }
            (Hostility::LongReads, Some(0xB0)) => match self.inner.process(command) {
                Reply::Data(mut answer) if answer.len() >= 2 => {
                    let sw = answer.split_off(answer.len() - 2);
                    answer.resize(256, 0x5A);
                    answer.extend_from_slice(&sw);
                    Reply::Data(answer)
                }
                other => other,
            },
            _ => self.inner.process(command),
        }
    }
}

/// `bytes` repeated (or zero-filled if empty) up to `len`.
fn repeat_to(bytes: &[u8], len: usize) -> Vec<u8> {
    if bytes.is_empty() {
        return vec![0x61; len];
    }
    bytes.iter().copied().cycle().take(len).collect()
}

/// A DER length.
fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7F => vec![len as u8],
        0x80..=0xFF => vec![0x81, len as u8],
        _ => {
            let [_, _, hi, lo] = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
            vec![0x82, hi, lo]
        }
    }
}

/// Constructed `tag` objects nested inside one another, `total` bytes in all (or just
/// under), every length true.
fn nested(tag: u8, total: usize) -> Vec<u8> {
    // Build from the inside out: each level adds its tag and length.
    let mut inner: Vec<u8> = vec![0x05, 0x00];
    loop {
        let header = 1 + der_len(inner.len()).len();
        if inner.len() + header > total {
            return inner;
        }
        let mut outer = Vec::with_capacity(inner.len() + header);
        outer.push(tag);
        outer.extend(der_len(inner.len()));
        outer.extend_from_slice(&inner);
        inner = outer;
    }
}

/// The first DER object of `bytes` (tag, length, content), if well formed.
fn first_tlv(bytes: &[u8]) -> Option<Vec<u8>> {
    let (&len0, rest) = bytes.get(1..)?.split_first()?;
    let (len, header) = match len0 {
        0x00..=0x7F => (usize::from(len0), 2),
        0x81 => (usize::from(*rest.first()?), 3),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            4,
        ),
        _ => return None,
    };
    bytes.get(..header + len).map(<[u8]>::to_vec)
}

/// Every DER object of `bytes`, until padding or a malformed one.
fn all_tlvs(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(tlv) = first_tlv(bytes) {
        bytes = bytes.get(tlv.len()..).unwrap_or_default();
        out.push(tlv);
    }
    out
}

/// The ODF's other entries, then its CDF entry until the directory holds 64 entries.
fn flood_odf(odf: &[u8]) -> Vec<u8> {
    let entries = all_tlvs(odf);
    let (cdf, others): (Vec<_>, Vec<_>) =
        entries.into_iter().partition(|e| e.first() == Some(&0xA4));
    let mut out: Vec<u8> = others.concat();
    if let Some(cdf) = cdf.first() {
        for _ in others.len()..64 {
            out.extend_from_slice(cdf);
        }
    }
    out
}

/// The certificate with its signature BIT STRING padded so that the whole is `total`
/// bytes: still a well-formed certificate to an X.509 parser, which does not check the
/// signature's length against the key.
fn inflate_certificate(der: &[u8], total: usize) -> Vec<u8> {
    let Some(outer) = first_tlv(der) else {
        return der.to_vec();
    };
    let header = outer.len() - content_len(&outer);
    let parts = all_tlvs(outer.get(header..).unwrap_or_default());
    let [tbs, algorithm, _signature] = parts.as_slice() else {
        return der.to_vec();
    };
    // tag + 3 length bytes for the BIT STRING and for the outer SEQUENCE.
    let body = total.saturating_sub(8 + tbs.len() + algorithm.len());
    let mut signature = vec![0x03];
    signature.extend(der_len(body));
    signature.push(0x00);
    signature.extend(std::iter::repeat_n(0x5A, body.saturating_sub(1)));
    let content = [tbs.as_slice(), algorithm, &signature].concat();
    let mut out = vec![0x30];
    out.extend(der_len(content.len()));
    out.extend(content);
    out
}

fn content_len(tlv: &[u8]) -> usize {
    match tlv.get(1) {
        Some(0x81) => usize::from(tlv.get(2).copied().unwrap_or_default()),
        Some(0x82) => usize::from(u16::from_be_bytes([
            tlv.get(2).copied().unwrap_or_default(),
            tlv.get(3).copied().unwrap_or_default(),
        ])),
        Some(&n) => usize::from(n),
        None => 0,
    }
}

/// Rewrites the INTEGERs of the AODF's PIN attributes (minLength, storedLength,
/// maxLength) to absurd values: 127, 96, 3 (stored above 64, minimum above maximum).
fn absurd_pin_lengths(mut aodf: Vec<u8>) -> Vec<u8> {
    let absurd = [0x7F, 0x60, 0x03];
    let mut k = 0;
    let mut i = 0;
    while i + 2 < aodf.len() {
        // `02 01 xx` (a one-byte INTEGER): the lengths are small numbers.
        if aodf[i] == 0x02 && aodf[i + 1] == 0x01 {
            aodf[i + 2] = absurd[k % absurd.len()];
            k += 1;
            i += 3;
        } else {
            i += 1;
        }
    }
    aodf
}

/// Deterministic noise (xorshift), so that a failing run can be replayed.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_is_well_formed_and_deep() {
        let bytes = nested(0xA0, 16 * 1024);
        assert!(bytes.len() <= 16 * 1024 && bytes.len() > 15 * 1024);
        assert_eq!(first_tlv(&bytes).map(|t| t.len()), Some(bytes.len()));
    }

    #[test]
    fn every_mode_builds() {
        let profile = Profile::builtin("cps3").expect("profile");
        for mode in Hostility::ALL {
            let card = Hostile::new(&profile, mode).expect("card");
            assert_eq!(card.mode(), mode);
        }
    }

    #[test]
    fn the_flooded_certificate_is_still_a_certificate_shape() {
        let profile = Profile::builtin("cps3").expect("profile");
        let mut card = Hostile::new(&profile, Hostility::CertificateFlood).expect("card");
        let cert = card.inner.file(&CERT_AUTH).expect("certificate");
        assert!(cert.len() <= FILE_MAX && cert.len() > FILE_MAX - 16);
        assert_eq!(first_tlv(&cert).map(|t| t.len()), Some(cert.len()));
        let cdf = card.inner.file(&CDF).expect("CDF");
        assert_eq!(all_tlvs(&cdf).len(), 64);
    }
}
