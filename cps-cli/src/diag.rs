//! `cps diag`: the offline DiagCPS. The engine lives in `cps-diag`; this module reads
//! the PIN (before any PC/SC transaction), wires the virtual card for `--sim`, and
//! prints the report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use cps_card::cert::Certificate;
use cps_card::transcript::Tracing;
use cps_card::{LastTry, Pin};
use cps_diag::{
    Environment, HostPcsc, Lang, Options, Target, Text, TracedAccess, Verbosity, diagnose,
};
use cps_sim::pki::TestPki;
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;
use zeroize::Zeroizing;

use crate::cli::Global;
use crate::secrets::{PinArgs, Reader, Source};

/// Exit code of a usage error.
const USAGE: u8 = 2;

/// Diagnose the card and the workstation: PC/SC, readers, card, PIN and PUK,
/// certificates and their chain to IGC-Santé, revocation, key proof, middleware.
///
/// Exit codes: 0 nothing failed, 10 a check failed (or warned, with --strict), 2 usage
/// error.
#[derive(Debug, clap::Args)]
pub struct DiagArgs {
    /// Diagnose the virtual card in-process instead of a reader: a built-in profile
    /// (`cps sim --list-profiles`) or a TOML/JSON profile file [default: cps3]
    #[arg(long, value_name = "PROFILE", num_args = 0..=1, default_missing_value = "cps3")]
    pub sim: Option<String>,
    /// The PIN for the key proof (without one, on a terminal, it is asked; Enter skips)
    #[command(flatten)]
    pub pin: PinArgs,
    /// Let the key proof spend the PIN's last try
    #[arg(long)]
    pub allow_last_try: bool,
    /// Trust the CA certificates of DIR (repeatable) [default: the Cryptolib's
    /// /etc/opt/santesocial/CPS/Coffre when present]
    #[arg(long, value_name = "DIR")]
    pub ca_dir: Vec<PathBuf>,
    /// Check revocation with these CRLs, DER or PEM (a file or a directory;
    /// repeatable)
    #[arg(long, value_name = "FILE|DIR")]
    pub crl: Vec<PathBuf>,
    /// Warn when a certificate expires within N days
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub warn_days: u32,
    /// Hide names, identifiers and serials, to send the report to support (the report
    /// only: a --trace still holds the card's data as read)
    #[arg(long)]
    pub redact: bool,
    /// Warnings count as failures in the exit code
    #[arg(long)]
    pub strict: bool,
}

/// The PIN for the key proof: from the source given, else from a prompt on a terminal
/// (Enter skips), else none.
fn read_pin(g: &Global, args: &DiagArgs, lang: Lang) -> Result<(Option<Pin>, Option<Text>)> {
    let source = args.pin.source();
    let what = lang.pick("Code porteur", "PIN (code porteur)");
    if !matches!(source, Source::Prompt) {
        let secrets = Reader { no_input: true };
        let text = secrets.read(&source, what, "pin", false)?;
        return Ok((Some(Pin::new(text.as_str())?), None));
    }
    let interactive =
        !g.no_input && !g.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Ok((None, None));
    }
    let prompt = lang.pick(
        "Code porteur pour la preuve des clés (Entrée pour passer) : ",
        "PIN (code porteur) for the key proof (Enter to skip): ",
    );
    let typed = Zeroizing::new(rpassword::prompt_password(prompt).unwrap_or_default());
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok((
            None,
            Some(Text::new(
                "non faite : code porteur non saisi",
                "not done: no PIN entered",
            )),
        ));
    }
    Ok((Some(Pin::new(typed)?), None))
}

fn sim_profile(name: &str) -> Result<Profile> {
    let path = std::path::Path::new(name);
    if path.is_file() {
        return Profile::load(path).with_context(|| format!("loading profile {name}"));
    }
    Ok(Profile::builtin(name)?)
}

fn colour(g: &Global) -> bool {
    !g.json
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs `cps diag`.
pub fn run(g: &Global, args: &DiagArgs, lang: Lang) -> Result<ExitCode> {
    let profile = match args.sim.as_deref().map(sim_profile).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {e:#}", lang.pick("erreur", "error"));
            return Ok(ExitCode::from(USAGE));
        }
    };
    let (pin, no_pin_reason) = read_pin(g, args, lang)?;
    let mut options = Options::default();
    options.tool_name = "cps".into();
    options.tool_version = env!("CARGO_PKG_VERSION").into();
    options.reader = g.reader.clone();
    options.pin = pin;
    options.no_pin_reason = no_pin_reason;
    options.last_try = if args.allow_last_try {
        LastTry::Allow
    } else {
        LastTry::Refuse
    };
    options.warn_days = args.warn_days;
    options.ca_dirs = args.ca_dir.clone();
    options.crls = args.crl.clone();
    options.redact = args.redact;
    let env = Environment::host();
    let sink = crate::commands::trace_sink(g)?;
    if args.redact && g.trace.is_some() {
        // Not behind --quiet: it is about what leaves the machine.
        eprintln!(
            "{}",
            lang.pick(
                "attention : --redact anonymise le rapport, pas la sortie de --trace, qui contient les données de la carte (noms, numéros)",
                "warning: --redact hides names in the report, not in the --trace output, which holds the card's data (names, numbers)",
            )
        );
    }
    let report = match profile {
        Some(profile) => {
            let pki = TestPki::load().context("loading the virtual card's test PKI")?;
            for der in [pki.root_certificate(), pki.issuing_certificate()] {
                options.extra_cas.push((
                    Certificate::from_der(der)?,
                    "virtual card test CA (cps-sim)".into(),
                ));
            }
            let mut transport = SimTransport::from_profile(&profile)
                .with_context(|| format!("building the virtual card `{}`", profile.name))?;
            let mut traced = Tracing::new(&mut transport, sink);
            diagnose(&env, &options, Target::InProcess(&mut traced))
        }
        None => {
            let timeout = Duration::try_from_secs_f64(g.timeout)
                .ok()
                .filter(|d| !d.is_zero())
                .context("--timeout must be a positive number of seconds")?;
            let mut pcsc = TracedAccess::new(HostPcsc::new(timeout), sink);
            diagnose(&env, &options, Target::Pcsc(&mut pcsc))
        }
    };
    if g.json {
        println!("{}", report.to_json());
    } else {
        let verbosity = if g.quiet {
            Verbosity::Quiet
        } else if g.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        print!("{}", report.render_text(lang, colour(g), verbosity));
    }
    Ok(ExitCode::from(report.exit_code(args.strict)))
}
