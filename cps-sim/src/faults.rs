//! Faults on demand: a decorator around any [`CardSide`] that makes it go mute, answer
//! garbage or a chosen status word, leave the reader, answer slowly, or tear a command
//! (execute it, then never answer).
//!
//! A test keeps a [`FaultControl`] (cloneable, usable from any thread) and schedules faults
//! while the card is in use, in process or attached to pcscd:
//!
//! ```
//! use cps_sim::faults::{Fault, FaultControl, Faulty, Trigger};
//! # fn demo<C: cps_sim::CardSide>(card: C) {
//! let card = Faulty::new(card);
//! let control: FaultControl = card.control();
//! control.remove_on_ins(0x2A); // pulled out on the next PERFORM SECURITY OPERATION
//! control.schedule(Trigger::Nth(3), Fault::Status(0x6F00));
//! # }
//! ```
//!
//! When several faults fall on the same command, delays add up and, among the others, the
//! one scheduled first acts; the rest are spent as well.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rand::RngCore;

use crate::{CardSide, Reply};

/// Which command a fault falls on. Counting starts with the next command after
/// scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// The `n`th command from now (`1` = the next one; `0` counts as `1`), once.
    Nth(u32),
    /// The next command with this instruction byte (INS), once.
    Ins(u8),
    /// Every command from now on, until [`FaultControl::clear`].
    FromNow,
}

/// Bytes answered instead of the card's response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Garbage {
    /// `len` random bytes.
    Random {
        /// How many bytes.
        len: usize,
    },
    /// Exactly these bytes (empty = a zero-length answer, which vpcd reads as a removal).
    Bytes(Vec<u8>),
}

/// What a torn command does once the card has executed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterTear {
    /// No answer ([`Reply::Mute`]).
    Mute,
    /// The card leaves the reader ([`Reply::Removed`]).
    Remove,
}

/// What happens to the command a [`Trigger`] selects.
///
/// Only [`Fault::Tear`] lets the card execute the command: the other faults replace the
/// card's processing entirely, so the card's state (a PIN counter) does not change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// No answer.
    Mute,
    /// Garbage instead of the answer.
    Garbage(Garbage),
    /// This status word alone instead of the answer (e.g. `0x6F00`).
    Status(u16),
    /// The card leaves the reader instead of answering.
    Remove,
    /// The answer (or the fault) comes after this delay.
    Delay(Duration),
    /// The card executes the command, then sends no answer or leaves the reader:
    /// power cut in the middle of an operation.
    Tear(AfterTear),
}

#[derive(Debug)]
struct Scheduled {
    trigger: Trigger,
    /// For [`Trigger::Nth`]: commands still to come before this one fires.
    countdown: u32,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Plan {
    scheduled: Vec<Scheduled>,
    commands: u64,
    fired: u64,
}

/// Schedules faults on a [`Faulty`] card; clones share the same schedule.
#[derive(Debug, Clone, Default)]
pub struct FaultControl {
    plan: Arc<Mutex<Plan>>,
}

impl FaultControl {
    /// A control with nothing scheduled, to share between several cards or to build a
    /// [`Faulty`] with [`Faulty::with_control`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The schedule stays consistent at every unlock, so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedules `fault` on the command(s) `trigger` selects.
    pub fn schedule(&self, trigger: Trigger, fault: Fault) {
        let countdown = match trigger {
            Trigger::Nth(n) => n.max(1),
            Trigger::Ins(_) | Trigger::FromNow => 0,
        };
        self.lock().scheduled.push(Scheduled {
            trigger,
            countdown,
            fault,
        });
    }

    /// No answer to the `n`th command from now (`1` = the next one).
    pub fn mute_on(&self, n: u32) {
        self.schedule(Trigger::Nth(n), Fault::Mute);
    }

    /// No answer to any command from now on.
    pub fn mute_from_now(&self) {
        self.schedule(Trigger::FromNow, Fault::Mute);
    }

    /// Garbage instead of the answer to the `n`th command from now.
    pub fn garbage_on(&self, n: u32, garbage: Garbage) {
        self.schedule(Trigger::Nth(n), Fault::Garbage(garbage));
    }

