//! The `cps` binary as users run it.

use assert_cmd::Command;

#[test]
fn help_names_the_tool() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .arg("--help")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("CPS"), "{text}");
    assert!(text.contains("Usage: cps"), "{text}");
}

#[test]
fn version_matches_the_crate() {
    Command::cargo_bin("cps")
        .unwrap()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("cps {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_argument_is_a_usage_error() {
    Command::cargo_bin("cps")
        .unwrap()
        .arg("--frobnicate")
        .assert()
        .code(2);
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cps-card/tests/fixtures/cards")
        .join(name)
}

#[test]
fn help_documents_exit_codes() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .arg("--help")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for line in [
        "3  wrong PIN",
        "4  refused to protect the card",
        "5  the PC/SC service",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[test]
fn no_secret_in_argv_options() {
    // Every secret option names a source, never a value.
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["unblock", "--help"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for flag in [
        "--puk-stdin",
        "--puk-file",
        "--puk-env",
        "--new-pin-stdin",
        "--new-pin-file",
        "--new-pin-env",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
    assert!(!text.contains("--puk <"), "{text}");
    Command::cargo_bin("cps")
        .unwrap()
        .args(["verify", "--pin", "1234"])
        .assert()
        .code(2);
}

#[test]
fn inspect_a_doctor_certificate_json() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["certs", "inspect", "--json"])
        .arg(fixture("doctor-auth.pem"))
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let entry = &doc["certificates"][0];
    assert_eq!(entry["holder"]["id_kind"], "RPPS");
    assert_eq!(entry["holder"]["national_id"], "810002813839");
    assert_eq!(entry["holder"]["card_type"], "CPS");
    assert!(entry["sha256"].as_str().unwrap().len() == 64);
    assert!(entry["key_usage"].as_array().is_some());
}

#[test]
fn inspect_in_french() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["--lang", "fr", "certs", "inspect"])
        .arg(fixture("doctor-auth.pem"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("Médecin"), "{text}");
}

#[test]
fn inspect_garbage_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("cps-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("garbage.pem");
    std::fs::write(&file, b"not a certificate").unwrap();
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["certs", "inspect"])
        .arg(&file)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("garbage.pem"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn no_pcsc_service_exits_5() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm")
        .args(["readers", "--json"])
        .assert()
        .code(5);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["error"]["exit_code"], 5);
}

#[test]
fn no_input_without_a_secret_source_is_an_error() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["--no-input", "verify"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("--pin-stdin"), "{err}");
}

#[test]
fn completions_and_manpage() {
    let out = Command::cargo_bin("cps")
        .unwrap()
        .args(["completions", "bash"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("_cps"));
    let out = Command::cargo_bin("cps")
        .unwrap()
        .arg("manpage")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains(".TH cps"));
}
