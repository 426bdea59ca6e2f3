//! Tier 4: a real card in a real reader.
//!
//! With `CPS_TEST_READER` set, these tests drive the card in that reader (an exact
//! PC/SC name, as `cps readers` prints it). They only read — ATR, serial, counters,
//! certificates — unless `CPS_TEST_PIN` holds the card's PIN: then one test presents it
//! once, **only when the counter is full** (so a wrong value leaves two tries), never
//! again, and uses both keys, all inside one PC/SC transaction so that no other
//! application sees the card unlocked. The card is reset afterwards, also when an
//! assertion fails half-way, so it is not left unlocked. The tests take turns on the
//! card (one at a time, whatever `--test-threads` says). A contactless CPS3 has no PIN:
//! the counter and PIN tests say so and pass.
//!
//! ```text
//! CPS_TEST_READER="Gemalto PC Twin Reader 00 00" \
//!     cargo test -p cps-card --test real_card -- --ignored --test-threads=1
//! ```
//!
//! Without `CPS_TEST_READER` (as in `scripts/test.sh`) they rehearse against virtual
//! CPS3 and CPS4 cards attached through pcscd in vpcd slot 0, with the virtual cards'
//! public test PIN, so that this tier is itself exercised on every CI run. Nothing
//! here assumes a holder, a number or a date: only what every CPS must satisfy.
#![cfg(feature = "pcsc")]
#![allow(clippy::unwrap_used)]

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

use cps_apdu::atr::Atr;
use cps_card::pcsc::{
    ConnectOptions, Disposition, Event, PcscContext, PcscTransaction, PcscTransport,
};
use cps_card::{CardKind, CertKind, CounterState, CpsCard, LastTry, Pin, VerifyOutcome};
use cps_sim::card::VirtualCard;
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

const SLOT: u8 = 0;
const VIRTUAL_READER: &str = "Virtual PCD 00 00";
const WAIT: Duration = Duration::from_secs(10);

/// The card under test: the real one named by `CPS_TEST_READER`, or a virtual one.
struct Subject {
    reader: String,
    /// The PIN, when the tests may present it.
    pin: Option<Pin>,
    /// The virtual card and its slot, when rehearsing.
    rehearsal: Option<(VpcdHandle, SlotLock)>,
    label: String,
}

impl Subject {
    fn connect(&self) -> PcscTransport {
        let ctx = PcscContext::establish().unwrap();
        ctx.connect(&self.reader, ConnectOptions::default().with_timeout(WAIT))
            .unwrap_or_else(|e| panic!("{}: connecting: {e}", self.label))
    }

    fn open(&self) -> CpsCard<PcscTransport> {
        CpsCard::open(self.connect()).unwrap_or_else(|e| panic!("{}: {e}", self.label))
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let Some((handle, _lock)) = self.rehearsal.take() {
            let _ = handle.shutdown();
            if let Ok(ctx) = PcscContext::establish() {
                let _ = ctx.wait_for(&self.reader, Event::Removed, WAIT);
            }
        }
    }
}

/// Resets the card when dropped during a panic: an assertion failing after VERIFY must
/// not leave a real card unlocked for the next application.
struct ResetOnPanic<'s>(&'s Subject);

impl Drop for ResetOnPanic<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let reset = PcscContext::establish().ok().and_then(|ctx| {
            ctx.connect(&self.0.reader, ConnectOptions::default().with_timeout(WAIT))
                .ok()
        });
        match reset.map(|t| t.disconnect(Disposition::Reset)) {
            Some(Ok(())) => eprintln!("{}: card reset after the failure", self.0.label),
            _ => eprintln!(
                "{}: could not reset the card after the failure: remove it from the reader",
                self.0.label
            ),
        }
    }
}

/// One test at a time on the real card: the test harness runs tests in parallel
/// threads, and the rehearsal's slot lock does not cover a real reader.
static REAL_CARD: Mutex<()> = Mutex::new(());

