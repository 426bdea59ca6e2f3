//! Code porteur and code de déblocage: counters, VERIFY, CHANGE, unblock, persistence.

mod common;

use std::sync::{Arc, Mutex};

use common::{Host, block, h, hx};
use cps_sim::card::{CodeDigests, Counters};
use sha2::{Digest, Sha256};

const PIN_DOCP: &str = "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00";
const PUK_DOCP: &str =
    "70 1A BF 81 02 16 A0 14 9A 01 0A 9B 01 0A 9D 02 00 64 A1 08 8C 06 F3 FF 00 FF FF 00";
const GET_PIN: &str = "00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80";
const GET_PUK: &str = "00 CB 3F FF 0A 4D 08 70 06 BF 81 02 02 A0 80";

fn verify(code: &str) -> String {
    format!("00 20 00 01 08 {}", block(code))
}

fn verify_puk(code: &str) -> String {
    format!("00 20 00 02 08 {}", block(code))
}

#[test]
fn counters_read_like_the_real_card() {
    let mut card = Host::new("cps3");
    // Cryptolib: select the MF by path, GET DATA, GET RESPONSE.
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
    card.exchange(GET_PIN, "61 18");
    card.exchange("00 C0 00 00 18", &format!("{PIN_DOCP} 90 00"));
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
    card.exchange(GET_PUK, "61 1C");
    card.exchange("00 C0 00 00 1C", &format!("{PUK_DOCP} 90 00"));
    // Also from DF 0001; not from DF 0002.
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    assert_eq!(hx(&card.expect(GET_PIN, 0x9000)), hx(&h(PIN_DOCP)));
    card.exchange("00 A4 09 0C 04 3F 00 00 02", "90 00");
    card.exchange(GET_PIN, "6A 88");
    // OpenSC first asks the public part: "incorrect parameters", then A0.
    card.exchange("00 A4 09 04 02 3F 00", "61 20");
    card.exchange("00 CB 3F FF 0B 4D 09 70 07 BF 81 01 03 7F 41 80", "6A 80");
    card.expect(GET_PIN, 0x9000);
    // Unknown references and malformed requests.
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 81 03 02 A0 80", "6A 88");
    card.exchange("00 CB 3F FF 09 4D 08 70 06 BF 81 01 02 A0", "6A 80");
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0", "67 00");
    card.exchange("00 CB 3F FF 0A 4D 07 70 06 BF 81 01 02 A0 80", "6A 80");
    card.exchange("00 CB 00 01 0A 4D 08 70 06 BF 81 01 02 A0 80", "6A 88");
}

#[test]
fn key_sdo_answers_for_opensc() {
    let mut card = Host::new("cps3");
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 CB 3F FF 0B 4D 09 70 07 BF 90 02 03 7F 48 80", "6A 80");
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 90 02 02 A0 80", "61 17");
    card.exchange(
        "00 C0 00 00 17",
        "70 15 BF 90 02 11 A0 0F 80 02 01 00 A1 09 8C 07 7B FF 12 12 FF FF 00 90 00",
    );
    let sign = card.expect("00 CB 3F FF 0A 4D 08 70 06 BF 90 01 02 A0 80", 0x9000);
    assert_eq!(
        hx(&sign),
        hx(&h(
            "70 15 BF 90 01 11 A0 0F 80 02 01 00 A1 09 8C 07 7B 12 FF FF FF FF 00"
        ))
    );
    // The keys live in DF 0001.
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 90 02 02 A0 80", "6A 88");
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 90 07 02 A0 80", "6A 88");
}

#[test]
fn wrong_pin_three_times_blocks_it() {
    let mut card = Host::new("cps3");
    card.exchange("00 A4 02 0C 02 3F 00", "90 00");
    card.exchange("00 20 00 01 00", "63 C3"); // T=0 case 1: P3 = 00
    card.exchange("00 20 00 01", "63 C3");
    card.exchange(&verify("0000"), "63 C2");
    card.exchange(&verify("9999"), "63 C1");
    // A block in another format (BCD) is just a wrong PIN.
    card.exchange("00 20 00 01 08 12 34 FF FF FF FF FF FF", "63 C0");
    card.exchange(&verify("1234"), "69 83");
    card.exchange("00 20 00 01 00", "69 83");
    assert_eq!(card.card().counters().pin_tries_left, 0);
    let docp = card.expect(GET_PIN, 0x9000);
    assert!(hx(&docp).contains("9B 01 00"));
    // Malformed: wrong length, unknown reference, bad P1.
    card.exchange("00 20 00 01 04 31 32 33 34", "67 00");
    card.exchange("00 20 00 03 00", "6A 88");
    card.exchange("00 20 01 01 00", "6A 86");
}

