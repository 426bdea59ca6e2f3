//! Fault injection, in process: the card removed in the middle of reading certificates,
//! of a VERIFY, of an unblock, of a PIN change; a mute card; garbage answers; unexpected
//! status words; tearing (the card executes the command, then the answer is lost).
//!
//! For every fault on every step: a typed error (never a panic, never a wrong-PIN
//! outcome the card did not give), no PIN-bearing command sent twice, and afterwards a
//! fresh session reports the card's true counters.
#![allow(clippy::unwrap_used)]

use cps_apdu::{Transport, TransportError};
use cps_card::{CardError, CpsCard, LastTry, Pin, Puk, UnblockOutcome, VerifyOutcome};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::faults::{AfterTear, Fault, FaultControl, Faulty, Garbage, Trigger};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

type Sim = SimTransport<Faulty<VirtualCard>>;

/// Keeps every command sent; a removed card stays out until [`Link::reinsert`].
#[derive(Debug)]
struct Link {
    sim: Sim,
    sent: Vec<Vec<u8>>,
    removed: bool,
}

impl Transport for Link {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::NoCard);
        }
        self.sent.push(command.to_vec());
        let answer = self.sim.transmit(command);
        if matches!(answer, Err(TransportError::CardRemoved)) {
            self.removed = true;
        }
        answer
    }
    fn atr(&self) -> &[u8] {
        self.sim.atr()
    }
}

impl Link {
    fn new(profile: &str, counters: Counters) -> (Link, FaultControl) {
        let mut card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
        card.set_counters(counters);
        let card = Faulty::new(card);
        let control = card.control();
        let link = Link {
            sim: SimTransport::new(card),
            sent: Vec::new(),
            removed: false,
        };
        (link, control)
    }

    /// The card comes back (power cycle: its session is gone, its counters are not).
    fn reinsert(&mut self) {
        self.removed = false;
        self.sim.reset();
    }

    fn truth(&self) -> Counters {
        self.sim.card().inner().counters()
    }

    /// PIN-bearing commands sent: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER
    /// with a data field (CLA INS P1 P2 Lc data).
    fn pin_commands(&self) -> Vec<Vec<u8>> {
        self.sent
            .iter()
            .filter(|c| matches!(c.get(1), Some(0x20 | 0x24 | 0x2C)) && c.len() > 5)
            .cloned()
            .collect()
    }
}

const FRESH: Counters = Counters {
    pin_tries_left: 3,
    puk_tries_left: 10,
    puk_usage_left: 100,
};
const BLOCKED: Counters = Counters {
    pin_tries_left: 0,
    puk_tries_left: 10,
    puk_usage_left: 100,
};

/// The operations under test. Each runs on an opened card whose PKCS#15 structures are
/// already read, so that the faults fall on the operation's own commands.
#[derive(Debug, Clone, Copy)]
enum Op {
    VerifyRight,
    VerifyWrong,
    Unblock,
    Change,
    Certificates,
    Status,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::VerifyRight,
        Op::VerifyWrong,
        Op::Unblock,
        Op::Change,
        Op::Certificates,
        Op::Status,
    ];

    fn counters(self) -> Counters {
        match self {
            Op::Unblock => BLOCKED,
            _ => FRESH,
        }
    }

    /// Runs the operation; `Ok` carries a description of the outcome.
    fn run(self, card: &mut CpsCard<Link>) -> Result<String, CardError> {
        let pin = |s: &str| Pin::new(s).unwrap();
        Ok(match self {
            Op::VerifyRight => format!("{:?}", card.verify_pin(&pin("1234"), LastTry::Refuse)?),
            Op::VerifyWrong => format!("{:?}", card.verify_pin(&pin("9999"), LastTry::Refuse)?),
            Op::Unblock => format!(
                "{:?}",
                card.unblock(
                    &Puk::new("12345678").unwrap(),
                    &pin("4321"),
                    LastTry::Refuse
                )?
            ),
            Op::Change => format!(
                "{:?}",
                card.change_pin(&pin("1234"), &pin("5678"), LastTry::Refuse)?
            ),
            Op::Certificates => format!("{} certificates", card.certificates()?.len()),
            Op::Status => format!("{:?}", card.pin_status()?),
        })
    }

    /// The outcome without faults, and how many commands the operation sends.
    fn clean_run(self, profile: &str) -> (String, usize) {
        let (link, _) = Link::new(profile, self.counters());
        let mut card = warmed(link);
        let before = card.exchange().transport().sent.len();
        let outcome = self.run(&mut card).unwrap();
        let sent = card.exchange().transport().sent.len() - before;
        (outcome, sent)
    }
}