/// Runs `test` on the real card, or on each rehearsal card in turn.
fn each_subject(test: impl Fn(&Subject)) {
    if let Some(reader) = std::env::var("CPS_TEST_READER")
        .ok()
        .filter(|r| !r.is_empty())
    {
        let pin = std::env::var("CPS_TEST_PIN")
            .ok()
            .map(|p| Pin::new(p.as_str()).expect("CPS_TEST_PIN is not a valid PIN"));
        // A poisoned lock only means another test failed: the card is still there.
        let _turn = REAL_CARD.lock().unwrap_or_else(|e| e.into_inner());
        test(&Subject {
            label: format!("card in {reader}"),
            reader,
            pin,
            rehearsal: None,
        });
        return;
    }
    for profile in ["cps3", "cps4"] {
        let lock = SlotLock::acquire(SLOT, Duration::from_secs(120)).unwrap();
        let ctx = PcscContext::establish().unwrap();
        assert!(ctx.wait_for(VIRTUAL_READER, Event::Removed, WAIT).unwrap());
        let profile = Profile::builtin(profile).unwrap();
        let card = VirtualCard::new(&profile).unwrap();
        let handle = vpcd::attach(
            Box::new(card),
            vpcd::slot_addr(SLOT),
            VpcdOptions::default().with_slot(SLOT),
        )
        .unwrap();
        assert!(handle.wait_connected(WAIT));
        assert!(ctx.wait_for(VIRTUAL_READER, Event::Inserted, WAIT).unwrap());
        test(&Subject {
            reader: VIRTUAL_READER.into(),
            pin: Some(Pin::new(profile.pin.value.as_str()).unwrap()),
            rehearsal: Some((handle, lock)),
            label: format!("virtual {}", profile.name),
        });
    }
}

#[test]
#[ignore = "needs pcscd (and a card in CPS_TEST_READER, else the virtual card): run scripts/test.sh"]
fn the_card_identifies_as_a_cps() {
    each_subject(|s| {
        let card = s.open();
        let atr = Atr::parse(card.atr()).unwrap_or_else(|e| panic!("{}: ATR: {e}", s.label));
        assert!(!atr.historical_bytes().is_empty(), "{}", s.label);
        assert!(
            card.kind().generation().is_some(),
            "{}: {:?}",
            s.label,
            card.kind()
        );
        // EF.SN.ICC: the agency's issuer number, a serial, a right Luhn digit.
        let sn = card.serial();
        assert!(sn.issuer_ok && sn.luhn_ok, "{}: {sn:?}", s.label);
        assert!(
            !sn.serial.is_empty() && sn.serial.bytes().all(|b| b.is_ascii_digit()),
            "{}: {sn:?}",
            s.label
        );
        // Identification reads a few small files: the virtual card answers in 8 APDUs;
        // a real card may add GET RESPONSEs, but dozens would mean a loop.
        let most = if s.rehearsal.is_some() { 8 } else { 24 };
        assert!(
            card.apdus_sent() <= most,
            "{}: {}",
            s.label,
            card.apdus_sent()
        );
        card.into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
    });
}

/// Reading the counters twice, in two connections, gives the same figures: reading
/// spends nothing.
#[test]
#[ignore = "needs pcscd (and a card in CPS_TEST_READER, else the virtual card): run scripts/test.sh"]
fn counters_read_twice_without_spending_a_try() {
    each_subject(|s| {
        let mut first = s.open();
        if first.kind() == CardKind::Cps3Contactless {
            eprintln!("{}: contactless, no PIN counters to read", s.label);
            return;
        }
        let status = first.pin_status().unwrap();
        first
            .into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
        let mut second = s.open();
        let again = second.pin_status().unwrap();
        second
            .into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
        assert_eq!(status, again, "{}", s.label);
        assert_eq!(status.pin.tries_max, 3, "{}: {status:?}", s.label);
        assert!(status.pin.tries_left <= status.pin.tries_max, "{}", s.label);
        assert!(status.puk.tries_left <= status.puk.tries_max, "{}", s.label);
        eprintln!("{}: PIN {:?}, PUK {:?}", s.label, status.pin, status.puk);
    });
}

/// Every certificate parses; a contact card holds the authentication and signature
/// pair, for one holder, with 2048-bit RSA keys at least.
#[test]
#[ignore = "needs pcscd (and a card in CPS_TEST_READER, else the virtual card): run scripts/test.sh"]
fn certificates_parse_and_name_one_holder() {
    each_subject(|s| {
        let mut card = s.open();
        let certs = card.certificates().unwrap();
        let contactless = card.kind() == CardKind::Cps3Contactless;
        card.into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
        assert!(!certs.is_empty(), "{}", s.label);
        for c in &certs {
            c.certificate
                .x509()
                .unwrap_or_else(|e| panic!("{}: {:?}: {e}", s.label, c.which));
            assert!(
                c.certificate.rsa_modulus_bits().is_some_and(|b| b >= 2048),
                "{}: {:?} key",
                s.label,
                c.which
            );
        }
        if contactless {
            return;
        }
        let find = |which| {
            certs
                .iter()
                .find(|c| c.which == which)
                .unwrap_or_else(|| panic!("{}: no {which:?} certificate", s.label))
        };
        let (auth, sign) = (find(CertKind::Auth), find(CertKind::Sign));
        let holder = auth.certificate.holder().unwrap();
        assert_eq!(holder, sign.certificate.holder().unwrap(), "{}", s.label);
        assert_eq!(
            auth.certificate.issuer(),
            sign.certificate.issuer(),
            "{}",
            s.label
        );
        assert_ne!(
            auth.certificate.public_key_der(),
            sign.certificate.public_key_der(),
            "{}: one key for two roles",
            s.label
        );
    });
}

