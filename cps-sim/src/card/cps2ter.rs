//! The CPS2ter side (CLA `A0`), kept by CPS3 and CPS4 for older software: GSM-style
//! SELECT answered `9F 07`, GET RESPONSE `A0 C0` giving `85 05 <size> <fid> <type>`,
//! READ BINARY, VERIFY, with the `98 xx` / `94 xx` status words.
//!
//! Only the shape the Cryptolib expects is known (middleware-flows §3, last bullet):
//! the files (`3F00/4010` one activity, `3F00/7F01/4000` the billing situation) and
//! their content are ours. They are PIN-protected, and the code is the card's one code
//! porteur: a VERIFY on either side serves both.

use cps_apdu::Command;

use super::pins::Code;
use super::{VirtualCard, sw};
use crate::profile::Profile;

const SELECTED: u16 = 0x9F07;
const NO_FILE_SELECTED: u16 = 0x9400;
const OUT_OF_RANGE: u16 = 0x9402;
const FILE_NOT_FOUND: u16 = 0x9404;
const WRONG_PIN: u16 = 0x9804;
const PIN_BLOCKED: u16 = 0x9840;
const WRONG_P1P2: u16 = 0x6B00;

/// File types of the FCI's last byte.
const TYPE_MF: u8 = 0x01;
const TYPE_DF: u8 = 0x02;
const TYPE_EF: u8 = 0x04;

#[derive(Debug)]
struct File {
    fid: u16,
    parent: Option<usize>,
    kind: u8,
    data: Vec<u8>,
}

/// The CPS2ter files.
#[derive(Debug)]
pub(crate) struct Cps2ter {
    files: Vec<File>,
}

/// Where the CPS2ter side stands; forgotten on reset.
#[derive(Debug, Default)]
pub(crate) struct Cps2terSession {
    current: usize,
    current_ef: Option<usize>,
    /// The FCI a `9F 07` announced.
    pub(crate) response: Option<Vec<u8>>,
}

fn padded(text: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.bytes().take(len).collect();
    out.resize(len, b' ');
    out
}

impl Cps2ter {
    pub(crate) fn build(profile: &Profile) -> Self {
        let holder = &profile.holder;
        // Activity 1: profession code, card type, national id (our layout).
        let activity = padded(
            &format!(
                "{:02}{}{}",
                holder.profession_code.unwrap_or(0),
                holder.card_type.code(),
                holder.national_id
            ),
            32,
        );
        let billing = padded(&profile.card_number, 16);
        let files = vec![
            File {
                fid: 0x3F00,
                parent: None,
                kind: TYPE_MF,
                data: Vec::new(),
            },
            File {
                fid: 0x4010,
                parent: Some(0),
                kind: TYPE_EF,
                data: activity,
            },
            File {
                fid: 0x7F01,
                parent: Some(0),
                kind: TYPE_DF,
                data: Vec::new(),
            },
            File {
                fid: 0x4000,
                parent: Some(2),
                kind: TYPE_EF,
                data: billing,
            },
        ];
        Cps2ter { files }
    }

    fn child(&self, parent: usize, fid: u16) -> Option<usize> {
        self.files
            .iter()
            .position(|f| f.parent == Some(parent) && f.fid == fid)
    }

    fn fci(&self, index: usize) -> Vec<u8> {
        let Some(file) = self.files.get(index) else {
            return Vec::new();
        };
        let size = u16::try_from(file.data.len()).unwrap_or(u16::MAX);
        let mut out = vec![0x85, 0x05];
        out.extend(size.to_be_bytes());
        out.extend(file.fid.to_be_bytes());
        out.push(file.kind);
        out
    }
}

