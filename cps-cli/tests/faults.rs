//! Fault injection through the real stack: the `cps` binary → pcscd → vpcd → a
//! virtual card with faults on demand. For each fault: a clear message and the
//! documented exit code, no hang, no PIN command sent twice (the card's counter moves
//! by one try at most), and afterwards `cps status` reports the card's true counters.
//! `#[ignore]`d outside `scripts/test.sh`, which starts pcscd.
#![allow(clippy::unwrap_used)]

mod common;

use common::{code, cps, insert, stderr};
use cps_sim::card::Counters;
use cps_sim::faults::{AfterTear, Fault, Garbage, Trigger};

/// Exit codes of `cps --help`.
const ERROR: i32 = 1;
const NO_CARD: i32 = 7;

const BLOCKED: Counters = Counters {
    pin_tries_left: 0,
    puk_tries_left: 10,
    puk_usage_left: 100,
};

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn card_removed_during_verify() {
    let card = insert("cps3", None);
    // VERIFY (INS 20) is the PIN command on a CPS3; the card leaves instead of
    // executing it.
    card.control.remove_on_ins(0x20);
    let out = cps(&["verify", "--pin-stdin"])
        .write_stdin("9999\n")
        .assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
    assert_eq!(card.truth().pin_tries_left, 3);
    card.insert_again();
    card.status_tells_the_truth("removed during verify");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn torn_wrong_verify_spends_one_try_and_status_shows_it() {
    let card = insert("cps3", None);
    card.control.tear_on_ins(0x20, AfterTear::Remove);
    let out = cps(&["verify", "--pin-stdin"])
        .write_stdin("9999\n")
        .assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    assert!(!stderr(&out).contains("tries left"), "{}", stderr(&out));
    assert_eq!(card.truth().pin_tries_left, 2, "one try, not two");
    card.insert_again();
    card.status_tells_the_truth("torn verify");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn torn_unblock_and_removal_between_its_steps() {
    // Torn RESET RETRY COUNTER: executed (the PIN is unblocked), the answer lost.
    let card = insert("blocked-pin", None);
    card.control.tear_on_ins(0x2C, AfterTear::Remove);
    let out = cps(&["unblock", "--puk-stdin", "--new-pin-stdin"])
        .write_stdin("12345678\n4321\n")
        .assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    card.insert_again();
    card.status_tells_the_truth("torn unblock");
    drop(card);

    // Removed after the unblock code's VERIFY, before the new PIN.
    let card = insert("blocked-pin", Some(BLOCKED));
    card.control.remove_on_ins(0x2C);
    let out = cps(&["unblock", "--puk-stdin", "--new-pin-stdin"])
        .write_stdin("12345678\n4321\n")
        .assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    let truth = card.truth();
    assert_eq!((truth.pin_tries_left, truth.puk_tries_left), (0, 10));
    card.insert_again();
    card.status_tells_the_truth("removed during unblock");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn torn_pin_change_then_mute() {
    let card = insert("cps3", None);
    // The card executes CHANGE REFERENCE DATA, then never answers: the tool gives up
    // after its timeout (vpcd itself would wait forever).
    card.control.tear_on_ins(0x24, AfterTear::Mute);
    let out = cps(&["pin", "change", "--pin-stdin", "--new-pin-stdin"])
        .write_stdin("1234\n5678\n")
        .assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not answer"), "{}", stderr(&out));
    // The reader stays stuck on the mute card until it leaves.
    card.reinsert();
    card.status_tells_the_truth("torn change");
    // The change went through on the card: the new PIN is the one.
    cps(&["verify", "--pin-stdin"])
        .write_stdin("5678\n")
        .assert()
        .success();
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn mute_card() {
    let card = insert("cps4", None);
    card.control.mute_from_now();
    let out = cps(&["status"]).assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not answer"), "{}", stderr(&out));
    card.reinsert();
    card.status_tells_the_truth("after a mute card");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn card_removed_while_reading_certificates() {
    let card = insert("cps3", None);
    // Past the open and the PIN counters, in the middle of the certificates (about 22
    // READ BINARY of 231 bytes).
    let reads_before_certs = 3 + 14;
    card.control.remove_after(reads_before_certs + 10);
    let out = cps(&["status"]).assert();
    assert_eq!(code(&out), Some(NO_CARD), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
    card.insert_again();
    card.status_tells_the_truth("removed while reading certificates");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn garbage_and_unexpected_status_words() {
    let card = insert("cps3", None);
    for (n, garbage) in [(2, vec![0x90]), (6, vec![0xDE, 0xAD, 0xBE])] {
        card.control.garbage_on(n, Garbage::Bytes(garbage.clone()));
        let out = cps(&["status"]).assert();
        assert_eq!(code(&out), Some(ERROR), "{garbage:02X?}: {}", stderr(&out));
        assert!(
            ["not a response APDU", "malformed", "unknown status word"]
                .iter()
                .any(|m| stderr(&out).contains(m)),
            "{}",
            stderr(&out)
        );
        card.control.clear();
    }
    // An unknown status word on the PIN VERIFY: an error, never "wrong PIN" (exit 3).
    card.control
        .schedule(Trigger::Ins(0x20), Fault::Status(0x6F00));
    let out = cps(&["verify", "--pin-stdin"])
        .write_stdin("9999\n")
        .assert();
    assert_eq!(code(&out), Some(ERROR), "{}", stderr(&out));
    assert!(stderr(&out).contains("6F 00"), "{}", stderr(&out));
    // What makes the exchange layer reselect and retry: never for a PIN command.
    card.control
        .schedule(Trigger::Ins(0x20), Fault::Status(0x6E00));
    let out = cps(&["verify", "--pin-stdin"])
        .write_stdin("9999\n")
        .assert();
    assert_eq!(code(&out), Some(ERROR), "{}", stderr(&out));
    card.control.clear();
    assert_eq!(card.truth().pin_tries_left, 3, "no fault let a try through");
    card.status_tells_the_truth("after garbage and status words");
}
