//! The diagnosis end to end, in-process, against virtual cards, a fake PC/SC service
//! and fake workstations: every verdict each check can give.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::SystemTime;

use common::*;
use cps_card::pcsc::{PcscError, ReaderInfo};
use cps_card::{LastTry, Pin};
use cps_diag::{AccessError, Lang, Options, SessionEnd, Verbosity, Verdict};
use cps_sim::pki::TestPki;
use cps_sim::profile::{Category, Validity};

const CPS3_ATR: [u8; 17] = [
    0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90,
    0x00,
];

// ---------------------------------------------------------------- healthy cards

#[test]
fn healthy_cps3_in_process() {
    let r = run_profile("cps3");
    assert_eq!(
        r.exit_code(false),
        0,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert_eq!(r.checks.len(), cps_diag::CHECK_IDS.len());
    for (c, id) in r.checks.iter().zip(cps_diag::CHECK_IDS) {
        assert_eq!(c.id, id);
    }
    for id in [
        "system.platform",
        "system.clock",
        "card.present",
        "card.kind",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Ok, "{id}");
    }
    for id in [
        "card.serial",
        "app.pkcs15",
        "pin.pin",
        "pin.puk",
        "certs.present",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Ok, "{id}");
    }
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Ok);
    assert_eq!(verdict(&r, "certs.usage"), Verdict::Ok);
    // The virtual card's CA is trusted and reported as the test hierarchy.
    assert_eq!(verdict(&r, "certs.chain"), Verdict::Warn);
    assert_eq!(remedy(&r, "certs.chain").as_deref(), Some("test_card"));
    assert_eq!(verdict(&r, "certs.holder"), Verdict::Info);
    assert_eq!(verdict(&r, "app.update"), Verdict::Info);
    // PC/SC does not apply in-process; the card checks still run.
    assert_eq!(verdict(&r, "pcsc.service"), Verdict::Skipped);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Skipped);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Skipped);
    assert!(finding(&r, "keys.proof").contains("no PIN"));
    assert!(r.apdus > 10 && r.apdus < 80, "{}", r.apdus);
    assert_eq!(r.mode, cps_diag::Mode::InProcess);
    assert!(r.checks.iter().all(|c| c.duration_ms >= 0.0));
    assert_eq!(
        r.exit_code(true),
        cps_diag::EXIT_FAILED,
        "warnings count with --strict"
    );
}

#[test]
fn healthy_cps4_and_cpe() {
    for name in ["cps4", "cpe"] {
        let r = run_profile(name);
        assert_eq!(
            r.exit_code(false),
            0,
            "{name}: {}",
            r.render_text(Lang::En, false, Verbosity::Verbose)
        );
        assert_eq!(verdict(&r, "card.kind"), Verdict::Ok, "{name}");
        assert_eq!(verdict(&r, "pin.pin"), Verdict::Ok, "{name}");
        assert_eq!(verdict(&r, "certs.present"), Verdict::Ok, "{name}");
    }
    let r = run_profile("cps4");
    assert_eq!(
        r.check("card.kind").unwrap().detail("generation"),
        Some("CPS4")
    );
}

// ---------------------------------------------------------------- system

#[test]
fn clock_before_the_tool_or_far_ahead() {
    let mut ws = Workstation::new();
    ws.env.now = SystemTime::UNIX_EPOCH + days(365 * 50); // 2019
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "system.clock"), Verdict::Fail);
    assert_eq!(remedy(&r, "system.clock").as_deref(), Some("clock_wrong"));
    // The certificates, issued "now" by the real clock, are not valid yet in 2019.
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Fail);
    assert_eq!(r.exit_code(false), 10);

    ws.env.now = SystemTime::now() + days(365 * 40);
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "system.clock"), Verdict::Warn);
}

#[test]
fn clock_before_the_card_certificates_start() {
    let ws = Workstation::new();
    let mut p = profile("cps3");
    p.validity = Validity::Relative {
        starts_days_ago: -20,
        ends_in_days: 1000,
    };
    let mut t = sim(&p);
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(
        verdict(&r, "system.clock"),
        Verdict::Fail,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert!(finding(&r, "system.clock").contains("before the card's certificates start"));
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Fail);
    assert!(finding(&r, "certs.validity").contains("not valid yet"));
    // Still reported first, in the System area.
    assert_eq!(r.checks[1].id, "system.clock");
}

#[test]
fn platform_reads_the_distribution() {
    let ws = Workstation::new();
    ws.file(
        "/etc/os-release",
        "NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    );
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "system.platform"), Verdict::Ok);
    assert!(finding(&r, "system.platform").contains("Debian GNU/Linux 12"));
}

// ---------------------------------------------------------------- PC/SC and readers

