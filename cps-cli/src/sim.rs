//! `cps sim`: attach a virtual CPS card to pcscd through vsmartcard's vpcd until
//! interrupted (SIGINT / SIGTERM), optionally keeping its PIN counters and changed codes
//! in a state file.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use cps_sim::card::VirtualCard;
use cps_sim::profile::Profile;
use cps_sim::state::StateFile;
use cps_sim::vpcd::{self, VpcdOptions};
use serde_json::json;

use crate::cli::{Global, SimArgs};
use crate::commands::SCHEMA_VERSION;

/// Loads a profile by built-in name, or from a TOML/JSON file.
fn profile(spec: &str) -> Result<Profile> {
    if Path::new(spec).is_file() {
        return Profile::load(Path::new(spec))
            .with_context(|| format!("loading the profile {spec}"));
    }
    Profile::builtin(spec).with_context(|| {
        let names: Vec<_> = Profile::builtin_names()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        format!(
            "no profile file or built-in profile \"{spec}\" (built-in: {})",
            names.join(", ")
        )
    })
}

pub fn run(g: &Global, args: &SimArgs) -> Result<ExitCode> {
    if args.list_profiles {
        let list = Profile::builtin_names();
        if g.json {
            let profiles: Vec<_> = list
                .iter()
                .map(|(n, d)| json!({"name": n, "description": d}))
                .collect();
            println!(
                "{}",
                json!({"schema_version": SCHEMA_VERSION, "profiles": profiles})
            );
        } else {
            for (name, description) in list {
                println!("{name:14} {description}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let profile = profile(&args.profile)?;
    let mut card = VirtualCard::new(&profile).context("building the virtual card")?;
    // Held until the card is removed: one simulator per state file.
    let mut _state_lock = None;
    if let Some(path) = &args.state {
        // The card's hooks write before it answers: a counter change reaches the disk
        // first, so a kill at any moment never gives a try back; a new PIN or PUK is on
        // disk, with the counters that go with it, before the card says it took it.
        let state = StateFile::open(path);
        _state_lock = Some(state.lock()?);
        state.attach(&mut card)?;
    }
    let addr: SocketAddr = match &args.vpcd {
        Some(a) => a
            .parse()
            .with_context(|| format!("--vpcd {a}: not an address like 127.0.0.1:35963"))?,
        None => vpcd::slot_addr(args.slot),
    };
    let options = VpcdOptions::default().with_slot(args.slot);
    let handle = vpcd::attach(Box::new(card), addr, options)?;
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;
    let connected = handle.wait_connected(Duration::from_secs(5));
    let reader = handle.reader_name().unwrap_or_else(|| addr.to_string());
    if g.json {
        println!(
            "{}",
            json!({"schema_version": SCHEMA_VERSION, "profile": profile.name, "reader": reader, "vpcd": addr.to_string(), "connected": connected})
        );
    } else {
        println!("{reader}");
    }
    if !g.quiet {
        if connected {
            eprintln!(
                "virtual card \"{}\" inserted in \"{reader}\" ({addr}); Ctrl-C to remove it",
                profile.name
            );
        } else {
            eprintln!(
                "waiting for vpcd on {addr} (is pcscd running with vsmartcard-vpcd?); Ctrl-C to stop"
            );
        }
    }
    handle.serve_until(&rx)?;
    Ok(ExitCode::SUCCESS)
}
