//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable test that
//! replays their corpus and crash artifacts (`tests/fuzz_replay.rs`). Each one feeds
//! arbitrary bytes read from a card to the parsers that consume them and checks what
//! must hold whatever the input: no panic, bounded output, and errors that render.
//!
//! Not a stable API.
#![allow(missing_docs, clippy::missing_panics_doc)]

use std::time::{Duration, SystemTime};

use cps_apdu::{Transport, TransportError};

use crate::card::{CpsCard, LastTry};
use crate::cert::Certificate;
use crate::identify::{CardKind, SerialNumber};
use crate::pkcs15;
use crate::secret::{Pin, Puk};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every fuzz target of this crate, by the name of its directory under `fuzz/corpus`.
pub const TARGETS: &[(&str, Target)] =
    &[("pkcs15", pkcs15), ("cert", cert), ("card_host", card_host)];

/// Every PKCS#15 parser (and EF.SN.ICC) on the same bytes, as a hostile card could
/// serve any of them in any file.
pub fn pkcs15(data: &[u8]) {
    fn check<T: std::fmt::Debug>(r: Result<Vec<T>, pkcs15::Pkcs15Error>) {
        match r {
            Ok(list) => {
                assert!(
                    list.len() <= pkcs15::MAX_ENTRIES,
                    "entry limit not enforced"
                );
                let _ = format!("{list:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    check(pkcs15::parse_dir(data));
    check(pkcs15::parse_aodf(data));
    check(pkcs15::parse_prkdf(data));
    check(pkcs15::parse_cdf(data));
    check(pkcs15::parse_dodf(data));
    match pkcs15::parse_odf(data) {
        Ok(odf) => {
            let _ = format!("{odf:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match pkcs15::parse_token_info(data) {
        Ok(t) => {
            let _ = format!("{t:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(aodf) = pkcs15::parse_aodf(data) {
        for object in aodf {
            // The PIN block is built from the card's declared format.
            let block = object.format.block(b"1234");
            assert!(block.is_none_or(|b| b.len() <= 64), "oversized PIN block");
        }
    }
    let _ = SerialNumber::parse(data);
    let _ = CardKind::from_atr(data);
}

/// Certificate parsing (DER, PEM) and everything the tool reads from one: names,
/// validity, usages, the holder (RPPS / ADELI identifiers, profession, structure).
pub fn cert(data: &[u8]) {
    let parsed = Certificate::from_file_bytes_all(data);
    if let Ok(der) = Certificate::from_der(data) {
        assert_eq!(der.der(), data, "the certificate keeps its bytes");
    }
    let Ok(certs) = parsed else {
        return;
    };
    for c in certs {
        let _ = (c.subject(), c.issuer(), c.serial_hex());
        let _ = (c.not_before_rfc3339(), c.not_after_rfc3339());
        let _ = c.validity_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let _ = (c.key_usage(), c.extended_key_usage(), c.key_bits());
        let _ = (c.rsa_modulus_bits(), c.is_ca(), c.key_algorithm());
        let _ = (c.sha256_fingerprint(), c.to_pem(), c.signature_algorithm());
        match c.holder() {
            Ok(h) => {
                let _ = (h.summary_en(), h.summary_fr(), h.profession_name());
                let _ = serde_json::to_string(&h);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// A card whose every answer comes from the fuzz input: `[len][len bytes]` per
/// answer; once the input is spent, it repeats its last answer forever (a card stuck
/// in a loop), or leaves the reader if it never answered. Counts the PIN-bearing
/// commands.
#[derive(Debug)]
struct ScriptedCard<'a> {
    atr: &'static [u8],
    answers: &'a [u8],
    last: Option<Vec<u8>>,
    sent: usize,
    pin_commands: usize,
}

impl Transport for ScriptedCard<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        assert!(
            self.sent < 100_000,
            "the host does not stop talking to the card"
        );
        // A PIN-bearing command has a data field: CLA INS P1 P2 Lc data.
        if let [_, ins, _, _, _, _, ..] = command
            && matches!(ins, 0x20 | 0x24 | 0x2C)
        {
            self.pin_commands += 1;
        }
        let answer = match self.answers.split_first() {
            Some((&len, rest)) => {
                let (answer, rest) = rest.split_at(usize::from(len).min(rest.len()));
                self.answers = rest;
                self.last = Some(answer.to_vec());
                answer.to_vec()
            }
            None => self.last.clone().ok_or(TransportError::CardRemoved)?,
        };
        if answer.len() < 2 {
            return Err(TransportError::InvalidResponse { len: answer.len() });
        }
        Ok(answer)
    }

    fn atr(&self) -> &[u8] {
        self.atr
    }
}

const ATR_CPS3: &[u8] = &[
    0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90,
    0x00,
];
const ATR_CPS4: &[u8] = &[
    0x3B, 0x9B, 0x18, 0x80, 0x01, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x04, 0x01, 0x00, 0x00, 0x90,
    0x44,
];

/// The whole host side (exchange layer, card model, parsers) against a card answering
/// anything: no panic, and no PIN-bearing command sent twice (one per verify, two per
/// unblock). A data-less command (the CPS4's empty VERIFY reading a counter) carries no
/// code and is not counted.
pub fn card_host(data: &[u8]) {
    let Some((&selector, answers)) = data.split_first() else {
        return;
    };
    let atr = if selector & 1 == 0 {
        ATR_CPS3
    } else {
        ATR_CPS4
    };
    let transport = ScriptedCard {
        atr,
        answers,
        last: None,
        sent: 0,
        pin_commands: 0,
    };
    let Ok(mut card) = CpsCard::open(transport) else {
        return;
    };
    let _ = card.token_info();
    let _ = card.update_window();
    let status = card.pin_status();
    let _ = card.certificates();
    let pins_before =
        |card: &mut CpsCard<ScriptedCard<'_>>| card.exchange().transport().pin_commands;
    let before = pins_before(&mut card);
    let pin = Pin::new("1234").ok();
    if let Some(pin) = &pin {
        match card.verify_pin(pin, LastTry::Refuse) {
            Ok(outcome) => {
                let _ = format!("{outcome:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let spent = pins_before(&mut card) - before;
    assert!(spent <= 1, "{spent} PIN-bearing commands for one verify");
    let before = pins_before(&mut card);
    if let (Some(pin), Ok(puk)) = (&pin, Puk::new("12345678")) {
        let _ = card.unblock(&puk, pin, LastTry::Allow);
    }
    let spent = pins_before(&mut card) - before;
    // The unblock code's VERIFY, then the new PIN (RESET RETRY COUNTER on a CPS3,
    // CHANGE REFERENCE DATA after a data-less RESET RETRY COUNTER on a CPS4).
    assert!(spent <= 2, "{spent} PIN-bearing commands for one unblock");
    let _ = card.challenge(8);
    let _ = status.map(|s| format!("{s:?}"));
}
