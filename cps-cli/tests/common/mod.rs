//! A virtual card with faults on demand in vpcd slot 0, for the pcscd-tier tests of the
//! `cps` binary; the slot lock keeps other tests and test processes out meanwhile.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use cps_card::pcsc::{Event, PcscContext};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::faults::{FaultControl, Faulty};
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use serde_json::Value;

pub const SLOT: u8 = 0;
pub const READER: &str = "Virtual PCD 00 00";
/// Generous: a wait only this long when something hangs.
pub const WAIT: Duration = Duration::from_secs(10);

/// A card in slot 0: its fault schedule and its true counters, kept current by the
/// card itself (the persistence hook runs before every answer).
pub struct Inserted {
    pub handle: Option<VpcdHandle>,
    pub control: FaultControl,
    truth: Arc<Mutex<Counters>>,
    _lock: SlotLock,
}

pub fn insert(profile: &str, counters: Option<Counters>) -> Inserted {
    let lock = SlotLock::acquire(SLOT, Duration::from_secs(300)).unwrap();
    let ctx = PcscContext::establish().unwrap();
    assert!(ctx.wait_for(READER, Event::Removed, WAIT).unwrap());
    let mut card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
    if let Some(c) = counters {
        card.set_counters(c);
    }
    let truth = Arc::new(Mutex::new(card.counters()));
    let hook = truth.clone();
    card.on_counters_changed(Box::new(move |c| {
        *hook.lock().unwrap() = *c;
        Ok(())
    }));
    let card = Faulty::new(card);
    let control = card.control();
    let handle = vpcd::attach(
        Box::new(card),
        vpcd::slot_addr(SLOT),
        VpcdOptions::default().with_slot(SLOT),
    )
    .unwrap();
    assert!(handle.wait_connected(WAIT));
    assert!(
        ctx.wait_for(READER, Event::Inserted, WAIT).unwrap(),
        "pcscd did not see the virtual card"
    );
    Inserted {
        handle: Some(handle),
        control,
        truth,
        _lock: lock,
    }
}

impl Inserted {
    /// The card's counters now, as the card itself keeps them.
    pub fn truth(&self) -> Counters {
        *self.truth.lock().unwrap()
    }

    fn handle(&self) -> &VpcdHandle {
        self.handle.as_ref().unwrap()
    }

    /// Pulls the card out (also unblocks a reader stuck on a mute card) and puts it
    /// back, waiting for pcscd to see both.
    pub fn reinsert(&self) {
        let ctx = PcscContext::establish().unwrap();
        self.control.clear();
        self.handle().remove();
        assert!(ctx.wait_for(READER, Event::Removed, WAIT).unwrap());
        self.handle().insert();
        assert!(self.handle().wait_connected(WAIT));
        assert!(ctx.wait_for(READER, Event::Inserted, WAIT).unwrap());
    }

    /// Puts back a card that removed itself (a fault).
    ///
    /// Right after a card leaves in the middle of a command, vpcd sometimes leaves the
    /// next connection waiting in the kernel's backlog and the reader stays empty:
    /// pulled out again and put back, the card is seen. Bounded attempts.
    pub fn insert_again(&self) {
        let ctx = PcscContext::establish().unwrap();
        self.control.clear();
        // The worker must have seen its own removal first, or it would undo the insert.
        assert!(self.handle().wait_disconnected(WAIT));
        assert!(ctx.wait_for(READER, Event::Removed, WAIT).unwrap());
        for _ in 0..5 {
            self.handle().insert();
            assert!(self.handle().wait_connected(WAIT));
            if ctx
                .wait_for(READER, Event::Inserted, Duration::from_secs(3))
                .unwrap()
            {
                return;
            }
            self.handle().remove();
            assert!(self.handle().wait_disconnected(WAIT));
        }
        panic!("pcscd never saw the card again");
    }

    /// `cps status --json` agrees with the card's own counters.
    pub fn status_tells_the_truth(&self, label: &str) {
        let out = cps(&["status", "--json"]).assert().success();
        let doc = json(&out);
        let truth = self.truth();
        assert_eq!(doc["pin"]["tries_left"], truth.pin_tries_left, "{label}");
        assert_eq!(doc["puk"]["tries_left"], truth.puk_tries_left, "{label}");
        // Only the CPS3 has a usage counter.
        if !doc["puk"]["usage_left"].is_null() {
            assert_eq!(doc["puk"]["usage_left"], truth.puk_usage_left, "{label}");
        }
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.shutdown();
        }
        if let Ok(ctx) = PcscContext::establish() {
            let _ = ctx.wait_for(READER, Event::Removed, WAIT);
        }
    }
}

/// The `cps` binary on slot 0, English messages, a 3-second card timeout.
pub fn cps(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("cps").unwrap();
    c.args(["--reader", READER, "--timeout", "3", "--lang", "en"])
        .args(args)
        .timeout(Duration::from_secs(60));
    c
}

pub fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

pub fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

pub fn code(out: &assert_cmd::assert::Assert) -> Option<i32> {
    out.get_output().status.code()
}
