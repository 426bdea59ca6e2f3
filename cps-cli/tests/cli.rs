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
