//! Tier 3: the real `cps` binary against the virtual card, through the real pcscd
//! and vsmartcard's vpcd. `#[ignore]`d outside `scripts/test.sh`, which starts pcscd.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use cps_card::pcsc::{Event, PcscContext};
use cps_sim::card::{Counters, VirtualCard};
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};

const SLOT: u8 = 0;
const READER: &str = "Virtual PCD 00 00";

/// A virtual card in slot 0 for the length of a test; the slot lock keeps other
/// tests (and other test processes) out of the slot meanwhile.
struct Inserted {
    handle: Option<VpcdHandle>,
    _lock: SlotLock,
}

fn insert(profile: &str, counters: Option<Counters>) -> Inserted {
    let lock = SlotLock::acquire(SLOT, Duration::from_secs(120)).unwrap();
    let ctx = PcscContext::establish().unwrap();
    assert!(
        ctx.wait_for(READER, Event::Removed, Duration::from_secs(5))
            .unwrap()
    );
    let mut card = VirtualCard::new(&Profile::builtin(profile).unwrap()).unwrap();
    if let Some(c) = counters {
        card.set_counters(c);
    }
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

fn cps(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("cps").unwrap();
    c.args(["--reader", READER, "--timeout", "5"]).args(args);
    c
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn readers_and_status_json_contract() {
    let _card = insert("cps3", None);
    let out = cps(&["readers", "--json"]).assert().success();
    let doc = json(&out);
    let reader = doc["readers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == READER)
        .unwrap();
    assert_eq!(reader["card_present"], true);
    assert_eq!(reader["card"], "CPS3 (contact)");

    let doc = json(&cps(&["status", "--json"]).assert().success());
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["card"]["generation"], "CPS3");
    assert_eq!(doc["card"]["interface"], "contact");
    assert_eq!(doc["card"]["serial"].as_str().unwrap().len(), 8);
    assert!(doc["card"]["atr"].as_str().unwrap().starts_with("3BAC"));
    for field in [
        "national_id",
        "id_kind",
        "given_name",
        "surname",
        "card_type",
        "test_card",
    ] {
        assert!(!doc["holder"][field].is_null(), "holder.{field}");
    }
    assert_eq!(doc["holder"]["id_kind"], "RPPS");
    assert_eq!(doc["pin"]["tries_left"], 3);
    assert_eq!(doc["pin"]["tries_max"], 3);
    assert_eq!(doc["pin"]["state"], "ok");
    assert_eq!(doc["puk"]["tries_max"], 10);
    assert_eq!(doc["puk"]["usage_left"], 100);
    let certs = doc["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    for c in certs {
        for field in [
            "which",
            "subject",
            "issuer",
            "not_before",
            "not_after",
            "sha256",
        ] {
            assert!(c[field].is_string(), "certificates[].{field}");
        }
    }
    println!("cps status on a CPS3: {} APDUs", doc["apdus"]);
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn verify_wrong_then_right_and_no_pin_in_traces() {
    let _card = insert("cps3", None);
    let out = cps(&["--trace", "verify", "--pin-stdin"])
        .write_stdin("9999\n")
        .assert()
        .code(3);
    let err = stderr(&out);
    assert!(err.contains("2 tries left"), "{err}");
    assert!(err.contains("00 20 00 01 08 [8 bytes redacted]"), "{err}");
    assert!(!err.contains("39 39 39 39"), "{err}");
    let out = cps(&["--trace", "--json", "verify", "--pin-stdin"])
        .write_stdin("1234\n")
        .assert()
        .success();
    assert_eq!(json(&out)["result"]["outcome"], "verified");
    assert!(!stderr(&out).contains("31 32 33 34"));
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn last_try_is_refused_without_opt_in() {
    let card = insert(
        "cps3",
        Some(Counters {
            pin_tries_left: 1,
            puk_tries_left: 10,
            puk_usage_left: 100,
        }),
    );
    let out = cps(&["--lang", "en", "verify", "--pin-env", "CPS_TEST_PIN"])
        .env("CPS_TEST_PIN", "9999")
        .assert()
        .code(4);
    assert!(
        stderr(&out).contains("only one try is left"),
        "{}",
        stderr(&out)
    );
    let doc = json(&cps(&["status", "--json"]).assert().success());
    assert_eq!(doc["pin"]["tries_left"], 1, "the guard spent a try");
    assert_eq!(doc["pin"]["state"], "final_try");
    drop(card);
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn unblock_a_blocked_card_then_use_the_new_pin() {
    let _card = insert("blocked-pin", None);
    let out = cps(&["--lang", "fr", "verify", "--pin-stdin"])
        .write_stdin("1234\n")
        .assert()
        .code(4);
    assert!(
        stderr(&out).contains("code de déblocage"),
        "{}",
        stderr(&out)
    );
    cps(&["unblock", "--puk-stdin", "--new-pin-stdin"])
        .write_stdin("12345678\n4321\n")
        .assert()
        .success();
    cps(&["verify", "--pin-stdin"])
        .write_stdin("4321\n")
        .assert()
        .success();
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn exhausted_unblock_code_says_replace_the_card() {
    let _card = insert("puk-exhausted", None);
    let out = cps(&["--lang", "en", "unblock", "--puk-stdin", "--new-pin-stdin"])
        .write_stdin("12345678\n4321\n")
        .assert()
        .code(4);
    let err = stderr(&out);
    assert!(
        err.contains("must be replaced") && err.contains("TOM"),
        "{err}"
    );
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn a_vitale_card_is_named() {
    let _card = insert("vitale", None);
    let out = cps(&["status"]).assert().code(8);
    assert!(stderr(&out).contains("Carte Vitale"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn export_certificates_and_raw_apdus() {
    let _card = insert("cps4", None);
    let dir = std::env::temp_dir().join(format!("cps-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    cps(&[
        "certs",
        "export",
        "--format",
        "der",
        "--out",
        dir.to_str().unwrap(),
    ])
    .assert()
    .success();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 2);
    for f in files {
        let der = std::fs::read(f.unwrap().path()).unwrap();
        cps_card::cert::Certificate::from_der(&der).unwrap();
    }
    let out = cps(&["apdu", "01 A4 04 0C 08 80 25 00 00 01 FF 01 00"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("90 00 (success)"));
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn cps_sim_attaches_until_terminated() {
    let _lock = SlotLock::acquire(1, Duration::from_secs(120)).unwrap();
    let reader = "Virtual PCD 00 01";
    let mut child = start_sim(&["--profile", "cpe"]);
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["--reader", reader, "status", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out)["holder"]["card_type"], "CPE");
    // SIGTERM: the card leaves, the process ends cleanly, having printed its reader.
    let mut stdout = String::new();
    let mut pipe = child.stdout.take().unwrap();
    stop_sim(child);
    std::io::Read::read_to_string(&mut pipe, &mut stdout).unwrap();
    assert_eq!(stdout.trim(), reader);
    let _ = std::io::stdout().flush();
}

/// Reads a child's stdout line by line on a thread of its own.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next JSON event `cps watch` prints, within 10 s.
fn next_event(rx: &mpsc::Receiver<String>) -> Value {
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn watch_sees_the_card_come_and_go_in_one_reader() {
    let card = insert("cps4", None);
    let atr = hex::encode_upper(Profile::builtin("cps4").unwrap().atr_bytes());
    // --once: what is present counts; --reader keeps the other reader's events out.
    let out = cps(&["watch", "--once", "--json", "--duration", "10"])
        .assert()
        .success();
    let events: Vec<Value> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["event"], "reader_added");
    assert_eq!(events[1]["event"], "card_inserted");
    for e in &events {
        assert_eq!(e["reader"], READER, "{e}");
        assert_eq!(e["schema_version"], 1, "{e}");
    }
    assert_eq!(events[1]["atr"], atr.as_str());
    assert!(
        events[1]["card"].as_str().unwrap().contains("CPS4"),
        "{}",
        events[1]
    );

    // Running: the card leaves, then comes back.
    let mut child = Process::new(env!("CARGO_BIN_EXE_cps"))
        // --timeout is each PC/SC call's limit, never how long watch runs.
        .args(["--reader", READER, "--timeout", "1", "watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    assert_eq!(next_event(&rx)["event"], "reader_added");
    assert_eq!(next_event(&rx)["event"], "card_inserted");
    let handle = card.handle.as_ref().unwrap();
    handle.remove();
    let e = next_event(&rx);
    assert_eq!(
        (&e["event"], &e["reader"]),
        (&"card_removed".into(), &READER.into())
    );
    assert_eq!(e["atr"], Value::Null);
    handle.insert();
    let e = next_event(&rx);
    assert_eq!(e["event"], "card_inserted", "{e}");
    assert_eq!(e["atr"], atr.as_str());
    // Still running past --timeout (no --duration): nothing more until it is stopped.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "watch stopped by itself after --timeout"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // A reader that is not there is the usual error.
    Command::cargo_bin("cps")
        .unwrap()
        .args(["--reader", "no such reader", "watch", "--duration", "1"])
        .assert()
        .code(6);
}

/// `cps sim` in slot 1 until [`stop_sim`] (its stdout piped); waits for pcscd to see
/// the card.
fn start_sim(args: &[&str]) -> std::process::Child {
    let child = Process::new(env!("CARGO_BIN_EXE_cps"))
        .args(["sim", "--slot", "1"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ctx = PcscContext::establish().unwrap();
    assert!(
        ctx.wait_for(
            "Virtual PCD 00 01",
            Event::Inserted,
            Duration::from_secs(10)
        )
        .unwrap()
    );
    child
}

/// SIGTERM, then waits for the process to end and pcscd to see the card leave.
/// `cps sim` in slot 1 that must fail before attaching (bounded: a card that did attach
/// would wait to be stopped); its stderr.
fn sim_refused(args: &[&str]) -> String {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["sim", "--slot", "1"])
        .args(args)
        .timeout(Duration::from_secs(20))
        .assert()
        .failure();
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

fn stop_sim(mut child: std::process::Child) {
    Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let ctx = PcscContext::establish().unwrap();
    assert!(
        ctx.wait_for("Virtual PCD 00 01", Event::Removed, Duration::from_secs(5))
            .unwrap()
    );
}

/// `cps sim --state`: a PIN changed through pcscd is still the PIN after a restart,
/// and the file does not hold it in clear.
#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn cps_sim_state_keeps_a_changed_pin() {
    let _lock = SlotLock::acquire(1, Duration::from_secs(120)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card.json");
    let state_arg = state.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::cargo_bin("cps").unwrap();
        c.env("OLD", "1234")
            .env("NEW", "97531")
            .args(["--reader", "Virtual PCD 00 01", "--timeout", "5"])
            .args(args);
        c
    };
    let sim = start_sim(&["--state", state_arg]);
    // One simulator per state file: a second one is refused before it attaches.
    let err = sim_refused(&["--state", state_arg]);
    assert!(err.contains("in use by another simulator"), "{err}");
    run(&["pin", "change", "--pin-env", "OLD", "--new-pin-env", "NEW"])
        .assert()
        .success();
    stop_sim(sim);
    // The file holds counters and the salted digest of the new PIN's block, no more.
    let text = std::fs::read_to_string(&state).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<_> = file.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "codes",
            "counters",
            "format",
            "generation",
            "max",
            "profile"
        ],
        "{text}"
    );
    assert_eq!(file["profile"], "cps3", "{text}");
    let codes = &file["codes"];
    let salt = hex::decode(codes["salt"].as_str().unwrap()).unwrap();
    let mut block = b"97531".to_vec();
    block.resize(8, 0xFF);
    let digest = Sha256::new()
        .chain_update(&salt)
        .chain_update(&block)
        .finalize();
    assert_eq!(
        codes["pin"].as_str().unwrap(),
        hex::encode(digest),
        "{text}"
    );

    let sim = start_sim(&["--state", state_arg]);
    run(&["verify", "--pin-env", "OLD"]).assert().code(3);
    run(&["verify", "--pin-env", "NEW"]).assert().success();
    stop_sim(sim);
    // Another profile's card refuses the file rather than take its counters and PIN.
    let err = sim_refused(&["--profile", "cps4", "--state", state_arg]);
    assert!(err.contains("belongs to the virtual card `cps3`"), "{err}");
    // Without the state file the card is the profile's again.
    let sim = start_sim(&[]);
    run(&["verify", "--pin-env", "OLD"]).assert().success();
    stop_sim(sim);
}