impl VirtualCard {
    /// One CLA `A0` command, answered as the wire carries it.
    pub(crate) fn cps2ter(&mut self, raw: &[u8]) -> Vec<u8> {
        let response = self.session.cps2ter.response.take();
        let Ok(command) = Command::decode(raw) else {
            return word(sw::WRONG_LENGTH);
        };
        let (p1, p2, data) = (command.p1, command.p2, command.data());
        match command.ins {
            0xA4 => word(self.cps2ter_select(p1, p2, data)),
            0xC0 => {
                if (p1, p2) != (0, 0) {
                    self.session.cps2ter.response = response;
                    return word(WRONG_P1P2);
                }
                let Some(fci) = response else {
                    return word(sw::NO_DIAGNOSIS);
                };
                let le = command.le().unwrap_or(256);
                match fci.get(..le) {
                    Some(part) => [part.to_vec(), word(sw::OK)].concat(),
                    None => {
                        self.session.cps2ter.response = Some(fci);
                        word(sw::WRONG_LENGTH)
                    }
                }
            }
            0xB0 => self.cps2ter_read(p1, p2, data, command.le()),
            0x20 => word(self.cps2ter_verify(p1, p2, data)),
            _ => word(sw::INS_NOT_SUPPORTED),
        }
    }

    fn cps2ter_select(&mut self, p1: u8, p2: u8, data: &[u8]) -> u16 {
        if (p1, p2) != (0, 0) {
            return WRONG_P1P2;
        }
        let [hi, lo] = data else {
            return sw::WRONG_LENGTH;
        };
        let fid = u16::from_be_bytes([*hi, *lo]);
        let side = &self.cps2ter;
        let state = &self.session.cps2ter;
        let parent = side.files.get(state.current).and_then(|f| f.parent);
        let found = if fid == 0x3F00 {
            Some(0)
        } else {
            // A child of the current DF, or one of its siblings.
            side.child(state.current, fid)
                .or_else(|| parent.and_then(|p| side.child(p, fid)))
        };
        let Some(index) = found else {
            return FILE_NOT_FOUND;
        };
        let fci = side.fci(index);
        let is_ef = side.files.get(index).is_some_and(|f| f.kind == TYPE_EF);
        let state = &mut self.session.cps2ter;
        if is_ef {
            state.current_ef = Some(index);
            if let Some(parent) = self.cps2ter.files.get(index).and_then(|f| f.parent) {
                state.current = parent;
            }
        } else {
            state.current = index;
            state.current_ef = None;
        }
        state.response = Some(fci);
        SELECTED
    }

    fn cps2ter_read(&mut self, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
        if !data.is_empty() {
            return word(sw::WRONG_LENGTH);
        }
        if p1 & 0x80 != 0 {
            return word(WRONG_P1P2);
        }
        let Some(file) = self
            .session
            .cps2ter
            .current_ef
            .and_then(|i| self.cps2ter.files.get(i))
        else {
            return word(NO_FILE_SELECTED);
        };
        if !self.session.pin_verified {
            return word(if self.counters.pin_tries_left == 0 {
                PIN_BLOCKED
            } else {
                WRONG_PIN
            });
        }
        let offset = usize::from(u16::from_be_bytes([p1, p2]));
        let end = offset.saturating_add(le.unwrap_or(256));
        match file.data.get(offset..end) {
            Some(part) if offset < file.data.len() => [part.to_vec(), word(sw::OK)].concat(),
            _ => word(OUT_OF_RANGE),
        }
    }

    fn cps2ter_verify(&mut self, p1: u8, p2: u8, data: &[u8]) -> u16 {
        if (p1, p2) != (0x00, 0x01) {
            return WRONG_P1P2;
        }
        if data.len() != 8 {
            return sw::WRONG_LENGTH;
        }
        match self.present(Code::Pin, data) {
            Ok(()) => {
                self.session.pin_verified = true;
                sw::OK
            }
            Err(sw::BLOCKED) => PIN_BLOCKED,
            Err(sw::MEMORY_FAILURE) => sw::MEMORY_FAILURE,
            Err(word) if word == sw::tries_left(0) => PIN_BLOCKED,
            Err(_) => WRONG_PIN,
        }
    }
}

fn word(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}