#[test]
fn pcsc_path_healthy_card_leaves_the_card() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::holding("ACME Reader 00 00", &profile("cps3"));
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "pcsc.service"), Verdict::Ok);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Ok);
    assert_eq!(verdict(&r, "card.present"), Verdict::Ok);
    assert_eq!(verdict(&r, "card.kind"), Verdict::Ok);
    assert_eq!(r.exit_code(false), 0);
    assert_eq!(r.mode, cps_diag::Mode::Pcsc);
    assert_eq!(
        pcsc.sessions,
        vec![("ACME Reader 00 00".into(), SessionEnd::Leave)]
    );
}

#[test]
fn no_pcsc_service() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::with_readers(vec![]);
    pcsc.readers = Err(|| PcscError::NoService);
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "pcsc.service"), Verdict::Fail);
    assert_eq!(
        remedy(&r, "pcsc.service").as_deref(),
        Some("pcsc_service_linux")
    );
    for id in [
        "readers.present",
        "card.present",
        "card.kind",
        "certs.chain",
        "keys.proof",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Skipped, "{id}");
    }
    assert!(finding(&r, "readers.present").contains("pcsc.service failed"));
    // Middleware checks still run.
    assert_ne!(verdict(&r, "middleware.cryptolib"), Verdict::Skipped);
    assert_eq!(r.exit_code(false), 10);

    let mut ws = Workstation::new();
    ws.env.os = "windows".into();
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(
        remedy(&r, "pcsc.service").as_deref(),
        Some("pcsc_service_windows")
    );
}

#[test]
fn pcsc_service_errors_and_panics_are_contained() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::with_readers(vec![]);
    pcsc.panic_on_list = true;
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "pcsc.service"), Verdict::Fail);
    assert!(finding(&r, "pcsc.service").contains("internal error"));
    assert_eq!(r.checks.len(), cps_diag::CHECK_IDS.len());
}

#[test]
fn empty_pcscd_no_reader() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::with_readers(vec![]);
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "pcsc.service"), Verdict::Ok);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Fail);
    assert_eq!(remedy(&r, "readers.present").as_deref(), Some("no_reader"));
    assert_eq!(verdict(&r, "card.present"), Verdict::Skipped);
}

#[test]
fn sesam_vitale_terminal_in_pss_mode() {
    let ws = Workstation::new();
    ws.file("/sys/bus/usb/devices/1-2/idVendor", "0b00\n");
    ws.file("/sys/bus/usb/devices/1-2/idProduct", "0090\n");
    ws.file("/sys/bus/usb/devices/1-3/idVendor", "1d6b\n");
    ws.file("/sys/bus/usb/devices/1-3/idProduct", "0002\n");
    let mut pcsc = FakePcsc::with_readers(vec![]);
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Fail);
    assert_eq!(remedy(&r, "readers.present").as_deref(), Some("pss_reader"));
    assert!(
        r.check("readers.present")
            .unwrap()
            .detail("sesam_vitale_usb")
            .unwrap()
            .starts_with("0b00:0090")
    );
}

#[test]
fn reader_asked_for_is_missing() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::holding("ACME Reader 00 00", &profile("cps3"));
    let mut o = sim_options();
    o.reader = Some("Nonexistent".into());
    let r = run_pcsc(&ws, &o, &mut pcsc);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Fail);
    assert!(finding(&r, "readers.present").contains("ACME"));
}

#[test]
fn two_slot_reader_with_vitale_and_cps_picks_the_cps() {
    let ws = Workstation::new();
    let cps = sim(&profile("cps3"));
    let vitale = sim(&profile("vitale"));
    let mut pcsc = FakePcsc::with_readers(vec![
        ReaderInfo::new(0, "Olaqin SESAM-Vitale 00 00")
            .with_card(vitale.card().profile().atr_bytes()),
        ReaderInfo::new(1, "Olaqin SESAM-Vitale 00 01").with_card(CPS3_ATR.to_vec()),
    ]);
    pcsc.card = Some(Box::new(cps));
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    let readers = r.check("readers.present").unwrap();
    assert_eq!(readers.verdict, Verdict::Ok);
    assert_eq!(readers.detail("chosen"), Some("Olaqin SESAM-Vitale 00 01"));
    assert!(readers.detail("multi_slot_reader").is_some());
    assert!(readers.detail("sesam_vitale_reader").is_some());
    assert_eq!(pcsc.sessions[0].0, "Olaqin SESAM-Vitale 00 01");
}

