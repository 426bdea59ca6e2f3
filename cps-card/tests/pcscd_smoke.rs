//! Tier 3 smoke test: the real pcscd, with vsmartcard's vpcd driver loaded, is
//! reachable through the `pcsc` crate and shows the virtual reader.
//!
//! `#[ignore]`d because it needs the daemon: `scripts/test.sh` starts pcscd and runs
//! the ignored tests too.

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pcscd_lists_the_virtual_reader() {
    let ctx = pcsc::Context::establish(pcsc::Scope::User)
        .expect("pcscd is not reachable: start it (scripts/test.sh does)");
    let readers = ctx.list_readers_owned().expect("SCardListReaders failed");
    let names: Vec<String> = readers
        .iter()
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n == "Virtual PCD 00 00"),
        "vpcd's first slot is missing; readers: {names:?}"
    );
}
