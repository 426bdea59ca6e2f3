//! The keys at work: MANAGE SECURITY ENVIRONMENT, PSO HASH / COMPUTE DIGITAL SIGNATURE /
//! DECIPHER (with command chaining), INTERNAL AUTHENTICATE and GET CHALLENGE.
//!
//! Private-key operations need the code porteur verified (`69 82` otherwise), except
//! the contactless technical key. Signatures are real RSA-2048 PKCS#1 v1.5 (or PSS on
//! CPS4) and verify with the certificate's public key.

use cps_apdu::TlvLimits;
use cps_apdu::tlv::{self, ber::Value};
use rand::RngCore;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss};
use zeroize::Zeroizing;

use super::pkcs15::{KEY_AUTH, KEY_SIGN, KEY_TECH};
use super::{Answer, KeySlot, VirtualCard, sw};
use crate::profile::Generation;

/// Largest chained command data kept (a 2048-bit cryptogram and its padding byte).
const MAX_CHAIN: usize = 1024;

/// The hash algorithms the card knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha1,
    Sha256,
}

impl HashAlg {
    fn len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
        }
    }

    /// The DER DigestInfo header that precedes the hash in a PKCS#1 v1.5 signature.
    fn digest_info(self) -> &'static [u8] {
        match self {
            HashAlg::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
                0x14,
            ],
            HashAlg::Sha256 => &[
                0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
        }
    }
}

/// How PSO COMPUTE DIGITAL SIGNATURE pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Pkcs1(HashAlg),
    Pss(HashAlg),
}

impl Scheme {
    fn hash(self) -> HashAlg {
        match self {
            Scheme::Pkcs1(h) | Scheme::Pss(h) => h,
        }
    }
}

/// How PSO DECIPHER works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecipherMode {
    /// PKCS#1 v1.5 type-2 padding removed.
    Pkcs1,
    /// Raw RSA: the CPS4 authentication (the host sends a type-1 block).
    Raw,
}

/// The current security environment and the PSO state.
#[derive(Default)]
pub(crate) struct SecurityEnv {
    /// Authentication template: the key for INTERNAL AUTHENTICATE.
    at: Option<u8>,
    /// Digital signature template.
    dst: Option<(u8, Scheme)>,
    /// Confidentiality template.
    ct: Option<(u8, DecipherMode)>,
    /// Hash template.
    ht: Option<HashAlg>,
    /// The result of the last PSO HASH.
    hash: Option<(HashAlg, Vec<u8>)>,
    /// Data of a command chain in progress: (P1, P2, data so far).
    chain: Option<(u8, u8, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for SecurityEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityEnv")
            .field("at", &self.at)
            .field("dst", &self.dst)
            .field("ct", &self.ct)
            .field("ht", &self.ht)
            .field("hash", &self.hash.as_ref().map(|(alg, _)| alg))
            .field("chain", &self.chain.as_ref().map(|(_, _, d)| d.len()))
            .finish()
    }
}

impl SecurityEnv {
    /// Drops a command chain (any other command interrupts it).
    pub(crate) fn end_chain(&mut self) {
        self.chain = None;
    }
}

/// The MSE data objects: `80` algorithm, `83`/`84` key reference, `91` CPS4 algorithm +
/// key.
#[derive(Default)]
struct MseData {
    algorithm: Option<u8>,
    key: Option<u8>,
    key83: Option<u8>,
    cps4: Option<(u8, u8)>,
}

fn mse_data(data: &[u8]) -> Option<MseData> {
    let objects = tlv::parse_ber(data, TlvLimits::new(1, 255)).ok()?;
    let mut out = MseData::default();
    for object in &objects {
        let Value::Primitive(value) = object.value() else {
            return None;
        };
        match (object.tag().to_bytes(), value.as_slice()) {
            ([0x80], [alg]) => out.algorithm = Some(*alg),
            ([0x84], [key]) => out.key = Some(*key),
            ([0x83], [key]) => out.key83 = Some(*key),
            ([0x91], [alg, key]) => out.cps4 = Some((*alg, *key)),
            _ => return None,
        }
    }
    Some(out)
}