#[test]
fn no_card_in_the_reader() {
    let ws = Workstation::new();
    let mut pcsc = FakePcsc::with_readers(vec![ReaderInfo::new(0, "ACME Reader 00 00")]);
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "readers.present"), Verdict::Ok);
    assert_eq!(verdict(&r, "card.present"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.present").as_deref(), Some("no_card"));
    assert_eq!(verdict(&r, "card.kind"), Verdict::Skipped);
    assert!(pcsc.sessions.is_empty(), "no session without a card");
}

#[test]
fn mute_or_busy_card() {
    let ws = Workstation::new();
    let mut reader = ReaderInfo::new(0, "ACME Reader 00 00");
    reader.card_present = true;
    reader.mute = true;
    let mut pcsc = FakePcsc::with_readers(vec![reader]);
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "card.present"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.present").as_deref(), Some("card_mute"));

    let mut pcsc = FakePcsc::holding("ACME Reader 00 00", &profile("cps3"));
    pcsc.connect = Some(|| {
        AccessError::Pcsc(PcscError::SharingViolation {
            reader: "ACME Reader 00 00".into(),
        })
    });
    let r = run_pcsc(&ws, &sim_options(), &mut pcsc);
    assert_eq!(verdict(&r, "card.present"), Verdict::Ok);
    assert_eq!(verdict(&r, "card.kind"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.kind").as_deref(), Some("card_busy"));
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Skipped);
}

// ---------------------------------------------------------------- card

#[test]
fn vitale_in_the_cps_slot() {
    let r = run_profile("vitale");
    assert_eq!(verdict(&r, "card.kind"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.kind").as_deref(), Some("vitale_in_slot"));
    assert!(finding(&r, "card.kind").contains("Carte Vitale"));
    for id in [
        "card.serial",
        "app.pkcs15",
        "pin.pin",
        "pin.puk",
        "certs.present",
        "keys.proof",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Skipped, "{id}");
    }
    assert_eq!(r.exit_code(false), 10);
}

#[test]
fn unknown_card() {
    let r = run_profile("unknown");
    assert_eq!(verdict(&r, "card.kind"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.kind").as_deref(), Some("unknown_card"));
}

#[test]
fn cps2ter_era_card() {
    // The CPS3 ATR, but no EF.SN.ICC: a card from before 2011.
    let ws = Workstation::new();
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], _: &[u8], _: &[u8], answer: Vec<u8>| {
            if cmd.ends_with(&[0x3F, 0x00, 0xD0, 0x03]) {
                vec![0x6A, 0x82]
            } else {
                answer
            }
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "card.kind"), Verdict::Fail);
    assert_eq!(remedy(&r, "card.kind").as_deref(), Some("old_card"));
}

#[test]
fn contactless_read() {
    let r = run_profile("cps3-cl");
    assert_eq!(
        verdict(&r, "card.kind"),
        Verdict::Info,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Skipped);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Skipped);
    assert_eq!(verdict(&r, "certs.present"), Verdict::Ok);
}

#[test]
fn serial_with_a_wrong_luhn_digit() {
    let ws = Workstation::new();
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], _: &[u8], sel: &[u8], mut a: Vec<u8>| {
            if cmd.get(1) == Some(&0xB0) && sel.ends_with(&[0xD0, 0x03]) && a.len() >= 12 {
                a[7] ^= 0x01; // one digit of the card number
            }
            a
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(
        verdict(&r, "card.serial"),
        Verdict::Warn,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    // A warning does not stop the checks that depend on it.
    assert_eq!(verdict(&r, "app.pkcs15"), Verdict::Ok);
}

#[test]
fn unreadable_pkcs15_application() {
    let ws = Workstation::new();
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], _: &[u8], _: &[u8], a: Vec<u8>| {
            if cmd.get(1) == Some(&0xA4) && cmd.ends_with(&[0x50, 0x32]) {
                vec![0x6A, 0x82]
            } else {
                a
            }
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "app.pkcs15"), Verdict::Fail);
    assert_eq!(
        remedy(&r, "app.pkcs15").as_deref(),
        Some("card_malfunction")
    );
    for id in [
        "pin.pin",
        "pin.puk",
        "certs.present",
        "certs.chain",
        "revocation.crl",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Skipped, "{id}");
    }
    // Independent of the application: still run.
    assert_eq!(verdict(&r, "card.serial"), Verdict::Ok);
    assert_eq!(verdict(&r, "app.update"), Verdict::Info);
}

