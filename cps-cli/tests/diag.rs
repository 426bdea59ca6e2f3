//! `cps diag` as a user runs it: in-process against the virtual card (`--sim`), and
//! against a PC/SC service that is not there.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;

fn cps() -> Command {
    let mut c = Command::cargo_bin("cps").unwrap();
    c.env_remove("NO_COLOR").env("LANG", "C");
    c
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../cps-diag/schema/report.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    v.iter_errors(doc).map(|e| e.to_string()).collect()
}

#[test]
fn sim_healthy_card_exits_0() {
    let out = cps().args(["diag", "--sim", "--no-input"]).assert().code(0);
    let text = stdout(&out);
    assert!(text.contains("Card type: CPS3 (contact)"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
}

#[test]
fn sim_broken_profiles_exit_10_with_their_remedy() {
    for (profile, check_id, remedy) in [
        ("blocked-pin", "pin.pin", "pin_blocked"),
        ("puk-exhausted", "pin.puk", "card_to_replace"),
        ("expired", "certs.validity", "cert_expired"),
        ("vitale", "card.kind", "vitale_in_slot"),
        ("unknown", "card.kind", "unknown_card"),
    ] {
        let out = cps()
            .args(["diag", "--json", "--sim", profile])
            .assert()
            .code(10);
        let doc = json(&out);
        let c = check(&doc, check_id);
        assert_eq!(c["verdict"], "fail", "{profile}");
        assert_eq!(c["remedy"]["id"], remedy, "{profile}");
        assert!(
            schema_errors(&doc).is_empty(),
            "{profile}: {:?}",
            schema_errors(&doc)
        );
    }
}

#[test]
fn sim_strict_counts_warnings() {
    cps()
        .args(["diag", "--sim", "expiring", "--no-input"])
        .assert()
        .code(0);
    cps()
        .args(["diag", "--sim", "expiring", "--no-input", "--strict"])
        .assert()
        .code(10);
}

#[test]
fn key_proof_with_a_pin_from_the_environment() {
    let out = cps()
        .env("CPS_TEST_PIN", "1234")
        .args([
            "diag",
            "--sim",
            "cps4",
            "--json",
            "--pin-env",
            "CPS_TEST_PIN",
        ])
        .assert()
        .code(0);
    let doc = json(&out);
    assert_eq!(check(&doc, "keys.proof")["verdict"], "ok");
    // Without a PIN source, --json never prompts: the key proof is skipped.
    let doc = json(&cps().args(["diag", "--sim", "--json"]).assert().code(0));
    assert_eq!(check(&doc, "keys.proof")["verdict"], "skipped");
}

#[test]
fn french_and_redacted() {
    let out = cps()
        .args(["diag", "--sim", "blocked-pin", "--lang", "fr", "--redact"])
        .assert()
        .code(10);
    let text = stdout(&out);
    assert!(
        text.contains("Code porteur") && text.contains("CPAM"),
        "{text}"
    );
    assert!(
        !text.contains("MEDECIN") && !text.contains("99213847"),
        "{text}"
    );
    let doc = json(
        &cps()
            .args(["diag", "--sim", "--json", "--redact"])
            .assert()
            .code(0),
    );
    assert_eq!(doc["redacted"], true);
    assert!(!doc.to_string().contains("899900418736"));

    // The trace is the card's data as read: --redact says it does not cover it.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("diag.trace");
    let out = cps()
        .args(["diag", "--sim", "--redact", "-q", "--lang", "en"])
        .arg(format!("--trace={}", trace.display()))
        .assert()
        .code(0);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("not in the --trace output"), "{err}");
    let out = cps()
        .args(["diag", "--sim", "--redact", "--lang", "en"])
        .assert()
        .code(0);
    assert!(out.get_output().stderr.is_empty());
}

/// `--trace=FILE` logs every APDU the diagnosis sends (as many as the report counts),
/// with the VERIFY of the key proof redacted.
#[test]
fn trace_logs_every_apdu_without_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("diag.trace");
    let out = cps()
        .env("CPS_TEST_PIN", "1234")
        .args(["diag", "--sim", "--json", "--pin-env", "CPS_TEST_PIN"])
        .arg(format!("--trace={}", trace.display()))
        .assert()
        .code(0);
    let doc = json(&out);
    assert_eq!(check(&doc, "keys.proof")["verdict"], "ok");
    let text = std::fs::read_to_string(&trace).unwrap();
    let commands = text.lines().filter(|l| l.starts_with("> ")).count();
    let responses = text.lines().filter(|l| l.starts_with("< ")).count();
    assert_eq!(commands as u64, doc["apdus"].as_u64().unwrap(), "{text}");
    assert_eq!(commands, responses, "{text}");
    let verify: Vec<&str> = text.lines().filter(|l| l.starts_with("> 00 20")).collect();
    assert!(!verify.is_empty(), "{text}");
    for line in verify {
        assert!(line.contains("bytes redacted"), "{line}");
        assert!(!line.contains("31 32 33 34"), "{line}");
    }
}

/// `-q` keeps the problems, their remedies and the summary; `-v` shows every detail.
#[test]
fn quiet_and_verbose() {
    let quiet = stdout(
        &cps()
            .args(["diag", "--sim", "blocked-pin", "--no-input", "-q"])
            .assert()
            .code(10),
    );
    let normal = stdout(
        &cps()
            .args(["diag", "--sim", "blocked-pin", "--no-input"])
            .assert()
            .code(10),
    );
    let verbose = stdout(
        &cps()
            .args(["diag", "--sim", "blocked-pin", "--no-input", "-v"])
            .assert()
            .code(10),
    );
    assert!(normal.contains("Card type: CPS3 (contact)"), "{normal}");
    assert!(!quiet.contains("Card type"), "{quiet}");
    assert!(!quiet.contains("[   ok    ]"), "{quiet}");
    assert!(quiet.contains("[  fail   ]"), "{quiet}");
    assert!(quiet.contains("To do:"), "{quiet}");
    assert!(quiet.contains("Summary:"), "{quiet}");
    assert!(quiet.lines().count() < normal.lines().count());
    assert!(verbose.lines().count() > normal.lines().count());
}

#[test]
fn usage_errors_exit_2() {
    cps().args(["diag", "--warn-days", "soon"]).assert().code(2);
    cps()
        .args(["diag", "--sim", "no-such-profile"])
        .assert()
        .code(2);
}

#[test]
fn no_pcsc_service_is_a_failure_with_its_remedy() {
    let out = cps()
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent")
        .args(["diag", "--json", "--no-input"])
        .assert()
        .code(10);
    let doc = json(&out);
    assert_eq!(doc["mode"], "pcsc");
    let c = check(&doc, "pcsc.service");
    assert_eq!(c["verdict"], "fail");
    assert_eq!(c["remedy"]["id"], "pcsc_service_linux");
    assert_eq!(check(&doc, "card.kind")["verdict"], "skipped");
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
}