impl VirtualCard {
    fn key(&self, reference: u8) -> Option<&KeySlot> {
        self.keys.iter().find(|k| k.reference == reference)
    }

    /// The key, if its security condition is met: the code porteur verified, or
    /// nothing for the contactless technical key.
    fn usable_key(&self, reference: u8) -> Result<&KeySlot, u16> {
        let slot = self.key(reference).ok_or(sw::DATA_NOT_FOUND)?;
        if slot.reference != KEY_TECH && !self.session.pin_verified {
            return Err(sw::SECURITY_NOT_SATISFIED);
        }
        Ok(slot)
    }

    /// The key a template may name: it must exist (`6A 88`) and serve that purpose
    /// (`6A 80`).
    fn key_for(&self, reference: Option<u8>, allowed: &[u8]) -> Result<u8, u16> {
        let reference = reference.ok_or(sw::INCORRECT_DATA)?;
        self.key(reference).ok_or(sw::DATA_NOT_FOUND)?;
        if allowed.contains(&reference) {
            Ok(reference)
        } else {
            Err(sw::INCORRECT_DATA)
        }
    }

    /// MANAGE SECURITY ENVIRONMENT (`22`): SET (P1 `41`, or `81` as the CPS4 sends for
    /// its DST) of AT `A4`, DST `B6`, CT `B8`, HT `AA`, data objects in any order;
    /// RESTORE (P1 `F3`) empties it.
    pub(crate) fn manage_security_environment(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        match p1 {
            0xF3 => {
                if !data.is_empty() {
                    return Answer::sw(sw::WRONG_LENGTH);
                }
                self.session.se = SecurityEnv::default();
                return Answer::sw(sw::OK);
            }
            0x41 | 0x81 => {}
            _ => return Answer::sw(sw::WRONG_P1P2),
        }
        if !matches!(p2, 0xA4 | 0xB6 | 0xB8 | 0xAA) {
            return Answer::sw(sw::WRONG_P1P2);
        }
        let Some(objects) = mse_data(data) else {
            return Answer::sw(sw::INCORRECT_DATA);
        };
        let result = match p2 {
            0xA4 => self.set_authentication(&objects),
            0xB6 => self.set_signature(&objects),
            0xB8 => self.set_confidentiality(&objects),
            _ => self.set_hash(&objects),
        };
        match result {
            Ok(()) => Answer::sw(sw::OK),
            Err(word) => Answer::sw(word),
        }
    }

    fn set_authentication(&mut self, objects: &MseData) -> Result<(), u16> {
        // 02: RSA PKCS#1 v1.5 over data the host prepared (TokenInfo algRef 02).
        if objects.algorithm.is_some_and(|alg| alg != 0x02) {
            return Err(sw::INCORRECT_DATA);
        }
        let key = self.key_for(objects.key.or(objects.key83), &[KEY_AUTH, KEY_TECH])?;
        self.session.se.at = Some(key);
        Ok(())
    }

    fn set_signature(&mut self, objects: &MseData) -> Result<(), u16> {
        let (scheme, key) = match (objects.cps4, objects.algorithm) {
            // CPS4: `91 02 <alg> <key>`.
            (Some((alg, key)), None) => {
                let scheme = match alg {
                    0x0A => Scheme::Pkcs1(HashAlg::Sha1),
                    0x28 => Scheme::Pkcs1(HashAlg::Sha256),
                    0x15 => Scheme::Pss(HashAlg::Sha1),
                    0x2C => Scheme::Pss(HashAlg::Sha256),
                    _ => return Err(sw::INCORRECT_DATA),
                };
                (scheme, Some(key))
            }
            (None, Some(alg)) => {
                let scheme = match alg {
                    0x12 => Scheme::Pkcs1(HashAlg::Sha1),
                    0x42 => Scheme::Pkcs1(HashAlg::Sha256),
                    _ => return Err(sw::INCORRECT_DATA),
                };
                (scheme, objects.key)
            }
            _ => return Err(sw::INCORRECT_DATA),
        };
        let key = self.key_for(key, &[KEY_SIGN])?;
        self.session.se.dst = Some((key, scheme));
        Ok(())
    }