#[test]
fn ef_actua_present_or_partial() {
    let r = run_profile("expiring");
    assert_eq!(verdict(&r, "app.update"), Verdict::Ok);
    assert_eq!(
        r.check("app.update").unwrap().detail("start"),
        Some("2025-01-06T00:00:00Z")
    );

    let ws = Workstation::new();
    let mut t = Tamper::new(
        sim(&profile("expiring")),
        |cmd: &[u8], _: &[u8], sel: &[u8], a: Vec<u8>| {
            if cmd.get(1) == Some(&0xB0) && sel.ends_with(&[0xD0, 0x10]) {
                vec![0xEC, 0x00, 0x90, 0x00]
            } else {
                a
            }
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "app.update"), Verdict::Fail);

    let mut t = Tamper::new(
        sim(&profile("expiring")),
        |cmd: &[u8], _: &[u8], sel: &[u8], a: Vec<u8>| {
            if cmd.get(1) == Some(&0xB0) && sel.ends_with(&[0xD0, 0x10]) {
                vec![0x65, 0x81]
            } else {
                a
            }
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(verdict(&r, "app.update"), Verdict::Warn);
}

// ---------------------------------------------------------------- PIN and PUK

fn with_counters(pin: u8, puk: u8, usage: u16) -> cps_diag::Report {
    let mut p = profile("cps3");
    p.pin.tries_left = pin;
    p.puk.tries_left = puk;
    p.puk.usage_left = usage;
    let ws = Workstation::new();
    let mut t = sim(&p);
    run_in_process(&ws, &sim_options(), &mut t)
}

#[test]
fn pin_counters() {
    let r = with_counters(2, 10, 100);
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Warn);
    assert_eq!(remedy(&r, "pin.pin").as_deref(), Some("forgotten_code"));
    let r = with_counters(1, 10, 100);
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Warn);
    assert_eq!(remedy(&r, "pin.pin").as_deref(), Some("pin_final_try"));
    assert_eq!(r.exit_code(false), 0);
}

#[test]
fn blocked_pin() {
    let r = run_profile("blocked-pin");
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Fail);
    assert_eq!(remedy(&r, "pin.pin").as_deref(), Some("pin_blocked"));
    let text = r.render_text(Lang::Fr, false, Verbosity::Verbose);
    assert!(
        text.contains("code de déblocage") && text.contains("cps unblock"),
        "{text}"
    );
    assert!(text.contains("CPAM"));
    assert_eq!(verdict(&r, "pin.puk"), Verdict::Ok);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Skipped);
    assert_eq!(r.exit_code(false), 10);
}

#[test]
fn used_up_puk() {
    let r = run_profile("puk-exhausted");
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Fail);
    assert_eq!(remedy(&r, "pin.pin").as_deref(), Some("card_to_replace"));
    assert_eq!(verdict(&r, "pin.puk"), Verdict::Fail);
    assert_eq!(remedy(&r, "pin.puk").as_deref(), Some("card_to_replace"));
    let text = r.render_text(Lang::En, false, Verbosity::Verbose);
    assert!(text.contains("TOM") && text.contains("TOPS") && text.contains("501"));
}

#[test]
fn puk_counters() {
    let r = with_counters(3, 4, 100);
    assert_eq!(verdict(&r, "pin.puk"), Verdict::Warn);
    assert_eq!(remedy(&r, "pin.puk").as_deref(), Some("puk_tries_spent"));
    let r = with_counters(3, 0, 100);
    assert_eq!(verdict(&r, "pin.puk"), Verdict::Fail);
    assert_eq!(remedy(&r, "pin.puk").as_deref(), Some("card_to_replace"));
    // The PIN still works: its check is independent.
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Ok);
}

// ---------------------------------------------------------------- certificates

#[test]
fn expired_certificates() {
    let r = run_profile("expired");
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Fail);
    assert_eq!(
        remedy(&r, "certs.validity").as_deref(),
        Some("cert_expired")
    );
    assert!(finding(&r, "certs.validity").contains("expired"));
    assert_eq!(r.exit_code(false), 10);
}

/// The CPS4 release-candidate chip (its exact ATR) is a CPS4 said as such: `info`, and
/// the rest of the diagnosis runs as for any CPS4.
#[test]
fn cps4_release_candidate() {
    let mut p = profile("cps4");
    p.atr = Some("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44".into());
    let ws = Workstation::new();
    let r = run_in_process(&ws, &sim_options(), &mut sim(&p));
    let text = r.render_text(Lang::En, false, Verbosity::Verbose);
    assert_eq!(verdict(&r, "card.kind"), Verdict::Info, "{text}");
    assert!(
        finding(&r, "card.kind").contains("release-candidate"),
        "{text}"
    );
    assert!(text.contains("generation: CPS4"), "{text}");
    assert_eq!(verdict(&r, "pin.pin"), Verdict::Ok, "{text}");
    assert_eq!(verdict(&r, "certs.present"), Verdict::Ok, "{text}");
    assert_eq!(r.exit_code(false), 0, "{text}");
}

