//! Lists the PC/SC readers and their cards, like `pcsc_scan -r` with card states.
//!
//! ```text
//! cargo run -p cps-card --example list_readers
//! ```
//!
//! Runs against any PC/SC reader; prints one line per reader (its index is what
//! `ReaderSelector::parse` takes) and one indented line about its card.

use std::process::ExitCode;

#[cfg(not(feature = "pcsc"))]
fn main() -> ExitCode {
    eprintln!("error: built without the `pcsc` feature");
    ExitCode::FAILURE
}

#[cfg(feature = "pcsc")]
use cps_card::pcsc::{PcscContext, ReaderInfo};

#[cfg(feature = "pcsc")]
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "pcsc")]
fn run() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = PcscContext::establish()?;
    let readers = ctx.list_readers()?;
    if readers.is_empty() {
        println!("no reader");
        return Ok(());
    }
    for reader in &readers {
        println!("{}: {}", reader.index, reader.name);
        println!("   {}", card_line(reader));
    }
    Ok(())
}

#[cfg(feature = "pcsc")]
fn card_line(reader: &ReaderInfo) -> String {
    let mut line = if reader.unavailable {
        "reader unavailable".to_owned()
    } else if !reader.card_present {
        "no card".to_owned()
    } else if reader.mute {
        "mute card (inserted the wrong way round?)".to_owned()
    } else {
        match &reader.atr {
            Some(atr) => format!("card, ATR {}", spaced_hex(atr)),
            None => "card".to_owned(),
        }
    };
    if reader.exclusive {
        line.push_str(" [used exclusively by another application]");
    } else if reader.in_use {
        line.push_str(" [in use]");
    }
    line
}

#[cfg(feature = "pcsc")]
fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}
