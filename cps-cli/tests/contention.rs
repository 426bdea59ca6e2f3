//! Several `cps` processes against the same card at the same time, through pcscd: each
//! operation runs whole inside its PC/SC transaction, and what another process does to
//! the card (a reset after its PIN operation, an exclusive connection) is reported as
//! such — exit code 7 and a message naming it — never as a wrong PIN.
//! `#[ignore]`d outside `scripts/test.sh`, which starts pcscd.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::thread;

use common::{READER, code, cps, insert, json, stderr};

const NO_CARD: i32 = 7;
const WRONG_CODE: i32 = 3;

/// One run of `cps`: its exit code, stdout and stderr.
type Run = (Option<i32>, String, String);

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut c = cps(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.assert();
    (
        code(&out),
        String::from_utf8_lossy(&out.get_output().stdout).into_owned(),
        stderr(&out),
    )
}

/// What another process did, named: a reset, an exclusive connection, or a transaction
/// that outlasted our timeout.
fn names_the_other_process(stderr: &str) -> bool {
    [
        "reset by another application",
        "sharing violation",
        "another application",
    ]
    .iter()
    .any(|m| stderr.contains(m))
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn status_and_verify_loops_at_the_same_time() {
    const ROUNDS: usize = 25;
    let card = insert("cps3", None);
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(thread::spawn(|| {
            (0..ROUNDS)
                .map(|_| ("status", run(&["status", "--json"], None)))
                .collect::<Vec<_>>()
        }));
    }
    for _ in 0..2 {
        workers.push(thread::spawn(|| {
            (0..ROUNDS)
                .map(|_| ("verify", run(&["verify", "--pin-stdin"], Some("1234\n"))))
                .collect::<Vec<_>>()
        }));
    }
    let mut tally: BTreeMap<(&str, Option<i32>), usize> = BTreeMap::new();
    for worker in workers {
        for (what, (exit, stdout, err)) in worker.join().unwrap() {
            *tally.entry((what, exit)).or_default() += 1;
            match exit {
                Some(0) if what == "status" => {
                    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                    assert_eq!(doc["pin"]["tries_left"], 3, "a status saw a spent try");
                }
                Some(0) => {}
                Some(NO_CARD) => assert!(names_the_other_process(&err), "{what}: {err}"),
                other => panic!("{what}: exit {other:?}: {err}"),
            }
        }
    }
    println!("{tally:?}");
    assert_eq!(
        card.truth().pin_tries_left,
        3,
        "a right PIN never spends a try"
    );
    let successes: usize = tally
        .iter()
        .filter(|((_, e), _)| *e == Some(0))
        .map(|(_, n)| n)
        .sum();
    assert!(successes >= ROUNDS, "{tally:?}");
}

/// Two wrong PINs at the same time: each VERIFY runs whole in its transaction, so the
/// two processes report two different counts (2 then 1), and the card agrees.
#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn two_wrong_pins_at_the_same_time_report_distinct_counts() {
    let card = insert("cps3", None);
    let statuses = thread::spawn(|| {
        (0..10)
            .map(|_| run(&["status", "--json"], None))
            .collect::<Vec<_>>()
    });
    let wrong: Vec<_> = (0..2)
        .map(|_| thread::spawn(|| run(&["verify", "--pin-stdin"], Some("9999\n"))))
        .collect();
    let mut left = Vec::new();
    for w in wrong {
        let (exit, _, err) = w.join().unwrap();
        match exit {
            Some(WRONG_CODE) if err.contains("2 tries left") => left.push(2),
            Some(WRONG_CODE) if err.contains("1 tries left") || err.contains("1 try left") => {
                left.push(1)
            }
            Some(NO_CARD) => assert!(names_the_other_process(&err), "{err}"),
            other => panic!("exit {other:?}: {err}"),
        }
    }
    for (exit, _, err) in statuses.join().unwrap() {
        assert!(
            exit == Some(0) || (exit == Some(NO_CARD) && names_the_other_process(&err)),
            "status: exit {exit:?}: {err}"
        );
    }
    left.sort_unstable();
    let spent = left.len() as u8;
    assert_eq!(card.truth().pin_tries_left, 3 - spent, "{left:?}");
    let expected: Vec<u8> = (3 - spent..3).collect();
    assert_eq!(left, expected, "each wrong PIN reported its own count");
    let doc = json(&cps(&["status", "--json"]).assert().success());
    assert_eq!(doc["pin"]["tries_left"], 3 - spent);
}

/// Another application holds the card exclusively: `cps` says so (exit 7), and a
/// verify sends nothing.
#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn exclusive_use_by_another_application_is_a_sharing_violation() {
    let card = insert("cps3", None);
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    let reader = std::ffi::CString::new(READER).unwrap();
    let exclusive = ctx
        .connect(&reader, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
        .unwrap();
    for (args, stdin) in [
        (vec!["status"], None),
        (vec!["verify", "--pin-stdin"], Some("9999\n")),
    ] {
        let (exit, _, err) = run(&args, stdin);
        assert_eq!(exit, Some(NO_CARD), "{args:?}: {err}");
        assert!(err.contains("sharing violation"), "{args:?}: {err}");
    }
    assert_eq!(card.truth().pin_tries_left, 3);
    exclusive
        .disconnect(pcsc::Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .unwrap();
    card.status_tells_the_truth("after the exclusive session");
}
