//! Without a PC/SC service the error says so and how to start it.
//!
//! pcsc-lite reads `PCSCLITE_CSOCK_NAME` once per process, so the test runs itself
//! again as a child pointed at a socket that does not exist. Needs no daemon.
#![cfg(all(feature = "pcsc", target_os = "linux"))]

use std::process::Command;

use cps_card::pcsc::{PcscContext, PcscError};

const CHILD: &str = "CPS_PCSC_NO_SERVICE_CHILD";

#[test]
fn no_service_says_how_to_start_pcscd() {
    if std::env::var_os(CHILD).is_some() {
        match PcscContext::establish() {
            Err(e @ PcscError::NoService) => {
                let message = e.to_string();
                assert!(message.contains("not running"), "{message}");
                assert!(message.contains("pcscd"), "{message}");
            }
            other => panic!("expected NoService, got {other:?}"),
        }
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test's own path"))
        .args([
            "no_service_says_how_to_start_pcscd",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/cps-test/pcscd.comm")
        .output()
        .expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // "1 passed": the filter found the test, so the child really checked.
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child run failed: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
