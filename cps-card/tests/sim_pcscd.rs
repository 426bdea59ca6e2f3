//! The same behaviour suite as `sim_inprocess.rs`, through the real stack: the `pcsc`
//! crate → pcscd → vsmartcard's vpcd → the virtual card over loopback.
#![cfg(feature = "pcsc")]
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Harness;
use cps_apdu::{Transport, TransportError};
use cps_card::pcsc::{ConnectOptions, Disposition, Event, PcscContext, PcscTransport};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};

const SLOT: u8 = 0;
const READER: &str = "Virtual PCD 00 00";

/// A virtual card in slot 0 and a PC/SC connection to it; both go away on drop.
struct Attached {
    transport: Option<PcscTransport>,
    handle: Option<VpcdHandle>,
}

impl Transport for Attached {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.transport.as_mut().unwrap().transmit(command)
    }
    fn atr(&self) -> &[u8] {
        self.transport.as_ref().unwrap().atr()
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let Some(t) = self.transport.take() {
            let _ = t.disconnect(Disposition::Leave);
        }
        if let Some(h) = self.handle.take() {
            let _ = h.shutdown();
        }
        let ctx = PcscContext::establish().unwrap();
        assert!(
            ctx.wait_for(READER, Event::Removed, Duration::from_secs(5))
                .unwrap()
        );
    }
}

struct ThroughPcscd {
    ctx: PcscContext,
    _lock: SlotLock,
}

impl Harness for ThroughPcscd {
    type T = Attached;
    fn card(&self, profile: &str, counters: Option<Counters>) -> Attached {
        let mut card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
        if let Some(c) = counters {
            card.set_counters(c);
        }
        let handle = vpcd::attach(
            Box::new(card),
            vpcd::slot_addr(SLOT),
            VpcdOptions::default().with_slot(SLOT),
        )
        .unwrap();
        assert!(handle.wait_connected(Duration::from_secs(5)));
        assert!(
            self.ctx
                .wait_for(READER, Event::Inserted, Duration::from_secs(5))
                .unwrap()
        );
        let transport = self
            .ctx
            .connect(
                READER,
                ConnectOptions::default().with_timeout(Duration::from_secs(5)),
            )
            .unwrap();
        Attached {
            transport: Some(transport),
            handle: Some(handle),
        }
    }
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn behaviour_suite_through_pcscd() {
    let lock = SlotLock::acquire(SLOT, Duration::from_secs(120)).unwrap();
    let ctx = PcscContext::establish().unwrap();
    assert!(
        ctx.wait_for(READER, Event::Removed, Duration::from_secs(5))
            .unwrap()
    );
    common::suite(&ThroughPcscd { ctx, _lock: lock });
}
