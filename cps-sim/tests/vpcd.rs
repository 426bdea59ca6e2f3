//! End to end through the real PC/SC stack: `pcsc` crate → libpcsclite → pcscd → vpcd →
//! TCP → our vpcd client → a small test card.
//!
//! Needs pcscd running with the vpcd driver (`scripts/test.sh` starts it and runs these
//! with `--include-ignored`). vpcd has no timeouts, so every test runs under its own.

use std::ffi::CString;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use cps_sim::faults::{FaultControl, Faulty, Garbage};
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use cps_sim::{CardSide, Reply};
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

const SELECT: [u8; 13] = [
    0x00, 0xA4, 0x04, 0x00, 0x08, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00,
];
/// T=1 only, no historical bytes.
const ATR_0: [u8; 4] = [0x3B, 0x80, 0x01, 0x81];
/// T=1 only, one historical byte (0x42), to tell the slots apart.
const ATR_1: [u8; 5] = [0x3B, 0x81, 0x01, 0x42, 0xC2];

/// A whole test, pcscd's presence polls included, stays well under this.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// How long a test waits for another process to free its slot.
const SLOT_WAIT: Duration = Duration::from_secs(120);
/// A card arriving or leaving is seen within ~0.4 s (the presence poll).
const STATE_LIMIT: Duration = Duration::from_secs(5);

static SLOT_0: Mutex<()> = Mutex::new(());
static SLOT_1: Mutex<()> = Mutex::new(());

/// Held while a test uses a slot.
struct SlotGuard {
    _process: SlotLock,
    _thread: MutexGuard<'static, ()>,
}

/// One test at a time per vpcd slot: tests in this binary run in parallel (the mutex),
/// and other test binaries may share the machine's pcscd (the file lock).
fn lock_slot(slot: u8) -> SlotGuard {
    let lock = if slot == 0 { &SLOT_0 } else { &SLOT_1 };
    // A failed test must not fail the others.
    let thread = lock.lock().unwrap_or_else(PoisonError::into_inner);
    SlotGuard {
        _process: SlotLock::acquire(slot, SLOT_WAIT).expect("slot lock"),
        _thread: thread,
    }
}

/// Runs `body` on its own thread and fails the test if it takes longer than `limit`.
fn with_timeout(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done.recv_timeout(limit) {
        Ok(()) => worker.join().expect("test body"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test took more than {limit:?}"),
    }
}

/// SELECT → 90 00; GET DATA (CA) → its data back + 90 00; anything else → 6D 00.
struct TestCard {
    atr: Vec<u8>,
}

impl CardSide for TestCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn process(&mut self, command: &[u8]) -> Reply {
        match command {
            [_, 0xA4, ..] => Reply::Data(vec![0x90, 0x00]),
            [_, 0xCA, _, _, lc, rest @ ..] => {
                let data = rest.get(..usize::from(*lc)).unwrap_or_default();
                Reply::Data([data, &[0x90, 0x00]].concat())
            }
            _ => Reply::Data(vec![0x6D, 0x00]),
        }
    }
}

fn test_card(atr: &[u8]) -> Box<dyn CardSide> {
    Box::new(TestCard { atr: atr.to_vec() })
}

fn faulty_card(atr: &[u8]) -> (Box<dyn CardSide>, FaultControl) {
    let card = Faulty::new(TestCard { atr: atr.to_vec() });
    let control = card.control();
    (Box::new(card), control)
}

fn reader(slot: u8) -> CString {
    CString::new(vpcd::reader_name(slot)).expect("reader name")
}

fn context() -> Context {
    Context::establish(Scope::User).expect("pcscd is not running: run scripts/test.sh")
}

/// Waits until the reader reports `want` (PRESENT or EMPTY), with pcscd's own events.
fn wait_for(ctx: &Context, slot: u8, want: State) {
    let deadline = Instant::now() + STATE_LIMIT;
    let mut states = [ReaderState::new(reader(slot), State::UNAWARE)];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => {
                panic!(
                    "{} did not become {want:?} within {STATE_LIMIT:?} (state {:?})",
                    vpcd::reader_name(slot),
                    states[0].event_state()
                )
            }
            Err(e) => panic!("SCardGetStatusChange: {e}"),
        }
        if states[0].event_state().contains(want) {
            return;
        }
        states[0].sync_current_state();
    }
}