/// With the PIN (and a full counter only): verify once, then prove both private keys
/// against their certificates with real RSA; the counter is full again afterwards.
#[test]
#[ignore = "needs pcscd (and a card in CPS_TEST_READER, else the virtual card): run scripts/test.sh"]
fn the_pin_unlocks_keys_that_match_the_certificates() {
    each_subject(|s| {
        let Some(pin) = &s.pin else {
            eprintln!("{}: CPS_TEST_PIN not set, PIN test not run", s.label);
            return;
        };
        // Last resort, dropped last: if ending the transaction below cannot reset the
        // card, a fresh connection does.
        let _reset = ResetOnPanic(s);
        let mut transport = s.connect();
        let mut txn = transport.begin_transaction().unwrap();
        let proved =
            std::panic::catch_unwind(AssertUnwindSafe(|| unlock_and_prove(s, pin, &mut txn)));
        // Whatever happened, the transaction ends resetting the card: nobody else ever
        // sees it unlocked.
        let ended = txn.end_with(Disposition::Reset);
        let digest_info = match proved {
            Ok(Some(digest_info)) => digest_info,
            Ok(None) => return,
            Err(panic) => {
                let _ = transport.disconnect(Disposition::Reset);
                std::panic::resume_unwind(panic);
            }
        };
        ended.unwrap();
        transport.disconnect(Disposition::Leave).unwrap();

        let mut card = s.open();
        let after = card.pin_status().unwrap();
        card.into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
        assert_eq!(after.pin.tries_left, after.pin.tries_max, "{}", s.label);
        // After the reset, the keys need the PIN again.
        let mut card = s.open();
        assert!(card.authenticate(&digest_info).is_err(), "{}", s.label);
        card.into_transport()
            .disconnect(Disposition::Leave)
            .unwrap();
    });
}

/// Inside the test's transaction: checks the counter is full, verifies the PIN once and
/// proves both keys. Returns the DigestInfo signed with the authentication key (to try
/// again after the reset), or `None` for a contactless card (no PIN).
fn unlock_and_prove(s: &Subject, pin: &Pin, txn: &mut PcscTransaction<'_>) -> Option<Vec<u8>> {
    let mut card = CpsCard::open(txn).unwrap_or_else(|e| panic!("{}: {e}", s.label));
    if card.kind() == CardKind::Cps3Contactless {
        eprintln!("{}: contactless, no PIN to present", s.label);
        return None;
    }
    let before = card.pin_status().unwrap();
    assert_eq!(
        before.pin.state,
        CounterState::Ok,
        "{}: the PIN counter is not full ({}/{}): refusing to risk a try",
        s.label,
        before.pin.tries_left,
        before.pin.tries_max
    );
    let outcome = card.verify_pin(pin, LastTry::Refuse).unwrap();
    assert_eq!(outcome, VerifyOutcome::Verified, "{}", s.label);
    let auth = card.certificate(CertKind::Auth).unwrap();
    let sign = card.certificate(CertKind::Sign).unwrap();

    let challenge = card.challenge(16).unwrap();
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    digest_info.extend_from_slice(&Sha256::digest(&challenge));
    let signature = card.authenticate(&digest_info).unwrap();
    rsa::RsaPublicKey::from_public_key_der(auth.certificate.public_key_der())
        .unwrap()
        .verify(Pkcs1v15Sign::new_unprefixed(), &digest_info, &signature)
        .unwrap_or_else(|e| panic!("{}: authentication key: {e}", s.label));

    let message = b"cps-card real-card tier";
    let signature = card.sign_sha256(message).unwrap();
    rsa::RsaPublicKey::from_public_key_der(sign.certificate.public_key_der())
        .unwrap()
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(message),
            &signature,
        )
        .unwrap_or_else(|e| panic!("{}: signature key: {e}", s.label));
    Some(digest_info)
}
