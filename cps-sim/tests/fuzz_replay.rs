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
