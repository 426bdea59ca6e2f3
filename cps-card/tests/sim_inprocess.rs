//! End to end against the virtual card, in process: every operation, for the CPS3,
//! CPS4, CPE, blocked-PIN and exhausted-PUK profiles; Vitale and unknown cards give
//! their specific errors; the last-try guard sends nothing; APDU counts.
#![allow(clippy::unwrap_used)]

use cps_apdu::{Transport, TransportError};
use cps_card::transcript::Recording;
use cps_card::{
    CardError, CardKind, CertKind, CounterState, CpsCard, Generation, LastTry, Pin, Puk,
    UnblockOutcome, VerifyOutcome,
};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

fn sim(profile: &str) -> SimTransport<VirtualCard> {
    SimTransport::from_profile(&Profile::builtin(profile).unwrap()).unwrap()
}

fn open(profile: &str) -> CpsCard<SimTransport<VirtualCard>> {
    CpsCard::open(sim(profile)).unwrap()
}

/// A transport that counts commands by INS and remembers every SELECT / READ.
struct Counting<T> {
    inner: T,
    commands: Vec<Vec<u8>>,
}

impl<T: Transport> Transport for Counting<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.commands.push(command.to_vec());
        self.inner.transmit(command)
    }
    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
}

fn counting(profile: &str) -> CpsCard<Counting<SimTransport<VirtualCard>>> {
    CpsCard::open(Counting {
        inner: sim(profile),
        commands: Vec::new(),
    })
    .unwrap()
}

const PROFILES: [&str; 5] = ["cps3", "cps4", "cpe", "blocked-pin", "puk-exhausted"];

#[test]
fn identification_and_reading_for_every_profile() {
    for name in PROFILES {
        let mut card = open(name);
        assert!(card.serial().issuer_ok && card.serial().luhn_ok, "{name}");
        assert_eq!(card.serial().serial.len(), 8, "{name}");
        let token = card.token_info().unwrap();
        assert!(token.label.unwrap().starts_with("CPS"), "{name}");
        let certs = card.certificates().unwrap();
        assert!(certs.iter().any(|c| c.which == CertKind::Auth), "{name}");
        assert!(certs.iter().any(|c| c.which == CertKind::Sign), "{name}");
        let holder = certs
            .iter()
            .find(|c| c.which == CertKind::Auth)
            .unwrap()
            .certificate
            .holder()
            .unwrap();
        assert!(!holder.surname.is_empty(), "{name}");
        assert!(holder.test_card, "{name}: built-in profiles are test cards");
        let status = card.pin_status().unwrap();
        assert_eq!(status.pin.tries_max, 3, "{name}");
        assert_eq!(status.puk.tries_max, 10, "{name}");
    }
    assert_eq!(open("cps4").generation(), Generation::Cps4);
    assert_eq!(open("cps3").kind(), CardKind::Cps3Contact);
}

#[test]
fn staff_card_holder() {
    let mut card = open("cpe");
    let auth = card.certificate(CertKind::Auth).unwrap();
    let holder = auth.certificate.holder().unwrap();
    assert_eq!(format!("{:?}", holder.card_type), "Some(Cpe)");
    assert!(holder.structure_name.is_some());
}

