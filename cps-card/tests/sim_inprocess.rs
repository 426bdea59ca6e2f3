//! End to end against the virtual card, in process: the shared behaviour suite
//! (every operation for the CPS3, CPS4, CPE, blocked-PIN and exhausted-PUK profiles,
//! Vitale and unknown cards, the last-try guard), APDU counts, transcripts.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Counting, Harness};
use cps_card::transcript::{Recording, Replay};
use cps_card::{CertKind, CpsCard, LastTry, Pin, VerifyOutcome};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

struct InProcess;

impl Harness for InProcess {
    type T = SimTransport<VirtualCard>;
    fn card(&self, profile: &str, counters: Option<Counters>) -> Self::T {
        let mut t = SimTransport::from_profile(&Profile::builtin(profile).unwrap()).unwrap();
        if let Some(c) = counters {
            t.card_mut().set_counters(c);
        }
        t
    }
}

#[test]
fn behaviour_suite_in_process() {
    common::suite(&InProcess);
}

#[test]
fn staff_card_holder() {
    let mut card = CpsCard::open(InProcess.card("cpe", None)).unwrap();
    let holder = card
        .certificate(CertKind::Auth)
        .unwrap()
        .certificate
        .holder()
        .unwrap();
    assert_eq!(format!("{:?}", holder.card_type), "Some(Cpe)");
    assert!(holder.structure_name.is_some());
}

/// APDU counts per operation, printed for the record (`--nocapture`), and the rule
/// that no file is selected twice in one session.
#[test]
fn apdu_counts_and_no_file_read_twice() {
    for name in ["cps3", "cps4"] {
        let mut card = CpsCard::open(Counting::new(InProcess.card(name, None))).unwrap();
        let open_cost = card.apdus_sent();
        card.pin_status().unwrap();
        let status_cost = card.apdus_sent() - open_cost;
        let before = card.apdus_sent();
        card.certificates().unwrap();
        let certs_cost = card.apdus_sent() - before;
        let before = card.apdus_sent();
        card.pin_status().unwrap();
        let status_again = card.apdus_sent() - before;
        let before = card.apdus_sent();
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap();
        let verify_cost = card.apdus_sent() - before;
        let total = card.apdus_sent();
        println!(
            "{name}: open {open_cost}, pin_status {status_cost} (again {status_again}), \
             both certificates {certs_cost}, verify {verify_cost}; open+status+certs = {}",
            open_cost + status_cost + certs_cost
        );
        // OpenSC's pkcs15-tool spends 20 (PINs) + 37 (certificates) on a CPS3.
        assert!(open_cost + status_cost + certs_cost < 57, "{name}");
        let transport = card.into_transport();
        assert_eq!(transport.commands.len(), total);
        // Selections of files (not of the MF or an application) are never repeated.
        let mut selects: Vec<&Vec<u8>> = transport
            .commands
            .iter()
            .filter(|c| {
                c.get(1) == Some(&0xA4) && c.get(2) != Some(&0x04) && c.get(2) != Some(&0x00)
            })
            .collect();
        let n = selects.len();
        selects.sort();
        selects.dedup();
        assert_eq!(selects.len(), n, "{name}: a file was selected twice");
    }
}

#[test]
fn holder_from_a_fresh_connection() {
    let mut card = CpsCard::open(InProcess.card("cps3", None)).unwrap();
    let auth = card.certificate(CertKind::Auth).unwrap();
    auth.certificate.holder().unwrap();
    println!(
        "cps3: full holder() from a fresh connection: {} APDUs",
        card.apdus_sent()
    );
}

#[test]
fn record_from_the_sim_then_replay() {
    let mut out = Vec::new();
    {
        let rec = Recording::new(InProcess.card("cps3", None), &mut out).unwrap();
        let mut card = CpsCard::open(rec).unwrap();
        card.pin_status().unwrap();
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap();
        card.certificates().unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("31323334FFFFFFFF"),
        "the PIN leaked into the transcript"
    );
    let replay = Replay::from_reader(text.as_bytes()).unwrap();
    let mut card = CpsCard::open(replay).unwrap();
    card.pin_status().unwrap();
    assert_eq!(
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
    card.certificates().unwrap();
}