/// A certificate from the old GIP-CPS hierarchy (before IGC-Santé) fails the chain check
/// with the expired-certificate remedy (the card is to be replaced), whatever else.
#[test]
fn certificate_from_the_obsolete_gip_cps_hierarchy() {
    const NOW: &[u8] = b"TEST AC IGC-SANTE STANDARD PERSONNES";
    const OLD: &[u8] = b"GIP-CPS CLASSE-1 AC PROFESSIONNELS 1";
    assert_eq!(NOW.len(), OLD.len());
    let mut t = sim(&profile("cps3"));
    let mut patched = 0;
    for fid in 0xA001u16..=0xA00F {
        let [hi, lo] = fid.to_be_bytes();
        let path = [0x3F, 0x00, 0x00, 0x01, hi, lo];
        let Some(mut der) = t.card_mut().file(&path) else {
            continue;
        };
        // Same length: the DER stays well formed; only the issuer's name changes
        // (its signature no longer verifies, which the legacy check does not need).
        let mut hit = false;
        while let Some(at) = der.windows(NOW.len()).position(|w| w == NOW) {
            der[at..at + OLD.len()].copy_from_slice(OLD);
            hit = true;
        }
        if hit {
            assert!(t.card_mut().replace_file(&path, der));
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "the authentication and signature certificates");
    let ws = Workstation::new();
    let r = run_in_process(&ws, &sim_options(), &mut t);
    let text = r.render_text(Lang::En, false, Verbosity::Normal);
    assert_eq!(verdict(&r, "certs.present"), Verdict::Ok, "{text}");
    assert_eq!(verdict(&r, "certs.chain"), Verdict::Fail, "{text}");
    assert!(finding(&r, "certs.chain").contains("GIP-CPS"), "{text}");
    assert_eq!(remedy(&r, "certs.chain").as_deref(), Some("cert_expired"));
    assert_eq!(r.exit_code(false), 10);
}

#[test]
fn expiring_certificates_and_warn_days() {
    let r = run_profile("expiring");
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "certs.validity").as_deref(),
        Some("cert_expiring")
    );
    assert_eq!(r.exit_code(false), 0);

    let ws = Workstation::new();
    let mut o = sim_options();
    o.warn_days = 5;
    let mut t = sim(&profile("expiring"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "certs.validity"), Verdict::Ok);
}

#[test]
fn unreadable_certificates() {
    let ws = Workstation::new();
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], _: &[u8], _: &[u8], mut a: Vec<u8>| {
            if cmd.get(1) == Some(&0xB0)
                && cmd[2..4] == [0, 0]
                && a.starts_with(&[0x30, 0x82])
                && a.len() > 100
            {
                a[1] = 0x84; // the certificate's outer length no longer parses
            }
            a
        },
    );
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(
        verdict(&r, "certs.present"),
        Verdict::Fail,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    for id in [
        "certs.validity",
        "certs.chain",
        "certs.holder",
        "certs.usage",
        "revocation.crl",
        "keys.proof",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Skipped, "{id}");
    }
}

#[test]
fn test_card_without_its_ca_is_a_warning_not_verified() {
    let ws = Workstation::new();
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &Options::default(), &mut t);
    assert_eq!(verdict(&r, "certs.chain"), Verdict::Warn);
    assert!(finding(&r, "certs.chain").contains("not verified"));
}

#[test]
fn certificate_signed_by_another_key_fails_the_chain() {
    // A CA with the issuing CA's name but another key: the signature does not verify.
    let pki = TestPki::load().unwrap();
    let mut der = pki.issuing_certificate().to_vec();
    let cert = cps_card::cert::Certificate::from_der(&der).unwrap();
    let spki = cert.public_key_der().to_vec();
    let at = der.windows(spki.len()).position(|w| w == spki).unwrap();
    der[at + spki.len() - 10] ^= 0x55; // inside the modulus
    let forged = cps_card::cert::Certificate::from_der(&der).unwrap();
    let mut o = Options::default();
    o.extra_cas.push((forged, "forged".into()));
    let ws = Workstation::new();
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "certs.chain"),
        Verdict::Fail,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert_eq!(remedy(&r, "certs.chain").as_deref(), Some("untrusted_ca"));
}

#[test]
fn ca_directory_is_trusted() {
    let ws = Workstation::new();
    let pki = TestPki::load().unwrap();
    let dir = ws.path("/etc/opt/santesocial/CPS/Coffre");
    write_file(&dir.join("test-root.cer"), pki.root_certificate());
    write_file(&dir.join("test-issuing.cer"), pki.issuing_certificate());
    write_file(&dir.join("garbage.cer"), b"not a certificate");
    // Default: the Coffre directory when it exists.
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &Options::default(), &mut t);
    let chain = r.check("certs.chain").unwrap();
    assert_eq!(chain.verdict, Verdict::Warn);
    assert!(
        chain.finding.en.contains("chain verified"),
        "{}",
        chain.finding.en
    );
    assert!(
        chain
            .details
            .iter()
            .any(|d| d.value.contains("garbage.cer"))
    );
    // --ca-dir replaces the default.
    let mut o = Options::default();
    o.ca_dirs.push(ws.path("/nowhere"));
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert!(finding(&r, "certs.chain").contains("not verified"));
}