    fn set_confidentiality(&mut self, objects: &MseData) -> Result<(), u16> {
        let (key, mode) = match (objects.key83, objects.algorithm, objects.key) {
            // CPS4 authentication: `83 01 20` names the authentication key in raw RSA
            // mode (our reading: the host then sends a PKCS#1 type-1 block).
            (Some(0x20), None, None) if self.profile.generation == Generation::Cps4 => {
                (Some(KEY_AUTH), DecipherMode::Raw)
            }
            (None, Some(0x1A), key) => (key, DecipherMode::Pkcs1),
            _ => return Err(sw::INCORRECT_DATA),
        };
        let key = self.key_for(key, &[KEY_AUTH])?;
        self.session.se.ct = Some((key, mode));
        Ok(())
    }

    fn set_hash(&mut self, objects: &MseData) -> Result<(), u16> {
        let alg = match objects.algorithm {
            Some(0x10) => HashAlg::Sha1,
            Some(0x40) => HashAlg::Sha256,
            _ => return Err(sw::INCORRECT_DATA),
        };
        if objects.key.is_some() || objects.key83.is_some() || objects.cps4.is_some() {
            return Err(sw::INCORRECT_DATA);
        }
        self.session.se.ht = Some(alg);
        self.session.se.hash = None;
        Ok(())
    }

    /// PERFORM SECURITY OPERATION (`2A`). Only DECIPHER takes command chaining (CLA bit
    /// `10`): the pieces are kept until the last one.
    pub(crate) fn perform_security_operation(
        &mut self,
        p1: u8,
        p2: u8,
        data: &[u8],
        chaining: bool,
    ) -> Answer {
        let decipher = (p1, p2) == (0x80, 0x86);
        let earlier = match self.session.se.chain.take() {
            Some((c1, c2, earlier)) if (c1, c2) == (p1, p2) => Some(earlier),
            _ => None,
        };
        if chaining && !decipher {
            return Answer::sw(sw::CHAINING_NOT_SUPPORTED);
        }
        let mut full = earlier.unwrap_or_default();
        full.extend_from_slice(data);
        if full.len() > MAX_CHAIN {
            return Answer::sw(sw::WRONG_LENGTH);
        }
        if chaining {
            self.session.se.chain = Some((p1, p2, full));
            return Answer::sw(sw::OK);
        }
        let result = match (p1, p2) {
            (0x90, 0xA0) => self.pso_hash(&full).map(|()| Vec::new()),
            (0x9E, 0x9A) => self.compute_signature(&full),
            (0x80, 0x86) => self.decipher(&full),
            _ => Err(sw::WRONG_P1P2),
        };
        match result {
            Ok(data) => Answer::ok(data),
            Err(word) => Answer::sw(word),
        }
    }

    /// PSO HASH (`2A 90 A0`): `90 <intermediate state ‖ bit count, or empty> 80 <last
    /// bytes>` — the card finishes the hash from the host's state (IAS-ECC partial
    /// hashing, what the Cryptolib sends); `90 <hash>` alone hands over a finished hash;
    /// `80 <message>` alone is hashed whole.
    fn pso_hash(&mut self, data: &[u8]) -> Result<(), u16> {
        let alg = self.session.se.ht.ok_or(sw::CONDITIONS_NOT_SATISFIED)?;
        let objects =
            tlv::parse_ber(data, TlvLimits::new(1, 1024)).map_err(|_| sw::INCORRECT_DATA)?;
        let (mut state, mut last) = (None, None);
        for object in &objects {
            let Value::Primitive(value) = object.value() else {
                return Err(sw::INCORRECT_DATA);
            };
            match object.tag().to_bytes() {
                [0x90] => state = Some(value.as_slice()),
                [0x80] => last = Some(value.as_slice()),
                _ => return Err(sw::INCORRECT_DATA),
            }
        }
        let digest = match (state, last) {
            (Some(hash), None) if hash.len() == alg.len() => hash.to_vec(),
            (state, Some(last)) => {
                let (words, count) = match state {
                    None | Some([]) => (None, 0),
                    Some(intermediate) if intermediate.len() == alg.len() + 8 => {
                        let (words, count) = intermediate.split_at(alg.len());
                        let mut bits = [0u8; 8];
                        bits.copy_from_slice(count);
                        (Some(words), u64::from_be_bytes(bits))
                    }
                    Some(_) => return Err(sw::INCORRECT_DATA),
                };
                // Only whole blocks can have been hashed.
                if count % 512 != 0 {
                    return Err(sw::INCORRECT_DATA);
                }
                finish_hash(alg, words, count, last).ok_or(sw::INCORRECT_DATA)?
            }
            _ => return Err(sw::INCORRECT_DATA),
        };
        self.session.se.hash = Some((alg, digest));
        Ok(())
    }

