//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::secrets::{NewPinArgs, PinArgs, PukArgs};

/// Command line for the French health professional card (CPS / CPx).
///
/// Data go to stdout, messages to stderr. With --json every command prints one JSON
/// document with a `schema_version` field.
///
/// Exit codes:
///   0  success
///   1  error (anything not listed below)
///   2  usage error
///   3  wrong PIN or unblock code (tries remain)
///   4  refused to protect the card: code blocked, unblock code used up, or last try
///      not allowed (--allow-last-try)
///   5  the PC/SC service (pcscd) is not running
///   6  no reader, or the reader asked for is not there / ambiguous
///   7  no card, card removed, reset, mute or busy
///   8  the card is not a CPS (Carte Vitale, unknown card, CPS2ter-era card)
#[derive(Debug, Parser)]
#[command(name = "cps", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Reader: an index (`cps readers`), an exact name or a name substring; default:
    /// the reader holding a CPS card
    #[arg(long, global = true, value_name = "INDEX|NAME")]
    pub reader: Option<String>,
    /// Print one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Log every APDU (PIN-bearing data redacted) to stderr, or to FILE
    #[arg(long, global = true, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub trace: Option<PathBuf>,
    /// Language of messages (default: from LANG, else English)
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,
    /// Seconds to wait for the card at each call
    #[arg(long, global = true, value_name = "S", default_value_t = 10.0)]
    pub timeout: f64,
    /// Fewer messages: no notes on stderr; `cps diag` shows only warnings and failures
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More messages: the reader used, on stderr; `cps diag` shows every check's details
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never prompt: a secret that is needed but not supplied is an error
    #[arg(long, global = true)]
    pub no_input: bool,
}

/// Message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Français.
    Fr,
    /// English.
    En,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Diagnose the card and the workstation (an offline DiagCPS); --sim: the virtual card
    Diag(crate::diag::DiagArgs),
    /// List readers: index, name, card present, ATR, what the card is
    Readers,
    /// Print readers and cards as they come and go (what is present first); with
    /// --reader, that reader's only (it must be plugged in when watch starts: to wait
    /// for a reader, watch them all)
    Watch {
        /// Stop after S seconds [default: run until interrupted]
        #[arg(long, value_name = "S")]
        duration: Option<f64>,
        /// Stop after the first card event (inserted, mute or removed; a card present
        /// at the start counts)
        #[arg(long)]
        once: bool,
    },
    /// Card generation, serial, holder, PIN and PUK tries, certificates — no PIN needed
    Status,
    /// Check the PIN (refuses to spend the last try unless --allow-last-try)
    Verify {
        #[command(flatten)]
        pin: PinArgs,
        /// Allow this call to spend the PIN's last try
        #[arg(long)]
        allow_last_try: bool,
    },
    /// PIN management
    Pin {
        #[command(subcommand)]
        command: PinCmd,
    },
    /// Unblock the PIN with the unblock code (code de déblocage) and set a new PIN
    Unblock {
        #[command(flatten)]
        puk: PukArgs,
        #[command(flatten)]
        new_pin: NewPinArgs,
        /// Allow this call to spend the unblock code's last try
        #[arg(long)]
        allow_last_try: bool,
    },
    /// The card's certificates
    Certs {
        #[command(subcommand)]
        command: CertsCmd,
    },
    /// Experts: send raw APDUs (hex), print the answers with their meanings
    Apdu {
        /// Command APDUs in hex (spaces allowed inside one argument)
        #[arg(required = true, value_name = "HEX")]
        apdus: Vec<String>,
    },
    /// Attach a virtual CPS card to pcscd through vsmartcard's vpcd, until interrupted
    Sim(SimArgs),
    /// Print shell completions
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Manpage,
}

#[derive(Debug, Subcommand)]
pub enum PinCmd {
    /// Change the PIN: current PIN, then the new PIN (twice on a terminal)
    Change {
        #[command(flatten)]
        pin: PinArgs,
        #[command(flatten)]
        new_pin: NewPinArgs,
        /// Allow this call to spend the PIN's last try
        #[arg(long)]
        allow_last_try: bool,
    },
}

/// Which certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Authentication.
    Auth,
    /// Signature.
    Sign,
    /// Every certificate.
    All,
}

/// Output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// PEM text.
    Pem,
    /// DER bytes.
    Der,
}

#[derive(Debug, Subcommand)]
pub enum CertsCmd {
    /// List the card's certificates
    List,
    /// Write the card's certificates to files or stdout
    Export {
        /// Which certificates
        #[arg(long, value_enum, default_value_t = Which::All)]
        which: Which,
        /// Encoding
        #[arg(long, value_enum, default_value_t = Format::Pem)]
        format: Format,
        /// A directory (files named cps-SERIAL-WHICH.pem or .der), or - for stdout
        #[arg(long, value_name = "DIR|-", default_value = "-")]
        out: String,
    },
    /// Offline: the holder and profile view of certificate files (PEM or DER)
    Inspect {
        /// Certificate files
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// A built-in profile name (see --list-profiles) or a TOML/JSON profile file
    #[arg(long, default_value = "cps3", value_name = "NAME|FILE")]
    pub profile: String,
    /// Keep the PIN and PUK counters, and codes once changed (as salted digests), across
    /// restarts in FILE (written atomically, owner-only on Unix, one simulator at a
    /// time; the file names the profile, and another profile's card refuses it)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// vpcd slot: 0 → "Virtual PCD 00 00" (port 35963), 1 → "Virtual PCD 00 01" (35964)
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub slot: u8,
    /// vpcd address (overrides --slot's port)
    #[arg(long, value_name = "ADDR")]
    pub vpcd: Option<String>,
    /// List the built-in profiles and exit
    #[arg(long)]
    pub list_profiles: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The global per-call `--timeout` (default 10 s) must not end `cps watch`, which
    /// runs until stopped unless given `--duration`.
    #[test]
    fn watch_duration_is_not_the_call_timeout() {
        use clap::Parser;
        for (argv, want) in [
            (&["cps", "watch"][..], None),
            (&["cps", "--timeout", "3", "watch"][..], None),
            (&["cps", "watch", "--duration", "2.5"][..], Some(2.5)),
        ] {
            let cli = super::Cli::try_parse_from(argv).unwrap();
            let super::Cmd::Watch { duration, .. } = cli.command else {
                panic!("{argv:?}: not watch");
            };
            assert_eq!(duration, want, "{argv:?}");
        }
    }
}
