//! `cps`: the command line for CPS (Carte de Professionnel de Santé) cards.

use clap::Parser;

/// Command line for the French health professional card (CPS / CPx).
///
/// The commands (diag, status, verify, unblock, certs, readers, sim…) arrive with
/// the libraries they sit on; this build only knows --help and --version.
#[derive(Debug, Parser)]
#[command(name = "cps", version, about, long_about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