#[test]
fn vitale_and_unknown_cards_are_specific_errors() {
    match CpsCard::open(sim("vitale")) {
        Err(CardError::NotACps {
            kind: CardKind::Vitale,
        }) => {}
        other => panic!("{other:?}"),
    }
    match CpsCard::open(sim("unknown")) {
        Err(CardError::NotACps {
            kind: CardKind::Unknown,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn verify_wrong_then_right_on_both_generations() {
    for name in ["cps3", "cps4"] {
        let mut card = open(name);
        let wrong = Pin::new("9999").unwrap();
        assert_eq!(
            card.verify_pin(&wrong, LastTry::Refuse).unwrap(),
            VerifyOutcome::WrongPin { tries_left: 2 },
            "{name}"
        );
        assert_eq!(card.pin_status().unwrap().pin.state, CounterState::Low);
        let right = Pin::new("1234").unwrap();
        assert_eq!(
            card.verify_pin(&right, LastTry::Refuse).unwrap(),
            VerifyOutcome::Verified,
            "{name}"
        );
        assert_eq!(card.pin_status().unwrap().pin.tries_left, 3, "{name}");
    }
}

#[test]
fn last_try_guard_sends_no_verify() {
    for name in ["cps3", "cps4"] {
        let mut transport = Counting {
            inner: sim(name),
            commands: Vec::new(),
        };
        transport.inner.card_mut().set_counters(Counters {
            pin_tries_left: 1,
            puk_tries_left: 10,
            puk_usage_left: 100,
        });
        let mut card = CpsCard::open(transport).unwrap();
        let err = card
            .verify_pin(&Pin::new("9999").unwrap(), LastTry::Refuse)
            .unwrap_err();
        assert!(matches!(err, CardError::LastTry { .. }), "{err}");
        let transport = card.into_transport();
        // Only the counter read (GET DATA on CPS3, an empty VERIFY on CPS4) went
        // out: no VERIFY carrying a PIN.
        let pin_verifies = transport
            .commands
            .iter()
            .filter(|c| c.get(1) == Some(&0x20) && c.len() > 5)
            .count();
        assert_eq!(pin_verifies, 0, "{name}");
        assert_eq!(
            transport.inner.card().counters().pin_tries_left,
            1,
            "{name}"
        );
    }
}

#[test]
fn last_try_with_opt_in_is_spent() {
    let mut t = sim("cps3");
    t.card_mut().set_counters(Counters {
        pin_tries_left: 1,
        puk_tries_left: 10,
        puk_usage_left: 100,
    });
    let mut card = CpsCard::open(t).unwrap();
    assert_eq!(
        card.verify_pin(&Pin::new("9999").unwrap(), LastTry::Allow)
            .unwrap(),
        VerifyOutcome::Blocked
    );
    let err = card
        .verify_pin(&Pin::new("1234").unwrap(), LastTry::Allow)
        .unwrap_err();
    assert!(matches!(err, CardError::PinBlocked), "{err}");
}

#[test]
fn blocked_pin_profile() {
    let mut card = open("blocked-pin");
    assert_eq!(card.pin_status().unwrap().pin.state, CounterState::Blocked);
    let err = card
        .verify_pin(&Pin::new("1234").unwrap(), LastTry::Allow)
        .unwrap_err();
    assert!(matches!(err, CardError::PinBlocked), "{err}");
    // Unblock with the PUK, then the new PIN works.
    let outcome = card
        .unblock(
            &Puk::new("12345678").unwrap(),
            &Pin::new("4321").unwrap(),
            LastTry::Refuse,
        )
        .unwrap();
    assert_eq!(outcome, UnblockOutcome::Unblocked);
    let status = card.pin_status().unwrap();
    assert_eq!(status.pin.tries_left, 3);
    assert_eq!(status.puk.usage_left, Some(99));
    assert_eq!(
        card.verify_pin(&Pin::new("4321").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
}

#[test]
fn wrong_puk_counts_down() {
    let mut card = open("blocked-pin");
    let outcome = card
        .unblock(
            &Puk::new("87654321").unwrap(),
            &Pin::new("4321").unwrap(),
            LastTry::Refuse,
        )
        .unwrap();
    assert_eq!(outcome, UnblockOutcome::WrongPuk { tries_left: 9 });
}

#[test]
fn exhausted_puk_profile() {
    let mut card = open("puk-exhausted");
    let status = card.pin_status().unwrap();
    assert_eq!(status.puk.state, CounterState::Exhausted);
    let err = card
        .unblock(
            &Puk::new("12345678").unwrap(),
            &Pin::new("4321").unwrap(),
            LastTry::Allow,
        )
        .unwrap_err();
    assert!(matches!(err, CardError::PukExhausted), "{err}");
}

#[test]
fn change_pin() {
    let mut card = open("cps3");
    assert_eq!(
        card.change_pin(
            &Pin::new("1234").unwrap(),
            &Pin::new("5678").unwrap(),
            LastTry::Refuse
        )
        .unwrap(),
        VerifyOutcome::Verified
    );
    assert_eq!(
        card.verify_pin(&Pin::new("5678").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
}

fn public_key(cert: &cps_card::cert::Certificate) -> rsa::RsaPublicKey {
    rsa::RsaPublicKey::from_public_key_der(cert.public_key_der()).unwrap()
}

#[test]
fn keys_match_their_certificates() {
    for name in ["cps3", "cps4"] {
        let mut card = open(name);
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap();
        let auth = card.certificate(CertKind::Auth).unwrap();
        let sign = card.certificate(CertKind::Sign).unwrap();

        let challenge = card.challenge(16).unwrap();
        assert_eq!(challenge.len(), 16);
        let digest_info = {
            let mut d = vec![
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ];
            d.extend_from_slice(&Sha256::digest(&challenge));
            d
        };
        let signature = card.authenticate(&digest_info).unwrap();
        public_key(&auth.certificate)
            .verify(Pkcs1v15Sign::new_unprefixed(), &digest_info, &signature)
            .unwrap_or_else(|e| panic!("{name}: authentication signature: {e}"));

        let message = vec![0x42; 300];
        let signature = card.sign_sha256(&message).unwrap();
        public_key(&sign.certificate)
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(&message),
                &signature,
            )
            .unwrap_or_else(|e| panic!("{name}: signature: {e}"));
    }
}

#[test]
fn private_key_operations_need_the_pin() {
    let mut card = open("cps3");
    let err = card.authenticate(&[0u8; 32]).unwrap_err();
    assert!(format!("{err}").contains("69 82"), "{err}");
}

/// APDU counts per operation, printed for the record (`--nocapture`), and the rule
/// that no file is selected twice in one session.
#[test]
fn apdu_counts_and_no_file_read_twice() {
    for name in ["cps3", "cps4"] {
        let mut card = counting(name);
        let open_cost = card.apdus_sent();
        card.pin_status().unwrap();
        let status_cost = card.apdus_sent() - open_cost;
        let before = card.apdus_sent();
        card.certificates().unwrap();
        let certs_cost = card.apdus_sent() - before;
        let before = card.apdus_sent();
        card.pin_status().unwrap();
        let status_again = card.apdus_sent() - before;
        let before = card.apdus_sent();
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap();
        let verify_cost = card.apdus_sent() - before;
        let total = card.apdus_sent();
        println!(
            "{name}: open {open_cost}, pin_status {status_cost} (again {status_again}), \
             both certificates {certs_cost}, verify {verify_cost}; open+status+certs = {}",
            open_cost + status_cost + certs_cost
        );
        // OpenSC's pkcs15-tool spends 20 (PINs) + 37 (certificates) on a CPS3.
        assert!(open_cost + status_cost + certs_cost < 57, "{name}");
        let transport = card.into_transport();
        assert_eq!(transport.commands.len(), total);
        let mut selects: Vec<&Vec<u8>> = transport
            .commands
            .iter()
            .filter(|c| {
                c.get(1) == Some(&0xA4) && c.get(2) != Some(&0x04) && c.get(2) != Some(&0x00)
            })
            .collect();
        let n = selects.len();
        selects.sort();
        selects.dedup();
        assert_eq!(selects.len(), n, "{name}: a file was selected twice");
    }
}

#[test]
fn holder_from_a_fresh_connection() {
    let mut card = counting("cps3");
    let auth = card.certificate(CertKind::Auth).unwrap();
    auth.certificate.holder().unwrap();
    println!(
        "cps3: full holder() from a fresh connection: {} APDUs",
        card.apdus_sent()
    );
}

#[test]
fn record_from_the_sim_then_replay() {
    let mut out = Vec::new();
    {
        let rec = Recording::new(sim("cps3"), &mut out).unwrap();
        let mut card = CpsCard::open(rec).unwrap();
        card.pin_status().unwrap();
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap();
        card.certificates().unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("31323334FFFFFFFF"),
        "the PIN leaked into the transcript"
    );
    let replay = cps_card::transcript::Replay::from_reader(text.as_bytes()).unwrap();
    let mut card = CpsCard::open(replay).unwrap();
    card.pin_status().unwrap();
    assert_eq!(
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
    card.certificates().unwrap();
}
