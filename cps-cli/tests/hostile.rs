//! Hostile cards through the real stack: `cps status` against every
//! [`Hostility`](cps_sim::hostile::Hostility) in vpcd slot 0. Each run ends within its
//! timeout with a clear message and exit code 1 or 7 (never a panic, whose exit code is
//! 101), and the process's peak RSS stays under 64 MiB.
//! `#[ignore]`d outside `scripts/test.sh`, which starts pcscd.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{READER, SLOT, WAIT};
use cps_card::pcsc::{Event, PcscContext};
use cps_sim::hostile::{Hostile, Hostility};
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdOptions};

const PEAK_LIMIT_KIB: u64 = 64 * 1024;

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `cps status` and samples its peak RSS (VmHWM only grows, so the last sample
/// before the process exits is its peak, give or take the last milliseconds).
fn status_with_peak() -> (Option<i32>, String, u64, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cps"))
        .args([
            "--reader",
            READER,
            "--timeout",
            "5",
            "--lang",
            "en",
            "status",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "cps hangs");
        std::thread::sleep(Duration::from_millis(1));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err, peak, started.elapsed())
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn cps_status_on_hostile_cards() {
    let _lock = SlotLock::acquire(SLOT, Duration::from_secs(300)).unwrap();
    let ctx = PcscContext::establish().unwrap();
    let mut worst = 0;
    for profile in ["cps3", "cps4"] {
        for mode in Hostility::ALL {
            assert!(ctx.wait_for(READER, Event::Removed, WAIT).unwrap());
            let card = Hostile::new(&Profile::builtin(profile).unwrap(), mode).unwrap();
            let handle = vpcd::attach(
                Box::new(card),
                vpcd::slot_addr(SLOT),
                VpcdOptions::default().with_slot(SLOT),
            )
            .unwrap();
            assert!(handle.wait_connected(WAIT));
            assert!(ctx.wait_for(READER, Event::Inserted, WAIT).unwrap());
            let (exit, err, peak, took) = status_with_peak();
            println!(
                "{profile} {mode:?}: exit {exit:?} in {} ms, peak RSS {peak} KiB: {}",
                took.as_millis(),
                err.lines().next().unwrap_or_default()
            );
            worst = worst.max(peak);
            assert!(
                matches!(exit, Some(1 | 7)),
                "{profile} {mode:?}: exit {exit:?}: {err}"
            );
            assert!(err.starts_with("error: "), "{profile} {mode:?}: {err}");
            assert!(!err.contains("panicked"), "{profile} {mode:?}: {err}");
            assert!(peak < PEAK_LIMIT_KIB, "{profile} {mode:?}: {peak} KiB");
            handle.shutdown().unwrap();
        }
    }
    println!("worst peak RSS of cps status: {worst} KiB");
}
