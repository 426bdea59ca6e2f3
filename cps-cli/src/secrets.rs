//! Where the PIN, the unblock code and the new PIN come from: a TTY prompt without
//! echo by default, or — for scripts — standard input, a file or a named
//! environment variable. There is deliberately no option taking a secret's value in
//! argv: argv is visible to every user of the machine (`ps`).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use zeroize::Zeroizing;

macro_rules! secret_args {
    ($name:ident, $stdin:literal, $file:literal, $env:literal, $what:literal) => {
        #[doc = concat!("Where the ", $what, " comes from.")]
        #[derive(Debug, Clone, Default, Args)]
        pub struct $name {
            #[doc = concat!("Read the ", $what, " from the next line of standard input")]
            #[arg(long = $stdin, id = $stdin)]
            pub stdin: bool,
            #[doc = concat!("Read the ", $what, " from the first line of FILE")]
            #[arg(long = $file, id = $file, value_name = "FILE")]
            pub file: Option<PathBuf>,
            #[doc = concat!("Read the ", $what, " from the environment variable VAR")]
            #[arg(long = $env, id = $env, value_name = "VAR")]
            pub env: Option<String>,
        }

        impl $name {
            pub fn source(&self) -> Source {
                Source::from_parts(self.stdin, self.file.clone(), self.env.clone())
            }
        }
    };
}

secret_args!(
    PinArgs,
    "pin-stdin",
    "pin-file",
    "pin-env",
    "PIN (code porteur)"
);
secret_args!(
    PukArgs,
    "puk-stdin",
    "puk-file",
    "puk-env",
    "unblock code (code de déblocage)"
);
secret_args!(
    NewPinArgs,
    "new-pin-stdin",
    "new-pin-file",
    "new-pin-env",
    "new PIN"
);

/// One secret's source.
#[derive(Debug, Clone)]
pub enum Source {
    Prompt,
    Stdin,
    File(PathBuf),
    Env(String),
}

impl Source {
    fn from_parts(stdin: bool, file: Option<PathBuf>, env: Option<String>) -> Source {
        match (stdin, file, env) {
            (true, _, _) => Source::Stdin,
            (_, Some(f), _) => Source::File(f),
            (_, _, Some(v)) => Source::Env(v),
            _ => Source::Prompt,
        }
    }
}

/// Reads secrets; lines of standard input are consumed in order, so
/// `--pin-stdin --new-pin-stdin` reads the current PIN then the new one.
pub struct Reader {
    pub no_input: bool,
}

fn first_line(text: &str) -> Zeroizing<String> {
    Zeroizing::new(
        text.lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    )
}

impl Reader {
    /// Reads one secret. `what` names it in prompts and errors; `flag` is the option
    /// prefix (`pin`, `puk`, `new-pin`) for the error that says how to supply it.
    /// `confirm` asks twice on a TTY.
    pub fn read(
        &self,
        source: &Source,
        what: &str,
        flag: &str,
        confirm: bool,
    ) -> Result<Zeroizing<String>> {
        match source {
            Source::Stdin => {
                let mut line = Zeroizing::new(String::new());
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .with_context(|| format!("reading the {what} from standard input"))?;
                if line.is_empty() {
                    bail!("standard input ended before the {what}");
                }
                Ok(first_line(&line))
            }
            Source::File(path) => {
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading the {what} from {}", path.display()))?,
                );
                Ok(first_line(&text))
            }
            Source::Env(var) => {
                let value = Zeroizing::new(std::env::var(var).with_context(|| {
                    format!("the environment variable {var} (for the {what}) is not set")
                })?);
                Ok(first_line(&value))
            }
            Source::Prompt => {
                if self.no_input {
                    bail!(
                        "the {what} is needed and --no-input forbids prompting: \
                         pass --{flag}-stdin, --{flag}-file FILE or --{flag}-env VAR"
                    );
                }
                let first = Zeroizing::new(
                    rpassword::prompt_password(format!("{what}: ")).with_context(|| {
                        format!(
                            "cannot prompt for the {what} (no terminal): pass --{flag}-stdin, \
                             --{flag}-file FILE or --{flag}-env VAR"
                        )
                    })?,
                );
                if confirm {
                    let again = Zeroizing::new(
                        rpassword::prompt_password(format!("{what} (again): "))
                            .context("reading the confirmation")?,
                    );
                    if *again != *first {
                        bail!("the two entries of the {what} differ; nothing was sent to the card");
                    }
                }
                Ok(first_line(&first))
            }
        }
    }
}
