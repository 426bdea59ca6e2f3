//! Tier 3: `cps diag` end to end through the real pcscd and vsmartcard's vpcd, with the
//! virtual card in slot 0. `#[ignore]`d outside `scripts/test.sh`, which starts pcscd.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assert_cmd::Command;
use cps_card::pcsc::{Event, PcscContext};
use cps_sim::card::VirtualCard;
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use serde_json::Value;

const SLOT: u8 = 0;
const READER: &str = "Virtual PCD 00 00";

/// A virtual card in slot 0 for the length of a test, the slot lock held meanwhile.
struct Inserted {
    handle: Option<VpcdHandle>,
    _lock: SlotLock,
}

fn insert(profile: &str) -> Inserted {
    let lock = SlotLock::acquire(SLOT, Duration::from_secs(120)).unwrap();
    let ctx = PcscContext::establish().unwrap();
    assert!(
        ctx.wait_for(READER, Event::Removed, Duration::from_secs(5))
            .unwrap()
    );
    let card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
    let handle = vpcd::attach(
        Box::new(card),
        vpcd::slot_addr(SLOT),
        VpcdOptions::default().with_slot(SLOT),
    )
    .unwrap();
    assert!(handle.wait_connected(Duration::from_secs(5)));
    assert!(
        ctx.wait_for(READER, Event::Inserted, Duration::from_secs(5))
            .unwrap(),
        "pcscd did not see the virtual card"
    );
    Inserted {
        handle: Some(handle),
        _lock: lock,
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.shutdown();
        }
        if let Ok(ctx) = PcscContext::establish() {
            let _ = ctx.wait_for(READER, Event::Removed, Duration::from_secs(5));
        }
    }
}

fn cps() -> Command {
    let mut c = Command::cargo_bin("cps").unwrap();
    c.args(["--reader", READER, "--timeout", "5", "--no-input"]);
    c
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../cps-diag/schema/report.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    v.iter_errors(doc).map(|e| e.to_string()).collect()
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn diag_through_pcscd_healthy_then_with_the_key_proof() {
    let _card = insert("cps3");
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("diag.trace");
    let out = cps()
        .args(["diag", "--json"])
        .arg(format!("--trace={}", trace.display()))
        .assert()
        .code(0);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    // The trace holds every APDU of the card session, as many as the report counts.
    let text = std::fs::read_to_string(&trace).unwrap();
    let commands = text.lines().filter(|l| l.starts_with("> ")).count();
    assert_eq!(commands as u64, doc["apdus"].as_u64().unwrap(), "{text}");
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
    assert_eq!(doc["mode"], "pcsc");
    for id in [
        "pcsc.service",
        "readers.present",
        "card.present",
        "card.kind",
        "pin.pin",
    ] {
        assert_eq!(
            check(&doc, id)["verdict"],
            "ok",
            "{id}: {}",
            check(&doc, id)
        );
    }
    // The test CA is not trusted outside --sim: a test card, chain not verified.
    assert_eq!(check(&doc, "certs.chain")["verdict"], "warn");
    assert!(doc["apdus"].as_u64().unwrap() > 10);

    let out = cps()
        .env("CPS_TEST_PIN", "1234")
        .args(["diag", "--json", "--pin-env", "CPS_TEST_PIN"])
        .assert()
        .code(0);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        check(&doc, "keys.proof")["verdict"],
        "ok",
        "{}",
        check(&doc, "keys.proof")
    );
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn diag_through_pcscd_blocked_pin() {
    let _card = insert("blocked-pin");
    let out = cps().args(["diag", "--lang", "en"]).assert().code(10);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("blocked") && text.contains("cps unblock"),
        "{text}"
    );
}