#[test]
fn a_good_pin_restores_the_tries() {
    let mut card = Host::new("cps3");
    card.exchange(&verify("0000"), "63 C2");
    card.exchange(&verify("1234"), "90 00");
    card.exchange("00 20 00 01 00", "90 00");
    assert_eq!(card.card().counters().pin_tries_left, 3);
    // P1 FF forgets it.
    card.exchange("00 20 FF 01", "90 00");
    card.exchange("00 20 00 01 00", "63 C3");
}

#[test]
fn verified_state_and_what_ends_it() {
    let mut card = Host::new("cps3");
    let read_private = |card: &mut Host| {
        card.exchange("00 A4 09 0C 06 3F 00 00 01 D1 20", "90 00");
        common::split(card.raw(&h("00 B0 00 00 01"))).1
    };
    assert_eq!(read_private(&mut card), 0x6982);
    card.exchange(&verify("1234"), "90 00");
    assert_eq!(read_private(&mut card), 0x9000);
    // Reselecting DF 0001, by path, FID or PKCS#15 AID, keeps it (both middlewares do
    // it between VERIFY and the signature).
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange(
        "00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        "90 00",
    );
    card.exchange("00 A4 02 0C 02 3F 00", "90 00");
    assert_eq!(read_private(&mut card), 0x9000);
    // Reselecting the IAS application ends it.
    card.exchange("00 A4 04 00 08 80 25 00 00 01 FF 01 00", "90 00");
    assert_eq!(read_private(&mut card), 0x6982);
    // So do a reset and a power cycle.
    card.exchange(&verify("1234"), "90 00");
    card.t.reset();
    assert_eq!(read_private(&mut card), 0x6982);
    card.exchange(&verify("1234"), "90 00");
    {
        use cps_sim::CardSide;
        let c = card.t.card_mut();
        c.power_off();
        assert_eq!(c.process(&h("00 20 00 01 00")), cps_sim::Reply::Mute);
        c.power_on();
    }
    card.exchange("00 20 00 01 00", "63 C3");
}

#[test]
fn change_pin() {
    let mut card = Host::new("cps3");
    // Both middlewares: VERIFY the old PIN, then old‖new.
    card.exchange(&verify("1234"), "90 00");
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("1234"), block("567890")),
        "90 00",
    );
    card.exchange(&verify("1234"), "63 C2");
    card.exchange(&verify("567890"), "90 00");
    // New only, after VERIFY.
    card.exchange(&format!("00 24 01 01 08 {}", block("4321")), "90 00");
    card.t.reset();
    card.exchange(&format!("00 24 01 01 08 {}", block("1111")), "69 82");
    card.exchange(&verify("4321"), "90 00");
    // A wrong old PIN costs a try.
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("0000"), block("2222")),
        "63 C2",
    );
    // Malformed new PINs cost nothing.
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("4321"), block("123")),
        "6A 80",
    );
    card.exchange(
        &format!("00 24 00 01 10 {} 31 32 33 34 FF FF FF 00", block("4321")),
        "6A 80",
    );
    card.exchange(&format!("00 24 00 01 08 {}", block("4321")), "67 00");
    card.exchange(&format!("00 24 02 01 08 {}", block("4321")), "6A 86");
    assert_eq!(card.card().counters().pin_tries_left, 2);
}

#[test]
fn unblock_after_a_puk_verify() {
    let mut card = Host::new("blocked-pin");
    card.exchange(&verify("1234"), "69 83");
    // OpenSC: empty VERIFY on the PUK first.
    card.exchange("00 20 00 02 00", "63 CA");
    card.exchange(&format!("00 2C 02 01 08 {}", block("2468")), "69 82");
    card.exchange(&verify_puk("87654321"), "63 C9");
    card.exchange(&verify_puk("12345678"), "90 00");
    card.exchange(&format!("00 2C 02 01 08 {}", block("246")), "6A 80");
    card.exchange(&format!("00 2C 02 01 08 {}", block("2468")), "90 00");
    assert_eq!(
        card.card().counters(),
        Counters {
            pin_tries_left: 3,
            puk_tries_left: 10,
            puk_usage_left: 99
        }
    );
    card.exchange(&verify("1234"), "63 C2");
    card.exchange(&verify("2468"), "90 00");
    let docp = card.expect(GET_PUK, 0x9000);
    assert!(hx(&docp).contains("9D 02 00 63"));
}

