#![doc = include_str!("../README.md")]

mod checks;
pub mod engine;
pub mod env;
pub mod remedy;
pub mod report;
mod time;
pub mod trust;

pub use checks::CHECK_IDS;
pub use engine::{
    AccessError, HostPcsc, Options, PcscAccess, SessionEnd, Target, TracedAccess, diagnose,
};
pub use env::Environment;
pub use remedy::{Lang, Remedy};
pub use report::{
    Area, CheckResult, Detail, EXIT_FAILED, Mode, RemedyText, Report, SCHEMA_VERSION, Summary,
    Text, Tool, Verbosity, Verdict,
};
pub use trust::TrustStore;
