//! `cps`: the command line for CPS (Carte de Professionnel de Santé) cards.
//!
//! Thin by design: every behaviour lives in the libraries (`cps-card`, `cps-sim`,
//! `cps-diag`); this crate parses arguments, reads secrets, prints and maps errors to
//! exit codes.

// A binary: `pub` inside it means "visible to the other modules".
#![allow(unreachable_pub)]

mod cli;
mod commands;
mod diag;
mod exit;
mod secrets;
mod sim;

use std::process::ExitCode;

use clap::Parser;
use cps_diag::Lang;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.global.lang {
        Some(cli::Lang::Fr) => Lang::Fr,
        Some(cli::Lang::En) => Lang::En,
        None => Lang::from_env(),
    };
    match commands::run(&cli, lang) {
        Ok(code) => code,
        Err(error) => {
            let code = exit::code_for(&error);
            if cli.global.json {
                let doc = serde_json::json!({
                    "schema_version": commands::SCHEMA_VERSION,
                    "error": {
                        "message": error.to_string(),
                        "causes": error.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
                        "exit_code": code,
                    }
                });
                println!("{doc}");
            }
            eprintln!("{}: {error}", lang.pick("erreur", "error"));
            for cause in error.chain().skip(1) {
                eprintln!("  {}: {cause}", lang.pick("cause", "caused by"));
            }
            if let Some(remedy) = exit::remedy_for(&error) {
                eprintln!("\n{}", remedy.text(lang));
            }
            ExitCode::from(code)
        }
    }
}
