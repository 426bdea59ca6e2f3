//! Hostile cards, in process: oversized and malformed PKCS#15 structures, deeply nested
//! TLV, lengths that lie, huge or garbage certificates, endless `61 xx` chains. Every
//! operation ends with a value or a typed error, without panicking, within a bounded
//! wait, and the process's peak memory stays under 64 MiB.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cps_card::{CardError, CpsCard, LastTry, Pin};
use cps_sim::CardSide;
use cps_sim::hostile::{Hostile, Hostility};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

/// Peak resident memory allowed to the whole test process.
const PEAK_LIMIT_KIB: u64 = 64 * 1024;
/// Far more than any mode needs; only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

/// The process's peak RSS (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0), so that each mode is measured
/// on its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What the host made of one hostile card.
#[derive(Debug)]
struct Outcome {
    open: Result<(), String>,
    token: Option<Result<(), String>>,
    status: Option<Result<(u8, u8), String>>,
    certificates: Option<Result<usize, String>>,
    verify: Option<Result<String, String>>,
    /// The card's own PIN counter at the end.
    card_pin_tries: u8,
    typed_errors: usize,
}

fn run(mode: Hostility, profile: &str) -> Outcome {
    let card = Hostile::new(&Profile::builtin(profile).unwrap(), mode).unwrap();
    let mut sim = SimTransport::new(card);
    let mut typed = 0;
    let mut note = |e: CardError| {
        // Every error renders, with its whole chain.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        typed += 1;
        text
    };
    let mut outcome = Outcome {
        open: Ok(()),
        token: None,
        status: None,
        certificates: None,
        verify: None,
        card_pin_tries: 0,
        typed_errors: 0,
    };
    match CpsCard::open(&mut sim) {
        Err(e) => outcome.open = Err(note(e)),
        Ok(mut card) => {
            outcome.token = Some(card.token_info().map(drop).map_err(&mut note));
            outcome.status = Some(
                card.pin_status()
                    .map(|s| (s.pin.tries_left, s.puk.tries_left))
                    .map_err(&mut note),
            );
            outcome.certificates = Some(card.certificates().map(|c| c.len()).map_err(&mut note));
            outcome.verify = Some(
                card.verify_pin(&Pin::new("9999").unwrap(), LastTry::Refuse)
                    .map(|o| format!("{o:?}"))
                    .map_err(&mut note),
            );
        }
    }
    outcome.typed_errors = typed;
    outcome.card_pin_tries = sim.card().inner().counters().pin_tries_left;
    outcome
}

/// Each mode in its own thread, with a bounded wait; returns the outcome, the time it
/// took and the peak RSS during it.
fn measured(mode: Hostility, profile: &'static str) -> (Outcome, Duration, u64) {
    reset_peak_rss();
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(run(mode, profile));
    });
    let outcome = rx
        .recv_timeout(HANG)
        .unwrap_or_else(|e| panic!("{mode:?} on {profile}: no outcome ({e}): a hang or a panic"));
    worker.join().unwrap();
    (outcome, started.elapsed(), peak_rss_kib())
}

#[test]
fn hostile_cards_get_clear_errors_in_bounded_time_and_memory() {
    // Serial on purpose: the peak RSS is the process's, measured per mode.
    let mut worst = 0;
    for profile in ["cps3", "cps4"] {
        for mode in Hostility::ALL {
            let (outcome, took, peak) = measured(mode, profile);
            println!(
                "{profile} {mode:?}: {} ms, peak RSS {} KiB, {outcome:?}",
                took.as_millis(),
                peak
            );
            worst = worst.max(peak);
            assert!(
                peak < PEAK_LIMIT_KIB,
                "{mode:?} on {profile}: peak RSS {peak} KiB"
            );
            assert!(
                outcome.typed_errors > 0,
                "{mode:?} on {profile}: a hostile card went unnoticed: {outcome:?}"
            );
            // Whatever the card did, a counter the host reported is the card's.
            if let Some(Ok((pin, _))) = outcome.status {
                let spent = u8::from(matches!(&outcome.verify, Some(Ok(v)) if v.contains("Wrong")));
                assert_eq!(
                    pin - spent,
                    outcome.card_pin_tries,
                    "{mode:?} on {profile}: {outcome:?}"
                );
            }
        }
    }
    println!("worst peak RSS: {worst} KiB");
}

