//! The code porteur (PIN, reference 1) and the code de déblocage (PUK, reference 2):
//! VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, and GET DATA on the security data
//! objects (PIN counters, key descriptions).
//!
//! Every presentation spends a try **before** comparing and gives it back after a match,
//! each step through the persistence hook: a card torn from the reader mid-command never
//! gains a free try.

use cps_apdu::tlv::push_ber;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::fs::{MF, NodeId};
use super::pkcs15;
use super::{Answer, Counters, VirtualCard, sw};
use crate::profile::{Generation, Interface};
use crate::state::CodeDigests;

/// The two codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Pin,
    Puk,
}

/// Stored length of a PIN block (AODF `storedLength`).
const BLOCK_LEN: usize = 8;

/// The PIN block of the AODF: ASCII digits padded with `FF` to 8 bytes.
pub(crate) fn block(digits: &str) -> Zeroizing<[u8; BLOCK_LEN]> {
    let mut out = Zeroizing::new([0xFF; BLOCK_LEN]);
    for (slot, digit) in out.iter_mut().zip(digits.bytes()) {
        *slot = digit;
    }
    out
}

/// SHA-256(salt ‖ block): how the card keeps a code.
fn digest(salt: &[u8; 16], block: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(salt);
    hash.update(block);
    hash.finalize().into()
}

/// A new card's codes: a fresh random salt and the digests of the profile's codes.
pub(crate) fn digests(pin: &str, puk: &str) -> CodeDigests {
    let salt: [u8; 16] = rand::random();
    CodeDigests {
        salt,
        pin: digest(&salt, &block(pin)[..]),
        puk: digest(&salt, &block(puk)[..]),
    }
}

/// Whether `candidate` is a well-formed block of at least `min` digits.
fn well_formed(candidate: &[u8], min: usize) -> bool {
    let digits = candidate.iter().take_while(|b| b.is_ascii_digit()).count();
    candidate.len() == BLOCK_LEN
        && digits >= min
        && candidate
            .get(digits..)
            .is_some_and(|pad| pad.iter().all(|&b| b == 0xFF))
}

