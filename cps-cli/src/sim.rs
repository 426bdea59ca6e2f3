//! `cps sim` (wired when cps-sim lands).
use std::process::ExitCode;
pub fn run(_g: &crate::cli::Global, _a: &crate::cli::SimArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("todo")
}