#[test]
fn holder_of_a_real_card() {
    let mut p = profile("cps3");
    p.category = Category::Real;
    p.holder.national_id = "810002813839".into();
    let ws = Workstation::new();
    let mut t = sim(&p);
    let r = run_in_process(&ws, &sim_options(), &mut t);
    assert_eq!(
        verdict(&r, "certs.holder"),
        Verdict::Ok,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert!(finding(&r, "certs.holder").contains("Médecin"));
}

// ---------------------------------------------------------------- revocation

fn crl_file(ws: &Workstation, revoked: &[u64], next_in_days: i64) -> std::path::PathBuf {
    let pki = TestPki::load().unwrap();
    let now = SystemTime::now();
    let this = now - days(1);
    let next = if next_in_days >= 0 {
        now + days(next_in_days as u64)
    } else {
        now - days(next_in_days.unsigned_abs())
    };
    let entries: Vec<(u64, SystemTime)> = revoked.iter().map(|s| (*s, this)).collect();
    let der = pki.issue_crl(&entries, this.min(next), next).unwrap();
    let path = ws.path(&format!("/crl/{}-{next_in_days}.crl", revoked.len()));
    write_file(&path, &der);
    path
}

/// The serial of the cps3 profile's authentication certificate: card number × 10 + 1.
const CPS3_AUTH_SERIAL: u64 = 2_900_412_345 * 10 + 1;

#[test]
fn revocation_without_crl_names_the_url() {
    let r = run_profile("cps3");
    assert_eq!(verdict(&r, "revocation.crl"), Verdict::Info);
    assert!(finding(&r, "revocation.crl").contains("ACI-ST-PP-TEST.crl"));
}

#[test]
fn revoked_card() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.crls.push(crl_file(&ws, &[12345, CPS3_AUTH_SERIAL], 7));
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "revocation.crl"),
        Verdict::Fail,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert_eq!(remedy(&r, "revocation.crl").as_deref(), Some("opposition"));
    assert_eq!(r.exit_code(false), 10);
}

#[test]
fn fresh_crl_not_listing_the_card_pem_too() {
    let ws = Workstation::new();
    let path = crl_file(&ws, &[12345], 7);
    let mut o = sim_options();
    o.crls.push(path.clone());
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "revocation.crl"),
        Verdict::Ok,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );

    // The same CRL as PEM, found in a directory.
    let der = std::fs::read(&path).unwrap();
    let pem = format!(
        "-----BEGIN X509 CRL-----\n{}\n-----END X509 CRL-----\n",
        base64(&der)
    );
    let dir = ws.path("/crl-pem");
    write_file(&dir.join("list.pem"), pem.as_bytes());
    let mut o = sim_options();
    o.crls.push(dir);
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "revocation.crl"),
        Verdict::Ok,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
}

#[test]
fn stale_unverified_or_useless_crls() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.crls.push(crl_file(&ws, &[], -3));
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "revocation.crl"), Verdict::Warn);
    assert_eq!(remedy(&r, "revocation.crl").as_deref(), Some("crl_stale"));

    // Without the test CA, the CRL's signature cannot be verified.
    let mut o = Options::default();
    o.crls.push(crl_file(&ws, &[CPS3_AUTH_SERIAL], 7));
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "revocation.crl"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "revocation.crl").as_deref(),
        Some("crl_unverified")
    );

    // A file that is no CRL.
    let bad = ws.path("/crl/bad.crl");
    write_file(&bad, b"garbage");
    let mut o = sim_options();
    o.crls.push(bad);
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "revocation.crl"), Verdict::Warn);
    assert!(
        r.check("revocation.crl")
            .unwrap()
            .detail("crl_error")
            .is_some()
    );
}

// ---------------------------------------------------------------- key proof

fn with_pin(profile_name: &str, pin: &str, last: LastTry) -> cps_diag::Report {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.pin = Some(Pin::new(pin).unwrap());
    o.last_try = last;
    let mut t = sim(&profile(profile_name));
    run_in_process(&ws, &o, &mut t)
}

