//! How long a whole diagnosis takes, card already inserted: without a PIN and with the
//! key proof, in-process and (when pcscd with the vpcd driver is running) through
//! pcscd. Prints figures; not a test. `cargo bench -p cps-diag`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use cps_card::Pin;
use cps_card::cert::Certificate;
use cps_card::pcsc::{Event, PcscContext};
use cps_diag::{Environment, HostPcsc, Options, Report, Target, diagnose};
use cps_sim::card::VirtualCard;
use cps_sim::pki::TestPki;
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;
use cps_sim::vpcd::{self, SlotLock, VpcdOptions};

const READER: &str = "Virtual PCD 00 00";

fn options(pin: bool) -> Options {
    let pki = TestPki::load().unwrap();
    let mut o = Options::default();
    for der in [pki.root_certificate(), pki.issuing_certificate()] {
        o.extra_cas
            .push((Certificate::from_der(der).unwrap(), "test CA".into()));
    }
    if pin {
        o.pin = Some(Pin::new("1234").unwrap());
    }
    o
}

fn measure(label: &str, runs: usize, mut f: impl FnMut() -> Report) {
    let first = f();
    assert!(!first.failed(false), "{label}: {}", first.to_json());
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let r = f();
            let d = t.elapsed();
            assert_eq!(r.apdus, first.apdus);
            d
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let mean = times.iter().sum::<Duration>() / runs as u32;
    println!(
        "{label:<42} median {:>8.2} ms  mean {:>8.2} ms  min {:>8.2} ms  {:>3} APDUs  ({runs} runs)",
        median.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        first.apdus
    );
}

fn in_process() {
    let env = Environment::host();
    for (name, runs) in [("cps3", 50), ("cps4", 50)] {
        let profile = Profile::builtin(name).unwrap();
        let mut card = SimTransport::from_profile(&profile).unwrap();
        let o = options(false);
        measure(&format!("in-process {name}, no PIN"), runs, || {
            diagnose(&env, &o, Target::InProcess(&mut card))
        });
        let o = options(true);
        measure(&format!("in-process {name}, key proof"), runs / 2, || {
            diagnose(&env, &o, Target::InProcess(&mut card))
        });
    }
}

fn through_pcscd() {
    let Ok(ctx) = PcscContext::establish() else {
        println!("through pcscd: skipped (no PC/SC service)");
        return;
    };
    if !ctx
        .reader_names()
        .unwrap_or_default()
        .iter()
        .any(|r| r == READER)
    {
        println!("through pcscd: skipped (no vpcd reader \"{READER}\")");
        return;
    }
    let _lock = SlotLock::acquire(0, Duration::from_secs(60)).unwrap();
    let card = VirtualCard::new(&Profile::builtin("cps3").unwrap()).unwrap();
    let handle = vpcd::attach(
        Box::new(card),
        vpcd::slot_addr(0),
        VpcdOptions::default().with_slot(0),
    )
    .unwrap();
    assert!(handle.wait_connected(Duration::from_secs(5)));
    assert!(
        ctx.wait_for(READER, Event::Inserted, Duration::from_secs(5))
            .unwrap()
    );
    let env = Environment::host();
    for (label, pin, runs) in [
        ("through pcscd cps3, no PIN", false, 30),
        ("through pcscd cps3, key proof", true, 15),
    ] {
        let mut o = options(pin);
        o.reader = Some(READER.into());
        measure(label, runs, || {
            let mut pcsc = HostPcsc::new(Duration::from_secs(5));
            diagnose(&env, &o, Target::Pcsc(&mut pcsc))
        });
    }
    let _ = handle.shutdown();
    let _ = ctx.wait_for(READER, Event::Removed, Duration::from_secs(5));
}

fn main() {
    in_process();
    through_pcscd();
}