    /// PSO COMPUTE DIGITAL SIGNATURE (`2A 9E 9A`): over the PSO HASH result (no data, as
    /// the Cryptolib sends `00 2A 9E 9A 00`) or over a hash (or DigestInfo) sent as data.
    fn compute_signature(&mut self, data: &[u8]) -> Result<Vec<u8>, u16> {
        let (reference, scheme) = self.session.se.dst.ok_or(sw::CONDITIONS_NOT_SATISFIED)?;
        let alg = scheme.hash();
        let digest = if data.is_empty() {
            match self.session.se.hash.take() {
                Some((hashed, digest)) if hashed == alg => digest,
                _ => return Err(sw::CONDITIONS_NOT_SATISFIED),
            }
        } else if data.len() == alg.len() {
            data.to_vec()
        } else if let Some(digest) = data
            .strip_prefix(alg.digest_info())
            .filter(|d| d.len() == alg.len())
        {
            digest.to_vec()
        } else {
            return Err(sw::INCORRECT_DATA);
        };
        let slot = self.usable_key(reference)?;
        let signature = match scheme {
            Scheme::Pkcs1(alg) => slot.key.sign(
                Pkcs1v15Sign::new_unprefixed(),
                &[alg.digest_info(), &digest].concat(),
            ),
            Scheme::Pss(HashAlg::Sha1) => {
                slot.key
                    .sign_with_rng(&mut rand::thread_rng(), Pss::new::<sha1::Sha1>(), &digest)
            }
            Scheme::Pss(HashAlg::Sha256) => {
                slot.key
                    .sign_with_rng(&mut rand::thread_rng(), Pss::new::<sha2::Sha256>(), &digest)
            }
        };
        signature.map_err(|_| sw::NO_DIAGNOSIS)
    }

    /// PSO DECIPHER (`2A 80 86`): padding indicator (`81` or `00`) + cryptogram, or the
    /// cryptogram alone; PKCS#1 type-2 padding removed, or raw RSA (CPS4 authentication).
    fn decipher(&mut self, data: &[u8]) -> Result<Vec<u8>, u16> {
        let (reference, mode) = self.session.se.ct.ok_or(sw::CONDITIONS_NOT_SATISFIED)?;
        let slot = self.usable_key(reference)?;
        let size = slot.key.size();
        let cryptogram = match data {
            [0x81 | 0x00, rest @ ..] if rest.len() == size => rest,
            _ if data.len() == size => data,
            _ => return Err(sw::WRONG_LENGTH),
        };
        match mode {
            DecipherMode::Pkcs1 => slot
                .key
                .decrypt(Pkcs1v15Encrypt, cryptogram)
                .map_err(|_| sw::INCORRECT_DATA),
            DecipherMode::Raw => {
                let c = BigUint::from_bytes_be(cryptogram);
                if &c >= slot.key.n() {
                    return Err(sw::INCORRECT_DATA);
                }
                let m = rsa::hazmat::rsa_decrypt_and_check(
                    &slot.key,
                    Some(&mut rand::thread_rng()),
                    &c,
                )
                .map_err(|_| sw::NO_DIAGNOSIS)?;
                let bytes = m.to_bytes_be();
                let mut out = vec![0u8; size.saturating_sub(bytes.len())];
                out.extend(bytes);
                Ok(out)
            }
        }
    }