#[test]
fn key_proof_with_the_right_pin() {
    for name in ["cps3", "cps4"] {
        let r = with_pin(name, "1234", LastTry::Refuse);
        assert_eq!(
            verdict(&r, "keys.proof"),
            Verdict::Ok,
            "{name}: {}",
            r.render_text(Lang::En, false, Verbosity::Verbose)
        );
        assert_eq!(r.exit_code(false), 0);
    }
}

#[test]
fn key_proof_resets_the_card_after_a_pin_through_pcsc() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.pin = Some(Pin::new("1234").unwrap());
    let mut pcsc = FakePcsc::holding("ACME Reader 00 00", &profile("cps3"));
    let r = run_pcsc(&ws, &o, &mut pcsc);
    assert_eq!(
        verdict(&r, "keys.proof"),
        Verdict::Ok,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert_eq!(pcsc.sessions[0].1, SessionEnd::Reset);
}

#[test]
fn key_proof_with_a_wrong_pin() {
    let r = with_pin("cps3", "9999", LastTry::Refuse);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Fail);
    assert_eq!(remedy(&r, "keys.proof").as_deref(), Some("wrong_pin"));
    assert_eq!(
        r.check("keys.proof").unwrap().detail("tries_left"),
        Some("2")
    );
}

#[test]
fn key_proof_refuses_the_last_try() {
    let mut p = profile("cps3");
    p.pin.tries_left = 1;
    let ws = Workstation::new();
    let mut o = sim_options();
    o.pin = Some(Pin::new("1234").unwrap());
    let mut t = sim(&p);
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Warn);
    assert!(finding(&r, "keys.proof").contains("--allow-last-try"));
    assert_eq!(t.card().counters().pin_tries_left, 1, "nothing was spent");

    o.last_try = LastTry::Allow;
    let mut t = sim(&p);
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "keys.proof"),
        Verdict::Ok,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
}

#[test]
fn key_proof_detects_a_key_that_does_not_match_its_certificate() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.pin = Some(Pin::new("1234").unwrap());
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], last: &[u8], _: &[u8], mut a: Vec<u8>| {
            // The answer to INTERNAL AUTHENTICATE (through GET RESPONSE on T=0).
            let auth = last.get(1) == Some(&0x88) || cmd.get(1) == Some(&0x88);
            if auth && cmd.get(1) == Some(&0xC0) && a.len() > 100 {
                a[10] ^= 0xFF;
            }
            a
        },
    );
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(
        verdict(&r, "keys.proof"),
        Verdict::Fail,
        "{}",
        r.render_text(Lang::En, false, Verbosity::Verbose)
    );
    assert!(finding(&r, "keys.proof").contains("authentication key does not match"));
    assert_eq!(
        r.check("keys.proof").unwrap().detail("signature"),
        Some("verified")
    );
}

#[test]
fn key_proof_when_the_card_refuses() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.pin = Some(Pin::new("1234").unwrap());
    let mut t = Tamper::new(
        sim(&profile("cps3")),
        |cmd: &[u8], _: &[u8], _: &[u8], a: Vec<u8>| {
            if cmd.get(1) == Some(&0x2A) {
                vec![0x69, 0x82]
            } else {
                a
            }
        },
    );
    let r = run_in_process(&ws, &o, &mut t);
    assert_eq!(verdict(&r, "keys.proof"), Verdict::Fail);
    assert!(finding(&r, "keys.proof").contains("refused"));
}

// ---------------------------------------------------------------- middleware

fn middleware(ws: &Workstation, card: &str) -> cps_diag::Report {
    let mut t = sim(&profile(card));
    run_in_process(ws, &sim_options(), &mut t)
}

#[test]
fn cryptolib_missing_old_or_recent() {
    let ws = Workstation::new();
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.cryptolib"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "middleware.cryptolib").as_deref(),
        Some("cryptolib_missing")
    );

    ws.file("/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "");
    let r = middleware(&ws, "cps4");
    assert_eq!(
        verdict(&r, "middleware.cryptolib"),
        Verdict::Warn,
        "version unknown, CPS4"
    );
    let r = middleware(&ws, "cps3");
    assert_eq!(
        verdict(&r, "middleware.cryptolib"),
        Verdict::Ok,
        "version unknown, CPS3"
    );

    ws.file("/var/opt/santesocial/commun/adm/157.adm", "050107\n");
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.cryptolib"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "middleware.cryptolib").as_deref(),
        Some("cryptolib_old")
    );
    let r = middleware(&ws, "cps4");
    assert_eq!(verdict(&r, "middleware.cryptolib"), Verdict::Fail);
    assert_eq!(r.exit_code(false), 10);

    ws.file("/var/opt/santesocial/commun/adm/157.adm", "050202\n");
    let r = middleware(&ws, "cps4");
    assert_eq!(verdict(&r, "middleware.cryptolib"), Verdict::Ok);
    assert!(finding(&r, "middleware.cryptolib").contains("5.2.2"));

    let ws = Workstation::new();
    ws.file("/var/opt/santesocial/commun/adm/174.adm", "050202\n");
    let r = middleware(&ws, "cps3");
    assert_eq!(
        verdict(&r, "middleware.cryptolib"),
        Verdict::Warn,
        "recorded but missing"
    );
}