#[test]
fn iso_one_shot_unblock() {
    let mut card = Host::new("blocked-pin");
    card.exchange(
        &format!("00 2C 00 01 10 {} {}", block("11111111"), block("1357")),
        "63 C9",
    );
    card.exchange(
        &format!("00 2C 00 01 10 {} {}", block("12345678"), block("1357")),
        "90 00",
    );
    card.exchange(&verify("1357"), "90 00");
    // P1 01: the PUK alone resets the counter, the PIN stays.
    card.exchange(&verify("0000"), "63 C2");
    card.exchange(&format!("00 2C 01 01 08 {}", block("12345678")), "90 00");
    card.exchange("00 20 00 01 00", "63 C3");
    assert_eq!(card.card().counters().puk_usage_left, 98);
    // Only the PIN can be reset.
    card.exchange(&format!("00 2C 01 02 08 {}", block("12345678")), "6A 88");
    card.exchange("00 2C 04 01", "6A 86");
    card.exchange(&format!("00 2C 00 01 08 {}", block("12345678")), "67 00");
}

#[test]
fn puk_exhausted_is_blocked_for_good() {
    let mut card = Host::new("puk-exhausted");
    card.exchange(&verify("1234"), "69 83");
    card.exchange("00 20 00 02 00", "69 84");
    card.exchange(&verify_puk("12345678"), "69 84");
    card.exchange(
        &format!("00 2C 00 01 10 {} {}", block("12345678"), block("1357")),
        "69 84",
    );
    card.exchange(&format!("00 2C 02 01 08 {}", block("1357")), "69 84");
    let docp = card.expect(GET_PUK, 0x9000);
    assert!(hx(&docp).contains("9D 02 00 00"));
    assert_eq!(card.card().counters().puk_tries_left, 10);
}

#[test]
fn puk_blocks_after_ten_wrong_tries() {
    let mut card = Host::new("cps3");
    for left in (0..10).rev() {
        card.exchange(&verify_puk("00000000"), &format!("63 C{left:X}"));
    }
    card.exchange(&verify_puk("12345678"), "69 83");
    card.exchange(
        &format!("00 2C 00 01 10 {} {}", block("12345678"), block("1357")),
        "69 83",
    );
}

#[test]
fn the_hook_sees_every_change_before_the_answer() {
    let mut card = Host::new("cps3");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    card.t
        .card_mut()
        .on_counters_changed(Box::new(move |c: &Counters| {
            log.lock().unwrap().push(c.pin_tries_left);
            Ok(())
        }));
    card.exchange(&verify("0000"), "63 C2");
    card.exchange(&verify("1234"), "90 00");
    // Spent first, then given back: 2 (wrong), 1 then 3 (right).
    assert_eq!(*seen.lock().unwrap(), [2, 1, 3]);
    card.exchange("00 20 00 01 00", "90 00"); // no change, no call
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn a_failing_hook_is_a_memory_failure() {
    let mut card = Host::new("cps3");
    card.t
        .card_mut()
        .on_counters_changed(Box::new(|_| Err(std::io::Error::other("disk full"))));
    card.exchange(&verify("0000"), "65 81");
    card.exchange(&verify("1234"), "65 81");
    assert_eq!(card.card().counters().pin_tries_left, 3);
    card.exchange("00 20 00 01 00", "63 C3");
    // Restoring counters does not call the hook; values above the maxima are clamped.
    card.t.card_mut().set_counters(Counters {
        pin_tries_left: 9,
        puk_tries_left: 2,
        puk_usage_left: 500,
    });
    assert_eq!(
        card.card().counters(),
        Counters {
            pin_tries_left: 3,
            puk_tries_left: 2,
            puk_usage_left: 100
        }
    );
}

#[test]
fn contactless_takes_no_code() {
    let mut card = Host::new("cps3-cl");
    card.exchange(&verify("1234"), "69 85");
    card.exchange("00 20 00 01 00", "69 85");
    card.exchange(&format!("00 2C 02 01 08 {}", block("1357")), "69 85");
    // The counters can still be read.
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
    let docp = card.expect(GET_PIN, 0x9000);
    assert_eq!(hx(&docp), hx(&h(PIN_DOCP)));
}

/// A new PIN goes through the codes hook before the card answers; a card given those
/// digests (a restart from the state file) takes the new PIN and refuses the old one.
#[test]
fn changed_codes_reach_the_hook_and_survive_a_restart() {
    let mut card = Host::new("cps3");
    let seen: Arc<Mutex<Vec<CodeDigests>>> = Arc::default();
    let log = Arc::clone(&seen);
    card.t.card_mut().on_codes_changed(Box::new(move |_, c| {
        log.lock().unwrap().push(c.clone());
        Ok(())
    }));
    let before = card.card().codes().clone();
    card.exchange(&verify("1234"), "90 00");
    assert!(seen.lock().unwrap().is_empty(), "a VERIFY changes no code");
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("1234"), block("5678")),
        "90 00",
    );
    let after = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(&after, card.card().codes());
    assert_eq!((after.salt, after.puk), (before.salt, before.puk));
    assert_ne!(after.pin, before.pin);
    // What is kept is the salted digest of the new PIN's block, not the block.
    let mut new_block = b"5678".to_vec();
    new_block.resize(8, 0xFF);
    let expected: [u8; 32] = Sha256::new()
        .chain_update(after.salt)
        .chain_update(&new_block)
        .finalize()
        .into();
    assert_eq!(after.pin, expected);
    assert_eq!(format!("{after:?}"), "CodeDigests(..)");

    // An unblock that sets a new PIN goes through the hook too.
    card.exchange(
        &format!("00 2C 00 01 10 {} {}", block("12345678"), block("2468")),
        "90 00",
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    let unblocked = seen.lock().unwrap().last().cloned().unwrap();

    // A fresh card restored from the digests: the last PIN, not the profile's.
    let mut restarted = Host::new("cps3");
    restarted.t.card_mut().set_codes(unblocked);
    restarted.exchange(&verify("1234"), "63 C2");
    restarted.exchange(&verify("5678"), "63 C1");
    restarted.exchange(&verify("2468"), "90 00");
}