    /// INTERNAL AUTHENTICATE (`88`, CPS3): PKCS#1 type-1 padding then the private key
    /// on the data as given (a DigestInfo, or raw data), at most 40 % of the modulus.
    pub(crate) fn internal_authenticate(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        if (p1, p2) != (0x00, 0x00) {
            return Answer::sw(sw::WRONG_P1P2);
        }
        let Some(reference) = self.session.se.at else {
            return Answer::sw(sw::CONDITIONS_NOT_SATISFIED);
        };
        let slot = match self.usable_key(reference) {
            Ok(slot) => slot,
            Err(word) => return Answer::sw(word),
        };
        if data.is_empty() || data.len() * 10 > slot.key.size() * 4 {
            return Answer::sw(sw::WRONG_LENGTH);
        }
        match slot.key.sign(Pkcs1v15Sign::new_unprefixed(), data) {
            Ok(signature) => Answer::ok(signature),
            Err(_) => Answer::sw(sw::NO_DIAGNOSIS),
        }
    }

    /// GET CHALLENGE (`84`): Le random bytes.
    pub(crate) fn get_challenge(
        &mut self,
        p1: u8,
        p2: u8,
        data: &[u8],
        le: Option<usize>,
    ) -> Answer {
        if (p1, p2) != (0x00, 0x00) {
            return Answer::sw(sw::WRONG_P1P2);
        }
        let Some(le) = le.filter(|_| data.is_empty()) else {
            return Answer::sw(sw::WRONG_LENGTH);
        };
        let mut challenge = vec![0u8; le];
        rand::thread_rng().fill_bytes(&mut challenge);
        Answer::ok(challenge)
    }
}

const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
const SHA256_IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Continues a hash from an intermediate state (`words`: big-endian chaining values,
/// `None` for the initial ones) after `count` bits, over `last`, and pads it.
pub(crate) fn finish_hash(
    alg: HashAlg,
    words: Option<&[u8]>,
    count: u64,
    last: &[u8],
) -> Option<Vec<u8>> {
    let total = count.checked_add(u64::try_from(last.len()).ok()?.checked_mul(8)?)?;
    let mut message = last.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&total.to_be_bytes());
    let blocks: Vec<_> = message
        .chunks_exact(64)
        .map(|chunk| {
            let mut block = [0u8; 64];
            block.copy_from_slice(chunk);
            block.into()
        })
        .collect();
    let read = |words: &[u8], out: &mut [u32]| {
        for (word, bytes) in out.iter_mut().zip(words.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
    };
    let state: Vec<u32> = match alg {
        HashAlg::Sha1 => {
            let mut state = SHA1_IV;
            if let Some(words) = words {
                read(words, &mut state);
            }
            sha1::compress(&mut state, &blocks);
            state.to_vec()
        }
        HashAlg::Sha256 => {
            let mut state = SHA256_IV;
            if let Some(words) = words {
                read(words, &mut state);
            }
            sha2::compress256(&mut state, &blocks);
            state.to_vec()
        }
    };
    Some(state.iter().flat_map(|w| w.to_be_bytes()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn finishing_from_the_start_is_the_plain_hash() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 200] {
            let message: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(
                finish_hash(HashAlg::Sha256, None, 0, &message).unwrap(),
                sha2::Sha256::digest(&message).to_vec(),
                "{len}"
            );
            assert_eq!(
                finish_hash(HashAlg::Sha1, None, 0, &message).unwrap(),
                sha1::Sha1::digest(&message).to_vec(),
                "{len}"
            );
        }
    }

    #[test]
    fn finishing_from_an_intermediate_state() {
        let message: Vec<u8> = (0..300u16).map(|i| (i * 7) as u8).collect();
        let (head, tail) = message.split_at(256);
        let mut state = SHA256_IV;
        let blocks: Vec<_> = head
            .chunks_exact(64)
            .map(|c| {
                let mut b = [0u8; 64];
                b.copy_from_slice(c);
                b.into()
            })
            .collect();
        sha2::compress256(&mut state, &blocks);
        let words: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(
            finish_hash(HashAlg::Sha256, Some(&words), 2048, tail).unwrap(),
            sha2::Sha256::digest(&message).to_vec()
        );
    }
}
