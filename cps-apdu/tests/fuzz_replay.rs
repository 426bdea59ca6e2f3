//! Replays every input of the fuzz corpus and every crash artifact (`fuzz/corpus/**`,
//! `fuzz/artifacts/**`) through the same entry points the fuzz targets use, on stable.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use cps_apdu::fuzzing::TARGETS;

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind);
    let mut count = 0;
    for (target, run) in TARGETS {
        let Ok(entries) = fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                run(&fs::read(&path).unwrap());
                count += 1;
            }
        }
    }
    count
}

#[test]
fn corpus_replays_without_failure() {
    let n = replay("corpus");
    // The seeds alone are 70 inputs: fewer means the corpus was not found.
    assert!(n >= 70, "only {n} corpus inputs found");
}

#[test]
fn crash_artifacts_stay_fixed() {
    replay("artifacts");
}