/// Unblocking with a new PIN re-arms the PIN, spends a PUK use and changes the PIN: the
/// codes hook gets all three in one call, and when it fails none of them happened.
#[test]
fn an_unblock_with_a_new_pin_is_one_write() {
    for fails in [false, true] {
        let mut card = Host::new("cps3");
        card.exchange(&verify("0000"), "63 C2");
        card.exchange(&verify("0001"), "63 C1");
        card.exchange(&verify("0002"), "63 C0");
        let counter_writes = Arc::new(Mutex::new(Vec::new()));
        let code_writes = Arc::new(Mutex::new(Vec::new()));
        let (c_log, k_log) = (Arc::clone(&counter_writes), Arc::clone(&code_writes));
        let blocked = card.card().counters();
        card.t
            .card_mut()
            .on_counters_changed(Box::new(move |c: &Counters| {
                c_log.lock().unwrap().push(*c);
                Ok(())
            }));
        card.t.card_mut().on_codes_changed(Box::new(move |c, _| {
            k_log.lock().unwrap().push(*c);
            if fails {
                Err(std::io::Error::other("disk full"))
            } else {
                Ok(())
            }
        }));
        card.exchange(
            &format!("00 2C 00 01 10 {} {}", block("12345678"), block("2468")),
            if fails { "65 81" } else { "90 00" },
        );
        let unblocked = Counters {
            pin_tries_left: 3,
            puk_usage_left: blocked.puk_usage_left - 1,
            ..blocked
        };
        // The PUK presentation is counted on its own (spent, then given back) ...
        let puk_spent = Counters {
            puk_tries_left: blocked.puk_tries_left - 1,
            ..blocked
        };
        assert_eq!(*counter_writes.lock().unwrap(), [puk_spent, blocked]);
        // ... the unblock and the new PIN are one write.
        assert_eq!(*code_writes.lock().unwrap(), [unblocked]);
        if fails {
            assert_eq!(card.card().counters(), blocked);
            card.exchange(&verify("2468"), "69 83");
        } else {
            assert_eq!(card.card().counters(), unblocked);
            card.exchange(&verify("2468"), "90 00");
        }
    }
}

#[test]
fn a_failing_codes_hook_keeps_the_old_pin() {
    let mut card = Host::new("cps3");
    card.t
        .card_mut()
        .on_codes_changed(Box::new(|_, _| Err(std::io::Error::other("disk full"))));
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("1234"), block("5678")),
        "65 81",
    );
    card.exchange(&verify("5678"), "63 C2");
    card.exchange(&verify("1234"), "90 00");
}
