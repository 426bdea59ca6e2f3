//! Strict replay of transcripts recorded from the virtual card: the APDU flow of each
//! operation is pinned, so a change that sends one more (or one different) command is
//! caught, and the card logic is exercised with no card at all.
//!
//! Re-record after an intended change of flow with
//! `CPS_RECORD=1 cargo test -p cps-card --test replay`.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use cps_card::transcript::{Recording, Replay};
use cps_card::{CertKind, CpsCard, LastTry, Pin, VerifyOutcome};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

fn path(profile: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(format!("{profile}-session.jsonl"))
}

/// The session every transcript holds: open, counters, both certificates, holder,
/// a wrong PIN, then the right one.
fn session<T: cps_apdu::Transport>(transport: T) -> T {
    let mut card = CpsCard::open(transport).unwrap();
    let status = card.pin_status().unwrap();
    assert_eq!(status.pin.tries_left, 3);
    let certs = card.certificates().unwrap();
    let auth = certs.iter().find(|c| c.which == CertKind::Auth).unwrap();
    assert!(auth.certificate.holder().unwrap().test_card);
    assert_eq!(
        card.verify_pin(&Pin::new("9999").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::WrongPin { tries_left: 2 }
    );
    assert_eq!(
        card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse)
            .unwrap(),
        VerifyOutcome::Verified
    );
    card.into_transport()
}

#[test]
fn recorded_sessions_replay_strictly() {
    for profile in ["cps3", "cps4"] {
        let file = path(profile);
        if std::env::var_os("CPS_RECORD").is_some() {
            let sim = SimTransport::from_profile(&Profile::builtin(profile).unwrap()).unwrap();
            let rec = Recording::new(sim, File::create(&file).unwrap()).unwrap();
            session(rec).finish().unwrap();
        }
        let reader =
            BufReader::new(File::open(&file).unwrap_or_else(|e| {
                panic!("{}: {e}; record it with CPS_RECORD=1", file.display())
            }));
        let replay = session(Replay::from_reader(reader).unwrap());
        assert_eq!(
            replay.remaining(),
            0,
            "{profile}: the session sent fewer commands than recorded"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("31323334FFFFFFFF"),
            "{profile}: a PIN is in the transcript"
        );
        assert!(
            !text.contains("39393939FFFFFFFF"),
            "{profile}: a PIN is in the transcript"
        );
    }
}