/// Comparison whose time does not depend on where the blocks differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl VirtualCard {
    /// The code a reference names. CPS3: global references 1 and 2; CPS4 also accepts
    /// them with the local bit (`81`, `82`), the form its AODF declares.
    pub(crate) fn code_for(&self, reference: u8) -> Option<Code> {
        let reference = match self.profile.generation {
            Generation::Cps3 => reference,
            Generation::Cps4 => reference & 0x7F,
        };
        match reference {
            0x01 => Some(Code::Pin),
            0x02 => Some(Code::Puk),
            _ => None,
        }
    }

    fn tries(&self, code: Code) -> (u8, u8) {
        match code {
            Code::Pin => (self.counters.pin_tries_left, self.profile.pin.tries_max),
            Code::Puk => (self.counters.puk_tries_left, self.profile.puk.tries_max),
        }
    }

    fn with_tries(counters: Counters, code: Code, left: u8) -> Counters {
        match code {
            Code::Pin => Counters {
                pin_tries_left: left,
                ..counters
            },
            Code::Puk => Counters {
                puk_tries_left: left,
                ..counters
            },
        }
    }

    fn verified(&self, code: Code) -> bool {
        match code {
            Code::Pin => self.session.pin_verified,
            Code::Puk => self.session.puk_verified,
        }
    }

    fn set_verified(&mut self, code: Code, verified: bool) {
        match code {
            Code::Pin => self.session.pin_verified = verified,
            Code::Puk => self.session.puk_verified = verified,
        }
    }

    /// Writes counters: the hook first, memory only if it succeeded (`65 81` otherwise).
    pub(crate) fn store(&mut self, counters: Counters) -> Result<(), u16> {
        if counters == self.counters {
            return Ok(());
        }
        if let Some(hook) = self.on_counters_changed.as_mut()
            && hook(&counters).is_err()
        {
            return Err(sw::MEMORY_FAILURE);
        }
        self.counters = counters;
        Ok(())
    }

    /// Sets a code to a new (well-formed) block: the hook first, memory only if it
    /// succeeded (`65 81` otherwise).
    fn set_code(&mut self, code: Code, new: &[u8]) -> Result<(), u16> {
        let codes = self.codes_with(code, new);
        self.store_with_codes(self.counters, codes)
    }

    /// The codes with `code` set to the block `new`.
    fn codes_with(&self, code: Code, new: &[u8]) -> CodeDigests {
        let mut codes = self.codes.clone();
        let value = digest(&codes.salt, new);
        match code {
            Code::Pin => codes.pin = value,
            Code::Puk => codes.puk = value,
        }
        codes
    }

    /// Writes counters and codes together: one call of the codes hook when the codes
    /// change (else [`store`](Self::store)), memory only if it succeeded.
    fn store_with_codes(&mut self, counters: Counters, codes: CodeDigests) -> Result<(), u16> {
        if codes == self.codes {
            return self.store(counters);
        }
        match self.on_codes_changed.as_mut() {
            Some(hook) => hook(&counters, &codes).map_err(|_| sw::MEMORY_FAILURE)?,
            None => self.store(counters)?,
        }
        self.counters = counters;
        self.codes = codes;
        Ok(())
    }

    /// Presents `candidate` for `code`: `Ok` on a match, else the status word.
    pub(crate) fn present(&mut self, code: Code, candidate: &[u8]) -> Result<(), u16> {
        if code == Code::Puk && self.counters.puk_usage_left == 0 {
            return Err(sw::REFERENCE_DATA_UNUSABLE);
        }
        let (left, max) = self.tries(code);
        if left == 0 {
            return Err(sw::BLOCKED);
        }
        let remaining = left.saturating_sub(1);
        self.store(Self::with_tries(self.counters, code, remaining))?;
        self.set_verified(code, false);
        let reference = match code {
            Code::Pin => &self.codes.pin,
            Code::Puk => &self.codes.puk,
        };
        if !same(&digest(&self.codes.salt, candidate), reference) {
            return Err(sw::tries_left(remaining));
        }
        self.store(Self::with_tries(self.counters, code, max))?;
        Ok(())
    }

    /// Over the air the codes cannot be presented (the PIN is a contact-only object).
    fn codes_usable(&self) -> bool {
        self.profile.interface == Interface::Contact
    }

    /// VERIFY (`20`). Without data (T=0 sends `00 20 00 01 00`): the status alone,
    /// no try spent — `63 Cx`, `69 83`, `69 84`, or `90 00` when already verified.
    /// P1 `FF` forgets a verification.
    pub(crate) fn verify(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        let Some(code) = self.code_for(p2) else {
            return Answer::sw(sw::DATA_NOT_FOUND);
        };
        match p1 {
            0x00 => {}
            0xFF => {
                self.set_verified(code, false);
                return Answer::sw(sw::OK);
            }
            _ => return Answer::sw(sw::WRONG_P1P2),
        }
        if !self.codes_usable() {
            return Answer::sw(sw::CONDITIONS_NOT_SATISFIED);
        }
        if data.is_empty() {
            return Answer::sw(self.status(code));
        }
        if data.len() != BLOCK_LEN {
            return Answer::sw(sw::WRONG_LENGTH);
        }
        match self.present(code, data) {
            Ok(()) => {
                self.set_verified(code, true);
                Answer::sw(sw::OK)
            }
            Err(word) => Answer::sw(word),
        }
    }

    /// The status of a code, as an empty VERIFY reports it.
    fn status(&self, code: Code) -> u16 {
        let (left, _) = self.tries(code);
        if code == Code::Puk && self.counters.puk_usage_left == 0 {
            sw::REFERENCE_DATA_UNUSABLE
        } else if self.verified(code) {
            sw::OK
        } else if left == 0 {
            sw::BLOCKED
        } else {
            sw::tries_left(left)
        }
    }

    /// CHANGE REFERENCE DATA (`24`): P1 `00` old‖new; P1 `01` new only, once the code
    /// is verified (or, for the PIN, once the PUK is — the CPS4 unblock ends with it).
    pub(crate) fn change_reference_data(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        let Some(code) = self.code_for(p2) else {
            return Answer::sw(sw::DATA_NOT_FOUND);
        };
        let (old, new) = match (p1, data.len()) {
            (0x00, 16) => data.split_at(BLOCK_LEN),
            (0x01, BLOCK_LEN) => (&[][..], data),
            (0x00 | 0x01, _) => return Answer::sw(sw::WRONG_LENGTH),
            _ => return Answer::sw(sw::WRONG_P1P2),
        };
        if !self.codes_usable() {
            return Answer::sw(sw::CONDITIONS_NOT_SATISFIED);
        }
        let min = match code {
            Code::Pin => 4,
            Code::Puk => 8,
        };
        if !well_formed(new, min) {
            return Answer::sw(sw::INCORRECT_DATA);
        }
        if p1 == 0x01 {
            let unblocking =
                code == Code::Pin && self.session.puk_verified && self.counters.pin_tries_left > 0;
            if !self.verified(code) && !unblocking {
                return Answer::sw(sw::SECURITY_NOT_SATISFIED);
            }
        } else if let Err(word) = self.present(code, old) {
            return Answer::sw(word);
        }
        if let Err(word) = self.set_code(code, new) {
            return Answer::sw(word);
        }
        self.set_verified(code, true);
        Answer::sw(sw::OK)
    }

    /// RESET RETRY COUNTER (`2C`) of the PIN: P1 `00` PUK‖new PIN, `01` PUK, `02` new PIN
    /// after a PUK VERIFY, `03` nothing after a PUK VERIFY (CPS4, followed by `24 01`).
    /// Each unblock spends one of the PUK's uses; at zero: `69 84`, for good.
    pub(crate) fn reset_retry_counter(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        if self.code_for(p2) != Some(Code::Pin) {
            return Answer::sw(sw::DATA_NOT_FOUND);
        }
        let (puk, new) = match (p1, data.len()) {
            (0x00, 16) => {
                let (puk, new) = data.split_at(BLOCK_LEN);
                (Some(puk), Some(new))
            }
            (0x01, BLOCK_LEN) => (Some(data), None),
            (0x02, BLOCK_LEN) => (None, Some(data)),
            (0x03, 0) => (None, None),
            (0x00..=0x03, _) => return Answer::sw(sw::WRONG_LENGTH),
            _ => return Answer::sw(sw::WRONG_P1P2),
        };
        if !self.codes_usable() {
            return Answer::sw(sw::CONDITIONS_NOT_SATISFIED);
        }
        if self.counters.puk_usage_left == 0 {
            return Answer::sw(sw::REFERENCE_DATA_UNUSABLE);
        }
        if new.is_some_and(|new| !well_formed(new, 4)) {
            return Answer::sw(sw::INCORRECT_DATA);
        }
        match puk {
            Some(puk) => {
                if let Err(word) = self.present(Code::Puk, puk) {
                    return Answer::sw(word);
                }
            }
            None if !self.session.puk_verified => {
                return Answer::sw(sw::SECURITY_NOT_SATISFIED);
            }
            None => {}
        }
        let unblocked = Counters {
            pin_tries_left: self.profile.pin.tries_max,
            puk_usage_left: self.counters.puk_usage_left.saturating_sub(1),
            ..self.counters
        };
        // The re-armed counters and the new PIN in one write: a failure keeps both old.
        let stored = match new {
            Some(new) => self.store_with_codes(unblocked, self.codes_with(Code::Pin, new)),
            None => self.store(unblocked),
        };
        if let Err(word) = stored {
            return Answer::sw(word);
        }
        self.session.pin_verified = false;
        Answer::sw(sw::OK)
    }

    /// GET DATA (`CB 3F FF`) on a security data object, asked the IAS-ECC way:
    /// `4D L 70 L BF <81|90> <ref> L <header list>`.
    pub(crate) fn get_data(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        if (p1, p2) != (0x3F, 0xFF) {
            return Answer::sw(sw::DATA_NOT_FOUND);
        }
        let Some((class, reference, wanted)) = sdo_request(data) else {
            return Answer::sw(sw::INCORRECT_DATA);
        };
        let current = self.session.current_df;
        match class {
            // A code: from the MF or the contact application.
            0x81 => {
                let Some(code) = self.code_for(reference) else {
                    return Answer::sw(sw::DATA_NOT_FOUND);
                };
                if current != MF && Some(current) != self.df(0x0001) {
                    return Answer::sw(sw::DATA_NOT_FOUND);
                }
                match wanted {
                    // OpenSC falls back to the A0 request on "incorrect parameters".
                    [0xA0, 0x80] => Answer::ok(self.code_docp(code, reference)),
                    _ => Answer::sw(sw::INCORRECT_DATA),
                }
            }
            // A private key (the SDO number is the key reference without b8): from the
            // DF that holds it.
            0x90 => {
                let Some(df) = self.key_df(reference | 0x80) else {
                    return Answer::sw(sw::DATA_NOT_FOUND);
                };
                if Some(current) != self.df(df) {
                    return Answer::sw(sw::DATA_NOT_FOUND);
                }
                match wanted {
                    [0xA0, 0x80] => Answer::ok(key_docp(reference)),
                    // OpenSC asks the public part `7F48` first and must get "incorrect
                    // parameters" to fall back to A0 (`6A 88` makes it give up).
                    _ => Answer::sw(sw::INCORRECT_DATA),
                }
            }
            _ => Answer::sw(sw::DATA_NOT_FOUND),
        }
    }

    pub(crate) fn df(&self, fid: u16) -> Option<NodeId> {
        self.fs.child(MF, fid)
    }

    /// The DF of a key this card holds.
    fn key_df(&self, reference: u8) -> Option<u16> {
        self.keys
            .iter()
            .find(|k| k.reference == reference)
            .map(|k| match k.reference {
                pkcs15::KEY_TECH => 0x0002,
                _ => 0x0001,
            })
    }

    /// The CHV SDO's DOCP, exactly as the real card answers it: `9A` tries max, `9B`
    /// tries left, `9D` uses left (PUK), `A1` access rules.
    fn code_docp(&self, code: Code, reference: u8) -> Vec<u8> {
        let (left, max) = self.tries(code);
        let mut docp = Vec::new();
        push_ber(&mut docp, &[0x9A], &[max]);
        push_ber(&mut docp, &[0x9B], &[left]);
        let rules: [u8; 6] = match code {
            Code::Pin => [0xF3, 0x00, 0x00, 0x13, 0xFF, 0x00],
            Code::Puk => {
                push_ber(
                    &mut docp,
                    &[0x9D],
                    &self.counters.puk_usage_left.to_be_bytes(),
                );
                [0xF3, 0xFF, 0x00, 0xFF, 0xFF, 0x00]
            }
        };
        let mut access = Vec::new();
        push_ber(&mut access, &[0x8C], &rules);
        push_ber(&mut docp, &[0xA1], &access);
        wrap_sdo(0x81, reference, &docp)
    }
}