#[test]
fn cryptolib_version_from_the_package_database() {
    let ws = Workstation::new();
    ws.file("/usr/lib64/libcps3_pkcs11_lux.so", "");
    ws.file(
        "/var/lib/dpkg/status",
        "Package: cryptolibcps\nStatus: install ok installed\nVersion: 5.2.2-1\n\n",
    );
    let r = middleware(&ws, "cps4");
    assert_eq!(verdict(&r, "middleware.cryptolib"), Verdict::Ok);
}

#[test]
fn opensc() {
    let ws = Workstation::new();
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.opensc"), Verdict::Info);
    assert!(finding(&r, "middleware.opensc").contains("not installed"));

    ws.file("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "");
    ws.file(
        "/var/lib/dpkg/status",
        "Package: opensc\nStatus: install ok installed\nVersion: 0.23.0-0.3+deb12u1\n\n",
    );
    let r = middleware(&ws, "cps3");
    let c = r.check("middleware.opensc").unwrap();
    assert_eq!(c.verdict, Verdict::Info);
    assert_eq!(c.detail("would_serve_the_card"), Some("OpenSC"));
    assert_eq!(c.detail("version"), Some("0.23.0"));

    let r = middleware(&ws, "cps4");
    assert_eq!(verdict(&r, "middleware.opensc"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "middleware.opensc").as_deref(),
        Some("opensc_cps4")
    );

    ws.file("/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "");
    let r = middleware(&ws, "cps3");
    let c = r.check("middleware.opensc").unwrap();
    assert_eq!(c.verdict, Verdict::Info);
    assert!(c.finding.en.contains("may grab the card"));
}

#[test]
fn firefox_profiles_manifest_and_snap() {
    let ws = Workstation::new();
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Info);

    ws.file(
        "/home/user/.mozilla/firefox/profiles.ini",
        "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\n\n[General]\nVersion=2\n",
    );
    ws.file(
        "/home/user/.mozilla/firefox/abcd.default/pkcs11.txt",
        "library=\nname=NSS Internal PKCS #11 Module\n",
    );
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "middleware.firefox").as_deref(),
        Some("firefox_module")
    );

    ws.file(
        "/home/user/.mozilla/firefox/abcd.default/pkcs11.txt",
        "library=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so\nname=OpenSC\n",
    );
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Info);

    ws.file(
        "/home/user/.mozilla/firefox/abcd.default/pkcs11.txt",
        "library=/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so\nname=CPS\n",
    );
    let r = middleware(&ws, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Ok);

    let ws2 = Workstation::new();
    ws2.file(
        "/home/user/.mozilla/firefox/profiles.ini",
        "[Profile0]\nIsRelative=1\nPath=p\n",
    );
    ws2.file(
        "/usr/lib/mozilla/pkcs11-modules/cps3.json",
        "{\"name\":\"cps3\"}",
    );
    let r = middleware(&ws2, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Ok);

    ws2.file("/snap/bin/firefox", "");
    let r = middleware(&ws2, "cps3");
    assert_eq!(verdict(&r, "middleware.firefox"), Verdict::Warn);
    assert_eq!(
        remedy(&r, "middleware.firefox").as_deref(),
        Some("snap_firefox")
    );
}

// ---------------------------------------------------------------- report

#[test]
fn redaction_hides_names_identifiers_and_serials() {
    let ws = Workstation::new();
    let mut o = sim_options();
    o.redact = true;
    let mut t = sim(&profile("cps3"));
    let r = run_in_process(&ws, &o, &mut t);
    let json = r.to_json();
    for secret in [
        "99213845",
        "2900412345",
        "899900418736",
        "MEDECIN",
        "ALAIN",
        "06C0C7CD3B",
    ] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
    }
    assert!(r.redacted);
    let text = r.render_text(Lang::Fr, false, Verbosity::Verbose);
    assert!(!text.contains("ALAIN"));
    // Verdicts are unchanged.
    assert_eq!(r.exit_code(false), 0);
}

#[test]
fn french_report() {
    let r = run_profile("expired");
    let text = r.render_text(Lang::Fr, false, Verbosity::Verbose);
    assert!(
        text.contains("Certificats") && text.contains("a expiré"),
        "{text}"
    );
    assert!(text.contains("Bilan"));
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
