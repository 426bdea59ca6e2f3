//! Tier 3: the PC/SC transport through the real pcscd with vsmartcard's vpcd driver,
//! against a tiny virtual card written here (it answers `04` with the CPS3 ATR and
//! any APDU with its INS byte and `90 00`, and can go mute or leave).
//!
//! `#[ignore]`d because they need the daemon: `scripts/test.sh` starts pcscd and runs
//! them too. Each test holds one vpcd slot (a lock per slot) and runs under its own
//! timeout, since vpcd never times out.
#![cfg(feature = "pcsc")]
// The helpers below are test code too; clippy only exempts `#[test]` functions.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cps_apdu::{Transport, TransportError};
use cps_card::pcsc::{
    ConnectOptions, Disposition, Event, PcscContext, PcscError, PcscTransport, Protocol,
    ReaderEvent, ReaderSelector,
};

const CPS3_ATR: [u8; 17] = [
    0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90,
    0x00,
];
const SELECT: [u8; 5] = [0x00, 0xA4, 0x04, 0x00, 0x00];
/// What the test card answers to SELECT: its INS byte, then `90 00`.
const SELECT_ANSWER: [u8; 3] = [0xA4, 0x90, 0x00];

// ---- the test card ----

/// One lock per vpcd slot: a second card on a busy port would be queued by the kernel
/// and silently become the card of whoever uses the slot next.
static SLOTS: [Mutex<()>; 2] = [Mutex::new(()), Mutex::new(())];

/// A vpcd slot held by this test.
struct Slot {
    index: usize,
    _guard: MutexGuard<'static, ()>,
    // Other test programs (cps-sim's, cps-cli's) attach cards too: this lock keeps
    // them out of the slot across processes.
    _lock: cps_sim::vpcd::SlotLock,
}