fn attach(card: Box<dyn CardSide>, slot: u8) -> VpcdHandle {
    vpcd::attach(card, vpcd::slot_addr(slot), VpcdOptions::default())
        .expect("attach to vpcd (is pcscd running with vpcd?)")
}

/// Connects to our card: the ATR tells it from a card another process put in the slot
/// without taking the [`SlotLock`].
fn connect(ctx: &Context, slot: u8, atr: &[u8]) -> pcsc::Card {
    let card = ctx
        .connect(&reader(slot), ShareMode::Shared, Protocols::ANY)
        .expect("connect");
    let status = card.status2_owned().expect("status");
    assert_eq!(
        status.atr(),
        atr,
        "not our card in slot {slot}: another process attached one without the slot lock"
    );
    card
}

fn transmit(card: &pcsc::Card, command: &[u8]) -> Result<Vec<u8>, pcsc::Error> {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    card.transmit(command, &mut buf).map(<[u8]>::to_vec)
}

/// A card leaving during a command: pcscd reports either an error or, as vpcd does on
/// Debian 12, a successful transmit with an empty response (no status word at all).
fn no_answer(outcome: &Result<Vec<u8>, pcsc::Error>) -> bool {
    outcome.as_ref().map_or(true, Vec::is_empty)
}

fn detach(ctx: &Context, handle: VpcdHandle, slot: u8) {
    handle.shutdown().expect("shutdown");
    wait_for(ctx, slot, State::EMPTY);
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn atr_transmit_and_removal_on_slot_0() {
    let _slot = lock_slot(0);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        wait_for(&ctx, 0, State::EMPTY);
        let handle = attach(test_card(&ATR_0), 0);
        assert_eq!(handle.reader_name().as_deref(), Some("Virtual PCD 00 00"));
        wait_for(&ctx, 0, State::PRESENT);

        let card = connect(&ctx, 0, &ATR_0);
        assert_eq!(transmit(&card, &SELECT).expect("SELECT"), [0x90, 0x00]);
        assert_eq!(
            transmit(&card, &[0x80, 0xCA, 0x00, 0x00, 0x03, 1, 2, 3, 0x00]).expect("GET DATA"),
            [1, 2, 3, 0x90, 0x00]
        );
        assert_eq!(
            transmit(&card, &[0x00, 0x12, 0x00, 0x00]).expect("unknown"),
            [0x6D, 0x00]
        );
        card.disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| e)
            .expect("disconnect");

        detach(&ctx, handle, 0);
        let empty = ctx.connect(&reader(0), ShareMode::Shared, Protocols::ANY);
        assert!(
            matches!(empty, Err(pcsc::Error::NoSmartcard)),
            "the reader is empty"
        );
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn attach_and_detach_twice() {
    let _slot = lock_slot(0);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        for round in 0..2u8 {
            wait_for(&ctx, 0, State::EMPTY);
            let handle = attach(test_card(&ATR_0), 0);
            wait_for(&ctx, 0, State::PRESENT);
            let card = connect(&ctx, 0, &ATR_0);
            let data = [0x80, 0xCA, 0x00, 0x00, 0x01, round, 0x00];
            assert_eq!(
                transmit(&card, &data).expect("GET DATA"),
                [round, 0x90, 0x00]
            );
            drop(card);
            detach(&ctx, handle, 0);
        }
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn slot_1_works_independently_of_slot_0() {
    // Always slot 0 before slot 1: no deadlock with the other tests.
    let _slot_0 = lock_slot(0);
    let _slot_1 = lock_slot(1);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        wait_for(&ctx, 0, State::EMPTY);
        wait_for(&ctx, 1, State::EMPTY);
        let zero = attach(test_card(&ATR_0), 0);
        let one = attach(test_card(&ATR_1), 1);
        assert_eq!(one.reader_name().as_deref(), Some("Virtual PCD 00 01"));
        wait_for(&ctx, 0, State::PRESENT);
        wait_for(&ctx, 1, State::PRESENT);

        let card_0 = connect(&ctx, 0, &ATR_0);
        let card_1 = connect(&ctx, 1, &ATR_1);
        assert_eq!(transmit(&card_1, &SELECT).expect("SELECT 1"), [0x90, 0x00]);

        // Slot 1 leaves; slot 0 carries on.
        drop(card_1);
        detach(&ctx, one, 1);
        assert_eq!(transmit(&card_0, &SELECT).expect("SELECT 0"), [0x90, 0x00]);
        drop(card_0);
        detach(&ctx, zero, 0);
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn remove_and_insert_again() {
    let _slot = lock_slot(1);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        wait_for(&ctx, 1, State::EMPTY);
        let handle = attach(test_card(&ATR_1), 1);
        wait_for(&ctx, 1, State::PRESENT);
        let card = connect(&ctx, 1, &ATR_1);
        assert_eq!(transmit(&card, &SELECT).expect("SELECT"), [0x90, 0x00]);

        handle.remove();
        wait_for(&ctx, 1, State::EMPTY);
        assert!(!handle.is_connected());
        assert_eq!(transmit(&card, &SELECT), Err(pcsc::Error::RemovedCard));
        drop(card);

        handle.insert();
        wait_for(&ctx, 1, State::PRESENT);
        let card = connect(&ctx, 1, &ATR_1);
        assert_eq!(transmit(&card, &SELECT).expect("SELECT"), [0x90, 0x00]);
        drop(card);
        detach(&ctx, handle, 1);
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn faults_through_pcscd() {
    let _slot = lock_slot(1);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        wait_for(&ctx, 1, State::EMPTY);
        let (faulty, control) = faulty_card(&ATR_1);
        let handle = attach(faulty, 1);
        wait_for(&ctx, 1, State::PRESENT);
        let card = connect(&ctx, 1, &ATR_1);

        control.status_on(1, 0x6F00);
        assert_eq!(transmit(&card, &SELECT).expect("status"), [0x6F, 0x00]);
        control.garbage_on(1, Garbage::Bytes(vec![0xDE, 0xAD, 0xBE]));
        assert_eq!(
            transmit(&card, &SELECT).expect("garbage"),
            [0xDE, 0xAD, 0xBE]
        );
        assert_eq!(transmit(&card, &SELECT).expect("healed"), [0x90, 0x00]);

        control.remove_on_ins(0xCA);
        assert_eq!(transmit(&card, &SELECT).expect("SELECT"), [0x90, 0x00]);
        let torn = transmit(&card, &[0x80, 0xCA, 0x00, 0x00, 0x01, 0x07, 0x00]);
        assert!(no_answer(&torn), "removed instead of answering: {torn:?}");
        wait_for(&ctx, 1, State::EMPTY);
        assert!(!handle.is_connected());
        assert_eq!(transmit(&card, &SELECT), Err(pcsc::Error::RemovedCard));
        drop(card);

        handle.insert();
        wait_for(&ctx, 1, State::PRESENT);
        let card = connect(&ctx, 1, &ATR_1);
        assert_eq!(transmit(&card, &SELECT).expect("back"), [0x90, 0x00]);
        drop(card);
        detach(&ctx, handle, 1);
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_mute_card_blocks_the_reader_until_removed() {
    let _slot = lock_slot(0);
    with_timeout(TEST_LIMIT, || {
        let ctx = context();
        wait_for(&ctx, 0, State::EMPTY);
        let (faulty, control) = faulty_card(&ATR_0);
        let handle = attach(faulty, 0);
        wait_for(&ctx, 0, State::PRESENT);
        let card = connect(&ctx, 0, &ATR_0);
        assert_eq!(transmit(&card, &SELECT).expect("SELECT"), [0x90, 0x00]);

        control.mute_on(1);
        let (result_tx, result) = mpsc::channel();
        let blocked = thread::spawn(move || {
            let _ = result_tx.send(transmit(&card, &SELECT));
        });
        assert!(
            result.recv_timeout(Duration::from_millis(500)).is_err(),
            "vpcd has no timeout: the transmit must still be waiting"
        );
        handle.remove();
        let outcome = result
            .recv_timeout(STATE_LIMIT)
            .expect("the removal ends the blocked transmit");
        assert!(
            no_answer(&outcome),
            "no answer from a mute card: {outcome:?}"
        );
        blocked.join().expect("transmit thread");
        wait_for(&ctx, 0, State::EMPTY);
        detach(&ctx, handle, 0);
    });
}
