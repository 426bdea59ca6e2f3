//! The CPS2ter side (CLA `A0`): what the Cryptolib sends to read a CPS2TER object.

mod common;

use common::{Host, block, login};

#[test]
fn cryptolib_reads_an_activity() {
    let mut card = Host::new("cps3");
    login(&mut card);
    card.exchange("A0 A4 00 00 02 3F 00", "9F 07");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    card.exchange("A0 C0 00 00 07", "85 05 00 20 40 10 04 90 00");
    card.exchange("A0 A4 00 00 02 3F 00", "9F 07");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    let activity = card.expect("A0 B0 00 00 20", 0x9000);
    assert_eq!(activity.len(), 32);
    assert!(activity.starts_with(b"100899900418736"));
}

#[test]
fn fci_of_every_kind_and_refusals() {
    let mut card = Host::new("cps3");
    card.exchange("A0 A4 00 00 02 3F 00", "9F 07");
    card.exchange("A0 C0 00 00 07", "85 05 00 00 3F 00 01 90 00");
    card.exchange("A0 A4 00 00 02 7F 01", "9F 07");
    card.exchange("A0 C0 00 00 07", "85 05 00 00 7F 01 02 90 00");
    card.exchange("A0 A4 00 00 02 40 00", "9F 07");
    card.exchange("A0 C0 00 00 08", "67 00"); // more than announced
    card.exchange("A0 C0 00 00 07", "85 05 00 10 40 00 04 90 00");
    card.exchange("A0 C0 00 00 07", "6F 00"); // served once
    // PIN-protected without the PIN.
    card.exchange("A0 B0 00 00 10", "98 04");
    card.exchange("A0 A4 00 00 02 40 11", "94 04");
    card.exchange("A0 A4 01 00 02 3F 00", "6B 00");
    card.exchange("A0 A4 00 00 01 3F", "67 00");
    card.exchange("A0 12 00 00", "6D 00");
    // Its own VERIFY shares the code porteur.
    card.exchange(&format!("A0 20 00 01 08 {}", block("0000")), "98 04");
    card.exchange("00 20 00 01 00", "63 C2");
    card.exchange(&format!("A0 20 00 01 08 {}", block("1234")), "90 00");
    card.exchange(
        "A0 B0 00 00 10",
        &format!("{} 90 00", common::hx(b"2900412345      ")),
    );
    card.exchange("A0 B0 00 10 01", "94 02");
    card.exchange("A0 B0 00 08 10", "94 02");
    // No EF selected.
    card.t.reset();
    card.exchange("A0 B0 00 00 01", "94 00");
}

#[test]
fn blocked_pin_and_no_cps2ter_over_the_air() {
    let mut card = Host::new("blocked-pin");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    card.exchange("A0 B0 00 00 20", "98 40");
    card.exchange(&format!("A0 20 00 01 08 {}", block("1234")), "98 40");
    let mut card = Host::new("cps3-cl");
    card.exchange("A0 A4 00 00 02 3F 00", "6E 00");
}

#[test]
fn cps4_keeps_it_on_channel_zero() {
    let mut card = Host::new("cps4");
    card.exchange("00 A4 04 0C 08 80 25 00 00 01 FF 00 02", "90 00");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    card.exchange("A0 C0 00 00 07", "85 05 00 20 40 10 04 90 00");
}