impl Slot {
    /// Takes a free slot whose reader is empty (other processes on this machine may use
    /// vpcd too: their card shows in the reader, ours would be queued behind it).
    fn take(ctx: &PcscContext) -> Slot {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for (index, lock) in SLOTS.iter().enumerate() {
                let guard = match lock.try_lock() {
                    Ok(guard) => guard,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => continue,
                };
                let Ok(lock) = cps_sim::vpcd::SlotLock::acquire(index as u8, Duration::ZERO) else {
                    continue;
                };
                let slot = Slot {
                    index,
                    _guard: guard,
                    _lock: lock,
                };
                if ctx
                    .wait_for(&slot.reader(), Event::Removed, Duration::ZERO)
                    .unwrap()
                {
                    return slot;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no free vpcd slot: another virtual card stays in both readers"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn reader(&self) -> String {
        format!("Virtual PCD 00 {:02}", self.index)
    }

    fn port(&self) -> u16 {
        35963 + u16::try_from(self.index).unwrap()
    }
}

/// The card side of one vpcd connection.
struct TestCard {
    stream: TcpStream,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the test and the card's thread share.
#[derive(Default)]
struct Shared {
    /// Hold back APDU answers (the card still answers ATR requests).
    mute: AtomicBool,
    /// The test is taking the card out: stop holding answers back.
    closing: AtomicBool,
    /// Every frame received from vpcd.
    frames: Mutex<Vec<Vec<u8>>>,
}

impl TestCard {
    /// Plugs the card into `slot` and waits until pcscd reports it present.
    fn insert(ctx: &PcscContext, slot: &Slot) -> TestCard {
        let deadline = Instant::now() + Duration::from_secs(60);
        let card = loop {
            let card = TestCard::plug(slot);
            // pcscd asks for the ATR at least every 0.4 s: silence means this connection
            // waits in the kernel's queue behind another process's virtual card.
            if card.saw_any_within(Duration::from_secs(2)) {
                break card;
            }
            drop(card);
            assert!(
                Instant::now() < deadline,
                "another process keeps a virtual card in {}",
                slot.reader()
            );
            ctx.wait_for(&slot.reader(), Event::Removed, Duration::from_secs(10))
                .unwrap();
        };
        assert!(
            ctx.wait_for(&slot.reader(), Event::Inserted, Duration::from_secs(5))
                .unwrap(),
            "pcscd did not see the test card in {}",
            slot.reader()
        );
        card
    }

    fn plug(slot: &Slot) -> TestCard {
        let stream = TcpStream::connect(("127.0.0.1", slot.port())).expect("vpcd is not listening");
        stream.set_nodelay(true).unwrap();
        let shared = Arc::new(Shared::default());
        let thread = {
            let (stream, shared) = (stream.try_clone().unwrap(), shared.clone());
            thread::spawn(move || serve(stream, &shared))
        };
        TestCard {
            stream,
            shared,
            thread: Some(thread),
        }
    }

    fn saw_any_within(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.shared.frames.lock().unwrap().is_empty() {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Stops answering APDUs: the next one waits for [`wake`](Self::wake) (or removal).
    fn go_mute(&self) {
        self.shared.mute.store(true, Ordering::SeqCst);
    }

    /// Answers again, starting with the APDU held back.
    fn wake(&self) {
        self.shared.mute.store(false, Ordering::SeqCst);
    }

    /// Every frame vpcd sent so far.
    fn frames(&self) -> Vec<Vec<u8>> {
        self.shared.frames.lock().unwrap().clone()
    }

    fn clear_frames(&self) {
        self.shared.frames.lock().unwrap().clear();
    }

    /// Waits up to `limit` for vpcd to send `frame`.
    fn saw_within(&self, frame: &[u8], limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.frames().iter().any(|f| f == frame) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Takes the card out: closes the socket, which vpcd reads as a removal.
    fn remove(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestCard {
    fn drop(&mut self) {
        self.close();
    }
}

/// The card's loop: 2-byte big-endian length, payload; `04` asks for the ATR, other
/// 1-byte frames are power events, longer ones are APDUs.
fn serve(mut stream: TcpStream, shared: &Shared) {
    loop {
        let mut len = [0; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut frame = vec![0; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut frame).is_err() {
            return;
        }
        shared.frames.lock().unwrap().push(frame.clone());
        let answer = match frame.as_slice() {
            [0x04] => CPS3_ATR.to_vec(),
            [_] => continue,
            apdu => {
                while shared.mute.load(Ordering::SeqCst) {
                    if shared.closing.load(Ordering::SeqCst) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                vec![apdu[1], 0x90, 0x00]
            }
        };
        // One write per reply: vpcd and Nagle make split writes slow.
        let mut out = u16::try_from(answer.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(&answer);
        if stream.write_all(&out).is_err() {
            return;
        }
    }
}

/// Runs `test` with a time limit, as vpcd never gives up on a mute card.
fn within(limit: Duration, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
    }
}

fn context() -> PcscContext {
    PcscContext::establish().expect("pcscd is not reachable: start it (scripts/test.sh does)")
}

fn options(timeout: Duration) -> ConnectOptions {
    ConnectOptions::default().with_timeout(timeout)
}

// ---- readers ----

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn lists_the_virtual_reader_with_its_card_and_atr() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let before = ctx.list_readers().unwrap();
        let empty = before.iter().find(|r| r.name == slot.reader()).unwrap();
        assert!(!empty.card_present && empty.atr.is_none(), "{empty:?}");

        let _card = TestCard::insert(&ctx, &slot);
        let readers = ctx.list_readers().unwrap();
        assert!(
            readers.iter().any(|r| r.name == "Virtual PCD 00 00"),
            "{readers:?}"
        );
        for (i, reader) in readers.iter().enumerate() {
            assert_eq!(reader.index, i);
        }
        let ours = readers.iter().find(|r| r.name == slot.reader()).unwrap();
        assert!(
            ours.card_present && !ours.mute && !ours.unavailable,
            "{ours:?}"
        );
        assert_eq!(ours.atr.as_deref(), Some(&CPS3_ATR[..]));

        let by_index = ctx
            .select_reader(&ReaderSelector::parse(&ours.index.to_string()))
            .unwrap();
        assert_eq!(by_index.name, slot.reader());
        let by_part = ctx
            .select_reader(&ReaderSelector::parse(&format!("pcd 00 {:02}", slot.index)))
            .unwrap();
        assert_eq!(by_part.name, slot.reader());
        match ctx.select_reader(&ReaderSelector::parse("virtual pcd")) {
            Err(PcscError::AmbiguousReader { candidates, .. }) => {
                assert!(candidates.contains(&slot.reader()), "{candidates:?}");
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn connecting_to_a_missing_reader_or_an_empty_one_says_so() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        match PcscTransport::connect(&ctx, "No Such Reader 00 00", ConnectOptions::default()) {
            Err(e @ PcscError::ReaderNotFound { .. }) => {
                let PcscError::ReaderNotFound { available, .. } = &e else {
                    unreachable!()
                };
                assert!(available.iter().any(|r| r == "Virtual PCD 00 00"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let slot = Slot::take(&ctx);
        match PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()) {
            Err(PcscError::NoCard { reader }) => assert_eq!(reader, slot.reader()),
            other => panic!("{other:?}"),
        }
    });
}

// ---- sessions ----

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn connects_with_t0_and_transmits_raw_apdus() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let mut transport =
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();
        assert_eq!(transport.protocol(), Protocol::T0);
        assert_eq!(transport.atr(), CPS3_ATR);
        assert_eq!(transport.reader(), slot.reader());
        assert_eq!(transport.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        assert!(card.frames().contains(&SELECT.to_vec()));

        // Through the trait object, as card logic holds it.
        let dynamic: &mut dyn Transport = &mut transport;
        assert_eq!(
            dynamic.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x02]).unwrap(),
            [0xB0, 0x90, 0x00]
        );
        transport.disconnect(Disposition::Leave).unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_mute_card_times_out_and_the_transport_then_refuses_calls() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let timeout = Duration::from_secs(1);
        let mut transport = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        assert_eq!(transport.transmit(&SELECT).unwrap(), SELECT_ANSWER);

        card.go_mute();
        let error = transport.transmit(&SELECT).unwrap_err();
        assert!(
            matches!(error, TransportError::Timeout(t) if t == timeout),
            "{error:?}"
        );
        assert!(!transport.is_usable());

        let error = transport.transmit(&SELECT).unwrap_err();
        assert!(matches!(error, TransportError::Other { .. }), "{error:?}");
        assert!(error.to_string().contains("unusable"), "{error}");
        assert!(transport.begin_transaction().is_err());

        // The card leaving unblocks the worker, which then leaves the card.
        card.remove();
        drop(transport);
        assert!(
            ctx.wait_for(&slot.reader(), Event::Removed, Duration::from_secs(5))
                .unwrap()
        );
        // The reader is usable again afterwards.
        let card = TestCard::insert(&ctx, &slot);
        let mut transport = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        assert_eq!(transport.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        drop(transport);
        card.remove();
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn after_a_timeout_the_disposition_asked_for_still_reaches_the_card() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let timeout = Duration::from_millis(500);

        // Disconnecting with Reset (as after a PIN operation) on an unusable transport:
        // the reset is queued behind the blocked call and happens once it returns.
        let mut transport = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        card.go_mute();
        let error = transport.transmit(&SELECT).unwrap_err();
        assert!(matches!(error, TransportError::Timeout(_)), "{error:?}");
        let error = transport.disconnect(Disposition::Reset).unwrap_err();
        assert!(error.to_string().contains("unusable"), "{error}");
        card.clear_frames();
        card.wake();
        assert!(
            card.saw_within(&RESET, Duration::from_secs(2)),
            "{:?}",
            card.frames()
        );

        // Dropped instead: the worker leaves the card once the call returns.
        let mut transport = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        card.go_mute();
        assert!(matches!(
            transport.transmit(&SELECT),
            Err(TransportError::Timeout(_))
        ));
        drop(transport);
        card.clear_frames();
        card.wake();
        assert!(
            !card.saw_within(&RESET, Duration::from_millis(800)),
            "{:?}",
            card.frames()
        );
        // The handle is gone: a new session works.
        let mut transport = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        assert_eq!(transport.transmit(&SELECT).unwrap(), SELECT_ANSWER);
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn removal_mid_session_is_card_removed() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let mut transport =
            PcscTransport::connect(&ctx, &slot.reader(), options(Duration::from_secs(5))).unwrap();
        assert_eq!(transport.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        card.remove();
        assert!(
            ctx.wait_for(&slot.reader(), Event::Removed, Duration::from_secs(5))
                .unwrap()
        );
        let error = transport.transmit(&SELECT).unwrap_err();
        assert!(matches!(error, TransportError::CardRemoved), "{error:?}");
        // Still usable as a transport: the error came from PC/SC, not a timeout.
        assert!(transport.is_usable());
        assert!(matches!(
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()),
            Err(PcscError::NoCard { .. })
        ));
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn wait_for_sees_insertion_and_removal() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let reader = slot.reader();
        assert!(
            ctx.wait_for(&reader, Event::Removed, Duration::ZERO)
                .unwrap()
        );
        assert!(
            !ctx.wait_for(&reader, Event::Inserted, Duration::from_millis(300))
                .unwrap()
        );

        // Inserted while waiting.
        let waiter = {
            let reader = reader.clone();
            thread::spawn(move || {
                let start = Instant::now();
                let seen = context()
                    .wait_for(&reader, Event::Inserted, Duration::from_secs(5))
                    .unwrap();
                (seen, start.elapsed())
            })
        };
        thread::sleep(Duration::from_millis(300));
        let card = TestCard::insert(&ctx, &slot);
        let (seen, took) = waiter.join().unwrap();
        assert!(seen, "insertion not seen after {took:?}");
        card.remove();
        assert!(
            ctx.wait_for(&reader, Event::Removed, Duration::from_secs(5))
                .unwrap()
        );

        let card = TestCard::insert(&ctx, &slot);
        assert!(
            ctx.wait_for(&reader, Event::Inserted, Duration::ZERO)
                .unwrap()
        );
        assert!(
            !ctx.wait_for(&reader, Event::Removed, Duration::from_millis(100))
                .unwrap()
        );
        card.remove();
        assert!(
            ctx.wait_for(&reader, Event::Removed, Duration::from_secs(5))
                .unwrap()
        );

        assert!(matches!(
            ctx.wait_for("No Such Reader", Event::Inserted, Duration::ZERO),
            Err(PcscError::ReaderNotFound { .. })
        ));
    });
}

// ---- transactions ----

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_transaction_keeps_other_handles_out_until_it_ends() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let _card = TestCard::insert(&ctx, &slot);
        let timeout = Duration::from_secs(3);
        let mut ours = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();
        let mut other = PcscTransport::connect(&ctx, &slot.reader(), options(timeout)).unwrap();

        let mut txn = ours.begin_transaction().unwrap();
        assert_eq!(txn.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        assert_eq!(txn.atr(), CPS3_ATR);
        // pcsc-lite makes the other handle's command wait for the end of the transaction.
        let (sent, answered) = mpsc::channel();
        let waiting = thread::spawn(move || {
            let answer = other.transmit(&SELECT);
            sent.send(()).unwrap();
            (other, answer)
        });
        assert!(answered.recv_timeout(Duration::from_millis(500)).is_err());
        assert_eq!(txn.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        txn.end().unwrap();
        answered.recv_timeout(Duration::from_secs(2)).unwrap();
        let (mut other, answer) = waiting.join().unwrap();
        assert_eq!(answer.unwrap(), SELECT_ANSWER);

        // The guard ends the transaction on drop too.
        {
            let mut txn = ours.begin_transaction().unwrap();
            txn.transmit(&SELECT).unwrap();
        }
        assert_eq!(other.transmit(&SELECT).unwrap(), SELECT_ANSWER);

        // The closure form, even when the operation fails.
        let result: Result<(), TransportError> = ours.transaction(|t| {
            t.transmit(&SELECT)?;
            Err(TransportError::NoCard)
        });
        assert!(matches!(result, Err(TransportError::NoCard)));
        assert_eq!(other.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        let answer = ours.transaction(|t| t.transmit(&SELECT)).unwrap();
        assert_eq!(answer, SELECT_ANSWER);

        ours.disconnect(Disposition::Leave).unwrap();
        other.disconnect(Disposition::Leave).unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_reset_by_another_application_is_card_reset_until_reconnect() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let _card = TestCard::insert(&ctx, &slot);
        let mut ours =
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();
        let other =
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();
        assert_eq!(ours.transmit(&SELECT).unwrap(), SELECT_ANSWER);

        other.disconnect(Disposition::Reset).unwrap();
        let error = ours.begin_transaction().unwrap_err();
        assert!(matches!(error, TransportError::CardReset), "{error:?}");
        let error = ours.transmit(&SELECT).unwrap_err();
        assert!(matches!(error, TransportError::CardReset), "{error:?}");

        ours.reconnect(Disposition::Leave).unwrap();
        assert_eq!(ours.atr(), CPS3_ATR);
        assert_eq!(ours.protocol(), Protocol::T0);
        let answer = ours.transaction(|t| t.transmit(&SELECT)).unwrap();
        assert_eq!(answer, SELECT_ANSWER);
        ours.disconnect(Disposition::Leave).unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_reset_asked_during_our_transaction_waits_for_its_end_then_is_card_reset() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let mut ours =
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();
        let other =
            PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();

        let mut txn = ours.begin_transaction().unwrap();
        let resetting = thread::spawn(move || other.disconnect(Disposition::Reset));
        thread::sleep(Duration::from_millis(300));
        // The operation in the transaction completes untouched...
        assert_eq!(txn.transmit(&SELECT).unwrap(), SELECT_ANSWER);
        assert!(
            !card.frames().contains(&RESET.to_vec()),
            "{:?}",
            card.frames()
        );
        txn.end().unwrap();
        // ...the reset happens after it, and the next operation learns of it.
        resetting.join().unwrap().unwrap();
        assert!(
            card.saw_within(&RESET, Duration::from_secs(2)),
            "{:?}",
            card.frames()
        );
        let error = ours.transaction(|t| t.transmit(&SELECT)).unwrap_err();
        assert!(matches!(error, TransportError::CardReset), "{error:?}");
        ours.reconnect(Disposition::Leave).unwrap();
        assert_eq!(
            ours.transaction(|t| t.transmit(&SELECT)).unwrap(),
            SELECT_ANSWER
        );
    });
}

// ---- dispositions ----

const RESET: [u8; 1] = [0x02];
const POWER_OFF: [u8; 1] = [0x00];

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn leave_and_drop_send_nothing_reset_and_unpower_reach_the_card() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let card = TestCard::insert(&ctx, &slot);
        let connect =
            || PcscTransport::connect(&ctx, &slot.reader(), ConnectOptions::default()).unwrap();

        let mut transport = connect();
        transport.transmit(&SELECT).unwrap();
        card.clear_frames();
        transport.disconnect(Disposition::Leave).unwrap();
        assert!(
            !card.saw_within(&RESET, Duration::from_millis(800)),
            "{:?}",
            card.frames()
        );

        let mut transport = connect();
        transport.transmit(&SELECT).unwrap();
        card.clear_frames();
        drop(transport);
        assert!(
            !card.saw_within(&RESET, Duration::from_millis(800)),
            "{:?}",
            card.frames()
        );

        let mut transport = connect();
        transport.transmit(&SELECT).unwrap();
        card.clear_frames();
        transport.disconnect(Disposition::Reset).unwrap();
        assert!(
            card.saw_within(&RESET, Duration::from_secs(2)),
            "{:?}",
            card.frames()
        );

        let mut transport = connect();
        transport.transmit(&SELECT).unwrap();
        card.clear_frames();
        transport.disconnect(Disposition::Unpower).unwrap();
        assert!(
            card.saw_within(&POWER_OFF, Duration::from_secs(2)),
            "{:?}",
            card.frames()
        );
        assert!(
            !card.frames().contains(&RESET.to_vec()),
            "{:?}",
            card.frames()
        );
    });
}

// ---- watching ----

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn watch_reports_readers_then_insertions_and_removals() {
    within(Duration::from_secs(70), || {
        let ctx = context();
        let slot = Slot::take(&ctx);
        let reader = slot.reader();
        let mut watcher = ctx.watch().unwrap();
        let mut initial = Vec::new();
        while let Some(event) = watcher.next_event(Some(Duration::ZERO)).unwrap() {
            initial.push(event);
        }
        assert!(
            initial.contains(&ReaderEvent::ReaderAdded {
                reader: reader.clone()
            }),
            "{initial:?}"
        );
        let ours = |watcher: &mut cps_card::pcsc::Watcher| loop {
            let event = watcher
                .next_event(Some(Duration::from_secs(5)))
                .unwrap()
                .expect("no event within 5 s");
            // Other processes may use the other vpcd slot meanwhile.
            if event.reader() == reader {
                break event;
            }
        };

        let card = TestCard::insert(&ctx, &slot);
        assert_eq!(
            ours(&mut watcher),
            ReaderEvent::CardInserted {
                reader: reader.clone(),
                atr: CPS3_ATR.to_vec()
            }
        );
        card.remove();
        assert_eq!(
            ours(&mut watcher),
            ReaderEvent::CardRemoved {
                reader: reader.clone()
            }
        );

        // Cancelling from another thread ends the iterator.
        let canceller = watcher.canceller();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            canceller.cancel().unwrap();
        });
        for event in watcher.by_ref() {
            event.unwrap();
        }
        stopper.join().unwrap();
        assert!(watcher.next().is_none());
    });
}
