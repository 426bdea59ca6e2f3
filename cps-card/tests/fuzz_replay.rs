//! Replays every input of the fuzz corpus and every crash artifact of this crate's
//! targets (`fuzz/corpus/<target>/**`, `fuzz/artifacts/<target>/**`) through the entry
//! points the fuzz targets use, on stable. `CPS_WRITE_FUZZ_SEEDS=1 cargo test --test
//! fuzz_replay write_seeds` (re)writes the seed inputs from the virtual card.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use cps_apdu::{Transport, TransportError};
use cps_card::fuzzing::TARGETS;
use cps_card::{CpsCard, LastTry, Pin, Puk};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for (target, run) in TARGETS {
        let mut dirs = vec![fuzz_dir().join(kind).join(target)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.is_file() {
                    run(&fs::read(&path).unwrap());
                    count += 1;
                }
            }
        }
    }
    count
}

#[test]
fn corpus_replays_without_failure() {
    let n = replay("corpus");
    assert!(n >= 20, "only {n} corpus inputs found");
}

#[test]
fn crash_artifacts_stay_fixed() {
    replay("artifacts");
}

/// Commands and their answers.
type Log = Vec<(Vec<u8>, Vec<u8>)>;

/// Keeps every command and answer.
struct Recorder<T> {
    inner: T,
    log: Log,
}

impl<T: Transport> Transport for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.inner.transmit(command)?;
        self.log.push((command.to_vec(), answer.clone()));
        Ok(answer)
    }
    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
}

fn framed(selector: u8, items: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = vec![selector];
    for item in items {
        out.push(u8::try_from(item.len()).unwrap_or(u8::MAX));
        out.extend(item.iter().take(255));
    }
    out
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

/// A whole session (open, status, certificates, a wrong then a right PIN, an unblock)
/// against the virtual card, recorded.
fn session(profile: &str) -> (Vec<u8>, Log) {
    let mut sim = SimTransport::from_profile(&Profile::builtin(profile).unwrap()).unwrap();
    sim.card_mut().set_counters(Counters {
        pin_tries_left: 3,
        puk_tries_left: 10,
        puk_usage_left: 100,
    });
    let atr = sim.atr().to_vec();
    let mut card = CpsCard::open(Recorder {
        inner: sim,
        log: Vec::new(),
    })
    .unwrap();
    let _ = card.token_info();
    let _ = card.update_window();
    let _ = card.pin_status();
    let _ = card.certificates();
    let _ = card.verify_pin(&Pin::new("1234").unwrap(), LastTry::Refuse);
    let _ = card.unblock(
        &Puk::new("12345678").unwrap(),
        &Pin::new("1234").unwrap(),
        LastTry::Allow,
    );
    let _ = card.challenge(8);
    (atr, card.into_transport().log)
}

#[test]
fn write_seeds() {
    // scripts/test.sh runs ignored tests too: only an explicit request writes files.
    if std::env::var_os("CPS_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    for (selector, profile) in [(0u8, "cps3"), (1, "cps4")] {
        let (_, log) = session(profile);
        // card_host: the card's answers of a real session; the selector picks the ATR.
        write(
            "card_host",
            profile,
            &framed(selector, log.iter().map(|(_, a)| a.clone())),
        );
        // card_dispatch: the host's commands (profile index 0 = cps3, 1 = cps4).
        write(
            "card_dispatch",
            profile,
            &framed(selector, log.iter().map(|(c, _)| c.clone())),
        );
        // pkcs15: every answer with data, without its status word (file contents, FCPs).
        for (i, (_, answer)) in log.iter().enumerate() {
            if answer.len() > 2 {
                write(
                    "pkcs15",
                    &format!("{profile}-{i:03}"),
                    &answer[..answer.len() - 2],
                );
            }
        }
    }
    for profile in ["cps3", "cpe", "cps3-cl"] {
        let card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
        for (usage, der) in card.certificates() {
            write("cert", &format!("{profile}-{usage:?}"), &der);
            let pem = cps_card::cert::Certificate::from_der(&der)
                .unwrap()
                .to_pem();
            write("cert", &format!("{profile}-{usage:?}.pem"), pem.as_bytes());
        }
    }
}