    /// Status word `sw` instead of the answer to the `n`th command from now.
    pub fn status_on(&self, n: u32, sw: u16) {
        self.schedule(Trigger::Nth(n), Fault::Status(sw));
    }

    /// The card answers `n` more commands normally and leaves the reader on the next.
    pub fn remove_after(&self, n: u32) {
        self.schedule(Trigger::Nth(n.saturating_add(1)), Fault::Remove);
    }

    /// The card leaves the reader on the next command whose INS is `ins`.
    pub fn remove_on_ins(&self, ins: u8) {
        self.schedule(Trigger::Ins(ins), Fault::Remove);
    }

    /// Every answer from now on comes after `delay`.
    pub fn slow(&self, delay: Duration) {
        self.schedule(Trigger::FromNow, Fault::Delay(delay));
    }

    /// The next command whose INS is `ins` is executed by the card, then torn.
    pub fn tear_on_ins(&self, ins: u8, then: AfterTear) {
        self.schedule(Trigger::Ins(ins), Fault::Tear(then));
    }

    /// Forgets every scheduled fault, including the standing ones.
    pub fn clear(&self) {
        self.lock().scheduled.clear();
    }

    /// Faults still scheduled (standing ones included).
    pub fn pending(&self) -> usize {
        self.lock().scheduled.len()
    }

    /// Commands the card has received since it was built.
    pub fn commands(&self) -> u64 {
        self.lock().commands
    }

    /// Faults that have acted so far (a standing fault counts once per command).
    pub fn fired(&self) -> u64 {
        self.lock().fired
    }

    /// Advances every trigger by one command; returns the total delay and the action.
    fn on_command(&self, command: &[u8]) -> (Duration, Option<Fault>) {
        let mut plan = self.lock();
        plan.commands += 1;
        let ins = command.get(1).copied();
        let mut delay = Duration::ZERO;
        let mut action = None;
        let mut fired = 0;
        plan.scheduled.retain_mut(|scheduled| {
            let (fires, keep) = match scheduled.trigger {
                Trigger::Nth(_) => {
                    scheduled.countdown = scheduled.countdown.saturating_sub(1);
                    let fires = scheduled.countdown == 0;
                    (fires, !fires)
                }
                Trigger::Ins(wanted) => {
                    let fires = ins == Some(wanted);
                    (fires, !fires)
                }
                Trigger::FromNow => (true, true),
            };
            if fires {
                fired += 1;
                match &scheduled.fault {
                    Fault::Delay(d) => delay = delay.saturating_add(*d),
                    fault if action.is_none() => action = Some(fault.clone()),
                    _ => {}
                }
            }
            keep
        });
        plan.fired += fired;
        (delay, action)
    }
}

/// A card with faults on demand: behaves exactly like `C` until a fault is scheduled
/// through its [`FaultControl`].
#[derive(Debug)]
pub struct Faulty<C: CardSide> {
    inner: C,
    control: FaultControl,
}

impl<C: CardSide> Faulty<C> {
    /// Wraps `inner` with an empty schedule.
    pub fn new(inner: C) -> Self {
        Self::with_control(inner, FaultControl::new())
    }

    /// Wraps `inner`, driven by an existing control.
    pub fn with_control(inner: C, control: FaultControl) -> Self {
        Faulty { inner, control }
    }

    /// A handle on the schedule, for any thread.
    pub fn control(&self) -> FaultControl {
        self.control.clone()
    }