/// An opened card with its PKCS#15 structures (and nothing else) cached.
fn warmed(link: Link) -> CpsCard<Link> {
    let mut card = CpsCard::open(link).unwrap();
    card.pin_objects().unwrap();
    card.private_keys().unwrap();
    card
}

fn faults() -> Vec<Fault> {
    vec![
        Fault::Remove,
        Fault::Mute,
        Fault::Tear(AfterTear::Remove),
        Fault::Tear(AfterTear::Mute),
        Fault::Garbage(Garbage::Bytes(vec![0x90])),
        Fault::Garbage(Garbage::Bytes(Vec::new())),
        Fault::Garbage(Garbage::Random { len: 7 }),
        Fault::Status(0x6F00),
        Fault::Status(0x6581),
        // What makes the exchange layer reselect and retry (CPS3, then CPS4).
        Fault::Status(0x6E00),
        Fault::Status(0x6A86),
        Fault::Status(0x6881),
        Fault::Status(0x6985),
        // T=0 procedure bytes at the wrong moment.
        Fault::Status(0x6C08),
        Fault::Status(0x6100),
    ]
}

/// Every fault on every command of every operation, on both generations.
#[test]
fn every_fault_on_every_step_is_typed_and_leaves_true_counters() {
    let mut cases = 0;
    for profile in ["cps3", "cps4"] {
        for op in Op::ALL {
            let (clean, steps) = op.clean_run(profile);
            for step in 1..=steps {
                for fault in faults() {
                    check(profile, op, &clean, step, fault);
                    cases += 1;
                }
            }
        }
    }
    println!("{cases} fault cases");
    assert!(cases > 500, "{cases}");
}

fn check(profile: &str, op: Op, clean: &str, step: usize, fault: Fault) {
    let label = format!("{profile} {op:?}, {fault:?} on command {step}");
    let (link, control) = Link::new(profile, op.counters());
    let mut card = warmed(link);
    let before = card.exchange().transport().truth();
    let sent_before = card.exchange().transport().sent.len();
    control.schedule(Trigger::Nth(step as u32), fault.clone());
    let result = op.run(&mut card);
    let link = card.exchange().transport();
    let truth = link.truth();

    // 1. No PIN-bearing command twice: each one costs a try.
    let pins = link.pin_commands();
    let mut unique = pins.clone();
    unique.dedup();
    assert_eq!(
        pins.len(),
        unique.len(),
        "{label}: a PIN command was re-sent"
    );
    assert!(
        link.sent.len() - sent_before < 200,
        "{label}: the host kept talking"
    );

    // 2. A counter moves by one try at most.
    assert!(
        before.pin_tries_left - truth.pin_tries_left.min(before.pin_tries_left) <= 1,
        "{label}: {before:?} -> {truth:?}"
    );
    assert!(
        before.puk_tries_left - truth.puk_tries_left.min(before.puk_tries_left) <= 1,
        "{label}: {before:?} -> {truth:?}"
    );

    // 3. The outcome: what a clean run gives, or a typed error; a wrong-PIN outcome
    //    only when the card really counted a wrong code.
    match &result {
        Ok(outcome) if outcome == clean => {}
        Ok(outcome) => {
            let wrong = outcome.contains("Wrong") || outcome.contains("Blocked");
            if wrong {
                assert!(
                    truth.pin_tries_left < before.pin_tries_left
                        || truth.puk_tries_left < before.puk_tries_left,
                    "{label}: reported {outcome} but the card counted nothing"
                );
            }
            // A status read under a fault must still be the truth.
            if matches!(op, Op::Status) {
                panic!("{label}: status {outcome} differs from a clean run {clean}");
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty(), "{label}");
            if matches!(fault, Fault::Remove | Fault::Tear(AfterTear::Remove)) {
                assert!(
                    matches!(e, CardError::Transport(TransportError::CardRemoved)),
                    "{label}: {e}"
                );
            }
            if matches!(fault, Fault::Mute | Fault::Tear(AfterTear::Mute)) {
                assert!(
                    matches!(e, CardError::Transport(TransportError::Timeout(_))),
                    "{label}: {e}"
                );
            }
        }
    }

    // 4. A fresh session reports the card's true counters.
    let mut link = CpsCard::into_transport(card);
    link.reinsert();
    control.clear();
    let mut card = CpsCard::open(link).unwrap();
    let status = card.pin_status().unwrap();
    assert_eq!(status.pin.tries_left, truth.pin_tries_left, "{label}");
    assert_eq!(status.puk.tries_left, truth.puk_tries_left, "{label}");
    if profile == "cps3" {
        assert_eq!(status.puk.usage_left, Some(truth.puk_usage_left), "{label}");
    }
}

