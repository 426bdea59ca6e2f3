//! Whatever arrives, the card answers a status word (or stays mute when unpowered) and
//! never panics.

mod common;

use std::sync::{Mutex, OnceLock};

use cps_sim::card::VirtualCard;
use cps_sim::profile::Profile;
use cps_sim::{CardSide, Reply};
use proptest::prelude::*;

const PROFILES: [&str; 5] = ["cps3", "cps4", "cps3-cl", "blocked-pin", "vitale"];

/// One card per profile, built once (each build signs certificates).
fn cards() -> &'static Mutex<Vec<VirtualCard>> {
    static CARDS: OnceLock<Mutex<Vec<VirtualCard>>> = OnceLock::new();
    CARDS.get_or_init(|| {
        Mutex::new(
            PROFILES
                .iter()
                .map(|name| {
                    let profile = Profile::builtin(name).expect("a built-in profile");
                    let mut card = VirtualCard::new(&profile).expect("a card");
                    card.power_on();
                    card
                })
                .collect(),
        )
    })
}

fn check(reply: &Reply) -> Result<(), TestCaseError> {
    match reply {
        Reply::Data(bytes) => {
            prop_assert!(bytes.len() >= 2, "answer of {} bytes", bytes.len());
            Ok(())
        }
        Reply::Mute | Reply::Removed => Ok(()),
    }
}

/// Headers that reach the instruction handlers, with arbitrary bodies.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let cla = prop::sample::select(vec![
        0x00u8, 0x01, 0x02, 0x04, 0x10, 0x11, 0x40, 0x80, 0xA0, 0xFF,
    ]);
    let ins = prop::sample::select(vec![
        0xA4u8, 0xB0, 0xC0, 0xCB, 0x20, 0x24, 0x2C, 0x22, 0x2A, 0x88, 0x84, 0x70, 0x12,
    ]);
    let p = prop::sample::select(vec![
        0x00u8, 0x01, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0C, 0x3F, 0x41, 0x80, 0x81, 0x86, 0x90, 0x9A,
        0x9C, 0x9E, 0xA0, 0xA4, 0xAA, 0xB6, 0xB8, 0xF3, 0xFF,
    ]);
    (
        cla,
        ins,
        p.clone(),
        p,
        prop::collection::vec(any::<u8>(), 0..270),
    )
        .prop_map(|(cla, ins, p1, p2, body)| {
            let mut apdu = vec![cla, ins, p1, p2];
            apdu.extend(body);
            apdu
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn random_bytes_never_panic(
        which in 0..PROFILES.len(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut cards = cards().lock().unwrap();
        let card = &mut cards[which];
        check(&card.process(&bytes))?;
    }

    #[test]
    fn random_commands_never_panic(which in 0..PROFILES.len(), apdu in structured()) {
        let mut cards = cards().lock().unwrap();
        let card = &mut cards[which];
        check(&card.process(&apdu))?;
    }
}

/// Valid commands of every kind, in any order.
fn valid_command() -> impl Strategy<Value = Vec<u8>> {
    let templates = [
        "00 A4 09 04 04 3F 00 D0 03",
        "00 A4 09 0C 04 3F 00 00 01",
        "00 A4 09 04 06 3F 00 00 01 A0 01",
        "00 A4 02 0C 02 3F 00",
        "00 A4 04 04 08 80 25 00 00 01 FF 01 00",
        "00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        "00 B0 00 00 0C",
        "00 B0 00 00 00",
        "00 B0 9C 00 C0",
        "00 C0 00 00 27",
        "00 C0 00 00 E7",
        "00 C0 00 00 00",
        "00 20 00 01 00",
        "00 20 00 01 08 31 32 33 34 FF FF FF FF",
        "00 20 00 01 08 39 39 39 39 FF FF FF FF",
        "00 20 00 02 08 31 32 33 34 35 36 37 38",
        "00 2C 02 01 08 31 32 33 34 FF FF FF FF",
        "00 24 00 01 10 31 32 33 34 FF FF FF FF 31 32 33 34 FF FF FF FF",
        "00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80",
        "00 CB 3F FF 0A 4D 08 70 06 BF 90 02 02 A0 80",
        "00 22 41 A4 06 80 01 02 84 01 82",
        "00 22 41 B6 06 80 01 42 84 01 81",
        "00 22 41 AA 03 80 01 40",
        "00 22 41 B8 06 80 01 1A 84 01 82",
        "00 2A 90 A0 07 90 00 80 03 61 62 63",
        "00 2A 9E 9A 00",
        "00 88 00 00 05 68 65 6C 6C 6F",
        "10 2A 80 86 04 81 00 01 02",
        "00 2A 80 86 02 00 01",
        "00 84 00 00 08",
        "01 A4 04 0C 08 80 25 00 00 01 FF 01 00",
        "01 A4 08 00 02 D0 03",
        "01 20 00 81",
        "00 70 00 00 01",
        "A0 A4 00 00 02 40 10",
        "A0 C0 00 00 07",
        "A0 B0 00 00 20",
        "reset",
        "off",
        "on",
    ];
    prop::sample::select(templates.to_vec()).prop_map(|t| match t {
        "reset" => vec![0xFE],
        "off" => vec![0xFD],
        "on" => vec![0xFC],
        hex => common::h(hex),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn random_sessions_never_panic(
        which in 0..PROFILES.len(),
        commands in prop::collection::vec(valid_command(), 1..40),
    ) {
        let mut cards = cards().lock().unwrap();
        let card = &mut cards[which];
        card.reset();
        for command in commands {
            match command.as_slice() {
                [0xFE] => card.reset(),
                [0xFD] => card.power_off(),
                [0xFC] => card.power_on(),
                apdu => {
                    let reply = card.process(apdu);
                    check(&reply)?;
                }
            }
            let counters = card.counters();
            let profile = card.profile();
            prop_assert!(counters.pin_tries_left <= profile.pin.tries_max);
            prop_assert!(counters.puk_tries_left <= profile.puk.tries_max);
            prop_assert!(counters.puk_usage_left <= profile.puk.usage_max);
        }
        card.power_on();
    }
}
