//! Every built-in profile: what the card says about itself, its counters, what it refuses.

mod common;

use std::time::{Duration, SystemTime};

use common::{Host, block, h, hx};
use cps_apdu::Transport;
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::pki::CertUsage;
use cps_sim::profile::Profile;
use x509_cert::Certificate;
use x509_cert::der::Decode;

fn not_after(card: &Host) -> SystemTime {
    let der = &card.card().certificates()[0].1;
    Certificate::from_der(der)
        .expect("a DER certificate")
        .tbs_certificate
        .validity
        .not_after
        .to_system_time()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const FULL: Counters = Counters {
    pin_tries_left: 3,
    puk_tries_left: 10,
    puk_usage_left: 100,
};

#[test]
fn cps3() {
    let card = Host::new("cps3");
    assert_eq!(
        card.t.atr(),
        h("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00")
    );
    assert!(card.card().is_t0());
    assert_eq!(card.card().counters(), FULL);
    let certificates = card.card().certificates();
    assert_eq!(certificates.len(), 2);
    assert!(common::same_usage(
        &certificates[0].0,
        &CertUsage::Authentication
    ));
    assert!(common::same_usage(
        &certificates[1].0,
        &CertUsage::Signature
    ));
    for (_, der) in &certificates {
        assert!(contains(der, b"899900418736"));
    }
    assert_eq!(card.card().profile().name, "cps3");
}

#[test]
fn cps4() {
    let mut card = Host::new("cps4");
    assert_eq!(
        card.t.atr(),
        h("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44")
    );
    assert!(!card.card().is_t0());
    card.exchange("01 A4 04 0C 08 80 25 00 00 01 FF 01 00", "90 00");
    card.exchange("01 20 00 81", "63 C3");
}

#[test]
fn cpe() {
    let mut card = Host::new("cpe");
    let der = &card.card().certificates()[0].1;
    assert!(contains(der, b"30B0099001/CPET0001"));
    let info = card.read_file("3F00 0001 5032");
    assert!(contains(&info, b"CPS3v3-2900412346"));
    // The activity object names the structure (PIN needed).
    card.exchange("00 A4 09 0C 06 3F 00 00 01 D1 20", "90 00");
    card.exchange("00 B0 00 00 10", "69 82");
    common::login(&mut card);
    let activity = card.read_file("3F00 0001 D120");
    assert!(contains(&activity, b"CENTRE HOSPITALIER DE TEST"));
}

#[test]
fn blocked_pin() {
    let mut card = Host::new("blocked-pin");
    assert_eq!(
        card.card().counters(),
        Counters {
            pin_tries_left: 0,
            ..FULL
        }
    );
    card.exchange(&format!("00 20 00 01 08 {}", block("1234")), "69 83");
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    card.exchange("00 88 00 00 02 01 02", "69 82");
}

#[test]
fn puk_exhausted() {
    let mut card = Host::new("puk-exhausted");
    assert_eq!(
        card.card().counters(),
        Counters {
            pin_tries_left: 0,
            puk_tries_left: 10,
            puk_usage_left: 0
        }
    );
    card.exchange(&format!("00 20 00 02 08 {}", block("12345678")), "69 84");
}

#[test]
fn expired_and_expiring() {
    let now = SystemTime::now();
    let expired = Host::new("expired");
    assert!(not_after(&expired) < now);
    let expiring = Host::new("expiring");
    let left = not_after(&expiring).duration_since(now).unwrap();
    // The card was built a moment after `now`: allow that moment.
    assert!(
        left > Duration::from_secs(9 * 86_400) && left <= Duration::from_secs(10 * 86_400 + 60)
    );
    // Certificates still verify the card's signatures; only their dates differ.
    let mut card = expired;
    common::login(&mut card);
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    let (_, sw) = card.send("00 88 00 00 02 01 02");
    assert_eq!(sw, 0x9000);
}

#[test]
fn contactless() {
    let mut card = Host::new("cps3-cl");
    assert_eq!(
        card.t.atr(),
        h("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E")
    );
    assert_eq!(card.card().certificates().len(), 3);
    card.exchange(&format!("00 20 00 01 08 {}", block("1234")), "69 85");
    card.exchange("A0 A4 00 00 02 3F 00", "6E 00");
}

#[test]
fn vitale() {
    let mut card = Host::new("vitale");
    assert_eq!(card.t.atr(), h("3B 75 13 00 00 47 09 EA 90 00"));
    assert!(card.card().certificates().is_empty());
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "6A 82");
    card.exchange("00 A4 04 0C 08 80 25 00 00 01 FF 01 00", "6A 82");
    card.exchange("00 A4 02 0C 02 3F 00", "6A 82");
    card.exchange("00 B0 9C 00 C0", "6A 82");
    card.exchange("00 B0 00 00 0C", "69 86");
    card.exchange("A0 A4 00 00 02 3F 00", "6E 00");
    card.exchange("01 A4 04 0C 08 80 25 00 00 01 FF 01 00", "68 81");
    card.exchange("00 20 00 01 00", "6D 00");
}

#[test]
fn unknown() {
    let mut card = Host::new("unknown");
    assert_eq!(card.t.atr(), h("3B 02 14 50"));
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "6A 82");
    card.exchange("00 B0 00 00 0C", "6D 00");
    card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80", "6D 00");
    card.exchange("A0 A4 00 00 02 3F 00", "6E 00");
}

#[test]
fn profiles_built_in_code_are_checked_too() {
    let mut profile = Profile::builtin("cps3").unwrap();
    profile.serial = "123".into();
    let error = VirtualCard::new(&profile).unwrap_err();
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("`serial`"), "{source}");
}

#[test]
fn every_builtin_builds() {
    for (name, _) in Profile::builtin_names() {
        let card = Host::new(name);
        assert!(!card.t.atr().is_empty(), "{name}");
        assert!(!hx(card.t.atr()).is_empty());
    }
}