/// A torn wrong VERIFY: the card counted the try, the host saw no answer. The next
/// session shows the spent try (the tool never guesses it back).
#[test]
fn a_torn_wrong_verify_is_an_error_and_the_try_shows_afterwards() {
    for profile in ["cps3", "cps4"] {
        let (link, control) = Link::new(profile, FRESH);
        let mut card = warmed(link);
        // The PIN-bearing VERIFY is the operation's last command, after the guard's
        // counter reads.
        let (_, steps) = Op::VerifyWrong.clean_run(profile);
        control.schedule(Trigger::Nth(steps as u32), Fault::Tear(AfterTear::Remove));
        let err = card
            .verify_pin(&Pin::new("9999").unwrap(), LastTry::Refuse)
            .unwrap_err();
        assert!(
            matches!(err, CardError::Transport(TransportError::CardRemoved)),
            "{profile}: {err}"
        );
        let mut link = card.into_transport();
        assert_eq!(link.pin_commands().len(), 1, "{profile}");
        link.reinsert();
        let mut card = CpsCard::open(link).unwrap();
        assert_eq!(card.pin_status().unwrap().pin.tries_left, 2, "{profile}");
    }
}

/// The card removed between the unblock code's VERIFY and the new PIN: the PUK try is
/// not spent (it was right), the PIN stays blocked, and nothing is sent again.
#[test]
fn removal_in_the_middle_of_an_unblock() {
    for profile in ["cps3", "cps4"] {
        let (link, control) = Link::new(profile, BLOCKED);
        let mut card = warmed(link);
        let (clean, steps) = Op::Unblock.clean_run(profile);
        assert_eq!(clean, format!("{:?}", UnblockOutcome::Unblocked));
        // The last command sets the new PIN: remove the card instead.
        control.schedule(Trigger::Nth(steps as u32), Fault::Remove);
        let err = Op::Unblock.run(&mut card).unwrap_err();
        assert!(
            matches!(err, CardError::Transport(TransportError::CardRemoved)),
            "{profile}: {err}"
        );
        let mut link = card.into_transport();
        link.reinsert();
        let truth = link.truth();
        assert_eq!(truth.puk_tries_left, 10, "{profile}");
        let mut card = CpsCard::open(link).unwrap();
        let status = card.pin_status().unwrap();
        assert_eq!(status.pin.tries_left, truth.pin_tries_left, "{profile}");
        assert_eq!(status.puk.tries_left, 10, "{profile}");
    }
}

/// A mute card: every command a timeout, typed, at once (the transport's own timeout
/// bounds the wait; the in-process transport reports it without waiting).
#[test]
fn a_mute_card_is_a_timeout() {
    for profile in ["cps3", "cps4"] {
        let (link, control) = Link::new(profile, FRESH);
        control.mute_from_now();
        let err = CpsCard::open(link).unwrap_err();
        assert!(
            matches!(err, CardError::Transport(TransportError::Timeout(_))),
            "{profile}: {err}"
        );
    }
}

/// A wrong PIN answered with a status word the tool does not know is an error, not a
/// wrong PIN; `63 C2` from a fault would be a wrong PIN, and the counter says so.
#[test]
fn unexpected_status_on_verify_is_not_a_wrong_pin() {
    let (link, control) = Link::new("cps3", FRESH);
    let mut card = warmed(link);
    control.schedule(Trigger::Ins(0x20), Fault::Status(0x6F00));
    let err = card
        .verify_pin(&Pin::new("9999").unwrap(), LastTry::Refuse)
        .unwrap_err();
    assert!(
        matches!(err, CardError::Status { .. }) && err.to_string().contains("6F 00"),
        "{err}"
    );
    assert_eq!(card.exchange().transport().truth().pin_tries_left, 3);
    assert_eq!(
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
}
