//! Replays every input of the fuzz corpus and every crash artifact of this crate's
//! targets (`fuzz/corpus/<target>/**`, `fuzz/artifacts/<target>/**`) on stable.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use cps_sim::fuzzing::TARGETS;

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind);
    let mut count = 0;
    for (target, run) in TARGETS {
        let mut dirs = vec![root.join(target)];
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
    assert!(n >= 4, "only {n} corpus inputs found");
}

#[test]
fn crash_artifacts_stay_fixed() {
    replay("artifacts");
}

/// Found by the `card_dispatch` fuzz target (fuzz/artifacts/card_dispatch/crash-a6e8…):
/// GET CHALLENGE with an extended Le of 65,536 was answered with 65,536 bytes, longer
/// than any vpcd frame. A CPS knows short APDUs only: extended lengths are `67 00`.
#[test]
fn extended_lengths_are_a_wrong_length() {
    use cps_sim::card::VirtualCard;
    use cps_sim::profile::Profile;
    use cps_sim::{CardSide, Reply};
    for profile in ["cps3", "cps4"] {
        let mut card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
        card.power_on();
        for command in [
            "00 84 00 00 00 00 00",
            "00 84 00 00 00 01 00",
            "00 B0 00 00 00 00 00",
            "00 A4 09 04 00 00 04 3F 00 D0 03 00 00",
        ] {
            let raw = hex::decode(command.replace(' ', "")).unwrap();
            assert_eq!(
                card.process(&raw),
                Reply::Data(vec![0x67, 0x00]),
                "{profile}: {command}"
            );
        }
    }
    // The short form still works (CPS3: basic channel).
    let mut card = VirtualCard::new(&Profile::builtin("cps3").unwrap()).unwrap();
    card.power_on();
    let Reply::Data(answer) = card.process(&[0x00, 0x84, 0x00, 0x00, 0x08]) else {
        panic!("no answer");
    };
    assert_eq!(answer.len(), 10);
}

/// Seeds for the frame reader: limits around the frames vpcd really sends.
#[test]
fn write_seeds() {
    // scripts/test.sh runs ignored tests too: only an explicit request writes files.
    if std::env::var_os("CPS_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/vpcd_frame");
    fs::create_dir_all(&dir).unwrap();
    let seeds: [(&str, Vec<u8>); 4] = [
        ("power-on-atr", vec![0x01, 0x00, 0, 1, 0x01, 0, 1, 0x04]),
        (
            "select",
            [
                vec![0xFF, 0xFF, 0, 13],
                hex::decode("00A4040C08802500000001FF0100").unwrap()[..13].to_vec(),
            ]
            .concat(),
        ),
        ("too-long", vec![0x00, 0x10, 0x01, 0x00, 0xAA]),
        ("truncated", vec![0x01, 0x00, 0x00, 0x05, 0x00, 0xA4]),
    ];
    for (name, bytes) in seeds {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