    /// The wrapped card (to check its state after a fault).
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The wrapped card, mutably.
    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Unwraps the card.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: CardSide> CardSide for Faulty<C> {
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

    fn process(&mut self, command: &[u8]) -> Reply {
        let (delay, action) = self.control.on_command(command);
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        match action {
            None | Some(Fault::Delay(_)) => self.inner.process(command),
            Some(Fault::Mute) => Reply::Mute,
            Some(Fault::Garbage(Garbage::Bytes(bytes))) => Reply::Data(bytes),
            Some(Fault::Garbage(Garbage::Random { len })) => {
                let mut bytes = vec![0u8; len];
                rand::thread_rng().fill_bytes(&mut bytes);
                Reply::Data(bytes)
            }
            Some(Fault::Status(sw)) => Reply::Data(sw.to_be_bytes().to_vec()),
            Some(Fault::Remove) => Reply::Removed,
            Some(Fault::Tear(then)) => {
                // The card commits whatever the command does (a counter decrement)...
                let _ = self.inner.process(command);
                // ...and the answer is lost.
                match then {
                    AfterTear::Mute => Reply::Mute,
                    AfterTear::Remove => Reply::Removed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cps_apdu::{Transport, TransportError};
    use std::time::Instant;

    const SELECT: [u8; 13] = [
        0x00, 0xA4, 0x04, 0x00, 0x08, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00,
    ];
    const VERIFY_GOOD: [u8; 9] = [0x00, 0x20, 0x00, 0x01, 0x04, b'1', b'2', b'3', b'4'];
    const VERIFY_BAD: [u8; 9] = [0x00, 0x20, 0x00, 0x01, 0x04, b'0', b'0', b'0', b'0'];
    /// How long the in-test transport pretends to have waited for a mute card.
    const TIMEOUT: Duration = Duration::from_millis(500);

    /// A card with a PIN counter: SELECT answers 90 00, VERIFY checks "1234".
    #[derive(Debug)]
    struct PinCard {
        tries: u8,
        processed: u32,
    }

    impl CardSide for PinCard {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn process(&mut self, command: &[u8]) -> Reply {
            self.processed += 1;
            let sw: u16 = match command.get(1) {
                Some(0xA4) => 0x9000,
                Some(0x20) if self.tries == 0 => 0x6983,
                Some(0x20) if command.get(5..) == Some(b"1234".as_slice()) => {
                    self.tries = 3;
                    0x9000
                }
                Some(0x20) => {
                    self.tries -= 1;
                    0x63C0 | u16::from(self.tries)
                }
                _ => 0x6D00,
            };
            Reply::Data(sw.to_be_bytes().to_vec())
        }
    }

    /// The host side, as `cps-card` sees a transport: a mute card is a timeout, a removed
    /// card fails the command and then the reader is empty.
    struct Link {
        card: Faulty<PinCard>,
        removed: bool,
    }

    impl Transport for Link {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            if self.removed {
                return Err(TransportError::NoCard);
            }
            match self.card.process(command) {
                Reply::Data(data) => Ok(data),
                Reply::Mute => Err(TransportError::Timeout(TIMEOUT)),
                Reply::Removed => {
                    self.removed = true;
                    Err(TransportError::CardRemoved)
                }
            }
        }
        fn atr(&self) -> &[u8] {
            &[0x3B, 0x00]
        }
    }

    fn link() -> (Link, FaultControl) {
        let card = Faulty::new(PinCard {
            tries: 3,
            processed: 0,
        });
        let control = card.control();
        (
            Link {
                card,
                removed: false,
            },
            control,
        )
    }

    fn ok(link: &mut Link, command: &[u8]) -> Vec<u8> {
        link.transmit(command).expect("answer")
    }

    #[test]
    fn no_fault_means_the_inner_card() {
        let (mut link, control) = link();
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert_eq!(ok(&mut link, &VERIFY_BAD), [0x63, 0xC2]);
        assert_eq!(control.commands(), 2);
        assert_eq!(control.fired(), 0);
    }

    #[test]
    fn mute_on_the_nth_command_only() {
        let (mut link, control) = link();
        control.mute_on(2);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert!(matches!(
            link.transmit(&VERIFY_BAD),
            Err(TransportError::Timeout(_))
        ));
        assert_eq!(link.card.inner().tries, 3, "a mute card did not execute it");
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert_eq!(control.pending(), 0);
    }

    #[test]
    fn mute_from_now_until_cleared() {
        let (mut link, control) = link();
        control.mute_from_now();
        for _ in 0..3 {
            assert!(matches!(
                link.transmit(&SELECT),
                Err(TransportError::Timeout(_))
            ));
        }
        assert_eq!(control.fired(), 3);
        control.clear();
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
    }

    #[test]
    fn garbage_given_or_random() {
        let (mut link, control) = link();
        control.garbage_on(1, Garbage::Bytes(vec![0xDE, 0xAD]));
        control.garbage_on(2, Garbage::Random { len: 7 });
        assert_eq!(ok(&mut link, &SELECT), [0xDE, 0xAD]);
        assert_eq!(ok(&mut link, &VERIFY_BAD).len(), 7);
        assert_eq!(
            link.card.inner().processed,
            0,
            "garbage replaces processing"
        );
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
    }

    #[test]
    fn chosen_status_word() {
        let (mut link, control) = link();
        control.status_on(1, 0x6F00);
        assert_eq!(ok(&mut link, &VERIFY_BAD), [0x6F, 0x00]);
        assert_eq!(link.card.inner().tries, 3);
        assert_eq!(ok(&mut link, &VERIFY_BAD), [0x63, 0xC2]);
    }

    #[test]
    fn removal_after_n_commands() {
        let (mut link, control) = link();
        control.remove_after(2);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert!(matches!(
            link.transmit(&SELECT),
            Err(TransportError::CardRemoved)
        ));
        assert!(matches!(
            link.transmit(&SELECT),
            Err(TransportError::NoCard)
        ));
        assert_eq!(link.card.inner().processed, 2);
    }

    #[test]
    fn removal_on_an_instruction() {
        let (mut link, control) = link();
        control.remove_on_ins(0x20);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert!(matches!(
            link.transmit(&VERIFY_BAD),
            Err(TransportError::CardRemoved)
        ));
        assert_eq!(
            link.card.inner().tries,
            3,
            "removed before executing the command"
        );
    }

    #[test]
    fn slow_answers() {
        let (mut link, control) = link();
        control.slow(Duration::from_millis(30));
        let started = Instant::now();
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert!(started.elapsed() >= Duration::from_millis(60));
        control.clear();
        assert_eq!(control.pending(), 0);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
    }

    #[test]
    fn delays_add_to_other_faults() {
        let (mut link, control) = link();
        control.schedule(Trigger::Nth(1), Fault::Delay(Duration::from_millis(20)));
        control.status_on(1, 0x6581);
        control.status_on(1, 0x6F00); // same command: the first one scheduled acts
        let started = Instant::now();
        assert_eq!(ok(&mut link, &SELECT), [0x65, 0x81]);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(control.pending(), 0, "the losing fault is spent too");
        assert_eq!(control.fired(), 3);
    }

    #[test]
    fn tearing_commits_then_stays_silent() {
        let (mut link, control) = link();
        control.tear_on_ins(0x20, AfterTear::Mute);
        assert_eq!(ok(&mut link, &SELECT), [0x90, 0x00]);
        assert!(matches!(
            link.transmit(&VERIFY_BAD),
            Err(TransportError::Timeout(_))
        ));
        assert_eq!(link.card.inner().tries, 2, "the wrong PIN was counted");
        assert_eq!(ok(&mut link, &VERIFY_BAD), [0x63, 0xC1]);
    }

    #[test]
    fn tearing_commits_then_removes() {
        let (mut link, control) = link();
        control.schedule(Trigger::Nth(2), Fault::Tear(AfterTear::Remove));
        assert_eq!(ok(&mut link, &VERIFY_BAD), [0x63, 0xC2]);
        assert!(matches!(
            link.transmit(&VERIFY_GOOD),
            Err(TransportError::CardRemoved)
        ));
        assert_eq!(link.card.inner().tries, 3, "the good PIN reset the counter");
        assert!(matches!(
            link.transmit(&SELECT),
            Err(TransportError::NoCard)
        ));
    }

    #[test]
    fn control_works_from_another_thread() {
        let (mut link, control) = link();
        let remote = control.clone();
        thread::spawn(move || remote.status_on(1, 0x6A82))
            .join()
            .expect("thread");
        assert_eq!(ok(&mut link, &SELECT), [0x6A, 0x82]);
        fn send_sync<T: Send + Sync>() {}
        send_sync::<FaultControl>();
    }
}