/// The key SDO's DOCP (middleware-flows §2.5): size `80` in bytes (OpenSC refuses
/// `08 00`), then the SCBs of PSO sign, internal authenticate, decipher, generate, put
/// data, get data.
fn key_docp(reference: u8) -> Vec<u8> {
    let scbs: [u8; 7] = match reference | 0x80 {
        pkcs15::KEY_SIGN => [0x7B, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x00],
        pkcs15::KEY_TECH => [0x7B, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0x00],
        _ => [0x7B, 0xFF, 0x12, 0x12, 0xFF, 0xFF, 0x00],
    };
    let mut access = Vec::new();
    push_ber(&mut access, &[0x8C], &scbs);
    let mut docp = Vec::new();
    push_ber(&mut docp, &[0x80], &[0x01, 0x00]);
    push_ber(&mut docp, &[0xA1], &access);
    wrap_sdo(0x90, reference, &docp)
}

/// `70 L BF <class> <ref> L A0 L <docp>`.
fn wrap_sdo(class: u8, reference: u8, docp: &[u8]) -> Vec<u8> {
    let mut a0 = Vec::new();
    push_ber(&mut a0, &[0xA0], docp);
    let mut sdo = Vec::new();
    push_ber(&mut sdo, &[0xBF, class, reference], &a0);
    let mut out = Vec::new();
    push_ber(&mut out, &[0x70], &sdo);
    out
}

