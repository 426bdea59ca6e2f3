//! The behaviour suite every path to the virtual card must pass: in process and
//! through pcscd + vpcd run the same checks.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use cps_apdu::{Transport, TransportError};
use cps_card::{
    CardError, CardKind, CertKind, CounterState, CpsCard, Generation, LastTry, Pin, Puk,
    UnblockOutcome, VerifyOutcome,
};
use cps_sim::card::Counters;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

/// Gives a fresh transport to a new virtual card of a profile.
pub trait Harness {
    /// The transport.
    type T: Transport;
    /// A new card, optionally with its counters set first.
    fn card(&self, profile: &str, counters: Option<Counters>) -> Self::T;
}

/// Counts and keeps every command sent.
pub struct Counting<T> {
    pub inner: T,
    pub commands: Vec<Vec<u8>>,
}

impl<T> Counting<T> {
    pub fn new(inner: T) -> Self {
        Counting {
            inner,
            commands: Vec::new(),
        }
    }
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

fn open<H: Harness>(h: &H, profile: &str) -> CpsCard<H::T> {
    CpsCard::open(h.card(profile, None)).unwrap()
}

pub const PROFILES: [&str; 5] = ["cps3", "cps4", "cpe", "blocked-pin", "puk-exhausted"];

pub fn suite<H: Harness>(h: &H) {
    identification_and_reading_for_every_profile(h);
    vitale_and_unknown_cards_are_specific_errors(h);
    verify_wrong_then_right_on_both_generations(h);
    last_try_guard_sends_no_verify(h);
    last_try_with_opt_in_is_spent(h);
    blocked_pin_profile(h);
    wrong_puk_counts_down(h);
    exhausted_puk_profile(h);
    change_pin(h);
    keys_match_their_certificates(h);
    private_key_operations_need_the_pin(h);
}

pub fn identification_and_reading_for_every_profile<H: Harness>(h: &H) {
    for name in PROFILES {
        let mut card = open(h, name);
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
    assert_eq!(open(h, "cps4").generation(), Generation::Cps4);
    assert_eq!(open(h, "cps3").kind(), CardKind::Cps3Contact);
}

pub fn vitale_and_unknown_cards_are_specific_errors<H: Harness>(h: &H) {
    match CpsCard::open(h.card("vitale", None)) {
        Err(CardError::NotACps {
            kind: CardKind::Vitale,
        }) => {}
        Ok(_) => panic!("a Carte Vitale opened as a CPS"),
        Err(e) => panic!("{e}"),
    }
    match CpsCard::open(h.card("unknown", None)) {
        Err(CardError::NotACps {
            kind: CardKind::Unknown,
        }) => {}
        Ok(_) => panic!("an unknown card opened as a CPS"),
        Err(e) => panic!("{e}"),
    }
}

pub fn verify_wrong_then_right_on_both_generations<H: Harness>(h: &H) {
    for name in ["cps3", "cps4"] {
        let mut card = open(h, name);
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

pub fn last_try_guard_sends_no_verify<H: Harness>(h: &H) {
    for name in ["cps3", "cps4"] {
        let one_left = Counters {
            pin_tries_left: 1,
            puk_tries_left: 10,
            puk_usage_left: 100,
        };
        let mut card = CpsCard::open(Counting::new(h.card(name, Some(one_left)))).unwrap();
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
        // The card agrees: its counter did not move.
        let mut card = CpsCard::open(transport.inner).unwrap();
        assert_eq!(card.pin_status().unwrap().pin.tries_left, 1, "{name}");
    }
}

pub fn last_try_with_opt_in_is_spent<H: Harness>(h: &H) {
    let one_left = Counters {
        pin_tries_left: 1,
        puk_tries_left: 10,
        puk_usage_left: 100,
    };
    let mut card = CpsCard::open(h.card("cps3", Some(one_left))).unwrap();
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

pub fn blocked_pin_profile<H: Harness>(h: &H) {
    let mut card = open(h, "blocked-pin");
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

pub fn wrong_puk_counts_down<H: Harness>(h: &H) {
    let mut card = open(h, "blocked-pin");
    let outcome = card
        .unblock(
            &Puk::new("87654321").unwrap(),
            &Pin::new("4321").unwrap(),
            LastTry::Refuse,
        )
        .unwrap();
    assert_eq!(outcome, UnblockOutcome::WrongPuk { tries_left: 9 });
}

pub fn exhausted_puk_profile<H: Harness>(h: &H) {
    let mut card = open(h, "puk-exhausted");
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

pub fn change_pin<H: Harness>(h: &H) {
    let mut card = open(h, "cps3");
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

pub fn keys_match_their_certificates<H: Harness>(h: &H) {
    for name in ["cps3", "cps4"] {
        let mut card = open(h, name);
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

pub fn private_key_operations_need_the_pin<H: Harness>(h: &H) {
    let mut card = open(h, "cps3");
    let err = card.authenticate(&[0u8; 32]).unwrap_err();
    assert!(format!("{err}").contains("69 82"), "{err}");
}

fn public_key(cert: &cps_card::cert::Certificate) -> rsa::RsaPublicKey {
    rsa::RsaPublicKey::from_public_key_der(cert.public_key_der()).unwrap()
}