#[test]
fn endless_61xx_is_a_typed_error_at_open() {
    let card = Hostile::new(&Profile::builtin("cps3").unwrap(), Hostility::Endless61).unwrap();
    let err = CpsCard::open(SimTransport::new(card)).unwrap_err();
    assert!(matches!(err, CardError::ResponseTooLong { .. }), "{err}");
}

/// Found by the hostile card `Empty61`: `61 00` answered to every GET RESPONSE, with
/// no data, kept the exchange layer asking forever (the response size limit never
/// grew). Now a typed error, at open.
#[test]
fn empty_61xx_forever_is_a_typed_error_not_a_hang() {
    for profile in ["cps3", "cps4"] {
        let (outcome, _, _) = measured(Hostility::Empty61, profile);
        let open = outcome.open.unwrap_err();
        assert!(open.contains("GET RESPONSE"), "{profile}: {open}");
    }
}

#[test]
fn a_flood_of_certificate_objects_is_refused() {
    let card = Hostile::new(
        &Profile::builtin("cps3").unwrap(),
        Hostility::CertificateFlood,
    )
    .unwrap();
    let mut card = CpsCard::open(SimTransport::new(card)).unwrap();
    let err = card.certificates().unwrap_err();
    assert!(matches!(err, CardError::Malformed { .. }), "{err}");
}

/// The hostile card is a [`CardSide`] like any other (it attaches to vpcd too).
#[test]
fn hostile_is_a_card_side() {
    fn card_side<C: CardSide>(_: &C) {}
    let card = Hostile::new(&Profile::builtin("cps4").unwrap(), Hostility::LongReads).unwrap();
    card_side(&card);
}

/// A virtual card whose answers to one instruction are replaced.
struct Answering {
    inner: cps_sim::card::VirtualCard,
    ins: u8,
    answer: Vec<u8>,
}

impl CardSide for Answering {
    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }
    fn power_on(&mut self) {
        self.inner.power_on();
    }
    fn power_off(&mut self) {
        self.inner.power_off();
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn process(&mut self, command: &[u8]) -> cps_sim::Reply {
        if command.get(1) == Some(&self.ins) {
            return cps_sim::Reply::Data(self.answer.clone());
        }
        self.inner.process(command)
    }
}

/// Found while writing the hostile cards: an empty `9D` (usage counter) read as 0 showed
/// the card as "exhausted, replace it"; a 3-byte `9B` was folded into a number the card
/// never said. Counter values must have the widths of the reference (§4).
#[test]
fn counter_values_of_the_wrong_width_are_refused() {
    for (a0, what) in [
        ("9A 01 03 9B 01 03 9D 00", "9D is 0 bytes"),
        ("9A 01 03 9B 03 00 00 03", "9B is 3 bytes"),
        ("9A 00 9B 01 03", "9A is 0 bytes"),
    ] {
        let a0 = hex::decode(a0.replace(' ', "")).unwrap();
        let mut answer = vec![0x70, (a0.len() + 6) as u8, 0xBF, 0x81, 0x01];
        answer.push((a0.len() + 2) as u8);
        answer.extend([0xA0, a0.len() as u8]);
        answer.extend(&a0);
        answer.extend([0x90, 0x00]);
        let card = Answering {
            inner: cps_sim::card::VirtualCard::new(&Profile::builtin("cps3").unwrap()).unwrap(),
            ins: 0xCB,
            answer,
        };
        let mut card = CpsCard::open(SimTransport::new(card)).unwrap();
        let err = card.pin_status().unwrap_err();
        assert!(
            matches!(err, CardError::Malformed { .. }) && err.to_string().contains(what),
            "{what}: {err}"
        );
    }
}

/// A counter above its maximum is refused, not shown as "ok" (CPS3 GET DATA and CPS4
/// empty VERIFY alike).
#[test]
fn impossible_counters_are_refused() {
    for profile in ["cps3", "cps4"] {
        let card = Hostile::new(
            &Profile::builtin(profile).unwrap(),
            Hostility::ImpossibleCounters,
        )
        .unwrap();
        let mut card = CpsCard::open(SimTransport::new(card)).unwrap();
        let err = card.pin_status().unwrap_err();
        assert!(
            err.to_string().contains("15 tries left of 3"),
            "{profile}: {err}"
        );
        // The guard needs the counters: nothing PIN-bearing is sent.
        let err = card
            .verify_pin(&Pin::new("1234").unwrap(), LastTry::Allow)
            .unwrap_err();
        assert!(
            matches!(err, CardError::Malformed { .. }),
            "{profile}: {err}"
        );
    }
}