/// Splits `4D L 70 L BF <class> <ref> L <header list>`; the header list (`A0 80`,
/// `7F 41 80`…) is not BER (its `80` is a length placeholder), so this is done by hand.
fn sdo_request(data: &[u8]) -> Option<(u8, u8, &[u8])> {
    let len = data.len();
    match data {
        [0x4D, l1, 0x70, l2, 0xBF, class, reference, l3, wanted @ ..]
            if usize::from(*l1) + 2 == len
                && usize::from(*l2) + 4 == len
                && usize::from(*l3) + 8 == len =>
        {
            Some((*class, *reference, wanted))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        assert_eq!(*block("1234"), *b"1234\xFF\xFF\xFF\xFF");
        assert!(well_formed(b"1234\xFF\xFF\xFF\xFF", 4));
        assert!(well_formed(b"12345678", 8));
        assert!(!well_formed(b"123\xFF\xFF\xFF\xFF\xFF", 4));
        assert!(!well_formed(b"1234\xFF\xFF\xFF\x00", 4));
        assert!(!well_formed(b"12\xFF4\xFF\xFF\xFF\xFF", 4));
        assert!(!well_formed(b"1234", 4));
        assert!(same(b"ab", b"ab") && !same(b"ab", b"ac") && !same(b"a", b"ab"));
    }

    #[test]
    fn sdo_requests() {
        let pin = hex::decode("4D087006BF810102A080").unwrap();
        assert_eq!(sdo_request(&pin), Some((0x81, 0x01, &[0xA0, 0x80][..])));
        let key = hex::decode("4D097007BF9002037F4880").unwrap();
        assert_eq!(
            sdo_request(&key),
            Some((0x90, 0x02, &[0x7F, 0x48, 0x80][..]))
        );
        assert_eq!(sdo_request(&pin[..9]), None);
        assert_eq!(sdo_request(&[]), None);
    }

    #[test]
    fn key_descriptions() {
        assert_eq!(
            hex::encode_upper(key_docp(0x02)),
            "7015BF900211A00F80020100A1098C077BFF1212FFFF00"
        );
    }
}
