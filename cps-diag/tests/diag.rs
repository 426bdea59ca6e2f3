//! The diagnosis end to end, in-process, against virtual cards and fake workstations.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cps_diag::{Lang, Verdict};

#[test]
fn smoke_cps3() {
    let r = run_profile("cps3");
    println!("{}", r.render_text(Lang::En, false));
    assert_eq!(verdict(&r, "card.kind"), Verdict::Ok);
}
